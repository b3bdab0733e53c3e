"""Keysight 34465A Truevolt 6½-digit multimeter (SCPI over LAN, USB-TMC or GPIB).

Written from the Truevolt Series Operating and Service Guide: ``SENSe:FUNCtion``, ranges and
autorange per function, NPLC from the 34465A's list (0.02, 0.06, 0.2, 1, 10, 100; only 1, 10
and 100 reject mains noise), autozero, input impedance, the trigger system (``TRIGger``,
``SAMPle``, ``INIT``/``FETCh?``/``READ?``, ``R?``) and the error queue.

Reading ``voltage``, ``current`` or ``resistance`` switches the meter to that function first
(one ``SENS:FUNC``, only when needed) and sends ``READ?``: one trigger of one sample, so
``sample_count × trigger_count`` must be 1 (use :meth:`read_all` for several). An over-range
reading (``9.9E+37``) is ``inf``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from labkit.core import Action, ConfigurationError, Reading, ReplyError, Setting
from labkit.drivers.scpi import ScpiInstrument, parse_number

__all__ = ["Keysight34465A"]

NPLC_CHOICES = (0.02, 0.06, 0.2, 1.0, 10.0, 100.0)
_SWITCH = ("ON", "OFF")
_FUNCTIONS = {
    "dc voltage": "VOLT",
    "ac voltage": "VOLT:AC",
    "dc current": "CURR",
    "ac current": "CURR:AC",
    "resistance": "RES",
    "4-wire resistance": "FRES",
}


def _readings(reply: str, command: str) -> list[float]:
    try:
        return [parse_number(part) for part in reply.split(",")]
    except ReplyError as error:
        error.command = command
        raise


class Keysight34465A(ScpiInstrument):
    """Keysight 34465A digital multimeter: DC/AC voltage and current, 2- and 4-wire
    resistance, with its trigger system and reading memory."""

    manufacturer = "Keysight"
    models = ("34465A",)
    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }

    function = Setting(
        choices=_FUNCTIONS,
        get="SENS:FUNC?",
        set='SENS:FUNC "{}"',
        doc="What the meter measures",
    )
    voltage_range = Setting(
        unit="V",
        choices=(0.1, 1.0, 10.0, 100.0, 1000.0),
        get="SENS:VOLT:DC:RANG?",
        set="SENS:VOLT:DC:RANG {}",
        doc="Fixed DC voltage range (turns autorange off)",
    )
    voltage_autorange = Setting(
        bool,
        get="SENS:VOLT:DC:RANG:AUTO?",
        set="SENS:VOLT:DC:RANG:AUTO {}",
        bool_tokens=_SWITCH,
        doc="Pick the DC voltage range from the reading (down below 10 %, up above 120 %)",
    )
    current_range = Setting(
        unit="A",
        choices=(1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0),
        get="SENS:CURR:DC:RANG?",
        set="SENS:CURR:DC:RANG {}",
        doc="Fixed DC current range (turns autorange off)",
    )
    current_autorange = Setting(
        bool,
        get="SENS:CURR:DC:RANG:AUTO?",
        set="SENS:CURR:DC:RANG:AUTO {}",
        bool_tokens=_SWITCH,
        doc="Pick the DC current range from the reading",
    )
    nplc = Setting(
        float,
        choices=NPLC_CHOICES,
        get="SENS:VOLT:DC:NPLC?",
        doc="Integration time in power-line cycles, for DC voltage, DC current and resistance "
        "(1, 10 and 100 reject mains noise)",
    )
    autozero = Setting(
        bool,
        get="SENS:VOLT:DC:ZERO:AUTO?",
        set="SENS:VOLT:DC:ZERO:AUTO {}",
        bool_tokens=_SWITCH,
        doc="Measure the zero before every reading (halves the reading rate)",
    )
    high_impedance = Setting(
        bool,
        get="SENS:VOLT:DC:IMP:AUTO?",
        set="SENS:VOLT:DC:IMP:AUTO {}",
        bool_tokens=_SWITCH,
        doc="Input resistance above 10 GΩ on the 0.1–10 V ranges (else 10 MΩ)",
    )
    trigger_source = Setting(
        choices={"immediate": "IMM", "external": "EXT", "bus": "BUS"},
        get="TRIG:SOUR?",
        set="TRIG:SOUR {}",
        doc="What starts a measurement after INIT: at once, the rear input, or ``*TRG``",
    )
    trigger_count = Setting(
        int,
        min=1,
        max=1_000_000_000,
        get="TRIG:COUN?",
        set="TRIG:COUN {}",
        doc="Triggers accepted per INIT",
    )
    trigger_delay = Setting(
        unit="s",
        min=0.0,
        max=3600.0,
        get="TRIG:DEL?",
        set="TRIG:DEL {}",
        doc="Wait between a trigger and its first sample",
    )
    sample_count = Setting(
        int,
        min=1,
        max=1_000_000_000,
        get="SAMP:COUN?",
        set="SAMP:COUN {}",
        doc="Readings taken per trigger",
    )

    voltage = Reading(unit="V", doc="Measure DC voltage now (switches to DC voltage)")
    current = Reading(unit="A", doc="Measure DC current now (switches to DC current)")
    resistance = Reading(unit="ohm", doc="Measure 2-wire resistance now (switches to it)")
    line_frequency = Reading(unit="Hz", get="SYST:LFR?", doc="Mains frequency the meter uses")

    initiate = Action("INIT", doc="Arm the trigger system; readings go to memory")
    abort = Action("ABOR", doc="Stop a measurement in progress")
    trigger = Action("*TRG", label="Trigger", doc="Software trigger (trigger source bus)")

    # -- settings written to every function --------------------------------------------

    def _set_nplc(self, value: float) -> None:
        token = format(value, "g")
        self.write(
            f"SENS:VOLT:DC:NPLC {token};:SENS:CURR:DC:NPLC {token};"
            f":SENS:RES:NPLC {token};:SENS:FRES:NPLC {token}",
        )

    # -- measuring --------------------------------------------------------------------

    def _single(self, function: str) -> float:
        samples = (self.last_value("sample_count") or 1) * (self.last_value("trigger_count") or 1)
        if samples != 1:
            raise ConfigurationError(
                f"one reading was asked for, but each READ? takes {samples} "
                "(sample_count × trigger_count)",
                instrument=self.name,
                hint=f"Use {self.name}.read_all(), or set both counts to 1",
            )
        self._require_immediate()
        if self.last_value("function") != function:
            self.set("function", function)
        (value,) = _readings(self.query("READ?"), "READ?")
        return value

    def _require_immediate(self) -> None:
        if self.last_value("trigger_source") == "bus":
            raise ConfigurationError(
                "READ? with trigger source 'bus' would deadlock the meter",
                instrument=self.name,
                hint="Use initiate(), trigger() and fetch(), or trigger_source='immediate'",
            )

    def _get_voltage(self) -> float:
        return self._single("dc voltage")

    def _get_current(self) -> float:
        return self._single("dc current")

    def _get_resistance(self) -> float:
        return self._single("resistance")

    def read_all(self) -> list[float]:
        """``READ?``: trigger and return every reading (sample_count × trigger_count)."""

        def run() -> list[float]:
            self._require_immediate()
            return _readings(self.query("READ?"), "READ?")

        return self.run_io(run)

    def fetch(self) -> list[float]:
        """``FETCh?``: the readings of the last INIT (kept in memory)."""
        return self.run_io(lambda: _readings(self.query("FETC?"), "FETC?"))

    def read_memory(self, count: int | None = None) -> list[float]:
        """``R?``: take (and erase) up to ``count`` readings from memory (all by default)."""
        command = "R?" if count is None else f"R? {int(count)}"
        payload = self.query_block(command)
        if not payload:
            return []
        return _readings(payload.decode("ascii", "replace"), command)
