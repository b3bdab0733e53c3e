"""The 33500B as the leader of a fly scan: a train of triggers on its rear Trig Out.

Armed, the channel is set to triggered bursts of ``cycles`` cycles from the trigger timer
(``TRIG:SOUR TIM``, ``TRIG:TIM``) with Trig Out on (``OUTP:TRIG ON``) and burst mode still
off; started, burst mode goes on (``BURS:STAT ON``) and the timer fires every ``period``: one
burst and one Trig Out edge each, the first one period after the start. Collected, it waits
for ``count`` edges, turns burst mode off again and reports the edges' times, the time base
of the instruments it triggered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.core import Acquired, LimitError

__all__ = ["TriggerTrain"]


class TriggerTrain:
    """``count`` triggers ``period`` seconds apart on a 33500B's Trig Out, as a
    :class:`~labkit.core.TimedAcquisition` that records nothing but leads the others."""

    trigger = "start"
    points = 0
    quantities = ()
    setpoints = ()

    def __init__(
        self, generator: Any, count: int, period: Any, *, channel: int = 1, cycles: int = 1
    ):
        self.instrument = generator
        self.name = generator.name
        self.output = getattr(generator, f"ch{channel}")
        if not 1 <= int(count) <= 1_000_000_000:
            raise LimitError(
                f"{generator.name}: a trigger train has 1 to 1,000,000,000 triggers, not {count}",
                instrument=generator.name,
                setting="trigger count",
                value=count,
                limit=(1, 1_000_000_000),
            )
        self.count = int(count)
        self.period = float(self.output.settings.trigger_timer.check(period))
        self.cycles = int(self.output.settings.burst_cycles.check(cycles))
        frequency = self.output.last_value("frequency") or 1e3
        if self.cycles / frequency >= self.period:
            raise LimitError(
                f"{generator.name}: a burst of {self.cycles} cycles at {frequency:g} Hz lasts "
                f"longer than the {self.period:g} s between triggers",
                instrument=generator.name,
                setting="trigger_timer",
                value=self.period,
                limit=(self.cycles / frequency, 8000.0),
                hint="Fewer cycles, a higher frequency or a longer period",
            )
        self.sleep: Callable[[float], None] = time.sleep
        self._started = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "instrument": self.name,
            "kind": "33500B trigger train on Trig Out",
            "triggers": self.count,
            "period": self.period,
            "burst_cycles": self.cycles,
            "seconds": self.seconds(),
        }

    def seconds(self) -> float:
        return self.count * self.period

    def arm(self) -> None:
        out = self.output
        out.set("burst", False)
        out.set("burst_mode", "triggered")
        out.set("burst_cycles", self.cycles)
        out.set("trigger_source", "timer")
        out.set("trigger_timer", self.period)
        self.instrument.set("trigger_output", True)

    def start(self) -> None:
        self.output.set("burst", True)
        self._started = time.monotonic()

    def collect(self, timeout: float) -> Acquired:
        """Wait out the train (the others were collected first, so little is left), then stop."""
        left = self._started + self.seconds() - time.monotonic()
        if left > 0:
            self.sleep(left)
        self.output.set("burst", False)
        edges = self.period * np.arange(1, self.count + 1)
        return Acquired({}, edges, edges=edges)
