"""A driver connects to an instrument in any state the instrument can be in.

Connecting reads every setting, so a value the driver does not know breaks the connection of a
lab's instrument that someone left in it (issue 19: a 33500B left in ARB, a 34465A at
NPLC 0.001). For every enumerated setting of every shipped SCPI/serial driver, the lists below
are the instrument's own (from its manual, with the source named); a twin is put in each state
the way the front panel or another program would (its own commands), then the driver connects
and must report it.

The first test of each group checks that the driver's choices are exactly the manual's list, so
a value added to one without the other fails here.
"""

from __future__ import annotations

import math

import pytest

from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight33522B, Keysight34465A
from labkit.drivers.rigol import RigolDS1000Z
from labkit.drivers.stanford import SR830
from labkit.drivers.thorlabs import ThorlabsTC200
from labkit.sim import Bench
from labkit.sim.twins._keysight34465a import Keysight34465ATwin
from labkit.sim.twins._rigol_ds1000z import RigolDS1000ZTwin


def _bench(name: str) -> Bench:
    return Bench(seed=0, time_scale=0, instruments=[name])


def _left_in(bench: Bench, name: str, *commands: str) -> None:
    """The instrument left in a state: its own commands, and no error from any of them."""
    twin = bench.instrument(name)
    for command in commands:
        twin.handle(command)
    errors = getattr(twin, "errors", ())
    assert not errors, f"the twin refused {commands}: {list(errors)}"


def _tokens(instrument, setting: str) -> set[str]:
    return set(instrument.settings[setting].spec.tokens)


# -- Keysight 33500B (programming guide 33500-90901, FUNCtion and OUTPut:LOAD) -------------------

FG_FUNCTIONS = ["SIN", "SQU", "TRI", "RAMP", "PULS", "PRBS", "NOIS", "ARB", "DC"]
"""``[SOURce[1|2]:]FUNCtion {SINusoid|SQUare|TRIangle|RAMP|PULSe|PRBS|NOISe|ARB|DC}``."""


def _fg(bench: Bench) -> Keysight33522B:
    return Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)


def test_the_33500b_driver_knows_every_function_of_the_manual():
    fg = _fg(_bench("fg"))
    assert _tokens(fg.ch1, "function") == set(FG_FUNCTIONS)


@pytest.mark.parametrize("token", FG_FUNCTIONS)
@pytest.mark.parametrize("output", [1, 2])
def test_the_33500b_connects_in_every_function(token, output):
    bench = _bench("fg")
    _left_in(bench, "fg", f"SOUR{output}:FUNC {token}")
    fg = _fg(bench)
    channel = fg.ch1 if output == 1 else fg.ch2
    assert (
        channel.settings.function.spec.tokens[
            channel.settings.function.spec.choices.index(channel.function)
        ]
        == token
    )


@pytest.mark.parametrize(
    ("argument", "shown"),
    [
        ("1", "1 ohm"),
        ("50", "50 ohm"),
        ("75", "75 ohm"),
        ("600", "600 ohm"),
        ("1000", "1 kohm"),
        ("10000", "10 kohm"),
        ("INF", "high Z"),
    ],
)
def test_the_33500b_connects_at_any_load(argument, shown):
    """``OUTPut:LOAD {<ohms>|INFinity|MINimum|MAXimum}``: 1 Ω to 10 kΩ, or high Z."""
    bench = _bench("fg")
    _left_in(bench, "fg", f"OUTP1:LOAD {argument}")
    assert _fg(bench).ch1.load == shown


def test_the_33500b_connects_in_any_amplitude_unit_and_angle_unit():
    """``VOLTage:UNIT {VPP|VRMS|DBM}`` and ``UNIT:ANGLe {DEG|RAD|SEC|DEF}``: the driver works
    in Vpp and degrees whatever the panel was left in."""
    bench = _bench("fg")
    _left_in(bench, "fg", "SOUR1:VOLT 2", "SOUR1:VOLT:UNIT VRMS", "UNIT:ANGL RAD")
    fg = _fg(bench)
    assert fg.ch1.amplitude == pytest.approx(2.0)


# -- Keysight 34465A (Truevolt Series Operating and Service Guide; *OPT? and DIG per QCoDeS) ----

DMM_FUNCTIONS = [
    "VOLT",
    "VOLT:AC",
    "CURR",
    "CURR:AC",
    "RES",
    "FRES",
    "FREQ",
    "PER",
    "TEMP",
    "CONT",
    "DIOD",
    "CAP",
    "VOLT:RAT",
]
"""``[SENSe:]FUNCtion[:ON] "<function>"`` on a 34465A (capacitance and temperature included;
the 34460A lacks some, the 34465A has all)."""
DMM_NPLC = [0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0]
"""``[SENSe:]VOLTage[:DC]:NPLC``, 34465A: 0.02 … 100, and 0.001, 0.002, 0.006 with DIG."""
DMM_TRIGGER_SOURCES = ["IMM", "EXT", "BUS", "INT"]
"""``TRIGger:SOURce {IMMediate|EXTernal|BUS|INTernal}`` (INTernal, the level trigger, with DIG)."""
DMM_VOLTAGE_RANGES = [0.1, 1.0, 10.0, 100.0, 1000.0]
DMM_CURRENT_RANGES = [1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0]
"""``CURRent:{AC|DC}:RANGe {100 µA|1 mA|10 mA|100 mA|1 A|3 A}`` (10 A is a terminal, not a
range of this command)."""


def _dmm(bench: Bench | None = None, **twin) -> tuple[Bench, Keysight34465A]:
    """A meter on ``bench``, or on a bench of its own with a twin made with ``twin``."""
    if bench is None:
        bench = Bench(seed=0, time_scale=0, instruments=[])
        bench.add_instrument("dmm", Keysight34465ATwin(bench, "dmm", **twin), interfaces=("visa",))
    return bench, Keysight34465A(bench.address("dmm"), name="dmm", timeout=1.0)


def test_the_34465a_driver_knows_every_state_of_the_manual():
    _, dmm = _dmm(_bench("dmm"))
    assert _tokens(dmm, "function") == set(DMM_FUNCTIONS)
    assert set(dmm.settings.nplc.spec.choices) == set(DMM_NPLC)
    assert _tokens(dmm, "trigger_source") == set(DMM_TRIGGER_SOURCES)
    assert set(dmm.settings.voltage_range.spec.choices) == set(DMM_VOLTAGE_RANGES)
    assert set(dmm.settings.current_range.spec.choices) == set(DMM_CURRENT_RANGES)


@pytest.mark.parametrize("token", DMM_FUNCTIONS)
def test_the_34465a_connects_in_every_function(token):
    bench = _bench("dmm")
    _left_in(bench, "dmm", f'SENS:FUNC "{token}"')
    _, dmm = _dmm(bench)
    spec = dmm.settings.function.spec
    assert spec.tokens[spec.choices.index(dmm.function)] == token


@pytest.mark.parametrize("nplc", DMM_NPLC)
def test_the_34465a_connects_at_every_nplc(nplc):
    """The default twin has firmware A.03 (DIG standard), so the three short ones exist."""
    bench = _bench("dmm")
    _left_in(bench, "dmm", f"VOLT:NPLC {nplc:g}")
    _, dmm = _dmm(bench)
    assert dmm.has_dig
    assert dmm.nplc == nplc


@pytest.mark.parametrize("token", DMM_TRIGGER_SOURCES)
def test_the_34465a_connects_with_every_trigger_source(token):
    bench = _bench("dmm")
    _left_in(bench, "dmm", f"TRIG:SOUR {token}")
    _, dmm = _dmm(bench)
    spec = dmm.settings.trigger_source.spec
    assert spec.tokens[spec.choices.index(dmm.trigger_source)] == token


@pytest.mark.parametrize("span", DMM_VOLTAGE_RANGES)
def test_the_34465a_connects_on_every_voltage_range(span):
    bench = _bench("dmm")
    _left_in(bench, "dmm", f"VOLT:RANG {span:g}")
    _, dmm = _dmm(bench)
    assert dmm.voltage_range == span
    assert dmm.voltage_autorange is False


@pytest.mark.parametrize("span", DMM_CURRENT_RANGES)
def test_the_34465a_connects_on_every_current_range(span):
    bench = _bench("dmm")
    _left_in(bench, "dmm", f"CURR:RANG {span:g}")
    _, dmm = _dmm(bench)
    assert dmm.current_range == span


def test_without_dig_the_short_nplc_is_refused_before_it_is_sent():
    """A 34465A with firmware A.02 and no DIG option: NPLC 0.001 is not one of its values."""
    from labkit.core import ChoiceError

    bench, dmm = _dmm(options=(), firmware="A.02.14-02.40-02.14-00.49-01-01")
    assert not dmm.has_dig
    twin = bench.instrument("dmm")
    with pytest.raises(ChoiceError, match="DIG"):
        dmm.nplc = 0.001
    assert twin.nplc["VOLT"] == 10.0
    dmm.nplc = 0.02
    assert twin.nplc["VOLT"] == 0.02


def test_the_dig_option_alone_gives_the_short_nplc():
    """Firmware A.02 with the DIG option bought (``*OPT?`` names it)."""
    bench = Bench(seed=0, time_scale=0, instruments=[])
    twin = Keysight34465ATwin(
        bench, "dmm", options=("DIG", "MEM"), firmware="A.02.14-02.40-02.14-00.49-01-01"
    )
    bench.add_instrument("dmm", twin, interfaces=("visa",))
    twin.handle("VOLT:NPLC 0.001")
    assert not twin.errors
    dmm = Keysight34465A(bench.address("dmm"), name="dmm", timeout=1.0)
    assert dmm.has_dig
    assert dmm.nplc == 0.001


# -- Keithley 2450 (Reference Manual 2450-901-01) ------------------------------------------------

SMU_SOURCE_FUNCTIONS = ["VOLT", "CURR"]
"""``:SOURce:FUNCtion {VOLTage|CURRent}``."""
SMU_MEASURE_FUNCTIONS = ["CURR", "VOLT", "RES"]
"""``:SENSe:FUNCtion "{CURRent[:DC]|VOLTage[:DC]|RESistance}"``."""
SMU_VOLTAGE_RANGES = [0.02, 0.2, 2.0, 20.0, 200.0]
SMU_CURRENT_RANGES = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]


def _smu(bench: Bench) -> Keithley2450:
    return Keithley2450(bench.address("smu"), name="smu", timeout=1.0)


def test_the_2450_driver_knows_every_state_of_the_manual():
    smu = _smu(_bench("smu"))
    assert _tokens(smu, "source_function") == set(SMU_SOURCE_FUNCTIONS)
    assert _tokens(smu, "measure_function") == set(SMU_MEASURE_FUNCTIONS)
    for name in ("voltage_range", "source_voltage_range"):
        assert set(smu.settings[name].spec.choices) == set(SMU_VOLTAGE_RANGES)
    for name in ("current_range", "source_current_range"):
        assert set(smu.settings[name].spec.choices) == set(SMU_CURRENT_RANGES)


@pytest.mark.parametrize("source", SMU_SOURCE_FUNCTIONS)
@pytest.mark.parametrize("measure", SMU_MEASURE_FUNCTIONS)
def test_the_2450_connects_in_every_function_pair(source, measure):
    bench = _bench("smu")
    _left_in(bench, "smu", f":SOUR:FUNC {source}", f':SENS:FUNC "{measure}"')
    smu = _smu(bench)
    assert smu.source_function == {"VOLT": "voltage", "CURR": "current"}[source]
    assert (
        smu.measure_function == {"CURR": "current", "VOLT": "voltage", "RES": "resistance"}[measure]
    )


@pytest.mark.parametrize("span", SMU_VOLTAGE_RANGES)
def test_the_2450_connects_on_every_voltage_range(span):
    bench = _bench("smu")
    _left_in(bench, "smu", f":SENS:VOLT:RANG {span:g}", f":SOUR:VOLT:RANG {span:g}")
    smu = _smu(bench)
    assert smu.voltage_range == span
    assert smu.source_voltage_range == span


@pytest.mark.parametrize("span", SMU_CURRENT_RANGES)
def test_the_2450_connects_on_every_current_range(span):
    bench = _bench("smu")
    _left_in(bench, "smu", f":SENS:CURR:RANG {span:g}", f":SOUR:CURR:RANG {span:g}")
    smu = _smu(bench)
    assert smu.current_range == span
    assert smu.source_current_range == span


# -- Rigol DS1000Z / MSO1000Z (MSO1000Z/DS1000Z Programming Guide) -------------------------------

SCOPE_COUPLINGS = ["DC", "AC", "GND"]
SCOPE_PROBES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
SCOPE_BANDWIDTH_LIMITS = ["OFF", "20M"]
SCOPE_TRIGGER_TYPES = [
    "EDGE", "PULS", "RUNT", "WIND", "SLOP", "NEDG", "PATT",
    "DEL", "TIM", "DUR", "SHOL", "RS232", "IIC", "SPI",
]  # fmt: skip
SCOPE_EDGE_SOURCES = ["CHAN1", "CHAN2", "CHAN3", "CHAN4", "AC"] + [f"D{n}" for n in range(16)]
"""``:TRIGger:EDGe:SOURce {CHANnel1..4|AC|D0..D15}`` (D0-D15: MSO models)."""
SCOPE_SLOPES = ["POS", "NEG", "RFAL"]
SCOPE_SWEEPS = ["AUTO", "NORM", "SING"]
SCOPE_DEPTHS = {
    1: ["AUTO", "12000", "120000", "1200000", "12000000", "24000000"],
    2: ["AUTO", "6000", "60000", "600000", "6000000", "12000000"],
    4: ["AUTO", "3000", "30000", "300000", "3000000", "6000000"],
}
"""``:ACQuire:MDEPth``: AUTO or the depths for the number of channels on (3 and 4 alike)."""


def _scope(bench: Bench) -> RigolDS1000Z:
    return RigolDS1000Z(bench.address("scope"), name="scope", timeout=1.0)


def _mso_bench() -> Bench:
    bench = Bench(seed=0, time_scale=0, instruments=[])
    bench.add_instrument(
        "scope", RigolDS1000ZTwin(bench, "scope", model="MSO1104Z"), interfaces=("visa",)
    )
    return bench


def test_the_ds1000z_driver_knows_every_state_of_the_manual():
    scope = _scope(_bench("scope"))
    assert _tokens(scope.ch1, "coupling") == set(SCOPE_COUPLINGS)
    assert set(scope.ch1.settings.probe.spec.choices) == set(SCOPE_PROBES)
    assert _tokens(scope.ch1, "bandwidth_limit") == set(SCOPE_BANDWIDTH_LIMITS)
    assert _tokens(scope, "trigger_type") == set(SCOPE_TRIGGER_TYPES)
    assert _tokens(scope, "trigger_source") == set(SCOPE_EDGE_SOURCES)
    assert _tokens(scope, "trigger_slope") == set(SCOPE_SLOPES)
    assert _tokens(scope, "trigger_sweep") == set(SCOPE_SWEEPS)
    depths = {token for tokens in SCOPE_DEPTHS.values() for token in tokens}
    assert _tokens(scope, "memory_depth") == depths
    scales = scope.settings.timebase_scale.spec.choices
    assert min(scales) == 5e-9
    assert max(scales) == 50.0
    assert len(scales) == 31  # 5 ns … 50 s in 1-2-5 steps


def _label(handle, token: str):
    spec = handle.spec
    return spec.choices[spec.tokens.index(token)]


@pytest.mark.parametrize("token", SCOPE_COUPLINGS)
def test_the_ds1000z_connects_in_every_coupling(token):
    bench = _bench("scope")
    _left_in(bench, "scope", f":CHAN3:COUP {token}")
    scope = _scope(bench)
    assert scope.ch3.coupling == _label(scope.ch3.settings.coupling, token)


@pytest.mark.parametrize("ratio", SCOPE_PROBES)
def test_the_ds1000z_connects_at_every_probe_ratio(ratio):
    bench = _bench("scope")
    _left_in(bench, "scope", f":CHAN2:PROB {ratio:g}")
    assert _scope(bench).ch2.probe == ratio


@pytest.mark.parametrize("token", SCOPE_BANDWIDTH_LIMITS)
def test_the_ds1000z_connects_with_every_bandwidth_limit(token):
    bench = _bench("scope")
    _left_in(bench, "scope", f":CHAN1:BWL {token}")
    scope = _scope(bench)
    assert scope.ch1.bandwidth_limit == _label(scope.ch1.settings.bandwidth_limit, token)


@pytest.mark.parametrize("token", SCOPE_TRIGGER_TYPES)
def test_the_ds1000z_connects_with_every_trigger_type(token):
    bench = _bench("scope")
    _left_in(bench, "scope", f":TRIG:MODE {token}")
    scope = _scope(bench)
    assert scope.trigger_type == _label(scope.settings.trigger_type, token)


@pytest.mark.parametrize("token", SCOPE_EDGE_SOURCES)
def test_the_mso1000z_connects_with_every_edge_source(token):
    bench = _mso_bench()
    _left_in(bench, "scope", f":TRIG:EDG:SOUR {token}")
    scope = _scope(bench)
    assert scope.trigger_source == _label(scope.settings.trigger_source, token)


def test_a_ds_model_has_no_digital_inputs():
    """Only the MSO models take D0-D15: a DS1054Z refuses them (-224), as the scope would."""
    from labkit.core import InstrumentError

    scope = _scope(_bench("scope"))
    with pytest.raises(InstrumentError, match="-224"):
        scope.trigger_source = "d0"


@pytest.mark.parametrize("token", SCOPE_SLOPES)
def test_the_ds1000z_connects_with_every_slope(token):
    bench = _bench("scope")
    _left_in(bench, "scope", f":TRIG:EDG:SLOP {token}")
    scope = _scope(bench)
    assert scope.trigger_slope == _label(scope.settings.trigger_slope, token)


@pytest.mark.parametrize("token", SCOPE_SWEEPS)
def test_the_ds1000z_connects_with_every_sweep(token):
    bench = _bench("scope")
    _left_in(bench, "scope", f":TRIG:SWE {token}")
    scope = _scope(bench)
    assert scope.trigger_sweep == _label(scope.settings.trigger_sweep, token)


@pytest.mark.parametrize(
    ("channels", "token"),
    [(channels, token) for channels, tokens in SCOPE_DEPTHS.items() for token in tokens],
)
def test_the_ds1000z_connects_at_every_memory_depth(channels, token):
    bench = _bench("scope")
    shown = [f":CHAN{n}:DISP {'ON' if n <= channels else 'OFF'}" for n in (1, 2, 3, 4)]
    _left_in(bench, "scope", *shown, f":ACQ:MDEP {token}")
    scope = _scope(bench)
    assert scope.memory_depth == _label(scope.settings.memory_depth, token)


def test_the_ds1000z_connects_at_every_timebase_scale():
    bench = _bench("scope")
    twin = bench.instrument("scope")
    scales = [m * 10.0**e for e in range(-9, 2) for m in (1, 2, 5) if 5e-9 <= m * 10.0**e <= 50.0]
    for scale in scales:
        twin.handle(f":TIM:MAIN:SCAL {scale:g}")
        assert not twin.errors
        scope = _scope(bench)
        assert math.isclose(scope.timebase_scale, scale, rel_tol=1e-9)
        scope.close()


# -- Stanford Research SR830 (manual, "Command list": index parameters) ---------------------------

LOCKIN_INDICES = {
    "reference_source": ("FMOD", 2),
    "reference_trigger": ("RSLP", 3),
    "input_config": ("ISRC", 4),
    "input_ground": ("IGND", 2),
    "input_coupling": ("ICPL", 2),
    "line_filter": ("ILIN", 4),
    "sensitivity": ("SENS", 27),
    "reserve": ("RMOD", 3),
    "time_constant": ("OFLT", 20),
    "filter_slope": ("OFSL", 4),
}
"""Each setting's command and how many index values (0 … n−1) the SR830 has for it."""


def _lockin(bench: Bench) -> SR830:
    return SR830(bench.address("lockin", "gpib"), name="lockin", timeout=1.0)


def test_the_sr830_driver_knows_every_index_of_the_manual():
    lockin = _lockin(_bench("lockin"))
    for name, (_command, count) in LOCKIN_INDICES.items():
        tokens = sorted(int(t) for t in lockin.settings[name].spec.tokens)
        assert tokens == list(range(count)), name


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, i) for name, (_c, count) in LOCKIN_INDICES.items() for i in range(count)],
)
def test_the_sr830_connects_at_every_index(name, index):
    bench = _bench("lockin")
    command = LOCKIN_INDICES[name][0]
    twin = bench.instrument("lockin")
    twin.handle(f"{command} {index}")
    assert twin.handle(f"{command}?").strip() == str(index)
    lockin = _lockin(bench)
    assert lockin.settings[name].spec.tokens[
        lockin.settings[name].spec.choices.index(getattr(lockin, name))
    ] == str(index)


@pytest.mark.parametrize("index", [0, 1])
def test_the_sr830_connects_with_the_sync_filter_either_way(index):
    """``SYNC {0|1}``, a switch."""
    bench = _bench("lockin")
    bench.instrument("lockin").handle(f"SYNC {index}")
    assert _lockin(bench).sync_filter is bool(index)


# -- Thorlabs TC200 (manual: unit= and sns=; NTC10K from InstrumentKit's TC200 driver) -----------

TC_UNITS = ["c", "f", "k"]
TC_SENSORS = ["ptc100", "ptc1000", "th10k", "ntc10k"]


def _tc(bench: Bench) -> ThorlabsTC200:
    return ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)


def test_the_tc200_driver_knows_every_unit_and_sensor():
    tc = _tc(_bench("tc"))
    assert _tokens(tc, "display_unit") == set(TC_UNITS)
    assert _tokens(tc, "sensor") == set(TC_SENSORS)


@pytest.mark.parametrize("token", TC_UNITS)
def test_the_tc200_connects_in_every_display_unit(token):
    bench = _bench("tc")
    bench.instrument("tc").handle(f"unit={token}")
    tc = _tc(bench)
    assert tc.display_unit == _label(tc.settings.display_unit, token)


@pytest.mark.parametrize("token", TC_SENSORS)
def test_the_tc200_connects_with_every_sensor(token):
    bench = _bench("tc")
    bench.instrument("tc").handle(f"sns={token}")
    tc = _tc(bench)
    assert tc.sensor == _label(tc.settings.sensor, token)


# -- Agilent E3631A (User's Guide: OUTPut, OUTPut:TRACk, INSTrument:SELect) ----------------------


@pytest.mark.parametrize("selected", ["P6V", "P25V", "N25V"])
@pytest.mark.parametrize("output", ["ON", "OFF"])
@pytest.mark.parametrize("tracking", ["ON", "OFF"])
def test_the_e3631a_connects_whatever_output_is_selected_and_switched(selected, output, tracking):
    bench = _bench("psu")
    _left_in(bench, "psu", f"OUTP:TRAC {tracking}", f"OUTP {output}", f"INST:SEL {selected}")
    psu = AgilentE3631A(bench.address("psu"), name="psu", timeout=1.0)
    assert psu.output is (output == "ON")
    assert psu.tracking is (tracking == "ON")
