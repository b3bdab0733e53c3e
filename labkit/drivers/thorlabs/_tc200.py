r"""Thorlabs TC200 heater controller, through its serial text protocol (USB virtual COM port).

The TC200 is not SCPI. Its link is 115200 baud, 8N1, no handshake; a command ends with CR.
The controller echoes every command and a CR, then its answer and a CR, then the prompt
``> ``; ``stat?`` answers its status byte in hex with no CR before the prompt
(``"stat?\r15 > "``). Refusals come as text in place of the answer:
``Command error CMD_ARG_RANGE_ERR`` (an argument out of range) and
``Command error CMD_NOT_DEFINED`` (an unknown command); this driver raises
:class:`TC200ArgumentError` and :class:`TC200UndefinedCommand` for them.

So the driver reads each reply up to the prompt (``read_termination="> "``), checks that the
first line echoes the command it sent (a reply that does not is a ``ReplyError``: line noise or
a lost reply, never a value), and takes the rest as the answer.

``ens`` *toggles* the heater output. The ``enabled`` setting is idempotent: it reads the status
byte, sends ``ens`` only when the output is not already as asked, and reads the status again to
check (the controller will not enable its heater while the sensor alarm is on).

Temperatures are in °C here whatever the front panel shows: ``tact?`` answers in the display
unit (``"24.5 C"``, ``"297.7 K"``, ``"76.1 F"``) and is converted. The set-point range is 20 °C
to the lower of 200 °C and ``max_temperature``; both are checked before any byte is sent.
Status bits follow the QMI driver (0x01 output on, 0x0C sensor type, 0x30 display unit:
0x00 K, 0x10 °C, 0x20 °F, 0x40 sensor alarm); InstrumentKit decodes the unit bits differently
and no manual page settles it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from labkit.core import (
    ConfigurationError,
    InstrumentError,
    LimitError,
    MessageInstrument,
    Reading,
    ReplyError,
    Setting,
)

__all__ = ["TC200ArgumentError", "TC200CommandError", "TC200UndefinedCommand", "ThorlabsTC200"]

STATUS_ENABLED = 0x01
STATUS_CYCLE = 0x02
STATUS_SENSOR = 0x0C
STATUS_UNIT = 0x30
STATUS_ALARM = 0x40
_UNIT_TOKENS = {0x00: "k", 0x10: "c", 0x20: "f"}


class TC200CommandError(InstrumentError):
    """The TC200 refused a command; ``token`` is its error word (``CMD_ARG_RANGE_ERR``...)."""

    token: ClassVar[str] = ""


class TC200ArgumentError(TC200CommandError):
    """``CMD_ARG_RANGE_ERR``: an argument outside the range the controller accepts."""

    token = "CMD_ARG_RANGE_ERR"


class TC200UndefinedCommand(TC200CommandError):
    """``CMD_NOT_DEFINED``: the controller does not know the command."""

    token = "CMD_NOT_DEFINED"


_REFUSALS: tuple[type[TC200CommandError], ...] = (TC200ArgumentError, TC200UndefinedCommand)


def _number(text: str, command: str) -> float:
    """The first word of an answer as a number (``"40.0 Celsius"`` → 40.0)."""
    words = text.split()
    try:
        return float(words[0])
    except (IndexError, ValueError):
        raise ReplyError(
            f"expected a number, the TC200 answered {text!r}",
            command=command,
            reply=text,
            hint="Check the connection (115200 baud, 8N1)",
        ) from None


def celsius(text: str, command: str) -> float:
    """A temperature answer in °C, whatever unit it came in (``"297.7 K"`` → 24.55)."""
    value = _number(text, command)
    words = text.split()
    unit = words[1].casefold() if len(words) > 1 else "c"
    if unit.startswith("c"):
        return value
    if unit.startswith("k"):
        return value - 273.15
    if unit.startswith("f"):
        return (value - 32.0) * 5.0 / 9.0
    raise ReplyError(
        f"the TC200 answered {text!r}, in a unit that is none of C, K, F",
        command=command,
        reply=text,
    )


class ThorlabsTC200(MessageInstrument):
    """Thorlabs TC200 heater controller: a PID loop driving a resistive heater (up to 18 W)
    toward a set-point read by its sensor (PTC100, PTC1000, or a 10 kΩ thermistor: TH10K, NTC10K)."""

    manufacturer = "Thorlabs"
    model = "TC200"
    transport_options: ClassVar[dict[str, Any]] = {
        "baud_rate": 115200,
        "data_bits": 8,
        "parity": "none",
        "stop_bits": 1,
        "flow_control": "none",
        "read_termination": "> ",
        "write_termination": "\r",
    }

    setpoint = Setting(
        unit="degC",
        min=20.0,
        max=200.0,
        step=0.1,
        readback="temperature",
        doc="Temperature the loop holds the sensor at (20 °C up to max_temperature, 0.1 °C steps)",
    )
    enabled = Setting(
        bool,
        safe=False,
        doc="Heater output: on, the loop drives the heater toward the set-point (refused "
        "while the sensor alarm is on)",
    )
    max_temperature = Setting(
        unit="degC",
        min=20.0,
        max=205.0,
        step=0.1,
        doc="Highest set-point the controller accepts (its tmax)",
    )
    max_power = Setting(
        unit="W",
        min=0.1,
        max=18.0,
        step=0.1,
        doc="Most power the loop may put into the heater",
    )
    p_gain = Setting(int, min=1, max=250, doc="Proportional gain of the loop")
    i_gain = Setting(int, min=0, max=250, doc="Integral gain of the loop (0: none)")
    d_gain = Setting(int, min=0, max=250, doc="Derivative gain of the loop (0: none)")
    display_unit = Setting(
        choices={"celsius": "c", "fahrenheit": "f", "kelvin": "k"},
        doc="Unit of the front-panel display (this driver works in °C whatever it is)",
    )
    sensor = Setting(
        choices={"PTC100": "ptc100", "PTC1000": "ptc1000", "TH10K": "th10k", "NTC10K": "ntc10k"},
        doc="Sensor type the controller converts with; it must match the sensor fitted, or "
        "the sensor alarm stops the heater",
    )

    temperature = Reading(unit="degC", doc="Temperature the sensor reads now")
    sensor_alarm = Reading(
        bool, doc="The sensor is missing or does not match the sensor type: no heating"
    )

    # -- the protocol ---------------------------------------------------------------------

    def command(self, message: str) -> str:
        """Send one command and return the controller's answer (its echo and prompt removed).

        A raw message: where limits, locks or interlocks are in force it goes only inside
        ``tc.raw_access(...)`` (labkit cannot tell what it changes).
        """
        if not self.worker.on_worker():
            self.check_message(message)
        return self.run_io(self._exchange, message)

    def _exchange(self, message: str) -> str:
        return self._answer(message, self.query(message))

    def after_raw_message(self, message: str, settings: list[str], reply: str | None) -> None:
        # Every command is answered (echo, answer, prompt): a raw write's answer is read
        # here, so it cannot pass for the next reply, and a refusal raises as command()'s.
        self._answer(message, self.read_message() if reply is None else reply)

    def _answer(self, message: str, raw: str) -> str:
        lines = raw.split("\r")
        echo = lines[0].strip()
        if echo != message:
            raise ReplyError(
                f"the TC200 did not echo {message!r} (its reply was {raw!r})",
                command=message,
                reply=raw,
                hint="Check the link (115200 baud, 8N1); a reply may have been lost",
            )
        answer = "\n".join(line.strip() for line in lines[1:] if line.strip())
        for refusal in _REFUSALS:
            if refusal.token in answer:
                raise refusal(
                    f"the TC200 refused {message!r}: {answer}",
                    command=message,
                    hint="Check the value against the controller's range"
                    if refusal is TC200ArgumentError
                    else "The TC200 does not know this command",
                )
        return answer

    def _status(self) -> int:
        answer = self._exchange("stat?")
        try:
            return int(answer.split()[0], 16)
        except (IndexError, ValueError):
            raise ReplyError(
                f"expected the status byte in hex, the TC200 answered {answer!r}",
                command="stat?",
                reply=answer,
            ) from None

    def status(self) -> int:
        """The status byte (see the module's notes for its bits)."""
        return self.run_io(self._status)

    def _on_open(self) -> None:
        self.clear()  # a prompt or a banner left from before is not a reply

    def identify(self) -> dict[str, str]:
        try:
            text = self._exchange("*idn?")
        except TC200UndefinedCommand:
            text = self._exchange("id?")
        if "TC200" not in text.upper():
            raise ConfigurationError(
                f"the instrument at {self.resource} says {text!r}, not a TC200",
                instrument=self.name,
                hint="Check the port: another instrument answers there",
            )
        words = text.split()
        return {
            "manufacturer": words[0] if words else "",
            "model": "TC200",
            "serial": "",
            "firmware": words[-1] if len(words) > 2 else "",
        }

    # -- settings -------------------------------------------------------------------------

    def _get_setpoint(self) -> float:
        return celsius(self._exchange("tset?"), "tset?")

    def _set_setpoint(self, value: float) -> float:
        ceiling = self.last_value("max_temperature")
        if ceiling is not None and value > ceiling + 1e-9:
            raise LimitError(
                f"{value:g} degC is above the controller's max_temperature {ceiling:g} degC",
                value=value,
                limit=ceiling,
                setting="setpoint",
                hint=f"Raise {self.name}.max_temperature first, or choose a lower set-point",
            )
        self._exchange(f"tset={value:.1f}")
        return round(value, 1)  # the controller's resolution: what it now holds

    def _get_enabled(self) -> bool:
        return bool(self._status() & STATUS_ENABLED)

    def _set_enabled(self, value: bool) -> None:
        status = self._status()
        if value and status & STATUS_ALARM:
            raise InstrumentError(
                "the TC200 reports a sensor alarm, so it cannot turn the heater on",
                command="ens",
                hint="Check the sensor and its cable, and that sensor= names the sensor fitted",
            )
        if bool(status & STATUS_ENABLED) == value:
            return
        self._exchange("ens")
        if bool(self._status() & STATUS_ENABLED) != value:
            raise InstrumentError(
                f"the TC200 did not turn its heater {'on' if value else 'off'} after 'ens'",
                command="ens",
                hint="Check the sensor alarm and the front panel",
            )

    def _get_max_temperature(self) -> float:
        return celsius(self._exchange("tmax?"), "tmax?")

    def _set_max_temperature(self, value: float) -> None:
        self._exchange(f"tmax={value:.1f}")

    def _get_max_power(self) -> float:
        return _number(self._exchange("pmax?"), "pmax?")

    def _set_max_power(self, value: float) -> None:
        self._exchange(f"pmax={value:.1f}")

    def _gains(self) -> tuple[int, int, int]:
        answer = self._exchange("pid?")
        try:
            p, i, d = (int(word) for word in answer.split())
        except ValueError:
            raise ReplyError(
                f"expected three whole numbers 'P I D', the TC200 answered {answer!r}",
                command="pid?",
                reply=answer,
            ) from None
        return p, i, d

    def _get_p_gain(self) -> int:
        return self._gains()[0]

    def _set_p_gain(self, value: int) -> None:
        self._exchange(f"pgain={value:d}")

    def _get_i_gain(self) -> int:
        return self._gains()[1]

    def _set_i_gain(self, value: int) -> None:
        self._exchange(f"igain={value:d}")

    def _get_d_gain(self) -> int:
        return self._gains()[2]

    def _set_d_gain(self, value: int) -> None:
        self._exchange(f"dgain={value:d}")

    def _get_display_unit(self) -> str:
        bits = self._status() & STATUS_UNIT
        if bits not in _UNIT_TOKENS:
            raise ReplyError(
                f"the status byte's unit bits {bits:#04x} name no unit", command="stat?"
            )
        return _UNIT_TOKENS[bits]

    def _set_display_unit(self, value: str) -> None:
        token = self.settings.display_unit.spec.token(value)
        self._exchange(f"unit={token}")

    def _get_sensor(self) -> str:
        answer = self._exchange("sns?")  # "Sensor = PTC100, Beta = 3988"
        name = answer.split("=", 1)[-1].split(",")[0].strip()
        return name.casefold()

    def _set_sensor(self, value: str) -> None:
        token = self.settings.sensor.spec.token(value)
        self._exchange(f"sns={token}")

    # -- readings -------------------------------------------------------------------------

    def _get_temperature(self) -> float:
        return celsius(self._exchange("tact?"), "tact?")

    def _get_sensor_alarm(self) -> bool:
        return bool(self._status() & STATUS_ALARM)
