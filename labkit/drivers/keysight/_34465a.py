"""Keysight 34465A Truevolt 6½-digit multimeter (SCPI over LAN, USB-TMC or GPIB).

Written from the Truevolt Series Operating and Service Guide: ``SENSe:FUNCtion``, ranges and
autorange per function, NPLC from the 34465A's list (0.02, 0.06, 0.2, 1, 10, 100, and 0.001,
0.002, 0.006 with the DIG option, which firmware A.03 and later include; only 1, 10 and 100
reject mains noise), autozero, input impedance, the trigger system (``TRIGger``, ``SAMPle``,
``INIT``/``FETCh?``/``READ?``, ``R?``) and the error queue.

Connecting accepts any state the meter can be in: every measurement function it has (only the
DC/AC voltage and current and the resistances are measured by this driver), every NPLC, every
trigger source (``INT``, the level trigger, comes with DIG).

A measurement waits as long as the meter needs: ``READ?`` and ``FETCh?`` get the link's timeout
plus the acquisition's own time (samples × triggers × (NPLC ÷ mains frequency, twice with
autozero, + trigger delay), with a margin), so ten readings at 10 PLC on 60 Hz mains (3.3 s) do
not time out at the 2 s a single reading needs.

Reading ``voltage``, ``current`` or ``resistance`` switches the meter to that function first
(one ``SENS:FUNC``, only when needed) and sends ``READ?``: one trigger of one sample, so
``sample_count × trigger_count`` must be 1 (use :meth:`read_all` for several). An over-range
reading (``9.9E+37``) is ``inf``.

``samples`` is :meth:`read_all` as an array reading: ``sample_count × trigger_count`` readings
of the present function (the unit follows it), so ``Read(dmm.readings.samples)`` records a
burst of readings at each point of a run. Timed sampling of one trigger (``sample_source``
``timer``) puts them on the meter's own ``time`` axis, trigger delay + i × ``SAMP:TIM``
seconds from the trigger; otherwise they are numbered along ``reading`` (see
:func:`samples_axis`).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from labkit.core import (
    Action,
    Axis,
    ChoiceError,
    ConfigurationError,
    Reading,
    ReplyError,
    Setting,
)
from labkit.drivers.keysight._34465a_timed import (
    TimedData,
    TimedPlan,
    TimedSampling,
    check_timed,
    stream,
)
from labkit.drivers.scpi import ScpiInstrument, parse_number, switches_setting

__all__ = ["Keysight34465A", "TimedData", "TimedPlan", "samples_axis"]

DIG_NPLC = (0.001, 0.002, 0.006)  # with the DIG option (standard from firmware A.03)
NPLC_CHOICES = (*DIG_NPLC, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0)
_SWITCH = ("ON", "OFF")
_FUNCTIONS = {
    "dc voltage": "VOLT",
    "ac voltage": "VOLT:AC",
    "dc current": "CURR",
    "ac current": "CURR:AC",
    "resistance": "RES",
    "4-wire resistance": "FRES",
    "frequency": "FREQ",
    "period": "PER",
    "temperature": "TEMP",
    "continuity": "CONT",
    "diode": "DIOD",
    "capacitance": "CAP",
    "dc voltage ratio": "VOLT:RAT",
}
_OVERFLOW_BIT = 1 << 14  # Questionable Data register: Reading Memory Overflow
_UNITS = {
    "dc voltage": "V",
    "ac voltage": "V",
    "dc current": "A",
    "ac current": "A",
    "resistance": "ohm",
    "4-wire resistance": "ohm",
    "frequency": "Hz",
    "period": "s",
    "capacitance": "F",
    "diode": "V",
}
"""The unit of a reading of each function (temperature's follows UNIT:TEMP; ratio has none)."""
_AC_SECONDS = 2.5  # a reading with the slowest (3 Hz) AC filter settles in about this long
_MARGIN = 1.5


def _readings(reply: str, command: str) -> list[float]:
    try:
        return [parse_number(part) for part in reply.split(",")]
    except ReplyError as error:
        error.command = command
        raise


def _measured(function: str, unit: str, doc: str) -> Any:
    """A reading of ``function``: measuring it configures the meter for it first."""
    effect = f"switches the meter to {function}"
    return Reading(unit=unit, side_effect=switches_setting("function", function, effect), doc=doc)


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
        header="SENS:VOLT:DC:RANG",
        doc="Fixed DC voltage range (turns autorange off)",
    )
    voltage_autorange = Setting(
        bool,
        header="SENS:VOLT:DC:RANG:AUTO",
        bool_tokens=_SWITCH,
        doc="Pick the DC voltage range from the reading (down below 10 %, up above 120 %)",
    )
    current_range = Setting(
        unit="A",
        choices=(1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0),
        header="SENS:CURR:DC:RANG",
        doc="Fixed DC current range (turns autorange off)",
    )
    current_autorange = Setting(
        bool,
        header="SENS:CURR:DC:RANG:AUTO",
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
        header="SENS:VOLT:DC:ZERO:AUTO",
        bool_tokens=_SWITCH,
        doc="Measure the zero before every reading (halves the reading rate)",
    )
    high_impedance = Setting(
        bool,
        header="SENS:VOLT:DC:IMP:AUTO",
        bool_tokens=_SWITCH,
        doc="Input resistance above 10 GΩ on the 0.1–10 V ranges (else 10 MΩ)",
    )
    trigger_source = Setting(
        choices={"immediate": "IMM", "external": "EXT", "bus": "BUS", "level": "INT"},
        header="TRIG:SOUR",
        doc="What starts a measurement after INIT: at once, the rear input, ``*TRG``, or the "
        "input crossing a level (DIG option)",
    )
    trigger_count = Setting(
        int,
        min=1,
        max=1_000_000_000,
        header="TRIG:COUN",
        doc="Triggers accepted per INIT",
    )
    trigger_delay = Setting(
        unit="s",
        min=0.0,
        max=3600.0,
        header="TRIG:DEL",
        doc="Wait between a trigger and its first sample",
    )
    sample_count = Setting(
        int,
        min=1,
        max=1_000_000_000,
        header="SAMP:COUN",
        doc="Readings taken per trigger",
    )
    sample_source = Setting(
        choices={"immediate": "IMM", "timer": "TIM"},
        header="SAMP:SOUR",
        doc="What paces the samples of one trigger: as fast as the meter measures, or the "
        "sample timer",
    )
    sample_timer = Setting(
        unit="s",
        min=20e-6,
        max=3600.0,
        get="SAMP:TIM?",
        doc="Time between samples with sample_source 'timer' (at least one measurement's "
        "time: NPLC ÷ mains frequency, twice with autozero); the meter's own interval, read "
        "back, as it rounds what it is sent",
    )

    voltage = _measured("dc voltage", "V", "Measure DC voltage now (switches to DC voltage)")
    current = _measured("dc current", "A", "Measure DC current now (switches to DC current)")
    resistance = _measured("resistance", "ohm", "Measure 2-wire resistance now (switches to it)")
    line_frequency = Reading(unit="Hz", get="SYST:LFR?", doc="Mains frequency the meter uses")
    points_in_memory = Reading(int, get="DATA:POIN?", doc="Readings waiting in reading memory")
    memory_overflowed = Reading(
        bool,
        get="STAT:QUES:COND?",
        parse=lambda reply: bool(int(float(reply)) & _OVERFLOW_BIT),
        doc="Reading memory overflowed: the oldest readings of this acquisition were lost",
    )
    samples = Reading(
        unit="V",
        axes=[Axis("reading", size=1, label="reading number")],
        side_effect=lambda dmm: dmm.burst_effect(),
        doc="READ?: every reading of one acquisition (sample_count × trigger_count) of the "
        "present function, in its unit",
    )

    initiate = Action("INIT", doc="Arm the trigger system; readings go to memory")
    abort = Action("ABOR", doc="Stop a measurement in progress")
    trigger = Action("*TRG", label="Trigger", doc="Software trigger (trigger source bus)")

    # -- identity: what this meter has ------------------------------------------------

    memory_size: int = 50_000
    """Readings the reading memory holds: 50,000, or 2,000,000 with the MEM option."""

    has_dig: bool = False
    """The DIG option (``*OPT?``), standard from firmware A.03: NPLC 0.001–0.006, level
    triggering."""

    def identify(self) -> dict[str, str]:
        identity = super().identify()
        options = [o.strip().strip('"') for o in self.query("*OPT?").split(",")]
        self.has_dig = "DIG" in options or _firmware_major(identity["firmware"]) >= 3
        self.memory_size = 2_000_000 if "MEM" in options else 50_000
        self._line_hz = parse_number(self.query("SYST:LFR?")) or 50.0
        return identity

    # -- settings written to every function --------------------------------------------

    def _set_nplc(self, value: float) -> None:
        if value in DIG_NPLC and not self.has_dig:
            raise ChoiceError(
                f"NPLC {value:g} needs the DIG option, which this meter lacks (firmware "
                f"{self.identity['firmware'] if self.identity else '?'})",
                instrument=self.name,
                setting="nplc",
                value=value,
                limit=[n for n in NPLC_CHOICES if n not in DIG_NPLC],
                hint="Use 0.02 PLC or more, or install the DIG option (or firmware A.03+)",
            )
        token = format(value, "g")
        self.write(
            f"SENS:VOLT:DC:NPLC {token};:SENS:CURR:DC:NPLC {token};"
            f":SENS:RES:NPLC {token};:SENS:FRES:NPLC {token}",
        )

    def _set_sample_timer(self, value: float) -> float:
        # The manual: the interval is quantized ("the actual interval that you set may be
        # slightly different"; SAMP:TIM? returns it). The time axis of samples is built on it.
        command = f"SAMP:TIM {value:.10g}"
        self.write(command)
        if self.check_errors:  # a refused interval names its command, not the read-back
            self.raise_queued_error(command, "sample_timer")
        return parse_number(self.query("SAMP:TIM?"))

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
        with self._waiting(1):
            (value,) = _readings(self.query("READ?"), "READ?")
        return value

    def acquisition_seconds(self, readings: int | None = None) -> float:
        """How long the meter takes for ``readings`` readings (default: sample_count ×
        trigger_count) with its present function, NPLC, autozero and trigger delay."""
        value = self.last_value
        if readings is None:
            readings = (value("sample_count") or 1) * (value("trigger_count") or 1)
        each = self.measure_seconds()
        if value("sample_source") == "timer":
            each = max(each, value("sample_timer") or 0.0)
        return readings * (each + (value("trigger_delay") or 0.0))

    def measure_seconds(self) -> float:
        """One reading's time with the present function, NPLC and autozero."""
        value = self.last_value
        if (value("function") or "dc voltage") in ("ac voltage", "ac current"):
            return _AC_SECONDS
        each = (value("nplc") or 10.0) / getattr(self, "_line_hz", 50.0)
        if value("autozero") is not False:
            each *= 2  # a zero reading after every reading
        return each

    @contextlib.contextmanager
    def _waiting(self, readings: int | None = None) -> Iterator[None]:
        """The link's timeout lengthened by the acquisition's own time, around one exchange."""
        link = self.transport
        base = link.timeout
        link.timeout = base + _MARGIN * self.acquisition_seconds(readings)
        try:
            yield
        finally:
            link.timeout = base

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

    def store(self, name: str, value: Any) -> None:
        super().store(name, value)
        if name in _SAMPLES_FOLLOW:
            self._follow_samples()

    def _follow_samples(self) -> None:
        """Keep ``samples``' axis and unit those of the next READ?."""
        axis = samples_axis(self.last_value)
        unit = _UNITS.get(self.last_value("function") or "dc voltage")
        spec = self.readings.samples.spec
        (now,) = spec.axes or ()
        if not (now.name == axis.name and now.same_coordinate(axis)) or spec.unit != unit:
            self.update_declaration("samples", axes=[axis], unit=unit)

    def burst_effect(self) -> str | None:
        """What reading ``samples`` changes: a burst of several readings replaces the meter's
        reading memory (and takes their time); one reading is like ``voltage``."""
        count = (self.last_value("sample_count") or 1) * (self.last_value("trigger_count") or 1)
        if count == 1:
            return None
        return f"it takes {count} readings (READ?), replacing those in the meter's memory"

    def _get_samples(self) -> list[float]:
        self._require_immediate()
        with self._waiting():
            return _readings(self.query("READ?"), "READ?")

    def read_all(self) -> list[float]:
        """``READ?``: trigger and return every reading (sample_count × trigger_count)."""

        def run() -> list[float]:
            self._require_immediate()
            with self._waiting():
                return _readings(self.query("READ?"), "READ?")

        return self.run_io(run)

    def fetch(self) -> list[float]:
        """``FETCh?``: the readings of the last INIT (kept in memory); waits for them."""

        def run() -> list[float]:
            with self._waiting():
                return _readings(self.query("FETC?"), "FETC?")

        return self.run_io(run)

    def read_memory(self, count: int | None = None) -> list[float]:
        """``R?``: take (and erase) up to ``count`` readings from memory (all by default)."""
        command = "R?" if count is None else f"R? {int(count)}"
        payload = self.query_block(command)
        if not payload:
            return []
        return _readings(payload.decode("ascii", "replace"), command)

    # -- timed sampling ---------------------------------------------------------------

    def plan_timed(
        self,
        samples: int,
        interval: Any = None,
        *,
        trigger: str = "immediate",
        triggers: int = 1,
        delay: Any = 0.0,
    ) -> TimedPlan:
        """A timed acquisition checked with no I/O: ``samples`` readings ``interval`` apart
        (None: as fast as the meter measures) after each of ``triggers`` triggers from
        ``trigger`` (``immediate``, ``bus``, ``external``, ``level``)."""
        return check_timed(self, samples, interval, trigger=trigger, triggers=triggers, delay=delay)

    def timed_sampling(self, samples: int, interval: Any = None, **options: Any) -> TimedSampling:
        """:meth:`plan_timed` as a timed acquisition for a run (``labkit.runs.Triggered``)."""
        return TimedSampling(self, self.plan_timed(samples, interval, **options))

    def arm_timed(self, plan: TimedPlan, *, initiate: bool = True) -> None:
        """Configure the trigger system for ``plan`` and ``INITiate`` (unless ``initiate`` is
        False): the meter then waits for its triggers (or starts at once with trigger
        ``immediate``)."""
        self.set("sample_source", "timer")
        self.set("sample_timer", plan.interval)
        self.set("sample_count", plan.samples)
        self.set("trigger_source", plan.trigger)
        self.set("trigger_count", plan.triggers)
        self.set("trigger_delay", plan.delay)
        if initiate:
            self.run_action("initiate")

    def collect_timed(
        self,
        plan: TimedPlan,
        *,
        timeout: float | None = None,
        sleep: Any = None,
    ) -> TimedData:
        """Stream the armed acquisition out of memory (``R?``) until every reading is in.

        ``timeout`` (s) bounds the wait for triggers; ``sleep`` replaces ``time.sleep``
        between reads (tests pass one that moves a simulated clock)."""

        wait = plan.seconds * 1.5 + (timeout if timeout is not None else self.transport.timeout)
        options: dict[str, Any] = {"deadline": time.monotonic() + wait}
        if sleep is not None:
            options["sleep"] = sleep
        return stream(
            self.read_memory,
            lambda: bool(self.read("memory_overflowed")),
            plan,
            self.memory_size,
            **options,
        )

    def acquire_timed(self, samples: int, interval: Any = None, **options: Any) -> TimedData:
        """Plan, arm and collect a timed acquisition (see :meth:`plan_timed`)."""
        sleep = options.pop("sleep", None)
        plan = self.plan_timed(samples, interval, **options)
        self.arm_timed(plan)
        return self.collect_timed(plan, sleep=sleep)


_SAMPLES_FOLLOW = frozenset(
    ("sample_count", "trigger_count", "function", "sample_source", "sample_timer", "trigger_delay")
)


def samples_axis(value: Callable[[str], Any]) -> Axis:
    """The axis of one READ?'s readings, from the meter's settings (``value(name)``).

    Timed sampling of one trigger (``SAMP:SOUR TIM``, more than one sample) is deterministic:
    per the manual the first sample starts one trigger delay after the trigger and each next
    one a sample interval (``SAMP:TIM``) after the start of the one before, so the readings lie
    on a time axis in seconds from the trigger. Paced by the measurement itself (``IMM``: the
    delay goes after every sample, whose length depends on integration and autoranging), or
    spread over several triggers whose moments the meter does not report, they are numbered.
    """
    samples = int(value("sample_count") or 1)
    triggers = int(value("trigger_count") or 1)
    interval = value("sample_timer")
    if value("sample_source") == "timer" and triggers == 1 and samples > 1 and interval:
        return Axis(
            "time",
            size=samples,
            unit="s",
            start=float(value("trigger_delay") or 0.0),
            step=float(interval),
            label="time from the trigger",
        )
    return Axis("reading", size=samples * triggers, label="reading number")


def _firmware_major(firmware: str) -> int:
    """``A.03.01-...`` → 3: the major version of the meter's main firmware (0 if unknown)."""
    match = re.match(r"\s*[A-Z]\.(\d+)", firmware)
    return int(match[1]) if match else 0
