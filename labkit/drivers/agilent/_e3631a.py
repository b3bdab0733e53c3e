"""Agilent (HP, later Keysight) E3631A triple-output DC power supply, over GPIB or RS-232.

Written from the E3631A User's Guide: three outputs, each a channel — ``psu.p6v`` (0…6.18 V,
0…5.15 A), ``psu.p25v`` (0…+25.75 V, 0…1.03 A) and ``psu.n25v`` (0…−25.75 V, 0…1.03 A); these
are the manual's ``MAX`` values, a little above the ratings 6 V/5 A, ±25 V/1 A. One
``OUTPut`` switch turns all three on or off together; ``OUTPut:TRACk`` makes the −25 V output
follow the +25 V one. Readings are the supply's own ``MEASure`` of each output.

The supply's ``VOLTage`` and ``CURRent`` commands act on the *selected* output, which the front
panel (or a refused ``INSTrument:SELect``) can leave on another output than expected. So the
channels never rely on the selection: each level is set with ``APPLy <output>,<V>[,<I>]``, one
command that names its output and is either refused as a whole or done, and read with
``APPLy? <output>``. A current limit is sent with the output's present voltage, read in the same
worker call (``APPL? P25V`` then ``APPL P25V,12,0.5``).

RS-232 (any address that is not GPIB or LAN: ``ASRL…``, ``COM3``, ``/dev/ttyS0``, a pyserial
URL): 9600 baud, 8 data bits, no parity, 2 stop bits, DTR/DSR handshake — the factory settings
(pass ``baud_rate=`` etc. if the supply's I/O menu says otherwise; the settings are those of the
family's E3632A guide). Over RS-232 the driver sends ``SYSTem:REMote`` before anything else, as
lab drivers of the E3631A do (the manual's page on it was not among the sources), and
``SYSTem:LOCal`` when closing, which gives the front panel back.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from labkit.core import (
    Channel,
    InstrumentError,
    MessageInstrument,
    Reading,
    ReplyError,
    Setting,
    TraitSpec,
)
from labkit.drivers.scpi import ScpiInstrument

__all__ = [
    "SERIAL_OPTIONS",
    "AgilentE3631A",
    "E3631ANegativeOutput",
    "E3631AOutput",
    "E3631APositive25VOutput",
    "is_serial_address",
]

SERIAL_OPTIONS: dict[str, Any] = {
    "baud_rate": 9600,
    "data_bits": 8,
    "parity": "none",
    "stop_bits": 2,
    "flow_control": "dsrdtr",
}
"""The factory RS-232 settings: 9600 baud, 8N2 (two stop bits, fixed), DTR/DSR handshake."""

_SERIAL_ADDRESS = re.compile(r"^(ASRL|COM\d|/dev/|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_SWITCH = ("ON", "OFF")


def is_serial_address(resource: str | None) -> bool:
    """True when ``resource`` reaches the supply through its RS-232 port."""
    return bool(resource) and bool(_SERIAL_ADDRESS.match(resource or ""))


class E3631AOutput(MessageInstrument):
    """One output of an E3631A (the +6 V one's ranges): a voltage set-point, a current limit,
    and the supply's measurement of both."""

    identifier: str = "P6V"
    """The output's name in the command set (``P6V``, ``P25V``, ``N25V``), given by the channel."""

    voltage = Setting(
        unit="V",
        min=0.0,
        max=6.18,
        readback="measured_voltage",
        safe=0.0,
        doc="Voltage set-point; the output holds it while the load draws less than the "
        "current limit",
    )
    current_limit = Setting(
        unit="A",
        min=0.0,
        max=5.15,
        readback="measured_current",
        doc="Current limit; a load that would draw more gets this current at a lower voltage",
    )
    measured_voltage = Reading(
        unit="V", get="MEAS:VOLT? {self.identifier}", doc="Voltage across the output, measured"
    )
    measured_current = Reading(
        unit="A", get="MEAS:CURR? {self.identifier}", doc="Current through the output, measured"
    )

    _sent: str | None = None

    def _levels(self) -> tuple[float, float]:
        """``APPLy? <output>`` → (voltage set-point, current limit)."""
        command = f"APPL? {self.identifier}"
        reply = self.query(command)
        parts = reply.strip().strip('"').split(",")
        try:
            volts, amps = (float(part) for part in parts)
        except ValueError:
            raise ReplyError(
                f'expected "<volts>,<amps>", the supply answered {reply!r}',
                command=command,
                reply=reply,
                hint="Check the connection and the interface settings",
            ) from None
        return volts, amps

    def _apply(self, *levels: float) -> None:
        self._sent = f"APPL {self.identifier}," + ",".join(format(v, ".10g") for v in levels)
        self.write(self._sent)

    def _get_voltage(self) -> float:
        return self._levels()[0]

    def _set_voltage(self, value: float) -> None:
        self._apply(value)

    def _get_current_limit(self) -> float:
        return self._levels()[1]

    def _set_current_limit(self, value: float) -> None:
        volts, _ = self._levels()
        self._apply(volts, value)

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        parent = self.parent
        assert isinstance(parent, AgilentE3631A)
        parent.raise_queued_error(command or self._sent, spec.name)  # the supply's error queue
        parent.follow_tracking(self)


class E3631APositive25VOutput(E3631AOutput):
    """The +25 V output of an E3631A: 0…+25.75 V, 0…1.03 A."""

    voltage = E3631AOutput.voltage.replace(max=25.75)
    current_limit = E3631AOutput.current_limit.replace(max=1.03)


class E3631ANegativeOutput(E3631AOutput):
    """The −25 V output of an E3631A: 0…−25.75 V (set as negative volts), 0…1.03 A."""

    voltage = E3631AOutput.voltage.replace(
        min=-25.75,
        max=0.0,
        doc="Voltage set-point, negative (0 … −25.75 V); the output holds it while the load "
        "draws less than the current limit",
    )
    current_limit = E3631AOutput.current_limit.replace(max=1.03)


class AgilentE3631A(ScpiInstrument):
    """Agilent E3631A triple-output DC power supply: +6 V/5 A, +25 V/1 A and −25 V/1 A
    outputs (``p6v``, ``p25v``, ``n25v``), switched together, with ±25 V tracking."""

    manufacturer = "Agilent"
    models = ("E3631A",)
    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }

    output = Setting(
        bool,
        header="OUTP",
        bool_tokens=_SWITCH,
        safe=False,
        doc="All three outputs on or off (the E3631A switches them together)",
    )
    tracking = Setting(
        bool,
        header="OUTP:TRAC",
        bool_tokens=_SWITCH,
        doc="±25 V tracking: turning it on gives the −25 V output the +25 V output's voltage; "
        "then setting either sets both",
    )

    p6v = Channel(E3631AOutput, identifier="P6V")
    p25v = Channel(E3631APositive25VOutput, identifier="P25V")
    n25v = Channel(E3631ANegativeOutput, identifier="N25V")

    def __init__(self, resource: str | None = None, **options: Any) -> None:
        if is_serial_address(resource):
            options = {**SERIAL_OPTIONS, **options}
        super().__init__(resource, **options)

    @property
    def serial(self) -> bool:
        """Whether the supply is reached through its RS-232 port."""
        return is_serial_address(self.resource)

    def _on_open(self) -> None:
        if self.serial:
            self.write("SYST:REM")
        super()._on_open()

    def _on_close(self) -> None:
        if self.serial and self.connected:
            try:
                self.write("SYST:LOC")
            except InstrumentError:
                pass  # the link is gone: there is no front panel to give back over it

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        super()._after_set(spec, command)
        if spec.name == "tracking":
            for channel in (self.p25v, self.n25v):
                channel.refresh("voltage")

    def follow_tracking(self, changed: E3631AOutput) -> None:
        """While tracking, the other ±25 V output moved too: read its voltage back."""
        if not self.last_value("tracking"):
            return
        partner = {"P25V": self.n25v, "N25V": self.p25v}.get(changed.identifier)
        if partner is not None:
            partner.refresh("voltage")
