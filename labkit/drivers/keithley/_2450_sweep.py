"""The 2450's own sweep: a source configuration list run by its trigger model into a buffer.

From the 2450 Reference Manual (2450-901-01): ``:SOURce:SWEep:<function>:LINear`` builds
the sweep (start, stop, points, delay, count, range type, fail-abort, dual, buffer),
``:INITiate`` runs it, ``*OPC?`` answers once it is done, ``:TRACe:DATA?`` returns the
buffer's readings with the elements asked for (``READing``, ``SOURce``, ``RELative``). The
instrument then keeps time itself: one exchange for the whole curve instead of one per point.

Every level the sweep will source is checked against the source setting's limits (hard, soft
and locked) before a byte is sent, and the buffer must hold every reading: a continuous buffer
that overflowed would silently lose the first points.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from labkit.core import Acquired, ConfigurationError, LimitError, RecordedQuantity, ReplyError
from labkit.core._units import to_number

__all__ = [
    "SWEEP_POINTS_MAX",
    "BufferedSweep",
    "SweepData",
    "SweepPlan",
    "check_sweep",
    "parse_buffer",
]

SWEEP_POINTS_MAX = 1_000_000  # points of one :SOURce:SWEep (Reference Manual)
COUNT_MAX = 268_435_455  # repeats of one sweep
_RANGE_TYPES = {"auto": "AUTO", "best": "BEST", "fixed": "FIX"}


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """A sweep the 2450 will step through by itself, checked and ready to send."""

    function: str  # "voltage" or "current": what is sourced
    start: float
    stop: float
    steps: int  # points from start to stop
    delay: float | None  # source delay per point (None: the instrument's automatic delay)
    count: int
    range_type: str
    fail_abort: bool
    dual: bool
    buffer: str

    @property
    def levels(self) -> np.ndarray:
        """Every level sourced, in order (a dual sweep comes back; repeats not included)."""
        forward = np.linspace(self.start, self.stop, self.steps)
        return np.concatenate([forward, forward[::-1]]) if self.dual else forward

    @property
    def points(self) -> int:
        """Readings the sweep makes in all."""
        return self.steps * (2 if self.dual else 1) * self.count

    def command(self) -> str:
        token = "VOLT" if self.function == "voltage" else "CURR"
        delay = -1 if self.delay is None else format(self.delay, ".6g")
        return (
            f":SOUR:SWE:{token}:LIN {self.start:.9g},{self.stop:.9g},{self.steps},{delay},"
            f"{self.count},{self.range_type},{'ON' if self.fail_abort else 'OFF'},"
            f'{"ON" if self.dual else "OFF"},"{self.buffer}"'
        )


@dataclasses.dataclass(frozen=True)
class SweepData:
    """What a sweep left in the buffer: the level sourced, the reading, the time (s, from
    the first reading) of each point."""

    source: np.ndarray
    reading: np.ndarray
    time: np.ndarray

    def __len__(self) -> int:
        return int(self.reading.size)


def _limit(name: str, what: str, value: Any, low: float, high: float, hint: str) -> LimitError:
    return LimitError(
        f"{name}: {what} is {low:,g} to {high:,g}, not {value}",
        instrument=name,
        setting=what,
        value=value,
        limit=(low, high),
        hint=hint,
    )


def check_sweep(
    smu: Any,
    function: str,
    start: Any,
    stop: Any,
    points: int,
    *,
    delay: Any,
    count: int,
    range_type: str,
    fail_abort: bool,
    dual: bool,
    buffer: str,
) -> SweepPlan:
    """A linear sweep checked with no I/O: every level against the source setting's limits
    (hard, soft, locked), the counts against the instrument's, the buffer against the
    readings."""
    name = smu.name
    handle = smu.settings.source_voltage if function == "voltage" else smu.settings.source_current
    if not 2 <= int(points) <= SWEEP_POINTS_MAX:
        raise _limit(name, "sweep points", points, 2, SWEEP_POINTS_MAX, "Split the curve")
    if not 1 <= int(count) <= COUNT_MAX:
        raise _limit(name, "sweep count", count, 1, COUNT_MAX, "Repeat in a loop instead")
    first, last = float(handle.check(start)), float(handle.check(stop))
    for level in np.linspace(first, last, int(points)):  # soft limits and locks may
        handle.check(float(level))  # forbid an inner part of the range
    seconds = None
    if delay is not None:
        seconds = to_number(delay, "s", where=f"{name}: sweep delay")
        if not 0 <= seconds <= 1e4:
            raise _limit(name, "sweep delay (s)", seconds, 0, 1e4, "delay=None: automatic")
    if range_type not in _RANGE_TYPES:
        raise ConfigurationError(
            f"{name}: range_type is one of {', '.join(_RANGE_TYPES)}, not {range_type!r}",
            instrument=name,
        )
    plan = SweepPlan(
        function,
        first,
        last,
        int(points),
        seconds,
        int(count),
        _RANGE_TYPES[range_type],
        bool(fail_abort),
        bool(dual),
        buffer,
    )
    size = smu.last_value("buffer_size") if buffer == "defbuffer1" else None
    if size is not None and plan.points > size:
        raise LimitError(
            f"{name}: the sweep makes {plan.points:,} readings but {buffer} holds {size:,}; "
            "the first ones would be overwritten",
            instrument=name,
            setting="buffer_size",
            value=plan.points,
            limit=(10, size),
            hint=f"Set {name}.buffer_size = {plan.points} (at most 6,875,000) first",
        )
    return plan


def parse_buffer(reply: str, count: int, command: str, name: str) -> SweepData:
    """``:TRAC:DATA? ...,READ,SOUR,REL`` → :class:`SweepData`."""
    try:
        values = np.array([float(part) for part in reply.split(",")], dtype=float)
    except ValueError:
        raise ReplyError(
            f"{name}: {command} answered {reply[:60]!r}, not numbers", command=command, reply=reply
        ) from None
    if values.size != 3 * count:
        raise ReplyError(
            f"{name}: {command} gave {values.size} values for {count} readings × 3",
            command=command,
            reply=reply[:60],
        )
    table = values.reshape(count, 3)
    return SweepData(table[:, 1].copy(), table[:, 0].copy(), table[:, 2].copy())


_QUANTITIES = {
    "current": ("current", "A"),
    "voltage": ("voltage", "V"),
    "resistance": ("resistance", "ohm"),
}


class BufferedSweep:
    """The 2450's own sweep as a :class:`~labkit.core.TimedAcquisition`: armed (the sweep
    sent, its buffer cleared), started with ``:INITiate``, collected from its buffer."""

    trigger = "start"

    def __init__(self, smu: Any, plan: SweepPlan) -> None:
        self.instrument = smu
        self.name = smu.name
        self.plan = plan
        self.points = plan.points
        measured, unit = _QUANTITIES[smu.last_value("measure_function") or "current"]
        source_unit = "V" if plan.function == "voltage" else "A"
        self.quantities = (
            RecordedQuantity(measured, unit, f"{smu.name} {measured} (buffer)"),
            RecordedQuantity(f"source_{plan.function}", source_unit, f"{smu.name} level sourced"),
        )
        handle = (
            smu.settings.source_voltage
            if plan.function == "voltage"
            else smu.settings.source_current
        )
        levels = np.tile(plan.levels, plan.count)
        self.setpoints = ((handle, levels),)
        self._measured = measured

    def describe(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "instrument": self.name,
            "kind": "2450 linear sweep into a reading buffer",
            "command": plan.command(),
            "points": plan.points,
            "buffer": plan.buffer,
            "buffer_size": self.instrument.last_value("buffer_size"),
            "trigger": "the 2450's own trigger model, started with :INITiate",
            "seconds": self.seconds(),
        }

    def seconds(self) -> float:
        return float(self.instrument.sweep_seconds(self.plan))

    def arm(self) -> None:
        self.instrument.arm_sweep(self.plan)

    def start(self) -> None:
        self.instrument.start_sweep()

    def collect(self, timeout: float) -> Acquired:
        data = self.instrument.run_io(self.instrument.collect_sweep, self.plan)
        return Acquired(
            {self._measured: data.reading, f"source_{self.plan.function}": data.source},
            data.time,
        )
