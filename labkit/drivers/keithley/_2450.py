"""Keithley 2450 SourceMeter, through its SCPI command set (GPIB, USB-TMC or LAN).

Written from the 2450 Reference Manual (2450-901-01): ``:SOURce``, ``:SENSe``, ``:OUTPut``,
``:MEASure``, ``:READ?``, the error queue. The instrument must be in its SCPI command set
(``*LANG SCPI``; the TSP and 2400-emulation sets are refused when connecting).

Limits from the manual: source ±210 V / ±1.05 A, current limit 1 nA…1.05 A, voltage limit
20 mV…210 V, NPLC 0.01…10, fixed ranges 20 mV…200 V and 10 nA…1 A.

Instrument-timed IV curves: ``smu.sweep(0, 1, 1001)`` checks every level against the source
limits, builds the 2450's own linear sweep (``:SOURce:SWEep:VOLTage:LINear``), runs its
trigger model (``:INITiate``, ``*OPC?``) and reads the buffer back (``:TRACe:DATA?``); see
:mod:`labkit.drivers.keithley._2450_sweep`.

Measuring: ``smu.read("current")`` sends ``:MEASure:CURRent?``, which (as on the
instrument) makes current the measure function; ``voltage`` and ``resistance`` likewise. An
over-range reading is ``inf``. ``nplc`` and ``four_wire`` apply to every measure function.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from labkit.core import Action, Axis, ConfigurationError, Reading, ReplyError, Setting
from labkit.drivers.keithley._2450_sweep import (
    BufferedSweep,
    SweepData,
    SweepPlan,
    check_sweep,
    parse_buffer,
)
from labkit.drivers.scpi import ScpiInstrument, parse_error, parse_number, switches_setting

__all__ = ["Keithley2450", "SweepData", "SweepPlan"]

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


def _measured(function: str, unit: str, doc: str) -> Any:
    """A reading by ``:MEASure:<function>?``, which makes ``function`` the measure function."""
    effect = f"makes {function} the measure function"
    return Reading(
        unit=unit, side_effect=switches_setting("measure_function", function, effect), doc=doc
    )


def _fixed_range(unit: str, ranges: Any, node: str, doc: str) -> Any:
    """A range setting at the SCPI node ``node`` (``:SOUR:VOLT:RANG``); one set turns auto off."""
    return Setting(unit=unit, choices=ranges, header=node, doc=doc)


def _autorange(node: str, doc: str) -> Any:
    """The switch that lets the instrument pick the range at ``node`` itself."""
    return Setting(bool, header=f"{node}:AUTO", bool_tokens=_SWITCH, doc=doc)


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
        header=":SOUR:FUNC",
        doc="What the output sources: a voltage (current limited) or a current",
    )
    source_voltage = Setting(
        unit="V",
        min=-210.0,
        max=210.0,
        header=":SOUR:VOLT",
        readback="voltage",
        safe=0.0,
        doc="Voltage level while sourcing voltage",
    )
    source_current = Setting(
        unit="A",
        min=-1.05,
        max=1.05,
        header=":SOUR:CURR",
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
        header=":SOUR:VOLT:ILIM",
        doc="Compliance while sourcing voltage: the output never drives more current",
    )
    voltage_limit = Setting(
        unit="V",
        min=0.02,
        max=210.0,
        header=":SOUR:CURR:VLIM",
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
        header=":OUTP",
        bool_tokens=_SWITCH,
        safe=False,
        doc="Output relay: on drives the device under test",
    )

    sense_count = Setting(
        int,
        min=1,
        max=300_000,
        header=":SENS:COUN",
        doc="Readings per measurement (each goes to the buffer; :READ? returns the last)",
    )
    buffer_size = Setting(
        int,
        min=10,
        max=6_865_000,
        get=':TRAC:POIN? "defbuffer1"',
        set=':TRAC:POIN {}, "defbuffer1"',
        doc="Readings defbuffer1 holds (resizing clears it). All buffers share 6,875,000 "
        "readings: the most is what defbuffer2 (10,000 at power-on) and user buffers leave",
    )
    buffer_fill_mode = Setting(
        choices={"continuous": "CONT", "once": "ONCE"},
        get=':TRAC:FILL:MODE? "defbuffer1"',
        set=':TRAC:FILL:MODE {}, "defbuffer1"',
        doc="A full defbuffer1 overwrites its oldest readings (continuous) or keeps them and "
        "discards new ones (once); changes only while it is empty",
    )

    buffer_count = Reading(int, get=':TRAC:ACT? "defbuffer1"', doc="Readings in defbuffer1")
    buffer = Reading(
        unit="A",
        axes=[Axis("buffer_point", size=None, label="reading number in defbuffer1")],
        doc="Every reading in defbuffer1 (:TRACe:DATA?), in the measure function's unit; "
        "its length follows the buffer's count",
    )
    current = _measured("current", "A", "Measure the current now (:MEASure:CURRent?)")
    voltage = _measured("voltage", "V", "Measure the voltage now (:MEASure:VOLTage?)")
    resistance = _measured(
        "resistance", "ohm", "Measure the resistance V/I now (:MEASure:RESistance?)"
    )
    in_compliance = Reading(
        bool, doc="The output is held at its limit instead of its level (limit tripped)"
    )

    clear_buffer = Action(':TRAC:CLE "defbuffer1"', doc="Empty defbuffer1")
    abort = Action(":ABOR", doc="Stop the trigger model (a sweep keeps the readings so far)")

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

    def identify(self) -> dict[str, str]:
        identity = super().identify()
        # The buffer reading's length: what defbuffer1 holds now.
        self._follow_buffer(int(parse_number(self.query(':TRAC:ACT? "defbuffer1"'))))
        return identity

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

    # -- the instrument's own sweep ---------------------------------------------------

    def plan_sweep(
        self,
        start: Any,
        stop: Any,
        points: int,
        *,
        delay: Any = None,
        count: int = 1,
        range_type: str = "best",
        fail_abort: bool = True,
        dual: bool = False,
        buffer: str = "defbuffer1",
    ) -> SweepPlan:
        """A linear sweep of the source function, checked (no I/O): every level against the
        source setting's limits, the point count, the delay and the buffer's size.

        ``delay`` is the source delay per point (None: the instrument's automatic delay);
        ``range_type`` ``"best"`` (one range for all), ``"auto"`` or ``"fixed"``;
        ``fail_abort`` stops at the first point in compliance; ``dual`` sweeps back.
        """
        function = self.last_value("source_function") or "voltage"
        return check_sweep(
            self,
            function,
            start,
            stop,
            points,
            delay=delay,
            count=count,
            range_type=range_type,
            fail_abort=fail_abort,
            dual=dual,
            buffer=buffer,
        )

    def buffered_sweep(self, start: Any, stop: Any, points: int, **options: Any) -> BufferedSweep:
        """The sweep of :meth:`plan_sweep` as a timed acquisition for a run
        (``labkit.runs.Triggered``): checked now, armed, started and collected by the run."""
        return BufferedSweep(self, self.plan_sweep(start, stop, points, **options))

    def sweep_seconds(self, plan: SweepPlan) -> float:
        """How long the 2450 needs for ``plan`` (delay + integration per point)."""
        nplc = self.last_value("nplc") or 1.0
        each = (plan.delay or 0.0) + nplc / 50.0 * (self.last_value("sense_count") or 1)
        return plan.points * (each + 1e-3)

    def sweep(self, start: Any, stop: Any, points: int, **options: Any) -> SweepData:
        """Run a linear sweep on the instrument's own timing and return what it measured:
        the level sourced, the reading and the time of each point. The output must be on
        (``smu.output = True``): the sweep does not switch it on by itself."""
        return self.run_sweep(self.plan_sweep(start, stop, points, **options))

    def run_sweep(self, plan: SweepPlan) -> SweepData:
        """Send a checked sweep, clear its buffer, run it, wait for it, read the buffer."""
        return self.run_io(self._run_sweep, plan)

    def _run_sweep(self, plan: SweepPlan) -> SweepData:
        self._arm_sweep(plan)
        self.write(":INIT")
        return self.collect_sweep(plan)

    def arm_sweep(self, plan: SweepPlan) -> None:
        """Send ``plan`` (checked when it was planned) and clear its buffer, ready for
        :meth:`start_sweep` (no reading yet)."""
        self.run_io(self._arm_sweep, plan)

    def start_sweep(self) -> None:
        """``:INITiate`` the armed sweep (it runs on the 2450's own timing)."""
        self.run_io(self.write, ":INIT")

    def _arm_sweep(self, plan: SweepPlan) -> None:
        self.write(plan.command())
        self.raise_queued_error(plan.command(), "sweep")
        self.write(f':TRAC:CLE "{plan.buffer}"')

    def collect_sweep(self, plan: SweepPlan) -> SweepData:
        """Wait for the running sweep (``*OPC?``) and read its buffer."""
        with self._waiting(self.sweep_seconds(plan)):
            self.query("*OPC?")
        return self._read_buffer(plan.buffer)

    @contextlib.contextmanager
    def _waiting(self, seconds: float) -> Iterator[None]:
        """The link's timeout lengthened by the instrument's own acquisition time."""
        link = self.transport
        base = link.timeout
        link.timeout = base + 1.5 * seconds
        try:
            yield
        finally:
            link.timeout = base

    def _get_buffer(self) -> np.ndarray:
        return self._read_buffer("defbuffer1").reading

    def _follow_buffer(self, count: int) -> None:
        """Keep ``buffer``'s length the count of defbuffer1 and its unit the function's."""
        unit = {"current": "A", "voltage": "V", "resistance": "ohm"}[
            self.last_value("measure_function") or "current"
        ]
        spec = self.readings.buffer.spec
        (axis,) = spec.axes or ()
        if axis.size != count or spec.unit != unit:
            self.update_declaration("buffer", axes=[axis.with_size(count)], unit=unit)

    def read_buffer(self, buffer: str = "defbuffer1") -> SweepData:
        """Every reading in ``buffer`` with its source level and time (``:TRACe:DATA?``)."""
        return self.run_io(self._read_buffer, buffer)

    def _read_buffer(self, buffer: str) -> SweepData:
        count = int(parse_number(self.query(f':TRAC:ACT? "{buffer}"')))
        if buffer == "defbuffer1":
            self._follow_buffer(count)
        if count == 0:
            return SweepData(np.zeros(0), np.zeros(0), np.zeros(0))
        command = f':TRAC:DATA? 1,{count},"{buffer}",READ,SOUR,REL'
        return parse_buffer(self.query(command), count, command, self.name)
