"""Readings the station asks for, read at their rates and posted to their PVs.

A reading is read only if the station lists it (``serve: poll: {current: 5}``): reading an
instrument can change it (a multimeter switches function to measure current), so what the
server reads by itself is the station's choice, never a default. Each instrument's due
readings are read in one call on its worker; a failure becomes the PVs' alarm, and the next
tick tries again. A disconnected instrument is skipped until it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from labkit.core import LabkitError
from labkit.remote._pvdata import Alarm
from labkit.remote._served import Member, ServedInstrument

__all__ = ["Poller"]

log = logging.getLogger(__name__)


def _same(value: Any, before: Any) -> bool:
    """Equal values (an array reading's element by element, with its shape)."""
    if hasattr(value, "shape") or hasattr(before, "shape"):
        import numpy as np

        return bool(np.array_equal(value, before)) if before is not None else False
    return bool(value == before)


class Poller:
    """One thread per served instrument reading its polled members on schedule."""

    def __init__(
        self,
        served: ServedInstrument,
        rates: dict[str, float],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.served = served
        self._clock = clock
        self._periods: dict[str, float] = {}
        for name, rate in rates.items():
            member = served.members[f"{served.name}.{name}"]
            self._periods[member.target] = 1.0 / rate
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0

    def start(self) -> None:
        if not self._periods:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"labkit-pva-poll-{self.served.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        due = dict.fromkeys(self._periods, self._clock())
        while not self._stop.is_set():
            now = self._clock()
            ready = [t for t, when in due.items() if when <= now]
            if ready:
                self.poll([self.served.members[t] for t in ready])
                for target in ready:
                    due[target] = max(due[target] + self._periods[target], now)
                self.cycles += 1
            wait = min(due.values()) - self._clock()
            if wait > 0:
                self._stop.wait(wait)

    def poll(self, members: list[Member]) -> None:
        """Read ``members`` now (grouped by the instrument or channel declaring them)."""
        if not self.served.instrument.connected:
            return
        groups: dict[int, list[Member]] = {}
        for member in members:
            groups.setdefault(id(member.instrument), []).append(member)
        for group in groups.values():
            self._read(group)

    def _read(self, group: list[Member]) -> None:
        instrument = group[0].instrument
        names = [m.handle.name for m in group]
        before = {m.handle.name: m.handle.value for m in group}
        try:
            values = instrument.read(*names)
        except LabkitError as error:
            alarm = Alarm.fault(str(error))
            for member in group:
                self.served.post_alarm(member, alarm)
            log.warning("polling %s failed: %s", ", ".join(m.target for m in group), error)
            return
        if len(names) == 1:
            values = {names[0]: values}
        for member in group:
            value = values[member.handle.name]
            # A changed value was posted by the instrument's observer; an unchanged one still
            # gets its new time stamp (and a cleared alarm) here.
            if _same(value, before[member.handle.name]) or member.alarm.severity:
                self.served.post_value(member, value)
