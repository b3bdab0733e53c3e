"""Keysight 33500B-series waveform generator twin (SCPI), driving the bench's signal chain.

Written from the 33500 Series guide's command set (``notes/instruments.md``, section 3):
per-output ``[SOURce#]:FUNCtion``, ``:FREQuency``, ``:VOLTage`` (in ``VOLT:UNIT`` VPP, VRMS
or DBM), ``:VOLTage:OFFSet``, ``:PHASe``, ``:FUNCtion:SQUare:DCYCle``,
``:FUNCtion:PULSe:DCYCle``, ``:FUNCtion:RAMP:SYMMetry``, ``OUTPut#[:STATe]``,
``OUTPut#:LOAD`` (``INF`` reads ``9.9E+37``), ``PHASe:SYNChronize``, ``UNIT:ANGLe`` and the
error queue. Numbers are answered as ``+1.000000000000000E+03``. Burst, trigger and Trig Out:
see :mod:`labkit.sim.twins._keysight33500b_burst`.

Limits as the generator applies them: a value out of its absolute range is clipped and
``-222,"Data out of range;value clipped to ..."`` queued; one that conflicts with another
setting (the amplitude with the offset, a frequency above a ramp's 200 kHz after a change of
function, a duty cycle below the 16 ns pulse width) is adjusted with
``-221,"Settings conflict;..."``. Amplitude and offset refer to the load setting: the
generator's EMF is :math:`V (R + 50\\,\\Omega)/R` (:math:`V` into :math:`R`, :math:`R = \\infty`
for high Z), at most 20 Vpp and ±10 V; changing the load keeps the EMF and rescales what is
reported, with no error.

Physics: output 1 drives ``bench.signal.generator`` with its EMF (the signal path's input is
high impedance, so a generator set for 50 Ω delivers twice the amplitude it shows); output 2
is not connected. The bench renders sine, square, triangle, ramp and DC; a pulse and a PRBS
are rendered as a square wave, an arbitrary waveform (the power-on one is an exponential
rise) as a ramp (the duty cycle, the ramp symmetry, the bit sequence and noise are kept as
settings but not simulated; noise outputs only its offset).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import ScpiTwin, boolean, mnemonic, number, scpi
from labkit.sim.twins._keysight33500b_burst import BurstTrigger

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["Keysight33500BTwin"]

_MODELS = {  # model: (outputs, highest frequency)
    "33509B": (1, 20e6),
    "33510B": (2, 20e6),
    "33511B": (1, 20e6),
    "33512B": (2, 20e6),
    "33521B": (1, 30e6),
    "33522B": (2, 30e6),
}
_FUNCTIONS = {
    "SINusoid": "SIN",
    "SQUare": "SQU",
    "TRIangle": "TRI",
    "RAMP": "RAMP",
    "PULSe": "PULS",
    "PRBS": "PRBS",
    "NOISe": "NOIS",
    "ARBitrary": "ARB",
    "DC": "DC",
}
_BENCH_WAVEFORM = {
    "SIN": "sine",
    "SQU": "square",
    "TRI": "triangle",
    "RAMP": "ramp",
    "PULS": "square",
    "PRBS": "square",
    "NOIS": "dc",
    "ARB": "ramp",
    "DC": "dc",
}
_SLOW = {"TRI", "RAMP"}  # 200 kHz at most
_SLOW_MAX = 200e3
_UNITS = {"VPP": "VPP", "VRMS": "VRMS", "DBM": "DBM"}
_CREST = {"SIN": 2 * math.sqrt(2), "SQU": 2.0, "PULS": 2.0, "TRI": 2 * math.sqrt(3)}
_CREST["RAMP"] = _CREST["TRI"]
_EMF_MAX = 10.0  # V: the largest |offset| + amplitude/2 the output stage reaches open-circuit
_EMF_MIN_PP = 2e-3  # Vpp: 1 mVpp into 50 Ω
_MIN_WIDTH = 16e-9  # s: shortest pulse or square-wave part
_HIGH_Z = 9.9e37
_SOURCE_Z = 50.0


def _nr3(value: float) -> str:
    return f"{value:+.15E}"


@dataclasses.dataclass
class _Output:
    """One output's settings, in the generator's terms (amplitude in Vpp into ``load``)."""

    function: str = "SIN"
    frequency: float = 1e3
    amplitude: float = 0.1
    offset: float = 0.0
    phase: float = 0.0
    unit: str = "VPP"
    load: float = 50.0  # ohms; math.inf for high Z
    output: bool = False
    square_duty: float = 50.0
    pulse_duty: float = 10.0
    symmetry: float = 100.0

    @property
    def to_emf(self) -> float:
        """Open-circuit voltage per volt shown: (R + 50 Ω)/R."""
        return 1.0 if math.isinf(self.load) else (self.load + _SOURCE_Z) / self.load


class Keysight33500BTwin(BurstTrigger, ScpiTwin):
    """A 33500B answering SCPI; output 1 is the bench's function generator."""

    def __init__(self, bench: Bench, name: str = "fg", model: str = "33522B") -> None:
        super().__init__(name)
        if model not in _MODELS:
            raise ValueError(f"unknown 33500B model {model!r}; use one of {', '.join(_MODELS)}")
        self.model = model
        self.identity = f"Keysight Technologies,{model},MY59001234,5.03-3.15-2.00-58-00"
        self.count, self.max_frequency = _MODELS[model]
        self.bench = bench
        self.outputs: list[_Output] = []
        self.reset()
        self.attach_trigger_out()

    def reset(self) -> None:
        self.outputs = [_Output() for _ in range(self.count)]
        self.angle_unit = "DEG"
        self.reset_bursts()
        self._apply()

    # -- helpers --------------------------------------------------------------------------

    def _out(self, index: int = 0) -> _Output:
        number_ = self.suffix(index)
        if not 1 <= number_ <= self.count:
            raise ScpiError(-113, "Undefined header")
        return self.outputs[number_ - 1]

    def _apply(self) -> None:
        """Output 1 drives the bench: its EMF, which is what a high-impedance input sees."""
        out = self.outputs[0]
        emf = out.to_emf
        with self.bench.lock:
            self.bench.signal.generator.update(
                waveform=_BENCH_WAVEFORM[out.function],
                frequency=out.frequency,
                amplitude=out.amplitude * emf,
                offset=out.offset * emf,
                phase=out.phase,
                output=out.output,
            )

    def _frequency_limit(self, out: _Output) -> float:
        return _SLOW_MAX if out.function in _SLOW else self.max_frequency

    def _amplitude_span(self, out: _Output) -> tuple[float, float]:
        """Smallest and largest amplitude (Vpp into the load) the output stage reaches."""
        return _EMF_MIN_PP / out.to_emf, 2 * _EMF_MAX / out.to_emf

    def _offset_limit(self, out: _Output) -> float:
        return _EMF_MAX / out.to_emf

    def _shown(self, out: _Output, vpp: float) -> float:
        """An amplitude in Vpp as the present ``VOLT:UNIT`` reports it."""
        if out.unit == "VPP":
            return vpp
        rms = vpp / _CREST.get(out.function, 2 * math.sqrt(2))
        if out.unit == "VRMS":
            return rms
        return 10 * math.log10(rms**2 / out.load / 1e-3)

    def _to_vpp(self, out: _Output, value: float) -> float:
        if out.unit == "VPP":
            return value
        crest = _CREST.get(out.function, 2 * math.sqrt(2))
        if out.unit == "VRMS":
            return value * crest
        return math.sqrt(1e-3 * out.load * 10 ** (value / 10)) * crest

    # -- function and frequency -----------------------------------------------------------

    @scpi("[:SOURce#]:FUNCtion[:SHAPe]")
    def _set_function(self, value: str | None = None) -> None:
        out = self._out()
        out.function = mnemonic(value, _FUNCTIONS)
        self._apply()
        limit = self._frequency_limit(out)
        if out.frequency > limit:
            out.frequency = limit
            self._apply()
            raise ScpiError(-221, "Settings conflict;frequency reduced to the function's limit")

    @scpi("[:SOURce#]:FUNCtion[:SHAPe]?")
    def _get_function(self) -> str:
        return self._out().function

    @scpi("[:SOURce#]:FREQuency[:CW]", "[:SOURce#]:FREQuency:FIXed")
    def _set_frequency(self, value: str | None = None) -> None:
        out = self._out()
        limit = self._frequency_limit(out)
        wanted = number(value, minimum=1e-6, maximum=limit, default=1e3)
        out.frequency = min(max(wanted, 1e-6), limit)
        self._keep_widths(out)
        self._apply()
        if wanted != out.frequency:
            side = "upper" if wanted > limit else "lower"
            raise ScpiError(-222, f"Data out of range;value clipped to {side} limit")

    @scpi("[:SOURce#]:FREQuency[:CW]?", "[:SOURce#]:FREQuency:FIXed?")
    def _get_frequency(self) -> str:
        return _nr3(self._out().frequency)

    # -- amplitude and offset -------------------------------------------------------------

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_amplitude(self, value: str | None = None) -> None:
        out = self._out()
        low, high = self._amplitude_span(out)
        if value is not None and value.strip().upper() in ("MIN", "MINIMUM", "MAX", "MAXIMUM"):
            wanted = low if value.strip().upper().startswith("MIN") else high
        else:
            wanted = self._to_vpp(out, number(value))
        if not low * (1 - 1e-9) <= wanted <= high * (1 + 1e-9):
            out.amplitude = min(max(wanted, low), high)
            self._fit_offset(out, keep="amplitude")
            self._apply()
            side = "upper" if wanted > high else "lower"
            raise ScpiError(-222, f"Data out of range;value clipped to {side} limit")
        out.amplitude = wanted
        conflict = self._fit_offset(out, keep="offset")
        self._apply()
        if conflict:
            raise ScpiError(-221, "Settings conflict;amplitude reduced to fit the offset")

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_amplitude(self) -> str:
        out = self._out()
        return _nr3(self._shown(out, out.amplitude))

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet")
    def _set_offset(self, value: str | None = None) -> None:
        out = self._out()
        limit = self._offset_limit(out)
        wanted = number(value, minimum=-limit, maximum=limit, default=0.0)
        if abs(wanted) > limit * (1 + 1e-9):
            out.offset = math.copysign(limit, wanted)
            self._fit_offset(out, keep="offset")
            self._apply()
            side = "upper" if wanted > 0 else "lower"
            raise ScpiError(-222, f"Data out of range;value clipped to {side} limit")
        out.offset = wanted
        conflict = self._fit_offset(out, keep="amplitude")
        self._apply()
        if conflict:
            raise ScpiError(-221, "Settings conflict;offset reduced to fit the amplitude")

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet?")
    def _get_offset(self) -> str:
        return _nr3(self._out().offset)

    def _fit_offset(self, out: _Output, keep: str) -> bool:
        """Bring |offset| + amplitude/2 within the output's reach by changing the other one."""
        limit = self._offset_limit(out)
        if out.function == "DC" or abs(out.offset) + out.amplitude / 2 <= limit * (1 + 1e-9):
            return False
        if keep == "offset":
            out.amplitude = max(2 * (limit - abs(out.offset)), self._amplitude_span(out)[0])
        else:
            out.offset = math.copysign(max(limit - out.amplitude / 2, 0.0), out.offset)
        return True

    @scpi("[:SOURce#]:VOLTage:UNIT")
    def _set_unit(self, value: str | None = None) -> None:
        out = self._out()
        unit = mnemonic(value, _UNITS)
        if unit == "DBM" and math.isinf(out.load):
            raise ScpiError(-221, "Settings conflict;dBm not allowed with a high-Z load")
        out.unit = unit

    @scpi("[:SOURce#]:VOLTage:UNIT?")
    def _get_unit(self) -> str:
        return self._out().unit

    # -- phase and shape details ----------------------------------------------------------

    @scpi("[:SOURce#]:PHASe[:ADJust]")
    def _set_phase(self, value: str | None = None) -> None:
        out = self._out()
        wanted = number(value, minimum=-360.0, maximum=360.0, default=0.0)
        if self.angle_unit == "RAD":
            wanted = math.degrees(wanted)
        if not -360.0 <= wanted <= 360.0:
            raise ScpiError(-222, "Data out of range")
        out.phase = wanted
        self._apply()

    @scpi("[:SOURce#]:PHASe[:ADJust]?")
    def _get_phase(self) -> str:
        phase = self._out().phase
        return _nr3(math.radians(phase) if self.angle_unit == "RAD" else phase)

    @scpi("[:SOURce#]:PHASe:SYNChronize")
    def _sync(self) -> None:
        """Both outputs restart together: nothing to do for a simulated reference."""

    @scpi(":UNIT:ANGLe")
    def _set_angle_unit(self, value: str | None = None) -> None:
        self.angle_unit = mnemonic(value, {"DEGree": "DEG", "RADian": "RAD"})

    @scpi(":UNIT:ANGLe?")
    def _get_angle_unit(self) -> str:
        return self.angle_unit

    @scpi("[:SOURce#]:FUNCtion:SQUare:DCYCle")
    def _set_square_duty(self, value: str | None = None) -> None:
        out = self._out()
        wanted = number(value, low=0.01, high=99.98, default=50.0)
        out.square_duty = wanted
        if self._keep_widths(out):
            raise ScpiError(-221, "Settings conflict;duty cycle limited by the pulse width")

    @scpi("[:SOURce#]:FUNCtion:SQUare:DCYCle?")
    def _get_square_duty(self) -> str:
        return _nr3(self._out().square_duty)

    @scpi("[:SOURce#]:FUNCtion:PULSe:DCYCle")
    def _set_pulse_duty(self, value: str | None = None) -> None:
        out = self._out()
        out.pulse_duty = number(value, low=0.0, high=100.0, default=10.0)
        if self._keep_widths(out):
            raise ScpiError(-221, "Settings conflict;duty cycle limited by the pulse width")

    @scpi("[:SOURce#]:FUNCtion:PULSe:DCYCle?")
    def _get_pulse_duty(self) -> str:
        return _nr3(self._out().pulse_duty)

    def _keep_widths(self, out: _Output) -> bool:
        """Both parts of a square wave or pulse last at least 16 ns; True if adjusted."""
        least = 100.0 * _MIN_WIDTH * out.frequency
        changed = False
        for name in ("square_duty", "pulse_duty"):
            duty = getattr(out, name)
            fitted = min(max(duty, least), 100.0 - least) if least < 50 else 50.0
            if not math.isclose(fitted, duty, rel_tol=1e-12):
                setattr(out, name, fitted)
                changed = True
        return changed

    @scpi("[:SOURce#]:FUNCtion:RAMP:SYMMetry")
    def _set_symmetry(self, value: str | None = None) -> None:
        self._out().symmetry = number(value, low=0.0, high=100.0, default=100.0)

    @scpi("[:SOURce#]:FUNCtion:RAMP:SYMMetry?")
    def _get_symmetry(self) -> str:
        return _nr3(self._out().symmetry)

    # -- output -----------------------------------------------------------------------------

    @scpi(":OUTPut#[:STATe]")
    def _set_output(self, value: str | None = None) -> None:
        self._out().output = boolean(value)
        self._apply()

    @scpi(":OUTPut#[:STATe]?")
    def _get_output(self) -> str:
        return "1" if self._out().output else "0"

    @scpi(":OUTPut#:LOAD")
    def _set_load(self, value: str | None = None) -> None:
        out = self._out()
        word = (value or "").strip().upper()
        if word in ("INF", "INFINITY"):
            load = math.inf
        else:
            load = number(value, low=1.0, high=10e3, minimum=1.0, maximum=10e3, default=50.0)
        emf = out.to_emf
        out.load = load
        # The output does not change: what it reports is rescaled for the new load.
        out.amplitude *= emf / out.to_emf
        out.offset *= emf / out.to_emf
        if out.unit == "DBM" and math.isinf(load):
            out.unit = "VPP"
        self._apply()

    @scpi(":OUTPut#:LOAD?")
    def _get_load(self) -> str:
        load = self._out().load
        return _nr3(_HIGH_Z if math.isinf(load) else load)
