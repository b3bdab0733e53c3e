"""Stanford Research SR830 lock-in twin: its own command language, on GPIB and RS-232 at once.

Written from the SR830 manual's remote programming chapter (``notes/instruments.md``,
section 4). Commands are four-letter mnemonics, ``?`` for queries, parameters after a space
and commas (``OUTP? 1``, ``SNAP?1,2``), several per line with ``;``; every reply ends with LF
on GPIB and CR on RS-232, and goes **only** to the interface ``OUTX`` selects (0 RS-232,
1 GPIB; GPIB at power-on): a program on the other interface hears nothing until it sends
``OUTX``. A connection counts as RS-232 when its port settings were configured (pyserial,
a VISA ``ASRL`` session), which must match 9600 baud 8N1. Commands may end with CR or LF.

Status: no error queue. An unknown command sets the command error bit (5) of ``*ESR?``, a bad
or disallowed parameter the execution error bit (4); ``*ESR?``, ``LIAS?`` and ``ERRS?`` clear
what they report (``LIAS? i`` reads and clears one bit), ``*CLS`` clears all. ``*STB?`` has
the interface-ready bit (1) set: commands complete at once. Indices are answered as integers
(``SENS?`` → ``22``), numbers as the SR830 prints them (``1.2345e-006``).

Physics: the reference, phase, harmonic, time constant and slope are the bench's lock-in
(``bench.signal.lockin``; 6/12/18/24 dB/oct = 1–4 RC stages) and X, Y are
``bench.signal.outputs()``: the generator's signal through the noisy path, demodulated and
filtered (they settle with the time constant as the bench clock advances). The current inputs
read the path's voltage through 1 MΩ. LIA status: output overload when |X| or |Y| exceeds the
sensitivity; input overload when the input's peak (offset and every harmonic) exceeds
√2 × sensitivity × the reserve's factor (low noise 10, normal 100, high reserve 1000 — a
simplification of the SR830's reserve tables) or 1 V; reference unlock with an external
reference and no generator output (or one above 102 kHz). A flagged condition latches until
read. Not simulated: the filter overload, the line notches, synchronous filter, AC coupling,
input grounding and auxiliary inputs (read 0 V). Data storage, the displays it records, and
offsets and expands: see :mod:`labkit.sim.twins._sr830_storage`.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from labkit.sim._virtual import Connection, SimulatedDisconnect, VirtualInstrument
from labkit.sim.twins._sr830_common import _CMD, _EXE, _format, _integer, _real, _Refused
from labkit.sim.twins._sr830_storage import DataStorage

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["SR830Twin"]

SENSITIVITIES = (
    2e-9, 5e-9, 1e-8, 2e-8, 5e-8, 1e-7, 2e-7, 5e-7, 1e-6,
    2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3,
    2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0,
)  # fmt: skip
TIME_CONSTANTS = (
    1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3,
    1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4,
)  # fmt: skip
_RESERVE_FACTOR = (1000.0, 100.0, 10.0)  # high reserve, normal, low noise
_CURRENT_GAIN = {2: 1e-6, 3: 1e-6}  # A per V through the 1 MΩ the path drives
_MAX_FREQUENCY = 102e3
_INPUT_RANGE = 1.0  # V peak
_PON = 0x80
_COMMAND = re.compile(
    r"^(?P<name>\*[A-Za-z]{3}|[A-Za-z]{4})(?P<query>\?)?(?P<rest>(?:\s.*)?|[^A-Za-z].*)$"
)
_INTEGER_SETTINGS = {  # mnemonic: (attribute, number of values)
    "FMOD": ("fmod", 2),
    "RSLP": ("rslp", 3),
    "ISRC": ("isrc", 4),
    "IGND": ("ignd", 2),
    "ICPL": ("icpl", 2),
    "ILIN": ("ilin", 4),
    "SENS": ("sens", 27),
    "RMOD": ("rmod", 3),
    "OFLT": ("oflt", 20),
    "OFSL": ("ofsl", 4),
    "SYNC": ("sync", 2),
    "OUTX": ("outx", 2),
    "LOCL": ("locl", 3),
    "OVRM": ("ovrm", 2),
}


class _Link(Connection):
    """One cable to the SR830: GPIB, unless the port settings were configured (RS-232)."""

    def __init__(self, instrument: SR830Twin) -> None:
        super().__init__(instrument)
        self.interface = 1  # OUTX numbering: 0 RS-232, 1 GPIB

    def configure(self, **settings: Any) -> None:
        self.interface = 0
        super().configure(**settings)

    def write(self, data: bytes) -> int:
        # The SR830 ends a command at CR or LF, whichever comes.
        return super().write(bytes(data).replace(b"\r", b"\n"))

    def _deliver(self, data: bytes, *, delay: float) -> None:
        instrument = self.instrument
        assert isinstance(instrument, SR830Twin)
        if instrument.outx != self.interface:
            return  # the reply went to the other interface
        if self.interface == 0:
            data = bytes(data).replace(b"\n", b"\r")
        super()._deliver(data, delay=delay)


class SR830Twin(DataStorage, VirtualInstrument):
    """An SR830 on both its interfaces, demodulating the bench's signal path."""

    identity = "Stanford_Research_Systems,SR830,s/n86021,ver1.07"
    read_termination = "\n"
    write_termination = "\n"
    serial_settings = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}

    def __init__(self, bench: Bench, name: str = "lockin") -> None:
        super().__init__(name)
        self.bench = bench
        self.outx = 1
        self.esr = _PON
        self.lias = 0
        self.errs = 0
        self.reset()

    def connect(self) -> Connection:
        if self.faults.disconnected:
            raise SimulatedDisconnect(f"{self.name} is disconnected")
        return _Link(self)

    # -- state ----------------------------------------------------------------------------

    def reset(self) -> None:
        """``*RST``: the SR830's standard settings (internal 1 kHz reference, 1 V, 100 ms)."""
        self.fmod, self.rslp, self.isrc, self.ignd, self.icpl = 1, 0, 0, 0, 0
        self.ilin, self.sens, self.rmod, self.oflt, self.ofsl, self.sync = 0, 26, 1, 8, 1, 0
        self.locl, self.ovrm = 0, 0
        self.frequency, self.phase, self.harmonic, self.sine_amplitude = 1e3, 0.0, 1, 1.0
        self.aux_out = [0.0] * 4
        self.reset_storage()
        self._apply()

    def _apply(self) -> None:
        with self.bench.lock:
            self.bench.signal.lockin.update(
                reference="external" if self.fmod == 0 else "internal",
                frequency=self.frequency,
                phase=self.phase,
                harmonic=self.harmonic,
                time_constant=TIME_CONSTANTS[self.oflt],
                order=self.ofsl + 1,
            )

    # -- physics ----------------------------------------------------------------------------

    def _xy(self) -> tuple[float, float]:
        with self.bench.lock:
            x, y = self.bench.signal.outputs()
        gain = _CURRENT_GAIN.get(self.isrc, 1.0)
        return x * gain, y * gain

    def _conditions(self, x: float, y: float) -> int:
        """LIA status bits present now (0 input, 2 output overload, 3 unlock)."""
        bits = 0
        scale = SENSITIVITIES[self.sens] * _CURRENT_GAIN.get(self.isrc, 1.0)
        if max(abs(x), abs(y)) > scale:
            bits |= 1 << 2
        signal = self.bench.signal
        with self.bench.lock:
            generator = signal.generator
            peak = 0.0
            if generator.output:
                peak = abs(generator.offset * signal.path.gain) + sum(
                    abs(c * signal.transfer(k * generator.frequency)) for k, c in signal.harmonics()
                )
            unlocked = self.fmod == 0 and (
                not generator.output
                or generator.frequency * self.harmonic > _MAX_FREQUENCY
                or generator.frequency < 1e-3
            )
        reach = math.sqrt(2) * SENSITIVITIES[self.sens] * _RESERVE_FACTOR[self.rmod]
        if peak > min(_INPUT_RANGE, reach):
            bits |= 1 << 0
        if unlocked:
            bits |= 1 << 3
        return bits

    def _latch(self, x: float | None = None, y: float | None = None) -> None:
        if x is None or y is None:
            x, y = self._xy()
        self.lias |= self._conditions(x, y)

    def _full_scale(self) -> float:
        """The sensitivity, in the units X and Y are read in (A with the current inputs)."""
        return SENSITIVITIES[self.sens] * _CURRENT_GAIN.get(self.isrc, 1.0)

    def _reference_frequency(self) -> float:
        if self.fmod == 1:
            return self.frequency
        generator = self.bench.signal.generator
        return generator.frequency if generator.output else 0.0

    def _value(self, index: int) -> float:
        x, y = self._xy()
        self._latch(x, y)
        return self._pick(index, x, y)

    def _pick(self, index: int, x: float, y: float) -> float:
        if index == 1:
            return x
        if index == 2:
            return y
        if index == 3:
            return math.hypot(x, y)
        if index == 4:
            return math.degrees(math.atan2(y, x))
        if 5 <= index <= 8:
            return 0.0  # aux inputs: nothing connected
        if index == 9:
            return self._reference_frequency()
        if index == 10:
            return x
        if index == 11:
            return y
        raise _Refused(_EXE)

    # -- messages -------------------------------------------------------------------------

    def handle(self, message: str) -> str | None:
        self._bring_up_to_date()
        replies = []
        for command in message.split(";"):
            command = command.strip()
            if not command:
                continue
            fault = self.faults.take("error")
            if fault is not None:
                self.esr |= _EXE
                continue
            try:
                reply = self._execute(command)
            except _Refused as refused:
                self.esr |= refused.bit
                continue
            if reply is not None:
                replies.append(reply)
        return self.write_termination.join(replies) if replies else None

    def _execute(self, command: str) -> str | None:
        found = _COMMAND.match(command)
        if found is None:
            raise _Refused(_CMD)
        name, query, rest = found["name"].upper(), bool(found["query"]), found["rest"].strip()
        parameters = [p.strip() for p in rest.split(",")] if rest else []
        if name in _INTEGER_SETTINGS:
            return self._integer_setting(name, query, parameters)
        handler = getattr(self, f"_cmd_{name.lstrip('*').lower()}", None)
        if handler is None:
            raise _Refused(_CMD)
        return handler(query, parameters)

    def _integer_setting(self, name: str, query: bool, parameters: list[str]) -> str | None:
        attribute, count = _INTEGER_SETTINGS[name]
        if query:
            return str(getattr(self, attribute))
        if len(parameters) != 1:
            raise _Refused(_EXE)
        setattr(self, attribute, _integer(parameters[0], count))
        self._apply()
        return None

    def _bit_query(self, register: str, parameters: list[str]) -> str:
        """Read a status byte (or one bit of it, ``LIAS? 2``) and clear what was read."""
        value = getattr(self, register)
        if parameters:
            bit = _integer(parameters[0], 8)
            setattr(self, register, value & ~(1 << bit))
            return str((value >> bit) & 1)
        setattr(self, register, 0)
        return str(value)

    # Common commands.
    def _cmd_idn(self, query: bool, parameters: list[str]) -> str:
        if not query:
            raise _Refused(_CMD)
        return self.identity

    def _cmd_rst(self, query: bool, parameters: list[str]) -> None:
        self.reset()

    def _cmd_cls(self, query: bool, parameters: list[str]) -> None:
        self.esr = self.lias = self.errs = 0

    def _cmd_esr(self, query: bool, parameters: list[str]) -> str | None:
        return self._bit_query("esr", parameters) if query else None

    def _cmd_stb(self, query: bool, parameters: list[str]) -> str:
        value = 0x01 | 0x02  # no scan in progress, no command executing
        value |= 0x04 if self.errs else 0
        value |= 0x08 if self.lias else 0
        value |= 0x20 if self.esr else 0
        if parameters:
            return str((value >> _integer(parameters[0], 8)) & 1)
        return str(value)

    def _cmd_opc(self, query: bool, parameters: list[str]) -> str | None:
        return "1" if query else None

    def _cmd_ese(self, query: bool, parameters: list[str]) -> str | None:
        return "0" if query else None

    def _cmd_sre(self, query: bool, parameters: list[str]) -> str | None:
        return "0" if query else None

    # Status.
    def _cmd_lias(self, query: bool, parameters: list[str]) -> str:
        if not query:
            raise _Refused(_CMD)
        self._latch()
        return self._bit_query("lias", parameters)

    def _cmd_errs(self, query: bool, parameters: list[str]) -> str:
        if not query:
            raise _Refused(_CMD)
        return self._bit_query("errs", parameters)

    # Reference.
    def _cmd_freq(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return _format(self._reference_frequency())
        if self.fmod == 0 or len(parameters) != 1:
            raise _Refused(_EXE)  # the frequency is the external reference's
        value = _real(parameters[0], 1e-3, _MAX_FREQUENCY)
        if value * self.harmonic > _MAX_FREQUENCY:
            raise _Refused(_EXE)
        self.frequency = value
        self._apply()
        return None

    def _cmd_phas(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return f"{self.phase:.2f}"
        if len(parameters) != 1:
            raise _Refused(_EXE)
        value = round(_real(parameters[0], -360.0, 729.99), 2)
        self.phase = (value + 180.0) % 360.0 - 180.0
        if self.phase == -180.0 and value > 0:
            self.phase = 180.0
        self._apply()
        return None

    def _cmd_harm(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return str(self.harmonic)
        if len(parameters) != 1:
            raise _Refused(_EXE)
        value = _integer(parameters[0], 20000)
        reference = self._reference_frequency() or self.frequency
        if value < 1 or value * reference > _MAX_FREQUENCY:
            raise _Refused(_EXE)
        self.harmonic = value
        self._apply()
        return None

    def _cmd_slvl(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return f"{self.sine_amplitude:.3f}"
        if len(parameters) != 1:
            raise _Refused(_EXE)
        self.sine_amplitude = _real(parameters[0], 0.004, 5.0)
        return None

    # Outputs.
    def _cmd_outp(self, query: bool, parameters: list[str]) -> str:
        if not query or len(parameters) != 1:
            raise _Refused(_EXE if query else _CMD)
        index = _integer(parameters[0], 5)
        if index == 0:
            raise _Refused(_EXE)
        return _format(self._value(index))

    def _cmd_outr(self, query: bool, parameters: list[str]) -> str:
        if not query or len(parameters) != 1:
            raise _Refused(_EXE if query else _CMD)
        index = _integer(parameters[0], 3)
        if index == 0:
            raise _Refused(_EXE)
        return _format(self._value(index))

    def _cmd_snap(self, query: bool, parameters: list[str]) -> str:
        if not query or not 2 <= len(parameters) <= 6:
            raise _Refused(_EXE if query else _CMD)
        indices = [_integer(p, 12) for p in parameters]
        if 0 in indices:
            raise _Refused(_EXE)
        x, y = self._xy()  # one instant for every value
        self._latch(x, y)
        return ",".join(_format(self._pick(i, x, y)) for i in indices)

    def _cmd_oaux(self, query: bool, parameters: list[str]) -> str:
        if not query or len(parameters) != 1 or _integer(parameters[0], 5) < 1:
            raise _Refused(_EXE)
        return _format(0.0)

    def _cmd_auxv(self, query: bool, parameters: list[str]) -> str | None:
        if not parameters:
            raise _Refused(_EXE)
        index = _integer(parameters[0], 5)
        if index == 0:
            raise _Refused(_EXE)
        if query:
            return f"{self.aux_out[index - 1]:.3f}"
        if len(parameters) != 2:
            raise _Refused(_EXE)
        self.aux_out[index - 1] = round(_real(parameters[1], -10.5, 10.5), 3)
        return None

    # Auto functions (they complete at once on the twin).
    def _cmd_agan(self, query: bool, parameters: list[str]) -> None:
        if query:
            raise _Refused(_CMD)
        x, y = self._xy()
        magnitude = math.hypot(x, y) / _CURRENT_GAIN.get(self.isrc, 1.0)  # R within 80 %
        fitting = [i for i, s in enumerate(SENSITIVITIES) if magnitude <= 0.8 * s]
        self.sens = fitting[0] if fitting else len(SENSITIVITIES) - 1
        self.lias = 0

    def _cmd_arsv(self, query: bool, parameters: list[str]) -> None:
        if query:
            raise _Refused(_CMD)
        for mode in (2, 1, 0):  # the least reserve that holds the input
            self.rmod = mode
            if not self._conditions(0.0, 0.0) & 1:
                break
        self.lias = 0

    def _cmd_aphs(self, query: bool, parameters: list[str]) -> None:
        if query:
            raise _Refused(_CMD)
        x, y = self._xy()
        shifted = self.phase + math.degrees(math.atan2(y, x))
        self.phase = round((shifted + 180.0) % 360.0 - 180.0, 2)
        self._apply()  # the outputs then settle with the time constant, as on the SR830
