"""The 34465A's timed sampling: the meter keeps time, the host streams its reading memory.

From the Truevolt Series Operating and Service Guide: ``SAMPle:SOURce TIMer`` with
``SAMPle:TIMer`` paces the ``SAMPle:COUNt`` samples of each trigger (``TRIGger:SOURce``,
``TRIGger:COUNt``, ``TRIGger:DELay``); ``INITiate`` arms; ``R?`` takes readings out of memory
while the acquisition runs (50,000 readings, 2,000,000 with the MEM option; when full, the
oldest are overwritten and bit 14 of the Questionable Data register is set).

A :class:`TimedPlan` is checked before anything is sent (the interval against one
measurement's time, counts against the meter's); :func:`stream` empties memory often enough
that it never fills, and says how many samples were lost if it did.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.core import (
    Acquired,
    ConfigurationError,
    InstrumentError,
    LimitError,
    RecordedQuantity,
)

__all__ = ["TimedData", "TimedPlan", "TimedSampling", "check_timed", "stream"]

COUNT_MAX = 1_000_000_000
_TRIGGERS = {"immediate", "external", "bus", "level"}


@dataclasses.dataclass(frozen=True)
class TimedPlan:
    """``samples`` readings ``interval`` seconds apart after each of ``triggers`` triggers."""

    samples: int
    interval: float
    trigger: str = "immediate"
    triggers: int = 1
    delay: float = 0.0

    @property
    def total(self) -> int:
        return self.samples * self.triggers

    @property
    def times(self) -> np.ndarray:
        """Seconds of each sample after its trigger (repeated per trigger)."""
        one = self.delay + self.interval * np.arange(self.samples)
        return np.tile(one, self.triggers)

    @property
    def seconds(self) -> float:
        """The meter's own time for the whole acquisition (after its triggers)."""
        return self.triggers * (self.delay + self.interval * self.samples)


@dataclasses.dataclass(frozen=True)
class TimedData:
    """Readings in order, the time of each after its trigger, and which trigger it followed."""

    values: np.ndarray
    times: np.ndarray
    trigger: np.ndarray
    lost: int = 0

    def __len__(self) -> int:
        return int(self.values.size)


def check_timed(
    dmm: Any,
    samples: int,
    interval: Any,
    *,
    trigger: str,
    triggers: int,
    delay: Any,
) -> TimedPlan:
    """A timed acquisition checked with no I/O, against the meter's present configuration."""
    name = dmm.name
    fastest = dmm.measure_seconds()
    seconds = float(dmm.settings.sample_timer.check(interval)) if interval is not None else fastest
    if seconds < fastest * (1 - 1e-9):
        raise LimitError(
            f"{name}: one reading takes {fastest * 1e6:.4g} µs at NPLC "
            f"{dmm.last_value('nplc')} (autozero {'on' if dmm.last_value('autozero') else 'off'}); "
            f"samples cannot be {seconds * 1e6:.4g} µs apart",
            instrument=name,
            setting="sample_timer",
            value=seconds,
            limit=(fastest, 3600.0),
            hint="Lower the NPLC, turn autozero off, or sample more slowly",
        )
    for what, value in (("sample_count", samples), ("trigger_count", triggers)):
        if not 1 <= int(value) <= COUNT_MAX:
            raise LimitError(
                f"{name}: {what} is 1 to {COUNT_MAX:,}, not {value}",
                instrument=name,
                setting=what,
                value=value,
                limit=(1, COUNT_MAX),
            )
    if trigger not in _TRIGGERS:
        raise LimitError(
            f"{name}: the trigger is one of {', '.join(sorted(_TRIGGERS))}, not {trigger!r}",
            instrument=name,
            setting="trigger_source",
            value=trigger,
        )
    wait = float(dmm.settings.trigger_delay.check(delay))
    return TimedPlan(int(samples), seconds, trigger, int(triggers), wait)


def stream(
    take: Callable[[], list[float]],
    overflowed: Callable[[], bool],
    plan: TimedPlan,
    capacity: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> TimedData:
    """Take readings with ``take()`` (``R?``) until the plan's total is in; pause between
    takes for a quarter of the time memory needs to fill. Raises if memory overflowed (the
    readings lost are counted) or nothing came by ``deadline`` (``clock`` time)."""
    chunks: list[list[float]] = []
    got = 0
    pause = min(0.05, 0.25 * capacity * plan.interval)
    last_progress = clock()
    while got < plan.total:
        chunk = take()
        if chunk:
            chunks.append(chunk)
            got += len(chunk)
            last_progress = clock()
            continue
        if clock() > max(deadline, last_progress + 1.0):
            break
        sleep(pause)
    values = np.fromiter((v for c in chunks for v in c), dtype=float, count=got)
    lost = plan.total - got if overflowed() else 0
    if lost:
        raise InstrumentError(
            f"reading memory overflowed: {lost:,} of {plan.total:,} readings were lost",
            hint="Sample more slowly or read the memory more often",
        )
    if got < plan.total:
        raise InstrumentError(
            f"only {got:,} of {plan.total:,} readings came before the deadline",
            hint="Check the trigger source: is the meter receiving its triggers?",
        )
    index = np.repeat(np.arange(plan.triggers), plan.samples)
    return TimedData(values[: plan.total], plan.times, index)


_QUANTITIES = {
    "dc voltage": ("voltage", "V"),
    "dc current": ("current", "A"),
    "resistance": ("resistance", "ohm"),
    "4-wire resistance": ("resistance", "ohm"),
    "ac voltage": ("ac_voltage", "V"),
    "ac current": ("ac_current", "A"),
}


class TimedSampling:
    """The 34465A's timed sampling as a :class:`~labkit.core.TimedAcquisition`.

    With trigger ``immediate`` it starts on :meth:`start` (``INITiate``); with ``bus`` it is
    armed (``INITiate``) and started with ``*TRG``; with ``external`` it is armed and waits
    for another instrument's trigger output on its rear Ext Trig input.
    """

    def __init__(self, dmm: Any, plan: TimedPlan) -> None:
        self.instrument = dmm
        self.name = dmm.name
        self.plan = plan
        self.points = plan.total
        function = dmm.last_value("function") or "dc voltage"
        if function not in _QUANTITIES:
            raise ConfigurationError(
                f"{dmm.name}: timed sampling records DC/AC voltage, current or resistance, "
                f"not {function}",
                instrument=dmm.name,
                hint=f"Set {dmm.name}.function = 'dc voltage' first",
            )
        quantity, unit = _QUANTITIES[function]
        self.quantities = (RecordedQuantity(quantity, unit, f"{dmm.name} {function}"),)
        self.setpoints = ()
        self.trigger = {"immediate": "start", "bus": "start"}.get(plan.trigger, plan.trigger)
        self._quantity = quantity
        self.sleep: Callable[[float], None] | None = None

    def describe(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "instrument": self.name,
            "kind": "34465A timed sampling into reading memory",
            "samples_per_trigger": plan.samples,
            "interval": plan.interval,
            "trigger_source": plan.trigger,
            "triggers": plan.triggers,
            "trigger_delay": plan.delay,
            "memory": self.instrument.memory_size,
            "seconds": self.seconds(),
        }

    def seconds(self) -> float:
        return self.plan.seconds

    def arm(self) -> None:
        dmm, plan = self.instrument, self.plan
        if plan.trigger == "immediate":
            dmm.arm_timed(plan, initiate=False)
        else:
            dmm.arm_timed(plan)

    def start(self) -> None:
        action = "initiate" if self.plan.trigger == "immediate" else "trigger"
        self.instrument.run_action(action)

    def collect(self, timeout: float) -> Acquired:
        data = self.instrument.collect_timed(self.plan, timeout=timeout, sleep=self.sleep)
        index = data.trigger if self.plan.trigger == "external" else None
        return Acquired({self._quantity: data.values}, data.times, trigger_index=index)
