"""Keithley 2450 SourceMeter, through its SCPI command set (GPIB, USB-TMC or LAN).

Written from the 2450 Reference Manual (2450-901-01): ``:SOURce``, ``:SENSe``, ``:OUTPut``,
``:MEASure``, ``:READ?``, the error queue. The instrument must be in its SCPI command set
(``*LANG SCPI``; the TSP and 2400-emulation sets are refused when connecting).

Limits from the manual: source ±210 V / ±1.05 A, current limit 1 nA…1.05 A, voltage limit
20 mV…210 V, NPLC 0.01…10, fixed ranges 20 mV…200 V and 10 nA…1 A.

Measuring: ``smu.read("current")`` sends ``:MEASure:CURRent?``, which (as on the
instrument) makes current the measure function; ``voltage`` and ``resistance`` likewise. An
over-range reading is ``inf``. ``nplc`` and ``four_wire`` apply to every measure function.
"""

from __future__ import annotations

from typing import Any, ClassVar

from labkit.core import ConfigurationError, Reading, ReplyError, Setting
from labkit.drivers.scpi import ScpiInstrument, parse_error, parse_number, switches_setting

__all__ = ["Keithley2450"]

VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
_SWITCH = ("ON", "OFF")


def _sense_function(reply: str) -> str:
    """``"CURR:DC"`` → ``"current"`` (the reply is quoted and may name DC)."""
    token = reply.strip().strip("\"'").upper().split(":")[0]
    names = {"CURR": "current", "VOLT": "voltage", "RES": "resistance"}
    for prefix, name in names.items():
        if token.startswith(prefix):
            return name
    raise ValueError(f"{reply!r} is not a measure function")


def _switches_function(function: str) -> Any:
    """``:MEASure:<function>?`` makes ``function`` the measure function."""
    return switches_setting("measure_function", function, f"makes {function} the measure function")


def _fixed_range(unit: str, ranges: Any, node: str, doc: str) -> Any:
    """A range setting at the SCPI node ``node`` (``:SOUR:VOLT:RANG``); one set turns auto off."""
    return Setting(unit=unit, choices=ranges, get=f"{node}?", set=f"{node} {{}}", doc=doc)


def _autorange(node: str, doc: str) -> Any:
    """The switch that lets the instrument pick the range at ``node`` itself."""
    return Setting(bool, get=f"{node}:AUTO?", set=f"{node}:AUTO {{}}", bool_tokens=_SWITCH, doc=doc)


class Keithley2450(ScpiInstrument):
    """Keithley 2450 SourceMeter: sources voltage or current, measures current, voltage and
    resistance, with a compliance limit on the quantity not sourced."""

    manufacturer = "Keithley"
    models = ("2450",)
    error_query = ":SYST:ERR?"
    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }

    source_function = Setting(
        choices={"voltage": "VOLT", "current": "CURR"},
        get=":SOUR:FUNC?",
        set=":SOUR:FUNC {}",
        doc="What the output sources: a voltage (current limited) or a current",
    )
    source_voltage = Setting(
        unit="V",
        min=-210.0,
        max=210.0,
        get=":SOUR:VOLT?",
        set=":SOUR:VOLT {}",
        readback="voltage",
        safe=0.0,
        doc="Voltage level while sourcing voltage",
    )
    source_current = Setting(
        unit="A",
        min=-1.05,
        max=1.05,
        get=":SOUR:CURR?",
        set=":SOUR:CURR {}",
        readback="current",
        safe=0.0,
        doc="Current level while sourcing current",
    )
    source_voltage_range = _fixed_range(
        "V",
        VOLTAGE_RANGES,
        ":SOUR:VOLT:RANG",
        "Fixed voltage source range (setting one turns source autorange off)",
    )
    source_voltage_autorange = _autorange(
        ":SOUR:VOLT:RANG", "Pick the voltage source range from the level"
    )
    source_current_range = _fixed_range(
        "A",
        CURRENT_RANGES,
        ":SOUR:CURR:RANG",
        "Fixed current source range (setting one turns source autorange off)",
    )
    source_current_autorange = _autorange(
        ":SOUR:CURR:RANG", "Pick the current source range from the level"
    )
    current_limit = Setting(
        unit="A",
        min=1e-9,
        max=1.05,
        get=":SOUR:VOLT:ILIM?",
        set=":SOUR:VOLT:ILIM {}",
        doc="Compliance while sourcing voltage: the output never drives more current",
    )
    voltage_limit = Setting(
        unit="V",
        min=0.02,
        max=210.0,
        get=":SOUR:CURR:VLIM?",
        set=":SOUR:CURR:VLIM {}",
        doc="Compliance while sourcing current: the output never drives more voltage",
    )
    measure_function = Setting(
        choices={"current": "CURR", "voltage": "VOLT", "resistance": "RES"},
        get=":SENS:FUNC?",
        set=':SENS:FUNC "{}"',
        parse=_sense_function,
        doc="What :READ? measures",
    )
    current_range = _fixed_range(
        "A",
        CURRENT_RANGES,
        ":SENS:CURR:RANG",
        "Fixed current measure range (turns measure autorange off); while sourcing "
        "current the source range is used",
    )
    current_autorange = _autorange(
        ":SENS:CURR:RANG", "Pick the current measure range from the reading"
    )
    voltage_range = _fixed_range(
        "V",
        VOLTAGE_RANGES,
        ":SENS:VOLT:RANG",
        "Fixed voltage measure range (turns measure autorange off)",
    )
    voltage_autorange = _autorange(
        ":SENS:VOLT:RANG", "Pick the voltage measure range from the reading"
    )
    nplc = Setting(
        float,
        min=0.01,
        max=10.0,
        get=":SENS:CURR:NPLC?",
        doc="Integration time in power-line cycles (0.1 fast, 1 medium, 10 slow), for every "
        "measure function",
    )
    four_wire = Setting(
        bool,
        get=":SENS:CURR:RSEN?",
        doc="Remote sense: measure the voltage at the device through the sense leads "
        "(in force while the output is on)",
    )
    output = Setting(
        bool,
        get=":OUTP?",
        set=":OUTP {}",
        bool_tokens=_SWITCH,
        safe=False,
        doc="Output relay: on drives the device under test",
    )

    current = Reading(
        unit="A",
        side_effect=_switches_function("current"),
        doc="Measure the current now (:MEASure:CURRent?)",
    )
    voltage = Reading(
        unit="V",
        side_effect=_switches_function("voltage"),
        doc="Measure the voltage now (:MEASure:VOLTage?)",
    )
    resistance = Reading(
        unit="ohm",
        side_effect=_switches_function("resistance"),
        doc="Measure the resistance V/I now (:MEASure:RESistance?)",
    )
    in_compliance = Reading(
        bool, doc="The output is held at its limit instead of its level (limit tripped)"
    )

    # -- connection -------------------------------------------------------------------

    def _on_open(self) -> None:
        super()._on_open()
        language = self.query("*LANG?").strip().upper()
        if language != "SCPI":
            raise ConfigurationError(
                f"the 2450 at {self.resource} uses the {language} command set, not SCPI",
                instrument=self.name,
                hint="On the front panel: Menu > System > Settings > Command Set > SCPI "
                "(then restart the instrument)",
            )

    def parse_error_reply(self, reply: str) -> tuple[int, str]:
        # The 2450 adds ";severity;time" to each message: '-113,"Undefined header;1;..."'
        code, message = parse_error(reply)
        return code, message.split(";")[0]

    # -- settings written to every measure function -----------------------------------

    def _set_nplc(self, value: float) -> None:
        token = format(value, ".6g")
        self.write(f":SENS:CURR:NPLC {token};:SENS:VOLT:NPLC {token};:SENS:RES:NPLC {token}")

    def _set_four_wire(self, value: bool) -> None:
        token = "ON" if value else "OFF"
        self.write(f":SENS:CURR:RSEN {token};:SENS:VOLT:RSEN {token};:SENS:RES:RSEN {token}")

    # -- measuring --------------------------------------------------------------------

    def _measure(self, function: str, token: str) -> float:
        command = f":MEAS:{token}?"
        reply = self.query(command)
        try:
            value = parse_number(reply)
        except ReplyError as error:
            error.command = command
            raise
        self.store("measure_function", function)
        return value

    def _get_current(self) -> float:
        return self._measure("current", "CURR")

    def _get_voltage(self) -> float:
        return self._measure("voltage", "VOLT")

    def _get_resistance(self) -> float:
        return self._measure("resistance", "RES")

    def _get_in_compliance(self) -> bool:
        function = self.last_value("source_function") or "voltage"
        query = ":SOUR:VOLT:ILIM:TRIP?" if function == "voltage" else ":SOUR:CURR:VLIM:TRIP?"
        return self.readings.in_compliance.spec.from_reply(self.query(query))
