"""Keysight 33500B-series function / arbitrary waveform generators (SCPI over LAN, USB, GPIB).

Written from the 33500 Series Operating and Service Guide's SCPI command set
(``notes/instruments.md``, section 3): ``[SOURce#]:FUNCtion``, ``:FREQuency``, ``:VOLTage``
(amplitude), ``:VOLTage:OFFSet``, ``:VOLTage:UNIT``, ``:PHASe``, the square duty cycle, pulse
duty cycle and ramp symmetry, ``OUTPut#`` and ``OUTPut#:LOAD``, ``PHASe:SYNChronize`` and the
error queue. Each output is a :class:`labkit.Channel` (``fg.ch1``, ``fg.ch2``) whose commands
carry its number (``SOUR2:FREQ 1000``).

Units: the amplitude is always in volts peak-to-peak (the driver sends ``VOLT:UNIT VPP`` and
``UNIT:ANGL DEG`` when it connects), the phase in degrees.

Limits. Hard limits are what is statically known: 1 µHz up to the model's highest frequency
(20 MHz for the 33509B/10B/11B/12B, 30 MHz for the 33521B/22B), 1 mVpp … 20 Vpp, offset
±10 V, duty cycles and symmetry in percent. The generator itself enforces the limits that
depend on other settings, and so does this driver through its error queue: the amplitude and
offset depend on the **load** setting (10 Vpp and ±5 V into 50 Ω, twice that into high Z,
``|offset| + amplitude/2`` within the same bound), ramps and triangles stop at 200 kHz, a
square wave's duty cycle is bounded by its 16 ns minimum pulse width. The generator clips such
a value and queues ``-222``/``-221``; the driver then raises :class:`labkit.InstrumentError`
with the generator's message, reads back the value the generator really has and keeps that.

The **load** setting does not change the output: it says what the amplitude refers to. Into a
high-impedance input (an oscilloscope, a lock-in) a generator set for 50 Ω delivers twice the
amplitude it shows; changing the load rescales the amplitude and offset it reports (which this
driver reads back).
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

from traitlets import TraitType

from labkit.core import (
    Action,
    Channel,
    ChoiceError,
    InstrumentError,
    LimitError,
    MessageInstrument,
    Setting,
    TraitSpec,
)
from labkit.drivers.keysight._33500b_trigger import TriggerTrain
from labkit.drivers.scpi import ScpiInstrument, parse_number

__all__ = [
    "Keysight33500B",
    "Keysight33511B",
    "Keysight33512B",
    "Keysight33521B",
    "Keysight33522B",
    "WaveformOutput",
]

FUNCTIONS = {
    "sine": "SIN",
    "square": "SQU",
    "triangle": "TRI",
    "ramp": "RAMP",
    "pulse": "PULS",
    "prbs": "PRBS",
    "noise": "NOIS",
    "arbitrary": "ARB",
    "dc": "DC",
}
"""Every ``FUNCtion`` of the 33500B series (programming guide 33500-90901): ``arbitrary`` plays
the arbitrary waveform loaded in the generator, ``prbs`` its pseudo-random bit sequence."""
_HIGH_Z = 9.9e37
_LOAD_RANGE = (1.0, 10e3)  # ohms: OUTPut:LOAD takes 1 Ω to 10 kΩ, or INFinity


def _load(reply: str) -> str:
    """``OUTP:LOAD?`` → ``"50 ohm"``, ``"high Z"`` (``9.9E+37``) or any other load it is set to
    (``"75 ohm"``, ``"1 kohm"``): a generator may be left at any of them."""
    value = parse_number(reply, overload=_HIGH_Z)
    if math.isinf(value):
        return "high Z"
    return _ohms(value)


def _ohms(value: float) -> str:
    if value >= 1e3:
        return f"{value / 1e3:g} kohm"
    return f"{value:g} ohm"


_OHMS = re.compile(r"^\s*([0-9.]+(?:[eE][+-]?\d+)?)\s*(k|M)?\s*(?:ohms?|Ω)?\s*$")


def _parse_ohms(value: Any) -> float | None:
    """A resistance in ohms from a number or ``"75 ohm"``, ``"1 kohm"``, ``"50 Ω"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _OHMS.match(str(value))
    if match is None:
        return None
    try:
        number = float(match[1])
    except ValueError:
        return None
    return number * {"k": 1e3, "M": 1e6}.get(match[2] or "", 1.0)


def _load_token(value: Any) -> str:
    """The ``OUTP:LOAD`` argument for ``"high Z"``, ``"75 ohm"``, ``"1 kohm"`` or a number of
    ohms; a load outside 1 Ω to 10 kΩ is refused before anything is sent."""
    if isinstance(value, str) and value.strip().casefold() in ("high z", "highz", "inf"):
        return "INF"
    ohms = _parse_ohms(value)
    if ohms is None:
        raise ChoiceError(
            f"{value!r} is not a load: give 'high Z' or a resistance such as '50 ohm'",
            value=value,
            hint="The 33500B takes 1 Ω to 10 kΩ, or high Z",
        )
    if not _LOAD_RANGE[0] <= ohms <= _LOAD_RANGE[1]:
        raise LimitError(
            f"a load of {_ohms(ohms)} is outside the generator's 1 ohm to 10 kohm",
            value=value,
            limit=_LOAD_RANGE,
            hint="Give 1 Ω to 10 kΩ, or 'high Z'",
        )
    return format(ohms, "g")


def _check_queue(
    root: ScpiInstrument, owner: MessageInstrument, spec: TraitSpec, command: Any
) -> None:
    """Read the error queue after a set; on a refusal keep the value the generator really has.

    The 33500B clips a value that breaks a limit depending on other settings and queues an
    error: the output changed, to the clipped value. That value is read back and stored, and
    the error names it.
    """
    try:
        root.raise_queued_error(command, spec.name)
    except InstrumentError as error:
        if error.code is None or not spec.readable:
            raise  # not a refusal from the queue (a timeout...), or nothing to read back
        try:
            actual = owner.read(spec.name)
        except Exception:
            raise error from None
        shown = f"{actual:g} {spec.unit}" if isinstance(actual, float) else repr(actual)
        error.message += f"; the generator has {shown} now"
        raise


def _switch(header: str, doc: str, *, safe: bool | None = None) -> TraitType[Any, Any]:
    """An ON/OFF setting at a SCPI ``header``: asked with ``header?``, set with ``header ON``."""
    return Setting(bool, header=header, bool_tokens=("ON", "OFF"), safe=safe, doc=doc)


class WaveformOutput(MessageInstrument):
    """One output of a 33500B generator: waveform, frequency, amplitude, offset and switch."""

    index: int = 1

    function = Setting(
        choices=FUNCTIONS,
        header="SOUR{self.index}:FUNC",
        doc="Waveform shape (ramps and triangles are limited to 200 kHz)",
    )
    frequency = Setting(
        unit="Hz",
        min=1e-6,
        max=30e6,
        header="SOUR{self.index}:FREQ",
        doc="Frequency (30 MHz is the family's highest; the 20 MHz models and the ramp and "
        "triangle limit are enforced by the generator)",
    )
    amplitude = Setting(
        unit="V",
        min=1e-3,
        max=20.0,
        header="SOUR{self.index}:VOLT",
        doc="Amplitude in volts peak-to-peak, into the load setting (at most 10 Vpp into 50 Ω, "
        "20 Vpp into high Z, and |offset| + amplitude/2 within 5 V or 10 V)",
    )
    offset = Setting(
        unit="V",
        min=-10.0,
        max=10.0,
        header="SOUR{self.index}:VOLT:OFFS",
        doc="DC offset, into the load setting (±5 V into 50 Ω, ±10 V into high Z, less the "
        "half amplitude)",
    )
    phase = Setting(
        unit="deg",
        min=-360.0,
        max=360.0,
        header="SOUR{self.index}:PHAS",
        doc="Phase offset of the waveform relative to the generator's reference",
    )
    square_duty_cycle = Setting(
        unit="%",
        min=0.01,
        max=99.98,
        header="SOUR{self.index}:FUNC:SQU:DCYC",
        doc="Fraction of a square wave's period spent high (each part at least 16 ns)",
    )
    pulse_duty_cycle = Setting(
        unit="%",
        min=0.0,
        max=100.0,
        header="SOUR{self.index}:FUNC:PULS:DCYC",
        doc="Pulse width as a fraction of the period (the width must stay at least 16 ns "
        "from either end)",
    )
    ramp_symmetry = Setting(
        unit="%",
        min=0.0,
        max=100.0,
        header="SOUR{self.index}:FUNC:RAMP:SYMM",
        doc="Fraction of a ramp's period spent rising (50 % is a triangle)",
    )
    load = Setting(
        str,
        get="OUTP{self.index}:LOAD?",
        parse=_load,
        doc="The load the amplitude and offset refer to: '50 ohm', 'high Z' (an open circuit: "
        "a 50 Ω setting into a high-impedance input delivers twice the amplitude shown), or "
        "any load from 1 Ω to 10 kΩ ('75 ohm', '1 kohm')",
    )
    output = _switch("OUTP{self.index}", "Output switch: on drives the connector", safe=False)

    burst = _switch(
        "SOUR{self.index}:BURS:STAT",
        "Burst mode: each trigger outputs burst_cycles cycles (else the output runs on)",
    )
    burst_mode = Setting(
        choices={"triggered": "TRIG", "gated": "GAT"},
        header="SOUR{self.index}:BURS:MODE",
        doc="A burst per trigger, or output while the rear Ext Trig input is active",
    )
    burst_cycles = Setting(
        int,
        min=1,
        max=100_000_000,
        header="SOUR{self.index}:BURS:NCYC",
        parse=lambda reply: round(float(reply)),
        doc="Cycles output per trigger in triggered burst mode",
    )
    burst_period = Setting(
        unit="s",
        min=1e-6,
        max=8000.0,
        header="SOUR{self.index}:BURS:INT:PER",
        doc="Time between bursts with the immediate trigger source (longer than a burst)",
    )
    trigger_source = Setting(
        choices={"immediate": "IMM", "external": "EXT", "timer": "TIM", "bus": "BUS"},
        header="TRIG{self.index}:SOUR",
        doc="What starts a burst: the internal burst period, the rear Ext Trig input, the "
        "trigger timer, or *TRG",
    )
    trigger_timer = Setting(
        unit="s",
        min=1e-6,
        max=8000.0,
        header="TRIG{self.index}:TIM",
        doc="Period of the timer trigger source",
    )

    def _set_load(self, value: str) -> None:
        self.write(f"OUTP{self.index}:LOAD {_load_token(value)}")
        # The generator keeps its output and rescales what it reports: read both again.
        self.refresh("amplitude", "offset")

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        assert isinstance(self.parent, ScpiInstrument)
        _check_queue(self.parent, self, spec, command)


class WaveformOutput20MHz(WaveformOutput):
    """One output of a 20 MHz 33500B generator (33509B, 33510B, 33511B, 33512B)."""

    frequency = WaveformOutput.frequency.replace(
        max=20e6,
        doc="Frequency (ramps and triangles are limited to 200 kHz by the generator)",
    )


class Keysight33500B(ScpiInstrument):
    """Keysight 33500B-series waveform generator, any model of the family, output 1.

    Works with every 33500B model; use the model's own class (``Keysight33522B``...) for the
    second output and for the model's frequency limit checked before any byte is sent.
    """

    manufacturer = "Keysight"
    models: ClassVar[tuple[str, ...]] = (
        "33509B",
        "33510B",
        "33511B",
        "33512B",
        "33521B",
        "33522B",
    )
    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }

    ch1 = Channel(WaveformOutput, index=1)

    trigger_output = _switch(
        "OUTP:TRIG", "A pulse on the rear Trig Out connector at the start of every burst"
    )
    trigger_output_slope = Setting(
        choices={"rising": "POS", "falling": "NEG"},
        header="OUTP:TRIG:SLOP",
        doc="The edge Trig Out gives at the start of a burst",
    )
    trigger = Action(
        "*TRG",
        label="Trigger",
        doc="Bus trigger: a burst on every channel whose trigger source is 'bus'",
    )

    def identify(self) -> dict[str, str]:
        identity = super().identify()
        # Amplitudes in Vpp and phases in degrees, whatever the front panel was set to.
        units = ";".join(f":SOUR{channel.index}:VOLT:UNIT VPP" for channel in self._outputs())
        self.write(f"{units};:UNIT:ANGL DEG")
        return identity

    def _outputs(self) -> list[Any]:
        return [c for c in self._channels.values() if isinstance(c, WaveformOutput)]

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        _check_queue(self, self, spec, command)

    def trigger_train(self, count: int, period: Any, **options: Any) -> TriggerTrain:
        """``count`` Trig Out edges ``period`` apart (timer-triggered bursts), to lead a fly
        scan in a run (``labkit.runs.Triggered``): see :class:`TriggerTrain`."""
        return TriggerTrain(self, count, period, **options)


def _sync_phases() -> Any:
    return Action(
        "PHAS:SYNC",
        label="Synchronise phases",
        doc="Restart both outputs' phase together (so that their phase settings relate them)",
    )


class Keysight33511B(Keysight33500B):
    """Keysight 33511B: one output, 20 MHz."""

    models = ("33511B",)
    ch1 = Channel(WaveformOutput20MHz, index=1)


class Keysight33521B(Keysight33500B):
    """Keysight 33521B: one output, 30 MHz."""

    models = ("33521B",)


class Keysight33512B(Keysight33500B):
    """Keysight 33512B: two outputs, 20 MHz."""

    models = ("33512B",)
    ch1 = Channel(WaveformOutput20MHz, index=1)
    ch2 = Channel(WaveformOutput20MHz, index=2)
    sync_phases = _sync_phases()


class Keysight33522B(Keysight33500B):
    """Keysight 33522B: two outputs, 30 MHz."""

    models = ("33522B",)
    ch2 = Channel(WaveformOutput, index=2)
    sync_phases = _sync_phases()
