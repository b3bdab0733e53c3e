"""The 34465A's trigger system and reading memory, on the bench clock.

From the Truevolt Series Operating and Service Guide (trigger system, ``SAMPle``, ``DATA``):

- ``INITiate`` moves the meter from idle to wait-for-trigger; each trigger (``IMMediate``: at
  once; ``BUS``: ``*TRG``; ``EXTernal``: an edge on the rear Ext Trig input; ``INTernal``: the
  level trigger) starts ``TRIGger:DELay`` then ``SAMPle:COUNt`` samples, after which the meter
  waits for the next trigger until ``TRIGger:COUNt`` triggers were taken. A trigger that comes
  while the meter is still sampling is not accepted (it is not waiting for one).
- Samples follow one another as fast as the meter measures (``SAMPle:SOURce IMMediate``) or
  every ``SAMPle:TIMer`` seconds (``TIMer``, 34465A/70A); a timer shorter than one measurement
  paces the samples at the measurement time.
- Readings go to reading memory: 50,000 readings, 2,000,000 with the MEM option. When it is
  full, new readings overwrite the oldest (the most recent are kept) and bit 14 (Reading
  Memory Overflow) of the Questionable Data register is set. ``R?`` and ``DATA:REMove?``
  take readings out as they come, so a long acquisition streamed with them loses nothing.

Nothing runs in a thread: each burst is a :class:`~labkit.sim._timeline.Timeline` and the
samples due by the bench's time are taken whenever the meter is asked anything.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import numpy as np

from labkit.sim._timeline import Timeline

__all__ = ["MEMORY_MEM", "MEMORY_STANDARD", "OVERFLOW_BIT", "Acquisition"]

MEMORY_STANDARD = 50_000
MEMORY_MEM = 2_000_000
OVERFLOW_BIT = 1 << 14  # Questionable Data register: Reading Memory Overflow


class Acquisition:
    """One ``INITiate``: its trigger bursts and the reading memory they fill."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.memory: collections.deque[float] = collections.deque(maxlen=capacity)
        self.bursts: list[Timeline] = []
        self.trigger_times: list[float] = []
        self.triggers_left = 0
        self.overflowed = 0  # readings lost to newer ones since the last clear
        self.missed_triggers = 0  # triggers that came while the meter was sampling
        self.source = "IMM"
        self.samples = 1
        self.interval = 1.0
        self.delay = 0.0
        self._sampling_until = -np.inf  # the end of the last burst started

    @property
    def waiting(self) -> bool:
        """In wait-for-trigger (or still sampling): a FETCh? would block."""
        return self.triggers_left > 0 or any(b.taken < (b.total or 0) for b in self.bursts)

    def arm(
        self, now: float, *, source: str, triggers: int, samples: int, interval: float, delay: float
    ) -> None:
        """``INITiate``: clear memory and wait for ``triggers`` triggers."""
        self.memory.clear()
        self.bursts = []
        self.trigger_times = []
        self.overflowed = 0
        self.missed_triggers = 0
        self._sampling_until = -np.inf
        self.source, self.samples, self.interval, self.delay = source, samples, interval, delay
        self.triggers_left = triggers
        if source == "IMM":
            self._immediate(now)

    def _immediate(self, now: float) -> None:
        """Immediate triggering: each burst follows the last one at once."""
        start = now
        while self.triggers_left > 0:
            self._start_burst(start)
            start = self.bursts[-1].end + self.interval

    def _start_burst(self, at: float) -> None:
        self.triggers_left -= 1
        self.trigger_times.append(at)
        burst = Timeline(at, self.interval, self.samples, first=self.delay)
        self.bursts.append(burst)
        self._sampling_until = burst.end

    def trigger(self, at: float) -> bool:
        """A trigger at bench time ``at``: accepted if the meter is waiting for one."""
        if self.triggers_left <= 0:
            return False
        if at <= self._sampling_until:
            self.missed_triggers += 1
            return False
        self._start_burst(at)
        return True

    def abort(self, now: float) -> None:
        self.triggers_left = 0
        for burst in self.bursts:
            burst.stop(now)

    def collect(self, now: float, measure: Callable[[int], np.ndarray]) -> None:
        """Take into memory every sample due by ``now``; ``measure(n)`` gives n readings."""
        for burst in self.bursts:
            self._store(measure, burst.take(now))
        self.bursts = [b for b in self.bursts if b.total is None or b.taken < b.total]

    def complete(self, measure: Callable[[int], np.ndarray]) -> float:
        """Take every sample of the bursts started (for FETCh?); returns the bench time of
        the last one (the reply cannot come earlier)."""
        last = 0.0
        for burst in self.bursts:
            last = max(last, burst.end)
            self._store(measure, burst.take_all())
        self.bursts = []
        return last

    def _store(self, measure: Callable[[int], np.ndarray], indices: range) -> None:
        if not indices:
            return
        values = measure(len(indices))
        room = self.capacity - len(self.memory)
        if values.size > room:
            self.overflowed += int(values.size - room)
        self.memory.extend(values.tolist())

    def remove(self, most: int | None) -> list[float]:
        """``R?``: take (and erase) up to ``most`` of the oldest readings."""
        count = len(self.memory) if most is None else min(most, len(self.memory))
        return [self.memory.popleft() for _ in range(count)]
