"""The LD-100 driver: declarations, plus a little code where the protocol is not SCPI."""

from __future__ import annotations

from typing import Any

import labkit
from labkit import Action, InstrumentError, Reading, ReplyError, Setting


class AcmeLD100(labkit.MessageInstrument):
    """ACME LD-100 laser diode controller (RS-232, 19200 baud)."""

    transport_options = {"baud_rate": 19200, "read_termination": "\r", "write_termination": "\r"}

    current = Setting(
        unit="mA",
        min=0,
        max=250,
        ramp=50,
        safe=0,
        readback="optical_power",
        doc="Diode current set-point; ramps to protect the diode",
    )
    tec_temperature = Setting(unit="degC", min=15, max=35, doc="TEC temperature set-point")
    emission = Setting(bool, safe=False, doc="Laser emission (needs the key switch on)")
    modulation = Setting(choices=["OFF", "AM", "TTL"], doc="Modulation input")
    optical_power = Reading(unit="mW", doc="Optical output power")
    tec_actual = Reading(unit="degC", doc="Actual TEC temperature")
    key_switch = Reading(bool, doc="Front-panel key switch")

    @Action(label="Clear fault")
    def clear_fault(self) -> None:
        """Clear a latched fault (over-temperature, interlock)."""
        self._command("CLR")

    # -- the protocol: KEY=value / KEY? -> KEY=value / OK / ERR n text --------------------

    def _command(self, message: str) -> str:
        reply = self.query(message).strip()
        if reply.startswith("ERR"):
            code, _, text = reply[3:].strip().partition(" ")
            raise InstrumentError(
                f"the controller refused {message!r}: {text}",
                code=int(code) if code.isdigit() else None,
                command=message,
            )
        return reply

    def _ask(self, key: str) -> str:
        reply = self._command(f"{key}?")
        prefix = f"{key}="
        if not reply.startswith(prefix):
            raise ReplyError(
                f"expected {prefix}..., the controller answered {reply!r}",
                reply=reply,
                command=f"{key}?",
            )
        return reply[len(prefix) :]

    def _put(self, key: str, value: Any) -> None:
        reply = self._command(f"{key}={value}")
        if reply != "OK":
            raise ReplyError(
                f"expected OK, the controller answered {reply!r}",
                reply=reply,
                command=f"{key}={value}",
            )

    def identify(self) -> dict[str, str]:
        maker, model, serial, firmware = ([*self._ask("ID").split(","), "", "", "", ""])[:4]
        if model != "LD-100":
            raise labkit.ConfigurationError(f"{self.resource} is a {maker} {model}, not an LD-100")
        return {"manufacturer": maker, "model": model, "serial": serial, "firmware": firmware}

    def _get_current(self) -> str:
        return self._ask("I")

    def _set_current(self, value: float) -> None:
        self._put("I", f"{value:.1f}")

    def _get_tec_temperature(self) -> str:
        return self._ask("T")

    def _set_tec_temperature(self, value: float) -> None:
        self._put("T", f"{value:.2f}")

    def _get_emission(self) -> str:
        return self._ask("EN")

    def _set_emission(self, value: bool) -> None:
        self._put("EN", int(value))

    def _get_modulation(self) -> str:
        return self._ask("MOD")

    def _set_modulation(self, value: str) -> None:
        self._put("MOD", value)

    def _get_optical_power(self) -> str:
        return self._ask("P")

    def _get_tec_actual(self) -> str:
        return self._ask("TA")

    def _get_key_switch(self) -> str:
        return self._ask("KEY")
