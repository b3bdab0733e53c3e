"""Keysight 34465A Truevolt DMM twin, measuring across the bench's device under test.

Written from the Truevolt operating guide's SCPI command set (``notes/instruments.md``,
section 1): functions (``SENS:FUNC "VOLT"`` ... quoted replies), ranges per function (a
fixed range turns autorange off), autorange ``ON|OFF|ONCE``, NPLC from the 34465A's list
(others are refused with -222), autozero, input impedance (10 MΩ, or >10 GΩ on the ≤10 V
ranges with ``INP:IMP:AUTO ON``, which really changes the load on the circuit), trigger
source/count/delay, sample count, timed sampling (``SAMPle:SOURce TIMer``, ``SAMPle:TIMer``),
``CONFigure``, ``MEASure?``, ``READ?``, ``INIT``/``FETCh?`` (kept) and ``R?`` (removed, as a
definite-length block), ``DATA:POINts?``, ``STATus:QUEStionable`` (memory overflow),
``ABORt``, ``*TRG`` and the rear Ext Trig input (the bench's trigger cable from the
generator); the acquisition runs on the bench clock (see ``_keysight34465a_acquire``),
``SYST:LFR?``, ``DISP:TEXT``. Readings are ``+d.dddddddddE±dd``, comma-separated; over-range
on a fixed range reads ``±9.9E+37``.

Options: ``*OPT?`` answers the 34465A's five fields (``0,0,DIG,MEM,0`` with both); the DIG
option (``options=("DIG",)``, or firmware A.03 and later, as QCoDeS found on real meters)
adds NPLC 0.001, 0.002, 0.006 and the level trigger (``TRIG:SOUR INT``); without it they are
refused with -241. The meter's other functions (frequency, period, temperature, continuity,
diode, capacitance, DC ratio) can be selected and read back; on the bench they have nothing
to measure and read as overload.

Physics: DC volts read the voltage across the device; DC current reads the (open) current
input, i.e. 0; resistance applies the range's test current to the device with the SMU off
(a simplification: the SMU's own current is ignored). Noise is Gaussian with the manual's
resolution factor × range for the NPLC; each reading takes NPLC / mains frequency (twice with
autozero on) of bench time; the mains frequency is 50 Hz unless ``line_frequency=60``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import ScpiTwin, boolean, mnemonic, nr3, number, scpi, text
from labkit.sim.twins._keysight34465a_acquire import (
    MEMORY_MEM,
    MEMORY_STANDARD,
    OVERFLOW_BIT,
    Acquisition,
)

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["Keysight34465ATwin"]

NPLC_RESOLUTION = {0.02: 3e-6, 0.06: 1.5e-6, 0.2: 0.7e-6, 1.0: 0.3e-6, 10.0: 0.1e-6, 100.0: 0.03e-6}
DIG_RESOLUTION = {0.001: 30e-6, 0.002: 15e-6, 0.006: 6e-6}  # with the DIG option
RANGES = {
    "VOLT": (0.1, 1.0, 10.0, 100.0, 1000.0),
    "VOLT:AC": (0.1, 1.0, 10.0, 100.0, 750.0),
    "CURR": (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0),
    "CURR:AC": (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0),
    "RES": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9),
    "FRES": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9),
}
TEST_CURRENT = {1e2: 1e-3, 1e3: 1e-3, 1e4: 1e-4, 1e5: 1e-5, 1e6: 5e-6, 1e7: 5e-7}
_FUNCTIONS = {
    "VOLTage": "VOLT",
    "VOLTage:DC": "VOLT",
    "VOLTage:AC": "VOLT:AC",
    "CURRent": "CURR",
    "CURRent:DC": "CURR",
    "CURRent:AC": "CURR:AC",
    "RESistance": "RES",
    "FRESistance": "FRES",
    "FREQuency": "FREQ",
    "PERiod": "PER",
    "TEMPerature": "TEMP",
    "CONTinuity": "CONT",
    "DIODe": "DIOD",
    "CAPacitance": "CAP",
    "VOLTage:RATio": "VOLT:RAT",
    "VOLTage:DC:RATio": "VOLT:RAT",
}
_NODES = {
    "VOLT": "VOLTage[:DC]",
    "VOLT:AC": "VOLTage:AC",
    "CURR": "CURRent[:DC]",
    "CURR:AC": "CURRent:AC",
    "RES": "RESistance",
    "FRES": "FRESistance",
}
_TRIGGER_SOURCES = {"IMMediate": "IMM", "EXTernal": "EXT", "BUS": "BUS", "INTernal": "INT"}
_SAMPLE_SOURCES = {"IMMediate": "IMM", "TIMer": "TIM"}
_OVERLOAD = 9.9e37
SAMPLE_TIMER_MAX = 3600.0


def _function_of(matched: str) -> str:
    """The function a matched header is about: the node after SENSe/CONFigure/MEASure."""
    for function, node in sorted(_NODES.items(), key=lambda kv: -len(kv[1])):
        plain = node.replace("[:DC]", "")
        if f":{plain}" in matched and (function.endswith(":AC") or ":AC" not in matched):
            return function
    return "VOLT"


class Keysight34465ATwin(ScpiTwin):
    """A 34465A answering SCPI, reading the bench's device voltage."""

    identity = "Keysight Technologies,34465A,MY54500123,A.03.02-03.15-03.02-00.52-03-01"
    line_frequency = 50.0

    def __init__(
        self,
        bench: Bench,
        name: str = "dmm",
        *,
        options: tuple[str, ...] = ("MEM",),
        firmware: str | None = None,
        line_frequency: float = 50.0,
    ) -> None:
        super().__init__(name)
        if firmware is not None:
            maker, model, serial, _ = self.identity.split(",")
            self.identity = f"{maker},{model},{serial},{firmware}"
        major = int(self.identity.split(",")[3].split(".")[1].split("-")[0])
        self.options = tuple(options)
        self.has_dig = "DIG" in self.options or major >= 3
        self.line_frequency = float(line_frequency)
        self.bench = bench
        self._rng = bench.rng("dmm")
        self.acquisition = Acquisition(MEMORY_MEM if "MEM" in self.options else MEMORY_STANDARD)
        self.display_text = ""
        self.reset()
        bench.triggers.add_input(f"{name}.ext_trigger", self.external_trigger)

    def reset(self) -> None:
        self.function = "VOLT"
        self.range = {f: (10.0 if f.startswith("VOLT") else r[2]) for f, r in RANGES.items()}
        self.autorange = dict.fromkeys(RANGES, True)
        self.nplc = dict.fromkeys(RANGES, 10.0)
        self.autozero = True
        self.high_impedance = False
        self.trigger_source = "IMM"
        self.trigger_count = 1
        self.trigger_delay = 0.0
        self.sample_count = 1
        self.sample_source = "IMM"
        self.sample_timer = 1.0
        self.questionable = 0  # Questionable Data event register
        if hasattr(self, "acquisition"):
            self.acquisition.abort(self.bench.now())
            self.acquisition.memory.clear()
        self._apply_impedance()

    def common(self, head: str, parameters: list[str]) -> str | None:
        if head == "*OPT?":  # five fields: 0 where an option is missing
            fields = ["0", "0", "DIG" if "DIG" in self.options else "0"]
            fields += ["MEM" if "MEM" in self.options else "0", "0"]
            return ",".join(fields)
        raise ScpiError(-113, "Undefined header")

    @property
    def _resolutions(self) -> dict[float, float]:
        return {**DIG_RESOLUTION, **NPLC_RESOLUTION} if self.has_dig else NPLC_RESOLUTION

    # -- settings -------------------------------------------------------------------------

    @scpi("[:SENSe]:FUNCtion[:ON]")
    def _set_function(self, value: str | None = None) -> None:
        self.function = mnemonic(value, _FUNCTIONS)
        self._apply_impedance()

    @scpi("[:SENSe]:FUNCtion[:ON]?")
    def _get_function(self) -> str:
        return f'"{self.function}"'

    @scpi(*(f"[:SENSe]:{node}:RANGe" for node in _NODES.values()))
    def _set_range(self, value: str | None = None) -> None:
        function = _function_of(self.matched)
        ranges = RANGES[function]
        if value is not None and value.strip().upper() in ("AUTO",):
            self.autorange[function] = True
            return
        wanted = number(value, low=0.0, high=ranges[-1] * 1.2, maximum=ranges[-1], default=10.0)
        self.range[function] = next(r for r in ranges if wanted <= r * 1.2)
        self.autorange[function] = False
        self._apply_impedance()

    @scpi(*(f"[:SENSe]:{node}:RANGe?" for node in _NODES.values()))
    def _get_range(self) -> str:
        return nr3(self.range[_function_of(self.matched)])

    @scpi(*(f"[:SENSe]:{node}:RANGe:AUTO" for node in _NODES.values()))
    def _set_auto(self, value: str | None = None) -> None:
        function = _function_of(self.matched)
        if value is not None and value.strip().upper() == "ONCE":
            self.range[function] = self._auto_range(function, self._true_value(function))
            self.autorange[function] = False
        else:
            self.autorange[function] = boolean(value)
        self._apply_impedance()

    @scpi(*(f"[:SENSe]:{node}:RANGe:AUTO?" for node in _NODES.values()))
    def _get_auto(self) -> str:
        return "1" if self.autorange[_function_of(self.matched)] else "0"

    @scpi(*(f"[:SENSe]:{node}:NPLCycles" for node in _NODES.values()))
    def _set_nplc(self, value: str | None = None) -> None:
        lowest = 0.001 if self.has_dig else 0.02
        wanted = number(value, low=0.001, high=100.0, minimum=lowest, maximum=100.0, default=10.0)
        if wanted in DIG_RESOLUTION and not self.has_dig:
            raise ScpiError(-241, "Hardware missing;DIG option")
        match = [n for n in self._resolutions if math.isclose(n, wanted, rel_tol=1e-6)]
        if not match:
            raise ScpiError(-222, "Data out of range")
        self.nplc[_function_of(self.matched)] = match[0]

    @scpi(*(f"[:SENSe]:{node}:NPLCycles?" for node in _NODES.values()))
    def _get_nplc(self) -> str:
        return nr3(self.nplc[_function_of(self.matched)])

    @scpi(*(f"[:SENSe]:{node}:RESolution?" for node in _NODES.values()))
    def _get_resolution(self) -> str:
        function = _function_of(self.matched)
        return nr3(self._resolutions[self.nplc[function]] * self.range[function])

    @scpi("[:SENSe]:VOLTage[:DC]:ZERO:AUTO", "[:SENSe]:CURRent[:DC]:ZERO:AUTO")
    def _set_autozero(self, value: str | None = None) -> None:
        if value is not None and value.strip().upper() == "ONCE":
            self.autozero = False
            return
        self.autozero = boolean(value)

    @scpi("[:SENSe]:VOLTage[:DC]:ZERO:AUTO?", "[:SENSe]:CURRent[:DC]:ZERO:AUTO?")
    def _get_autozero(self) -> str:
        return "1" if self.autozero else "0"

    @scpi("[:SENSe]:VOLTage[:DC]:IMPedance:AUTO", ":INPut:IMPedance:AUTO")
    def _set_impedance(self, value: str | None = None) -> None:
        self.high_impedance = boolean(value)
        self._apply_impedance()

    @scpi("[:SENSe]:VOLTage[:DC]:IMPedance:AUTO?", ":INPut:IMPedance:AUTO?")
    def _get_impedance(self) -> str:
        return "1" if self.high_impedance else "0"

    def _apply_impedance(self) -> None:
        """The DMM's input loads the circuit: 10 MΩ, or 10 GΩ on low DCV ranges if asked."""
        high = self.high_impedance and self.function == "VOLT" and self.range["VOLT"] <= 10.0
        with self.bench.lock:
            self.bench.circuit.dmm_input_resistance = 1e10 if high else 10e6

    # -- triggering -----------------------------------------------------------------------

    @scpi(":TRIGger:SOURce")
    def _set_trigger_source(self, value: str | None = None) -> None:
        source = mnemonic(value, _TRIGGER_SOURCES)
        if source == "INT" and not self.has_dig:
            raise ScpiError(-241, "Hardware missing;DIG option")
        self.trigger_source = source

    @scpi(":TRIGger:SOURce?")
    def _get_trigger_source(self) -> str:
        return self.trigger_source

    @scpi(":TRIGger:COUNt")
    def _set_trigger_count(self, value: str | None = None) -> None:
        self.trigger_count = int(number(value, low=1, high=1e9, default=1, integer=True))

    @scpi(":TRIGger:COUNt?")
    def _get_trigger_count(self) -> str:
        return nr3(self.trigger_count)

    @scpi(":TRIGger:DELay")
    def _set_trigger_delay(self, value: str | None = None) -> None:
        self.trigger_delay = number(value, low=0.0, high=3600.0, default=0.0)

    @scpi(":TRIGger:DELay?")
    def _get_trigger_delay(self) -> str:
        return nr3(self.trigger_delay)

    @scpi(":SAMPle:COUNt")
    def _set_sample_count(self, value: str | None = None) -> None:
        self.sample_count = int(number(value, low=1, high=1e9, default=1, integer=True))

    @scpi(":SAMPle:COUNt?")
    def _get_sample_count(self) -> str:
        return str(self.sample_count)

    @scpi(":SYSTem:LFRequency?")
    def _get_line_frequency(self) -> str:
        return str(round(self.line_frequency))

    @scpi(":DISPlay:TEXT[:DATA]")
    def _set_display_text(self, value: str | None = None) -> None:
        shown = text(value)
        if len(shown) > 40:
            raise ScpiError(-223, "Too much data")
        self.display_text = shown

    @scpi(":DISPlay:TEXT[:DATA]?")
    def _get_display_text(self) -> str:
        return f'"{self.display_text}"'

    @scpi(":DISPlay:TEXT:CLEar")
    def _clear_display_text(self) -> None:
        self.display_text = ""

    # -- measuring ------------------------------------------------------------------------

    def _true_value(self, function: str) -> float:
        with self.bench.lock:
            self.bench.sync()
            circuit = self.bench.circuit
            if function == "VOLT":
                return circuit.operating_point().dut_voltage
            if function in ("RES", "FRES"):
                span = self.range[function] if not self.autorange[function] else 1e3
                test = TEST_CURRENT.get(span, 5e-7)
                dut = circuit.dut
                return dut.voltage(test, circuit.temperature) / test
            return 0.0  # AC functions and the (open) current input

    def _auto_range(self, function: str, value: float) -> float:
        ranges = RANGES[function]
        return next((r for r in ranges if abs(value) <= r * 1.2), ranges[-1])

    def measure_seconds(self) -> float:
        """One reading: NPLC ÷ mains frequency, twice with autozero on."""
        nplc = self.nplc.get(self.function, 1.0)
        return nplc / self.line_frequency * (2 if self.autozero else 1)

    def _interval(self) -> float:
        each = self.measure_seconds()
        return max(each, self.sample_timer) if self.sample_source == "TIM" else each

    def _readings(self, count: int) -> np.ndarray:
        """``count`` readings of the present function, from the bench's state now."""
        function = self.function
        if function not in RANGES:
            return np.full(count, _OVERLOAD)
        true = self._true_value(function)
        if self.autorange[function]:
            span = self._auto_range(function, true)
            self.range[function] = span
        else:
            span = self.range[function]
            if abs(true) > span * 1.2:
                return np.full(count, math.copysign(_OVERLOAD, true))
        sigma = self._resolutions[self.nplc[function]] * span
        return true + self._rng.normal(0.0, sigma, count)

    def _take(self) -> list[float]:
        """READ? and MEASure?: every reading at once, the reply after their time."""
        total = self.sample_count * self.trigger_count
        each = self._interval()
        seconds = self.trigger_count * (self.trigger_delay + each * self.sample_count)
        self.busy_for(self.bench.clock.real_seconds(seconds))
        readings = self._readings(total).tolist()
        self.acquisition.memory.clear()
        self.acquisition.memory.extend(readings[-self.acquisition.capacity :])
        return readings

    def bring_up_to_date(self) -> None:
        """Take into memory the samples due by the bench's time (after the trigger edges the
        bench's cables delivered up to now)."""
        acquisition = self.acquisition
        before = acquisition.overflowed
        now = self.bench.sync()
        acquisition.collect(now, self._readings)
        if acquisition.overflowed > before:
            self.questionable |= OVERFLOW_BIT

    def handle(self, message: str) -> str | None:
        # Under the bench's lock: trigger edges reach the acquisition from the bench's thread
        # of the moment, and always in this order (bench, then the acquisition).
        with self.bench.lock:
            self.bring_up_to_date()
            return super().handle(message)

    @staticmethod
    def _format(readings: list[float]) -> str:
        return ",".join(nr3(value) for value in readings)

    @scpi(":SAMPle:SOURce")
    def _set_sample_source(self, value: str | None = None) -> None:
        self.sample_source = mnemonic(value, _SAMPLE_SOURCES)

    @scpi(":SAMPle:SOURce?")
    def _get_sample_source(self) -> str:
        return self.sample_source

    @scpi(":SAMPle:TIMer")
    def _set_sample_timer(self, value: str | None = None) -> None:
        fastest = self.measure_seconds()
        self.sample_timer = number(
            value, low=0.0, high=SAMPLE_TIMER_MAX, minimum=fastest, default=1.0
        )

    @scpi(":SAMPle:TIMer?")
    def _get_sample_timer(self) -> str:
        return nr3(self.sample_timer)

    @scpi(":STATus:QUEStionable[:EVENt]?")
    def _questionable_event(self) -> str:
        value, self.questionable = self.questionable, 0
        return str(value)

    @scpi(":STATus:QUEStionable:CONDition?")
    def _questionable_condition(self) -> str:
        return str(OVERFLOW_BIT if self.acquisition.overflowed else 0)

    @scpi(":INITiate[:IMMediate]")
    def _initiate(self) -> None:
        self.acquisition.arm(
            self.bench.now(),
            source=self.trigger_source,
            triggers=self.trigger_count,
            samples=self.sample_count,
            interval=self._interval(),
            delay=self.trigger_delay,
        )

    def trigger(self) -> None:
        if self.trigger_source == "BUS":
            self.acquisition.trigger(self.bench.now())

    def external_trigger(self, at: float) -> None:
        """An edge on the rear Ext Trig input at bench time ``at`` (the bench's cables call
        this, holding the bench's lock)."""
        if self.trigger_source == "EXT":
            self.acquisition.collect(at, self._readings)
            self.acquisition.trigger(at)

    @property
    def memory(self) -> list[float]:
        return list(self.acquisition.memory)

    @scpi(":ABORt")
    def _abort(self) -> None:
        self.acquisition.abort(self.bench.now())

    @scpi(":FETCh?")
    def _fetch(self) -> str | None:
        acquisition = self.acquisition
        if acquisition.triggers_left > 0:
            return None  # the real meter blocks until triggered; the client times out
        now = self.bench.now()
        last = acquisition.complete(self._readings)
        self.busy_for(self.bench.clock.real_seconds(max(0.0, last - now)))
        if not acquisition.memory:
            raise ScpiError(-230, "Data stale")
        return self._format(list(acquisition.memory))

    @scpi(":READ?")
    def _read(self) -> str:
        if self.trigger_source == "BUS":
            raise ScpiError(-214, "Trigger deadlock")
        return self._format(self._take())

    @scpi(":R?")
    def _remove(self, count: str | None = None) -> str:
        most = None if count is None else int(number(count, low=1, integer=True))
        body = self._format(self.acquisition.remove(most)).encode()
        digits = str(len(body))
        return f"#{len(digits)}{digits}{body.decode()}"

    @scpi(":DATA:POINts?")
    def _points(self) -> str:
        return str(len(self.acquisition.memory))

    def _configure(self, function: str, parameters: tuple[str, ...]) -> None:
        self.function = function
        if parameters and parameters[0].strip().upper() not in ("AUTO", "DEF", "DEFAULT", ""):
            ranges = RANGES[function]
            wanted = number(parameters[0], low=0.0, high=ranges[-1] * 1.2, maximum=ranges[-1])
            self.range[function] = next(r for r in ranges if wanted <= r * 1.2)
            self.autorange[function] = False
        else:
            self.autorange[function] = True
        if len(parameters) > 1 and parameters[1].strip().upper() not in ("DEF", "DEFAULT"):
            resolution = number(parameters[1], low=0.0, minimum=0.0, maximum=1.0)
            factor = resolution / self.range[function]
            fitting = [n for n, f in sorted(NPLC_RESOLUTION.items()) if f <= factor * 1.0001]
            self.nplc[function] = fitting[0] if fitting else 100.0
        self.trigger_source, self.trigger_count, self.sample_count = "IMM", 1, 1
        self.trigger_delay = 0.0
        self._apply_impedance()

    @scpi(*(f":CONFigure:{node}" for node in _NODES.values()))
    def _conf(self, *parameters: str) -> None:
        self._configure(_function_of(self.matched), parameters)

    @scpi(":CONFigure?")
    def _conf_query(self) -> str:
        function = self.function
        if function not in RANGES:
            return f'"{function}"'
        span = self.range[function]
        resolution = self._resolutions[self.nplc[function]] * span
        return f'"{function} {nr3(span)},{nr3(resolution)}"'

    @scpi(*(f":MEASure:{node}?" for node in _NODES.values()))
    def _meas(self, *parameters: str) -> str:
        self._configure(_function_of(self.matched), parameters)
        return self._format(self._take())
