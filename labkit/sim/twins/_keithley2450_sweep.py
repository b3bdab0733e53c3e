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
plus :data:`POINT_OVERHEAD` for the trigger model's own blocks. The manual gives no such
overhead figure; 0.3 ms is an assumption of this twin (of the order of the 2450's published
reading rates at 0.01 PLC), stated here so that benchmarks can quote it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import boolean, mnemonic, number, scpi, text
from labkit.sim._timeline import Timeline

if TYPE_CHECKING:
    from labkit.sim.twins._keithley2450_trace import ReadingBuffer

__all__ = ["POINT_OVERHEAD", "SWEEP_POINTS_MAX", "SourceSweep", "SweepPlan"]

POINT_OVERHEAD = 0.3e-3  # seconds of trigger-model work per sweep point (assumed, see above)
SWEEP_POINTS_MAX = 1_000_000
COUNT_MAX = 268_435_455
AUTO_DELAY = {"VOLT": 50e-6, "CURR": 1e-3}  # assumed automatic source delays (no table here)
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
        measure = self.count * self.nplc[self.sense_function] / 50.0
        return plan.delay + measure + POINT_OVERHEAD

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
        delay = AUTO_DELAY[function]
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
