"""Stanford Research Systems SR830 DSP lock-in amplifier, over GPIB or RS-232.

Written from the SR830 manual's remote programming chapter (``notes/instruments.md``,
section 4). The SR830 does not speak SCPI: commands are four-letter mnemonics with
comma-separated parameters (``SENS 22``, ``OUTP? 1``, ``SNAP? 1,2``), settings are read back as
integer indices into the manual's tables, and there is no error queue.

Interface. All replies go only to the interface selected with ``OUTX`` (0 = RS-232,
1 = GPIB), so the driver sends ``OUTX`` first on every connection. Which one it is comes from
the address: an ``ASRL`` VISA resource, a serial port (``COM3``, ``/dev/ttyUSB0``) or a pyserial
URL (``labsim://lockin``, ``socket://``) is RS-232 — replies end with CR, and the driver opens
the port at 9600 baud, 8 data bits, no parity, 1 stop bit (override with ``baud_rate=`` ... as
set on the instrument's Setup > RS232 menu) — anything else is GPIB (LF). ``interface=
"rs232"`` or ``"gpib"`` says it explicitly (a GPIB-to-LAN gateway, a serial server).

Status instead of an error queue. After every set the driver reads the standard event status
(``*ESR?``): an execution error (a parameter out of range, as ``HARM 3`` when 3 × the
reference exceeds 102 kHz) or a command error becomes an :class:`labkit.InstrumentError`
and the setting keeps its previous value; then it reads the LIA status (``LIAS?``), which
clears the overload flags the previous configuration latched. After every reading (``x``,
``y``, ``r``, ``theta``, :meth:`SR830.snap`) it reads ``LIAS?`` again: an input, filter or
output overload, or a reference unlock, raises :class:`LockInStatusError`, which carries the
values read (``error.values``) and names the conditions — an overloaded reading is clipped
and means nothing, so it is not passed on as data. Set ``check_status = False`` on the
instrument to take readings regardless; :meth:`SR830.status` tells what is flagged.
``errors()`` reads the hardware error status (``ERRS?``: backup, RAM, ROM, GPIB, DSP, math).

Units: sensitivities are volts RMS full scale in the voltage inputs (A, A−B); in the current
inputs the same index means 10⁻⁶ times as many amperes (2 fA … 1 µA) and X, Y, R are in
amperes. The phase is in degrees; the SR830 reports it wrapped to ±180°.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from labkit.core import (
    Action,
    ConfigurationError,
    InstrumentError,
    InstrumentTimeout,
    LabkitError,
    MessageInstrument,
    Reading,
    ReplyError,
    Setting,
    TraitSpec,
)
from labkit.drivers.scpi import parse_identity, parse_number
from labkit.drivers.stanford._sr830_buffer import RATES, LockinBuffer, first_field

__all__ = ["SENSITIVITIES", "SR830", "TIME_CONSTANTS", "LockInStatusError"]

SENSITIVITIES = (
    2e-9, 5e-9, 1e-8, 2e-8, 5e-8, 1e-7, 2e-7, 5e-7, 1e-6,
    2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3,
    2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0,
)  # fmt: skip
TIME_CONSTANTS = (
    1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3,
    1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4,
)  # fmt: skip
SNAP_PARAMETERS = {
    "x": 1,
    "y": 2,
    "r": 3,
    "theta": 4,
    "aux_in_1": 5,
    "aux_in_2": 6,
    "aux_in_3": 7,
    "aux_in_4": 8,
    "frequency": 9,
    "ch1": 10,
    "ch2": 11,
}
LIA_CONDITIONS = {
    0: "input overload",
    1: "filter overload",
    2: "output overload",
    3: "reference unlock",
}
HARDWARE_ERRORS = {
    1: "battery backup failed",
    2: "RAM memory test failed",
    4: "ROM memory test failed",
    5: "GPIB fast data transfer aborted",
    6: "DSP test failed",
    7: "internal math error",
}
_EXECUTION_ERROR = 0x10
_COMMAND_ERROR = 0x20
_INTERFACE_READY = 0x02
_SERIAL_ADDRESS = re.compile(r"^(ASRL|COM\d|/dev/|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
RS232_OPTIONS: dict[str, Any] = {
    "read_termination": "\r",
    "write_termination": "\r",
    "baud_rate": 9600,
    "data_bits": 8,
    "parity": "none",
    "stop_bits": 1,
}


class LockInStatusError(InstrumentError):
    """The lock-in flagged the reading just taken: an overload or a lost reference lock.

    ``conditions`` names what was flagged (``"input overload"``, ``"filter overload"``,
    ``"output overload"``, ``"reference unlock"``); ``values`` holds the values read, for
    whoever wants them anyway.
    """

    def __init__(
        self,
        message: str,
        *,
        conditions: tuple[str, ...] = (),
        values: dict[str, float] | None = None,
        **context: Any,
    ) -> None:
        self.conditions = tuple(conditions)
        self.values = dict(values or {})
        super().__init__(message, **context)


def interface_of(resource: str | None) -> str:
    """``"rs232"`` for serial ports, ASRL resources and pyserial URLs, else ``"gpib"``."""
    return "rs232" if resource and _SERIAL_ADDRESS.match(resource) else "gpib"


def _number(reply: str, command: str) -> float:
    try:
        return parse_number(reply, overload=None)
    except ReplyError as error:
        error.command = command
        raise


def _status_byte(reply: str, command: str) -> int:
    text = reply.strip()
    if not text.isdigit() or int(text) > 255:
        raise ReplyError(
            f"expected a status byte (0…255), the lock-in answered {reply!r}",
            reply=reply,
            command=command,
        )
    return int(text)


def _conditions(status: int) -> tuple[str, ...]:
    return tuple(name for bit, name in LIA_CONDITIONS.items() if status & (1 << bit))


def _choices(values: tuple[float, ...]) -> dict[float, int]:
    return {value: index for index, value in enumerate(values)}


class SR830(MessageInstrument):
    """Stanford Research SR830 lock-in amplifier: reference, input, filters, and X, Y, R, θ."""

    manufacturer = "Stanford Research Systems"
    models: ClassVar[tuple[str, ...]] = ("SR830",)
    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }
    check_status: bool = True
    """Raise :class:`LockInStatusError` for a reading taken while an overload or unlock is
    flagged (set False on an instance to take such readings anyway)."""

    # -- reference ------------------------------------------------------------------------
    reference_source = Setting(
        choices={"external": 0, "internal": 1},
        header="FMOD",
        doc="Where the reference comes from: the REF IN connector or the internal oscillator",
    )
    frequency = Setting(
        unit="Hz",
        min=1e-3,
        max=102e3,
        header="FREQ",
        doc="Internal oscillator frequency (settable with the internal reference only); with "
        "an external reference, reads the measured reference frequency",
    )
    reference_trigger = Setting(
        choices={"sine": 0, "TTL rising": 1, "TTL falling": 2},
        header="RSLP",
        doc="How an external reference is detected: a sine's zero crossing or a TTL edge",
    )
    harmonic = Setting(
        int,
        min=1,
        max=19999,
        header="HARM",
        doc="Detect at this multiple of the reference (harmonic × frequency ≤ 102 kHz, which "
        "the lock-in enforces)",
    )
    phase = Setting(
        unit="deg",
        min=-360.0,
        max=729.99,
        header="PHAS",
        fmt=".2f",
        doc="Reference phase shift (rotates X into Y); read back wrapped to ±180°",
    )
    sine_amplitude = Setting(
        unit="V",
        min=0.004,
        max=5.0,
        header="SLVL",
        fmt=".3f",
        doc="Amplitude of the SINE OUT reference output, in volts RMS",
    )

    # -- input and filters ----------------------------------------------------------------
    input_config = Setting(
        choices={"A": 0, "A-B": 1, "I (1 MOhm)": 2, "I (100 MOhm)": 3},
        header="ISRC",
        doc="Input: voltage A, differential A−B, or the current input at 10⁶ or 10⁸ V/A",
    )
    input_ground = Setting(
        choices={"float": 0, "ground": 1},
        header="IGND",
        doc="Input shield: floating (10 kΩ to ground) or grounded",
    )
    input_coupling = Setting(
        choices={"AC": 0, "DC": 1},
        header="ICPL",
        doc="Input coupling (AC cuts below 160 mHz)",
    )
    line_filter = Setting(
        choices={"none": 0, "line": 1, "2x line": 2, "both": 3},
        header="ILIN",
        doc="Notch filters at the mains frequency and twice it",
    )
    sensitivity = Setting(
        float,
        unit="V",
        choices=_choices(SENSITIVITIES),
        header="SENS",
        doc="Full-scale sensitivity, volts RMS (in the current inputs the same step means "
        "10⁻⁶ × as many amperes); a signal above it overloads the output",
    )
    reserve = Setting(
        choices={"high reserve": 0, "normal": 1, "low noise": 2},
        header="RMOD",
        doc="Dynamic reserve: how much larger than full scale noise may be without "
        "overloading the input",
    )
    time_constant = Setting(
        float,
        unit="s",
        choices=_choices(TIME_CONSTANTS),
        header="OFLT",
        doc="Output low-pass filter time constant (wait about 5 τ at 12 dB/oct to settle)",
    )
    filter_slope = Setting(
        int,
        choices={6: 0, 12: 1, 18: 2, 24: 3},
        header="OFSL",
        doc="Low-pass filter roll-off in dB/octave (6 dB per RC stage)",
    )
    sync_filter = Setting(
        bool,
        header="SYNC",
        doc="Synchronous filter (below 200 Hz): averages over whole reference periods",
    )

    # -- displays, offsets, expands, aux outputs, data storage -----------------------------
    ch1_display = Setting(
        choices={"X": 0, "R": 1, "X noise": 2, "aux in 1": 3, "aux in 2": 4},
        get="DDEF? 1",
        set="DDEF 1,{},0",
        parse=lambda reply: ("X", "R", "X noise", "aux in 1", "aux in 2")[int(first_field(reply))],
        doc="What channel 1 shows and stores in buffer 1",
    )
    ch2_display = Setting(
        choices={"Y": 0, "theta": 1, "Y noise": 2, "aux in 3": 3, "aux in 4": 4},
        get="DDEF? 2",
        set="DDEF 2,{},0",
        parse=lambda reply: ("Y", "theta", "Y noise", "aux in 3", "aux in 4")[
            int(first_field(reply))
        ],
        doc="What channel 2 shows and stores in buffer 2",
    )
    x_offset = Setting(
        unit="%", min=-105.0, max=105.0, get="OEXP? 1", parse=lambda r: float(first_field(r)),
        doc="Offset of X in percent of full scale (on the display and stored data)",
    )  # fmt: skip
    y_offset = Setting(
        unit="%", min=-105.0, max=105.0, get="OEXP? 2", parse=lambda r: float(first_field(r)),
        doc="Offset of Y in percent of full scale (on the display and stored data)",
    )  # fmt: skip
    r_offset = Setting(
        unit="%", min=-105.0, max=105.0, get="OEXP? 3", parse=lambda r: float(first_field(r)),
        doc="Offset of R in percent of full scale (on the display and stored data)",
    )  # fmt: skip
    x_expand = Setting(
        int, choices={1: 0, 10: 1, 100: 2}, get="OEXP? 1", parse=lambda r: (1, 10, 100)[int(r.split(",")[1])],
        doc="Expand of X (×1, ×10, ×100) on the display and stored data",
    )  # fmt: skip
    y_expand = Setting(
        int, choices={1: 0, 10: 1, 100: 2}, get="OEXP? 2", parse=lambda r: (1, 10, 100)[int(r.split(",")[1])],
        doc="Expand of Y (×1, ×10, ×100) on the display and stored data",
    )  # fmt: skip
    r_expand = Setting(
        int, choices={1: 0, 10: 1, 100: 2}, get="OEXP? 3", parse=lambda r: (1, 10, 100)[int(r.split(",")[1])],
        doc="Expand of R (×1, ×10, ×100) on the display and stored data",
    )  # fmt: skip
    aux_out_1 = Setting(unit="V", min=-10.5, max=10.5, get="AUXV? 1", set="AUXV 1,{}",
                        doc="Rear-panel Aux Out 1")  # fmt: skip
    aux_out_2 = Setting(unit="V", min=-10.5, max=10.5, get="AUXV? 2", set="AUXV 2,{}",
                        doc="Rear-panel Aux Out 2")  # fmt: skip
    aux_out_3 = Setting(unit="V", min=-10.5, max=10.5, get="AUXV? 3", set="AUXV 3,{}",
                        doc="Rear-panel Aux Out 3")  # fmt: skip
    aux_out_4 = Setting(unit="V", min=-10.5, max=10.5, get="AUXV? 4", set="AUXV 4,{}",
                        doc="Rear-panel Aux Out 4")  # fmt: skip
    sample_rate = Setting(
        choices=RATES,
        header="SRAT",
        doc="Data storage sample rate (62.5 mHz to 512 Hz), or one point per rear trigger",
    )
    buffer_mode = Setting(
        choices={"one shot": 0, "loop": 1},
        header="SEND",
        doc="At the end of the buffer: stop (one shot) or overwrite the oldest points (loop)",
    )

    aux_in_1 = Reading(unit="V", get="OAUX? 1", doc="Rear-panel Aux In 1")
    aux_in_2 = Reading(unit="V", get="OAUX? 2", doc="Rear-panel Aux In 2")
    aux_in_3 = Reading(unit="V", get="OAUX? 3", doc="Rear-panel Aux In 3")
    aux_in_4 = Reading(unit="V", get="OAUX? 4", doc="Rear-panel Aux In 4")
    points_stored = Reading(int, get="SPTS?", doc="Points in each data storage buffer")

    start_storage = Action("STRT", doc="Start or resume data storage")
    pause_storage = Action("PAUS", doc="Pause data storage")
    reset_storage = Action("REST", doc="Empty the data storage buffers")

    # -- outputs --------------------------------------------------------------------------
    x = Reading(unit="V", doc="In-phase component X (V RMS; A in the current inputs)")
    y = Reading(unit="V", doc="Quadrature component Y (V RMS; A in the current inputs)")
    r = Reading(unit="V", doc="Magnitude R = √(X² + Y²) (V RMS; A in the current inputs)")
    theta = Reading(unit="deg", doc="Phase θ of the signal relative to the reference")

    def __init__(
        self, resource: str | None = None, *, interface: str | None = None, **options: Any
    ) -> None:
        transport = options.get("transport")
        address = resource if resource is not None else getattr(transport, "resource", None)
        chosen = interface or interface_of(address)
        if chosen not in ("gpib", "rs232"):
            raise ConfigurationError(
                f"interface {interface!r} is not 'gpib' or 'rs232'",
                instrument=options.get("name"),
                hint="Leave it out to take it from the address",
            )
        self.interface = chosen
        if chosen == "rs232" and transport is None:
            options = {**RS232_OPTIONS, **options}
        super().__init__(resource, **options)

    # -- connection -----------------------------------------------------------------------

    def _on_open(self) -> None:
        # Replies go only to the interface OUTX selects: say which one first.
        self.write(f"OUTX {0 if self.interface == 'rs232' else 1}")
        self.write("*CLS")

    def _link_failed(self, error: LabkitError) -> LabkitError:
        if isinstance(error, InstrumentTimeout) and "OUTX" not in (error.hint or ""):
            other = "GPIB" if self.interface == "rs232" else "RS-232"
            error.hint = (
                f"{error.hint or 'Check the connection'}. The SR830 answers only the interface "
                f"OUTX selected last: if a program on {other} took it, "
                f"{self.name}.reconnect() selects this one again"
            )
        return super()._link_failed(error)

    def identify(self) -> dict[str, str]:
        identity = parse_identity(self.query("*IDN?"))
        if not any(m.casefold() in identity["model"].casefold() for m in self.models):
            raise ConfigurationError(
                f"the instrument at {self.resource} is a {identity['manufacturer']} "
                f"{identity['model']}, not an SR830",
                instrument=self.name,
                hint=f"Check the address, or use the driver for a {identity['model']}",
            )
        return identity

    # -- status ---------------------------------------------------------------------------

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        self._check_status(command, spec.name)

    def after_raw_message(self, message: str, settings: list[str], reply: str | None) -> None:
        self._check_status(message, settings[0].split(".")[-1] if len(settings) == 1 else None)

    def _check_status(self, command: str | None, setting: str | None) -> None:
        status = _status_byte(self.query("*ESR?"), "*ESR?")
        self.query("LIAS?")  # clear overloads latched under the previous settings
        if status & (_EXECUTION_ERROR | _COMMAND_ERROR):
            what = (
                "a command error (not understood)"
                if status & _COMMAND_ERROR
                else "an execution error (a parameter out of range or not allowed now)"
            )
            raise InstrumentError(
                f"the SR830 refused {command!r}: {what}"
                if command
                else f"the SR830 reported {what}",
                code=status,
                command=command,
                setting=setting,
                hint="Check the value against the present reference and input settings "
                "(harmonic × frequency ≤ 102 kHz; the frequency is set with the internal "
                "reference only)",
            )

    def _check_lia(self, values: dict[str, float], command: str) -> None:
        status = _status_byte(self.query("LIAS?"), "LIAS?")
        found = _conditions(status)
        if found and self.check_status:
            raise LockInStatusError(
                f"the SR830 flagged {', '.join(found)} while reading "
                f"{', '.join(values)} ({_advice(found)})",
                conditions=found,
                values=values,
                command=command,
                hint="The values are in error.values; set check_status = False to keep "
                "such readings",
            )

    def status(self) -> tuple[str, ...]:
        """The conditions flagged since the last look (``LIAS?``, which clears them)."""

        def run() -> tuple[str, ...]:
            return _conditions(_status_byte(self.query("LIAS?"), "LIAS?"))

        return self.run_io(run)

    def errors(self) -> list[tuple[int, str]]:
        """The hardware error status (``ERRS?``, which clears it) as ``[(bit, message)]``."""

        def run() -> list[tuple[int, str]]:
            status = _status_byte(self.query("ERRS?"), "ERRS?")
            return [(bit, text) for bit, text in HARDWARE_ERRORS.items() if status & (1 << bit)]

        return self.run_io(run)

    # -- offsets and expands: one command sets both ---------------------------------------

    def _oexp(self, which: int, percent: float | None, factor: int | None) -> None:
        code = {1: 0, 10: 1, 100: 2}[factor or 1]
        self.write(f"OEXP {which},{percent or 0.0:.2f},{code}")

    def _set_x_offset(self, value: float) -> None:
        self._oexp(1, value, self.last_value("x_expand"))

    def _set_y_offset(self, value: float) -> None:
        self._oexp(2, value, self.last_value("y_expand"))

    def _set_r_offset(self, value: float) -> None:
        self._oexp(3, value, self.last_value("r_expand"))

    def _set_x_expand(self, value: int) -> None:
        self._oexp(1, self.last_value("x_offset"), value)

    def _set_y_expand(self, value: int) -> None:
        self._oexp(2, self.last_value("y_offset"), value)

    def _set_r_expand(self, value: int) -> None:
        self._oexp(3, self.last_value("r_offset"), value)

    def buffer_acquisition(self, points: int, rate: str = "64 Hz") -> LockinBuffer:
        """``points`` samples of both channel displays at ``rate`` into the data storage
        buffers, as a timed acquisition for a run (``labkit.runs.Triggered``)."""
        return LockinBuffer(self, points, rate)

    # -- readings -------------------------------------------------------------------------

    def _output(self, index: int, name: str) -> float:
        command = f"OUTP? {index}"
        value = _number(self.query(command), command)
        self._check_lia({name: value}, command)
        return value

    def _get_x(self) -> float:
        return self._output(1, "x")

    def _get_y(self) -> float:
        return self._output(2, "y")

    def _get_r(self) -> float:
        return self._output(3, "r")

    def _get_theta(self) -> float:
        return self._output(4, "theta")

    def snap(self, *names: str) -> dict[str, float]:
        """Read 2 to 6 values at the same instant (``SNAP?``): ``lockin.snap("x", "y")``.

        Names: x, y, r, theta, aux_in_1 … aux_in_4, frequency, ch1, ch2 (the displays).
        Default: x, y, r, theta. X and Y (and R and θ) are sampled together, which separate
        readings are not.
        """
        wanted = names or ("x", "y", "r", "theta")
        unknown = [n for n in wanted if n not in SNAP_PARAMETERS]
        if unknown or not 2 <= len(wanted) <= 6 or len(set(wanted)) != len(wanted):
            raise ConfigurationError(
                f"snap({', '.join(map(repr, wanted))}) needs 2 to 6 different names",
                instrument=self.name,
                hint=f"Choose from: {', '.join(SNAP_PARAMETERS)}",
            )
        command = "SNAP? " + ",".join(str(SNAP_PARAMETERS[n]) for n in wanted)

        def run() -> dict[str, float]:
            reply = self.query(command)
            parts = reply.strip().split(",")
            if len(parts) != len(wanted):
                raise ReplyError(
                    f"SNAP? answered {len(parts)} values for {len(wanted)} asked",
                    reply=reply,
                    command=command,
                )
            values = {
                name: _number(part, command) for name, part in zip(wanted, parts, strict=True)
            }
            self._check_lia(values, command)
            for name, value in values.items():
                if name in self.readings:
                    self.store(name, value)
            return values

        return self.run_io(run)

    # -- automatic functions ----------------------------------------------------------------

    def _auto(self, command: str, settings: tuple[str, ...], timeout: float = 30.0) -> None:
        """Run an auto function and wait until the lock-in is ready again (serial poll bit 1,
        read with ``*STB?`` so that it works over RS-232 too), then read what it changed."""
        self.write(command)
        deadline = time.monotonic() + timeout
        while not _status_byte(self.query("*STB?"), "*STB?") & _INTERFACE_READY:
            if time.monotonic() > deadline:
                raise InstrumentError(
                    f"{command} did not finish within {timeout:g} s",
                    command=command,
                    hint="The signal may be too noisy or absent; set it by hand",
                )
            time.sleep(0.05)
        self.refresh(*settings)

    @Action(label="Auto gain")
    def auto_gain(self) -> None:
        """Pick the sensitivity for the present signal (AGAN)."""
        self._auto("AGAN", ("sensitivity",))

    @Action(label="Auto reserve")
    def auto_reserve(self) -> None:
        """Pick the least dynamic reserve that does not overload the input (ARSV)."""
        self._auto("ARSV", ("reserve",))

    @Action(label="Auto phase")
    def auto_phase(self) -> None:
        """Shift the reference phase so that the signal is all in X (APHS)."""
        self._auto("APHS", ("phase",))

    reset = Action("*RST", label="Reset", doc="Return the lock-in to its default settings")


def _advice(conditions: tuple[str, ...]) -> str:
    tips = {
        "input overload": "raise the sensitivity or the dynamic reserve",
        "filter overload": "raise the dynamic reserve or the time constant",
        "output overload": "raise the sensitivity (a larger full scale)",
        "reference unlock": "check the reference input and its frequency",
    }
    return "; ".join(tips[c] for c in conditions)
