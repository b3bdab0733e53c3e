"""The 2450's source sweep and trigger model, for :class:`Keithley2450Twin`.

From the 2450 Reference Manual (2450-901-01 B), section 6:

- ``:SOURce[1]:SWEep:<VOLTage|CURRent>:LINear start, stop, points[, delay[, count[,
  rangeType[, failAbort[, dual[, "bufferName"]]]]]]`` builds a source configuration list and
  the trigger model of a linear sweep (``points`` 2…1,000,000; ``delay`` in seconds, ``-1``
  for the automatic source delay; ``count`` sweeps, ``INF`` until aborted; ``rangeType``
  ``AUTO``, ``BEST`` (one range fitting every point) or ``FIXed`` (the present range: a
  point beyond it is refused); ``failAbort`` ``ON`` stops the sweep at the first point in
  compliance; ``dual`` ``ON`` sweeps back from stop to start; readings go to the buffer named,
  ``defbuffer1`` by default). ``:SOURce:SWEep:<function>:LINear:STEP`` gives a step instead
  of a point count. The levels are checked against the source's limits when the sweep is
  built, before anything is sourced.
- ``:INITiate`` runs the trigger model; ``:ABORt`` stops it; ``*WAI`` holds later commands
  and ``*OPC?`` answers ``1`` once it is done (the twin delays those replies by the sweep's
  remaining bench time).

Timing per point: the source delay, then ``:SENSe:COUNt`` readings of NPLC ÷ 50 Hz each,
plus :func:`point_overhead` for the trigger model's own blocks. The automatic source delay
(a sweep's delay ``-1``) is the 2450 Reference Manual's table by current range
(2450-901-01 Rev. B, "Source delay", p. 2-111). The 2450's manual and data sheet
(SPEC-2450 Rev. A) give no sweep reading rate, so the overhead per point comes from the
nearest published figures of a Keithley SMU with the same kind of source sweep into memory:
the Series 2600B data sheet (SPEC-2602B Rev. B, Feb 2014, "Measurement speed
characteristics", source-measure to memory using the sweep API, 50 Hz column): 12,000, 3,700,
460 and 49 points/s at NPLC 0.001, 0.01, 0.1 and 1. The overhead is each point's time less
its integration (63, 70, 174, 408 µs), interpolated in log NPLC between them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import boolean, mnemonic, number, scpi, text
from labkit.sim._timeline import Timeline

if TYPE_CHECKING:
    from labkit.sim.twins._keithley2450_trace import ReadingBuffer

__all__ = ["SWEEP_POINTS_MAX", "SourceSweep", "SweepPlan", "point_overhead"]

# SPEC-2602B Rev. B, sweep API to memory, 50 Hz: points per second at each NPLC (see above).
_SWEEP_RATES = ((0.001, 12_000.0), (0.01, 3_700.0), (0.1, 460.0), (1.0, 49.0))
_LINE = 50.0
SWEEP_POINTS_MAX = 1_000_000
COUNT_MAX = 268_435_455
# 2450-901-01 Rev. B p. 2-111: automatic source delay (s) by current range (A), without
# high-capacitance mode; the same for both sources except the 1 A range of a current source.
AUTO_DELAY = {1e-8: 50e-3, 1e-7: 50e-3, 1e-6: 3e-3, 1e-5: 2e-3, 1e-4: 1e-3, 1e-3: 1e-3}
AUTO_DELAY.update({1e-2: 1e-3, 1e-1: 1e-3, 1.0: 1e-3})
AUTO_DELAY_CURRENT_SOURCE_1A = 2e-3


def point_overhead(nplc: float) -> float:
    """Seconds of trigger-model work per sweep point beside its integration (see above)."""
    logs = [math.log10(n) for n, _ in _SWEEP_RATES]
    extra = [1.0 / rate - n / _LINE for n, rate in _SWEEP_RATES]
    x = min(max(math.log10(nplc), logs[0]), logs[-1])
    for i in range(len(logs) - 1):
        if x <= logs[i + 1]:
            t = (x - logs[i]) / (logs[i + 1] - logs[i])
            return extra[i] + t * (extra[i + 1] - extra[i])
    return extra[-1]


_LIMITS = {"VOLT": 210.0, "CURR": 1.05}
_RANGE_TYPES = {"AUTO": "AUTO", "BEST": "BEST", "FIXed": "FIX"}


class SweepPlan:
    """The configuration list and trigger model a ``:SWEep`` command built."""

    def __init__(
        self,
        function: str,
        levels: list[float],
        delay: float,
        count: int | None,
        range_type: str,
        fail_abort: bool,
        buffer: str,
    ) -> None:
        self.function = function
        self.levels = levels
        self.delay = delay
        self.count = count
        self.range_type = range_type
        self.fail_abort = fail_abort
        self.buffer = buffer

    def level(self, index: int) -> float:
        return self.levels[index % len(self.levels)]

    @property
    def points(self) -> int | None:
        return None if self.count is None else self.count * len(self.levels)


class SourceSweep:
    """Sweep handlers; the twin provides the source, measuring, buffers and the bench."""

    bench: Any
    smu: Any
    sweep: SweepPlan | None
    running: Timeline | None
    source_range: dict[str, float]
    sense_range: dict[str, float]
    source_auto: dict[str, bool]
    nplc: dict[str, float]
    count: int
    sense_function: str

    matched: str

    if TYPE_CHECKING:  # provided by TraceCommands, VirtualInstrument and the twin

        def buffer_named(self, name: str | None) -> ReadingBuffer: ...

        def busy_for(self, seconds: float) -> None: ...

        def sweep_point(self, plan: SweepPlan, index: int, when: float) -> bool: ...

    def reset_sweep(self) -> None:
        self.sweep = None
        self.running = None

    def point_seconds(self, plan: SweepPlan) -> float:
        nplc = self.nplc[self.sense_function]
        return plan.delay + self.count * nplc / _LINE + point_overhead(nplc)

    def auto_delay(self, function: str) -> float:
        """The automatic source delay for the current range in use (the manual's table)."""
        if function == "CURR":
            current_range = self.source_range["CURR"]
            if current_range >= 1.0:
                return AUTO_DELAY_CURRENT_SOURCE_1A
        else:
            current_range = self.sense_range["CURR"]
        fitting = [r for r in AUTO_DELAY if r >= current_range * (1 - 1e-9)]
        return AUTO_DELAY[min(fitting)] if fitting else AUTO_DELAY[1.0]

    @scpi(
        "[:SOURce#]:SWEep:VOLTage:LINear",
        "[:SOURce#]:SWEep:CURRent:LINear",
        "[:SOURce#]:SWEep:VOLTage:LINear:STEP",
        "[:SOURce#]:SWEep:CURRent:LINear:STEP",
    )
    def _sweep_linear(self, *parameters: str) -> None:
        function = "VOLT" if ":VOLTage" in self.matched else "CURR"
        limit = _LIMITS[function]
        if len(parameters) < 3:
            raise ScpiError(-109, "Missing parameter")
        start = number(parameters[0], low=-limit, high=limit)
        stop = number(parameters[1], low=-limit, high=limit)
        if self.matched.endswith(":STEP"):
            step = number(parameters[2], low=-2 * limit, high=2 * limit)
            if step == 0 or (stop - start) / step < 0:
                raise ScpiError(-222, "Parameter data out of range;step")
            points = math.floor(abs((stop - start) / step) + 1e-9) + 1
        else:
            points = int(number(parameters[2], low=2, high=SWEEP_POINTS_MAX, integer=True))
        if points > SWEEP_POINTS_MAX or points < 2:
            raise ScpiError(-222, "Parameter data out of range;points")
        delay = self.auto_delay(function)
        if len(parameters) > 3 and parameters[3].strip() != "-1":
            delay = number(parameters[3], low=0.0, high=1e4)
        count: int | None = 1
        if len(parameters) > 4:
            word = parameters[4].strip().upper()
            count = (
                None
                if word in ("INF", "INFINITE")
                else int(number(parameters[4], low=1, high=COUNT_MAX, integer=True))
            )
        range_type = mnemonic(parameters[5], _RANGE_TYPES) if len(parameters) > 5 else "BEST"
        fail_abort = boolean(parameters[6]) if len(parameters) > 6 else True
        dual = boolean(parameters[7]) if len(parameters) > 7 else False
        buffer = text(parameters[8]) if len(parameters) > 8 else "defbuffer1"
        self.buffer_named(buffer)
        step = (stop - start) / (points - 1)
        levels = [start + k * step for k in range(points)]
        levels[-1] = stop
        if dual:
            levels += levels[::-1]
        largest = max(abs(start), abs(stop))
        if range_type == "FIX" and largest > self.source_range[function] * 1.05:
            raise ScpiError(-222, "Parameter data out of range;sweep exceeds the fixed range")
        self.sweep = SweepPlan(function, levels, delay, count, range_type, fail_abort, buffer)
        self.running = None

    @scpi(":INITiate[:IMMediate]")
    def _initiate(self) -> None:
        self.bring_up_to_date()
        if self.running is not None and not self.running.done(self.bench.now()):
            raise ScpiError(-213, "Init ignored")
        plan = self.sweep
        if plan is None:  # the empty trigger model: one measurement, as :TRACe:TRIGger
            raise ScpiError(-221, "Settings conflict;no trigger model is defined")
        self.smu.function = "voltage" if plan.function == "VOLT" else "current"
        self.running = Timeline(self.bench.now(), self.point_seconds(plan), plan.points)

    @scpi(":ABORt")
    def _abort(self) -> None:
        self.bring_up_to_date()
        if self.running is not None:
            self.running.stop(self.bench.now())

    def bring_up_to_date(self) -> None:
        """Take the sweep points due by now on the bench clock."""
        running, plan = self.running, self.sweep
        if running is None or plan is None:
            return
        for index in running.take(self.bench.now()):
            if not self.sweep_point(plan, index, running.time(index)):
                running.stopped_at = index + 1  # failAbort: the sweep stops here
                break

    def complete_pending(self) -> None:
        running, plan = self.running, self.sweep
        if running is None or plan is None:
            return
        if running.total is None:  # an endless sweep: *WAI would wait forever
            return
        now = self.bench.now()
        self.busy_for(self.bench.clock.real_seconds(running.remaining(now)))
        for index in running.take_all():
            if not self.sweep_point(plan, index, running.time(index)):
                running.stopped_at = index + 1
                break
