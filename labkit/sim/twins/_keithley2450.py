"""Keithley 2450 SourceMeter twin (SCPI command set), driving the bench's circuit.

Written from the 2450 Reference Manual's SCPI command set (see ``notes/instruments.md``,
section 2): source function, levels, ranges (a fixed range is the lowest that fits the value;
setting one turns autorange off), limits with the trip flag, output, measure function with
per-function range, autorange, NPLC and remote sense, ``:READ?`` into ``defbuffer1`` with
buffer elements, ``:MEASure:<function>?``, ``:FETCh?``, ``:TRACe:ACTual?``/``:CLEar``,
``:TRACe:POINts`` and ``:TRACe:FILL:MODE``, ``*LANG?``, and the error queue in the
Touch-Test format ``code,"message;severity;time"``.

The reading buffer is the instrument's, bounded: ``defbuffer1`` holds 10,000 readings at
power-on (``TRACe:POINts``, Reference Manual 2450-901-01 B, p. 6-115) and fills continuously,
the newest overwriting the oldest (``TRACe:FILL:MODE CONT``, p. 6-112); with ``ONCE`` a full
buffer keeps its readings and discards new ones. Resizing clears the buffer; the fill mode of
a buffer holding readings cannot change (``TRACe:CLEar`` first). A run of a million points
therefore costs the same per point as one of a thousand.

Readings come from the bench's operating point with Gaussian noise of
``2e-6 × range / √NPLC``; a value beyond 105 % of a fixed range reads as overflow
``9.9E+37`` (the 2400 family's value; the 2450's is not in the sources). A measurement takes
``count × NPLC / 50 Hz`` of bench time. Remote sense applies while the output is on.
"""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import ScpiTwin, boolean, mnemonic, number, scpi
from labkit.sim.twins._keithley2450_sweep import SourceSweep, SweepPlan
from labkit.sim.twins._keithley2450_trace import (
    BUFFER_DEFAULT,
    BUFFER_MAX,
    Reading,
    ReadingBuffer,
    TraceCommands,
    format_elements,
)

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["BUFFER_DEFAULT", "BUFFER_MAX", "Keithley2450Twin"]

VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
RESISTANCE_RANGES = (20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)
_RANGES = {"VOLT": VOLTAGE_RANGES, "CURR": CURRENT_RANGES, "RES": RESISTANCE_RANGES}
_DEFAULT_RANGE = {"VOLT": 20.0, "CURR": 1e-4, "RES": 2e5}
_FUNCTIONS = {"VOLTage": "VOLT", "CURRent": "CURR"}
_SENSE = {"VOLTage": "VOLT", "VOLTage:DC": "VOLT", "CURRent": "CURR", "CURRent:DC": "CURR"}
_SENSE.update({"RESistance": "RES"})
_SENSE_REPLY = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
_SENSE_NODES = ("VOLTage[:DC]", "CURRent[:DC]", "RESistance")
_OVERFLOW = 9.9e37
_LINE_FREQUENCY = 50.0
# The instrument's own time to parse a query and send its reply. The 2450's manual and data
# sheet give no figure; the nearest published one is a Keithley SMU's single source-measure
# over GPIB: 1,200 per second at NPLC 0.01, 50 Hz (SPEC-2602B Rev. B, Feb 2014, "Maximum
# single measurement rates"): 833 µs, of which 200 µs integrate.
COMMAND_SECONDS = 1 / 1200 - 0.01 / 50


def _fit(ranges: tuple[float, ...], value: float, overrange: float = 1.0) -> float:
    """The lowest range that holds ``value`` (-222 when none does); a level may use the
    ranges' 5 % overrange (``overrange=1.05``), as 210 V on the 200 V range."""
    for candidate in ranges:
        if abs(value) <= candidate * overrange * (1 + 1e-9):
            return candidate
    raise ScpiError(-222, "Parameter data out of range")


class Keithley2450Twin(TraceCommands, SourceSweep, ScpiTwin):
    """A Keithley 2450 answering SCPI, sourcing into and measuring the bench's device."""

    identity = "KEITHLEY INSTRUMENTS INC.,MODEL 2450,04096001,1.7.12b"

    def __init__(self, bench: Bench, name: str = "smu") -> None:
        super().__init__(name)
        self.bench = bench
        self.smu = bench.circuit.smu
        self._rng = bench.rng("smu")
        self.reset()

    # -- state ----------------------------------------------------------------------------

    def reset(self) -> None:
        with self.bench.lock:
            self.smu.update(
                function="voltage",
                voltage=0.0,
                current=0.0,
                current_limit=105e-6,
                voltage_limit=21.0,
                output=False,
                remote_sense=False,
            )
        self.source_range = {"VOLT": 20.0, "CURR": 1e-4}
        self.source_auto = {"VOLT": True, "CURR": True}
        self.sense_function = "CURR"
        self.sense_range = dict(_DEFAULT_RANGE)
        self.sense_auto = {"VOLT": True, "CURR": True, "RES": True}
        self.nplc = {"VOLT": 1.0, "CURR": 1.0, "RES": 1.0}
        self.remote = {"VOLT": False, "CURR": False, "RES": False}
        self.count = 1
        self.reset_buffers()
        self.reset_sweep()

    def handle(self, message: str) -> str | None:
        self.bring_up_to_date()
        reply = super().handle(message)
        if reply is not None:  # command processing, on the bench's clock (0 when frozen)
            self.busy_for(self.bench.clock.real_seconds(COMMAND_SECONDS))
        return reply

    @property
    def buffer(self) -> collections.deque[Reading]:
        """``defbuffer1``'s readings (where :READ? and :MEASure? store by default)."""
        return self.buffers["defbuffer1"].readings

    @property
    def discarded(self) -> int:
        return self.buffers["defbuffer1"].discarded

    def format_error(self, code: int, message: str) -> str:
        if code == 0:
            return '0,"No error;0;0 0"'
        return f'{code},"{message};1;{self.bench.now():.3f}"'

    def common(self, head: str, parameters: list[str]) -> str | None:
        if head == "*LANG?":
            return "SCPI"
        raise ScpiError(-113, "Undefined header")

    @property
    def _source(self) -> str:
        return "VOLT" if self.smu.function == "voltage" else "CURR"

    def _apply_sense(self) -> None:
        self.smu.remote_sense = self.remote[self.sense_function]

    # -- source ---------------------------------------------------------------------------

    @scpi("[:SOURce#]:FUNCtion[:MODE]")
    def _set_function(self, value: str | None = None) -> None:
        chosen = mnemonic(value, _FUNCTIONS)
        self.smu.function = "voltage" if chosen == "VOLT" else "current"

    @scpi("[:SOURce#]:FUNCtion[:MODE]?")
    def _get_function(self) -> str:
        return self._source

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_voltage(self, value: str | None = None) -> None:
        level = number(value, low=-210.0, high=210.0, default=0.0)
        self._check_level("VOLT", level)
        self.smu.voltage = level

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_voltage(self) -> str:
        return f"{self.smu.voltage:.6E}"

    @scpi("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _set_current(self, value: str | None = None) -> None:
        level = number(value, low=-1.05, high=1.05, default=0.0)
        self._check_level("CURR", level)
        self.smu.current = level

    @scpi("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_current(self) -> str:
        return f"{self.smu.current:.6E}"

    def _check_level(self, function: str, level: float) -> None:
        if self.source_auto[function]:
            ranges = _RANGES[function]
            fits = [r for r in ranges if abs(level) <= r]
            self.source_range[function] = fits[0] if fits else _fit(ranges, level, 1.05)
        elif abs(level) > self.source_range[function] * 1.05:
            raise ScpiError(-222, "Parameter data out of range")

    @scpi("[:SOURce#]:VOLTage:RANGe", "[:SOURce#]:CURRent:RANGe")
    def _set_source_range(self, value: str | None = None) -> None:
        function = self._header_function()
        ranges = _RANGES[function]
        chosen = _fit(ranges, number(value, low=-max(ranges), high=max(ranges)))
        level = self.smu.voltage if function == "VOLT" else self.smu.current
        if abs(level) > chosen * 1.05:
            raise ScpiError(-222, "Parameter data out of range")
        self.source_range[function] = chosen
        self.source_auto[function] = False

    @scpi("[:SOURce#]:VOLTage:RANGe?", "[:SOURce#]:CURRent:RANGe?")
    def _get_source_range(self) -> str:
        return f"{self.source_range[self._header_function()]:.6E}"

    @scpi("[:SOURce#]:VOLTage:RANGe:AUTO", "[:SOURce#]:CURRent:RANGe:AUTO")
    def _set_source_auto(self, value: str | None = None) -> None:
        self.source_auto[self._header_function()] = boolean(value)

    @scpi("[:SOURce#]:VOLTage:RANGe:AUTO?", "[:SOURce#]:CURRent:RANGe:AUTO?")
    def _get_source_auto(self) -> str:
        return "1" if self.source_auto[self._header_function()] else "0"

    @scpi("[:SOURce#]:VOLTage:ILIMit[:LEVel]")
    def _set_current_limit(self, value: str | None = None) -> None:
        self.smu.current_limit = number(value, low=1e-9, high=1.05, default=105e-6)

    @scpi("[:SOURce#]:VOLTage:ILIMit[:LEVel]?")
    def _get_current_limit(self) -> str:
        return f"{self.smu.current_limit:.6E}"

    @scpi("[:SOURce#]:CURRent:VLIMit[:LEVel]")
    def _set_voltage_limit(self, value: str | None = None) -> None:
        self.smu.voltage_limit = number(value, low=0.02, high=210.0, default=21.0)

    @scpi("[:SOURce#]:CURRent:VLIMit[:LEVel]?")
    def _get_voltage_limit(self) -> str:
        return f"{self.smu.voltage_limit:.6E}"

    @scpi(
        "[:SOURce#]:VOLTage:ILIMit[:LEVel]:TRIPped?",
        "[:SOURce#]:CURRent:VLIMit[:LEVel]:TRIPped?",
    )
    def _get_tripped(self) -> str:
        with self.bench.lock:
            self.bench.sync()
            point = self.bench.circuit.operating_point()
        wanted = "VOLT" if self._header_function() == "VOLT" else "CURR"
        return "1" if point.compliance and wanted == self._source else "0"

    def _header_function(self) -> str:
        """Which function the matched header is about (one handler serves several)."""
        matched = self.matched
        if ":VOLTage" in matched:
            return "VOLT"
        if ":CURRent" in matched:
            return "CURR"
        return "RES"

    # -- output ---------------------------------------------------------------------------

    @scpi(":OUTPut#[:STATe]")
    def _set_output(self, value: str | None = None) -> None:
        with self.bench.lock:
            self.smu.output = boolean(value)
            self._apply_sense()

    @scpi(":OUTPut#[:STATe]?")
    def _get_output(self) -> str:
        return "1" if self.smu.output else "0"

    # -- measure settings -----------------------------------------------------------------

    @scpi("[:SENSe#]:FUNCtion[:ON]")
    def _set_sense_function(self, value: str | None = None) -> None:
        self.sense_function = mnemonic(value, _SENSE)
        self._apply_sense()

    @scpi("[:SENSe#]:FUNCtion[:ON]?")
    def _get_sense_function(self) -> str:
        return _SENSE_REPLY[self.sense_function]

    @scpi(*(f"[:SENSe#]:{node}:RANGe[:UPPer]" for node in _SENSE_NODES))
    def _set_sense_range(self, value: str | None = None) -> None:
        function = self._header_function()
        ranges = _RANGES[function]
        self.sense_range[function] = _fit(ranges, number(value, low=0, high=max(ranges)))
        self.sense_auto[function] = False

    @scpi(*(f"[:SENSe#]:{node}:RANGe[:UPPer]?" for node in _SENSE_NODES))
    def _get_sense_range(self) -> str:
        return f"{self._measure_range(self._header_function(), None):.6E}"

    @scpi(*(f"[:SENSe#]:{node}:RANGe:AUTO" for node in _SENSE_NODES))
    def _set_sense_auto(self, value: str | None = None) -> None:
        self.sense_auto[self._header_function()] = boolean(value)

    @scpi(*(f"[:SENSe#]:{node}:RANGe:AUTO?" for node in _SENSE_NODES))
    def _get_sense_auto(self) -> str:
        return "1" if self.sense_auto[self._header_function()] else "0"

    @scpi(*(f"[:SENSe#]:{node}:NPLCycles" for node in _SENSE_NODES))
    def _set_nplc(self, value: str | None = None) -> None:
        self.nplc[self._header_function()] = number(value, low=0.01, high=10.0, default=1.0)

    @scpi(*(f"[:SENSe#]:{node}:NPLCycles?" for node in _SENSE_NODES))
    def _get_nplc(self) -> str:
        return f"{self.nplc[self._header_function()]:.6E}"

    @scpi(*(f"[:SENSe#]:{node}:RSENse" for node in _SENSE_NODES))
    def _set_remote(self, value: str | None = None) -> None:
        self.remote[self._header_function()] = boolean(value)
        self._apply_sense()

    @scpi(*(f"[:SENSe#]:{node}:RSENse?" for node in _SENSE_NODES))
    def _get_remote(self) -> str:
        return "1" if self.remote[self._header_function()] else "0"

    @scpi("[:SENSe#]:COUNt")
    def _set_count(self, value: str | None = None) -> None:
        self.count = int(number(value, low=1, high=300_000, default=1, integer=True))

    @scpi("[:SENSe#]:COUNt?")
    def _get_count(self) -> str:
        return str(self.count)

    # -- measuring ------------------------------------------------------------------------

    def _measure_range(self, function: str, value: float | None) -> float:
        """The range in use: the source's when measuring what is sourced, else auto/fixed."""
        if function == self._source and function in self.source_range:
            return self.source_range[function]
        if self.sense_auto[function] and value is not None:
            ranges = _RANGES[function]
            for candidate in ranges:
                if abs(value) <= candidate * 1.05:
                    return candidate
            return ranges[-1]
        return self.sense_range[function]

    def _measure_once(self, function: str) -> tuple[float, float]:
        """One reading of ``function`` and the source value, from the bench."""
        with self.bench.lock:
            self.bench.sync()
            point = self.bench.circuit.operating_point()
        source = self.smu.voltage if self._source == "VOLT" else self.smu.current
        if function == "CURR":
            true = point.current
        elif function == "VOLT":
            true = point.smu_voltage
        else:
            true = point.smu_voltage / point.current if point.current else math.inf
        span = self._measure_range(function, true)
        if self.sense_auto[function] and function != self._source:
            self.sense_range[function] = span  # the range autorange chose is what is queried
        if not math.isfinite(true) or abs(true) > span * 1.05:
            return math.copysign(_OVERFLOW, true if true else 1.0), source
        sigma = 2e-6 * span / math.sqrt(self.nplc[function])
        return true + float(self._rng.normal(0.0, sigma)), source

    def _measure(self, function: str, buffer: ReadingBuffer) -> Reading:
        self.busy_for(self.bench.clock.real_seconds(self.count * self.nplc[function] / 50.0))
        last: Reading | None = None
        for _ in range(self.count):
            value, source = self._measure_once(function)
            last = (value, source, self.bench.now(), function, self._source)
            buffer.store(last)
        assert last is not None
        return last

    def sweep_point(self, plan: SweepPlan, index: int, when: float) -> bool:
        """Source point ``index`` of the sweep and measure it into the sweep's buffer; False
        when the point is in compliance and the sweep stops there (failAbort)."""
        level = plan.level(index)
        with self.bench.lock:
            if plan.function == "VOLT":
                self.smu.voltage = level
            else:
                self.smu.current = level
            if plan.range_type == "AUTO":
                self._check_level(plan.function, level)
            self.bench.sync()
            compliance = self.bench.circuit.operating_point().compliance
        buffer = self.buffer_named(plan.buffer)
        for _ in range(self.count):
            value, _source = self._measure_once(self.sense_function)
            buffer.store((value, level, when, self.sense_function, plan.function))
        return not (compliance and plan.fail_abort)

    def _format_reading(self, reading: Reading, elements: list[str]) -> str:
        return ",".join(format_elements(reading, elements, reading[2]))

    @scpi(":READ?")
    def _read(self, buffer: str | None = None, *elements: str) -> str:
        target = self.buffer_named(buffer)
        return self._format_reading(self._measure(self.sense_function, target), list(elements))

    @scpi(":MEASure[:CURRent[:DC]]?")
    def _measure_current(self, *parameters: str) -> str:
        return self._measure_as("CURR", parameters)

    @scpi(":MEASure:VOLTage[:DC]?")
    def _measure_voltage(self, *parameters: str) -> str:
        return self._measure_as("VOLT", parameters)

    @scpi(":MEASure:RESistance?")
    def _measure_resistance(self, *parameters: str) -> str:
        return self._measure_as("RES", parameters)

    def _measure_as(self, function: str, parameters: tuple[str, ...]) -> str:
        target = self.buffer_named(parameters[0] if parameters else None)
        self.sense_function = function  # :MEASure changes the measure function, as documented
        self._apply_sense()
        return self._format_reading(self._measure(function, target), list(parameters[1:]))

    @scpi(":FETCh?")
    def _fetch(self, buffer: str | None = None, *elements: str) -> str:
        readings = self.buffer_named(buffer).readings
        if not readings:
            raise ScpiError(-230, "Data corrupt or stale")
        return self._format_reading(readings[-1], list(elements))

    @scpi(":SYSTem:BEEPer[:IMMediate]")
    def _beep(self, frequency: str | None = None, duration: str | None = None) -> None:
        """A tone (Reference Manual: 20 Hz to 8 kHz, 1 ms to 100 s); it changes nothing."""
        number(frequency, low=20.0, high=8000.0)
        number(duration, low=0.001, high=100.0)
