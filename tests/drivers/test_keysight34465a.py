"""Keysight 34465A: the protocol (command/response pairs) and the meter on the bench."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from labkit import ChoiceError, ConfigurationError, ReplyError
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A
from labkit.sim import Bench, Dialogue, serve
from labkit.sim.twins._keysight34465a import Keysight34465ATwin

IDN = "Keysight Technologies,34465A,MY54500123,A.02.14-02.40-02.14-00.49-01-01"
POWER_ON = {
    "*IDN?": IDN,
    "*OPT?": "0,0,0,MEM,0",  # five fields on a 34465A (QCoDeS's recorded reply shape)
    "SYST:LFR?": "+50",
    "SENS:FUNC?": '"VOLT"',
    "SENS:VOLT:DC:RANG?": "+1.00000000E+01",
    "SENS:VOLT:DC:RANG:AUTO?": "1",
    "SENS:CURR:DC:RANG?": "+1.00000000E-02",
    "SENS:CURR:DC:RANG:AUTO?": "1",
    "SENS:VOLT:DC:NPLC?": "+1.00000000E+01",
    "SENS:VOLT:DC:ZERO:AUTO?": "1",
    "SENS:VOLT:DC:IMP:AUTO?": "0",
    "TRIG:SOUR?": "IMM",
    "TRIG:COUN?": "+1.00000000E+00",
    "TRIG:DEL?": "+0.00000000E+00",
    "SAMP:COUN?": "+1",
    "SAMP:SOUR?": "IMM",
    "SAMP:TIM?": "+1.00000000E+00",
}


@pytest.fixture
def scripted():
    dialogue = serve("k34465", Dialogue(dict(POWER_ON), error_query="SYST:ERR?"))
    dmm = Keysight34465A("labsim://k34465", name="dmm", timeout=0.3)
    return dmm, dialogue


def test_connecting_identifies_and_reads_settings(scripted):
    dmm, dialogue = scripted
    assert dialogue.sent[:2] == ["*CLS", "*IDN?"]
    assert set(dialogue.sent[2:]) == set(POWER_ON) - {"*IDN?"}
    assert (dmm.function, dmm.voltage_range, dmm.nplc) == ("dc voltage", 10.0, 10.0)
    assert dmm.trigger_count == 1
    assert isinstance(dmm.trigger_count, int)


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("function", "ac voltage", 'SENS:FUNC "VOLT:AC"'),
        ("function", "4-wire resistance", 'SENS:FUNC "FRES"'),
        ("voltage_range", "100 mV", "SENS:VOLT:DC:RANG 0.1"),
        ("voltage_autorange", False, "SENS:VOLT:DC:RANG:AUTO OFF"),
        ("current_range", 3, "SENS:CURR:DC:RANG 3"),
        (
            "nplc",
            0.2,
            "SENS:VOLT:DC:NPLC 0.2;:SENS:CURR:DC:NPLC 0.2;:SENS:RES:NPLC 0.2;:SENS:FRES:NPLC 0.2",
        ),
        ("autozero", False, "SENS:VOLT:DC:ZERO:AUTO OFF"),
        ("high_impedance", True, "SENS:VOLT:DC:IMP:AUTO ON"),
        ("trigger_source", "bus", "TRIG:SOUR BUS"),
        ("trigger_count", 5, "TRIG:COUN 5"),
        ("trigger_delay", "10 ms", "TRIG:DEL 0.01"),
        ("sample_count", 100, "SAMP:COUN 100"),
    ],
)
def test_each_setting_sends_its_command(scripted, setting, value, command):
    dmm, dialogue = scripted
    dialogue.sent.clear()
    dmm.set(setting, value)
    assert dialogue.sent == [command, "SYST:ERR?"]


def test_only_the_nplc_values_of_the_34465a_are_accepted(scripted):
    dmm, dialogue = scripted
    dialogue.sent.clear()
    with pytest.raises(ChoiceError, match=r"0\.02, 0\.06, 0\.2, 1, 10, 100"):
        dmm.nplc = 3
    assert dialogue.sent == []


def test_reading_a_voltage_switches_the_function_only_when_needed(scripted):
    dmm, dialogue = scripted
    dialogue.replies["READ?"] = "+1.23456789E+00"
    dialogue.sent.clear()
    assert dmm.read("voltage") == pytest.approx(1.23456789)
    assert dialogue.sent == ["READ?"]
    dialogue.sent.clear()
    dmm.read("current")
    assert dialogue.sent == ['SENS:FUNC "CURR"', "SYST:ERR?", "READ?"]
    assert dmm.function == "dc current"


def test_overload_is_infinite_and_text_is_an_error(scripted):
    dmm, dialogue = scripted
    dialogue.replies["READ?"] = "-9.90000000E+37"
    assert dmm.read("voltage") == -math.inf
    dialogue.replies["READ?"] = "+1.0E+00,BAD"
    dmm.sample_count = 2
    with pytest.raises(ReplyError) as caught:
        dmm.read_all()
    assert caught.value.command == "READ?"


def test_several_readings_need_read_all(scripted):
    dmm, dialogue = scripted
    dialogue.replies["READ?"] = "+1.00000000E+00,+2.00000000E+00,+3.00000000E+00"
    dmm.sample_count = 3
    dialogue.sent.clear()
    with pytest.raises(ConfigurationError, match="read_all"):
        dmm.read("voltage")
    assert dialogue.sent == []
    assert dmm.read_all() == [1.0, 2.0, 3.0]


def test_reading_memory_is_a_definite_length_block(scripted):
    dmm, dialogue = scripted
    body = "+1.00000000E+00,+2.50000000E+00"
    dialogue.replies["R?"] = f"#2{len(body)}{body}"
    dialogue.replies["R? 1"] = "#0"
    assert dmm.read_memory() == [1.0, 2.5]
    with pytest.raises(ReplyError, match="indefinite"):
        dmm.read_memory(1)


def test_a_bus_trigger_cannot_deadlock_read(scripted):
    dmm, dialogue = scripted
    dmm.trigger_source = "bus"
    dialogue.sent.clear()
    with pytest.raises(ConfigurationError, match="deadlock"):
        dmm.read("voltage")
    assert dialogue.sent == []


def test_the_function_reply_is_quoted(scripted):
    dmm, dialogue = scripted
    dialogue.replies["SENS:FUNC?"] = '"VOLT:AC"'
    assert dmm.read("function") == "ac voltage"


def test_a_long_acquisition_gets_the_time_it_needs(scripted):
    """READ? waits the link's timeout plus the acquisition: 10 samples × 10 PLC × 2
    (autozero) on 50 Hz mains is 4 s; the 0.3 s link timeout becomes 0.3 + 1.5 × 4 s around
    READ? and FETCh? only, and is back to 0.3 s after."""
    dmm, dialogue = scripted
    seen = []

    def reply(_match):
        seen.append(dmm.transport.timeout)
        return ",".join(["+1.00000000E+00"] * 10)

    dialogue.replies[re.compile(r"READ\?|FETC\?")] = reply
    dmm.sample_count = 10
    assert dmm.acquisition_seconds() == pytest.approx(4.0)
    assert dmm.read_all() == [1.0] * 10
    assert dmm.fetch() == [1.0] * 10
    assert seen == [pytest.approx(6.3), pytest.approx(6.3)]
    assert dmm.transport.timeout == pytest.approx(0.3)
    dmm.autozero = False
    dmm.nplc = 0.2
    dmm.trigger_delay = 0.01
    assert dmm.acquisition_seconds() == pytest.approx(10 * (0.2 / 50 + 0.01))


def test_ten_readings_at_10_plc_on_60_hz_do_not_time_out():
    """The issue's case on the bench: 10 × 10 PLC × 2 on 60 Hz mains is 3.3 s of meter time.
    The bench runs 20× faster than real time, so the meter answers after 0.17 s; a link timeout
    of 0.1 s (as 2 s is to 3.3 s) expired before READ? got its readings until the driver added
    the acquisition's time."""
    bench = Bench(seed=0, time_scale=20.0, instruments=[])
    twin = Keysight34465ATwin(bench, "dmm", line_frequency=60.0)
    bench.add_instrument("dmm", twin, interfaces=("visa",))
    dmm = Keysight34465A(bench.address("dmm"), name="dmm", timeout=0.1)
    dmm.sample_count = 10
    assert dmm.nplc == 10.0
    assert dmm.acquisition_seconds() == pytest.approx(10 / 3)
    assert len(dmm.read_all()) == 10


# -- on the bench ------------------------------------------------------------------------------


@pytest.fixture
def meters(bench):
    smu = Keithley2450(bench.address("smu", "gpib"), name="smu", timeout=1.0)
    dmm = Keysight34465A(bench.address("dmm"), name="dmm", timeout=1.0)
    return smu, dmm, bench


def test_the_dmm_reads_the_node_the_smu_drives(meters):
    smu, dmm, _bench = meters
    smu.current_limit = "50 mA"
    smu.four_wire = True
    smu.output = True
    for level in (0.2, 0.55, 0.7):
        smu.source_voltage = level
        assert dmm.read("voltage") == pytest.approx(level, abs=5e-6)
        assert smu.read("voltage") == pytest.approx(dmm.read("voltage"), abs=1e-4)


def test_the_dmm_input_resistance_is_part_of_the_circuit(meters):
    smu, dmm, bench = meters
    bench.dut = "resistor"
    bench.dut.resistance = 1e6
    smu.four_wire = True
    smu.output = True
    smu.source_voltage = 1.0
    smu.current_range = 1e-5
    loaded = smu.read("current")
    dmm.high_impedance = True
    unloaded = smu.read("current")
    assert loaded - unloaded == pytest.approx(1.0 / 10e6 - 1.0 / 1e10, rel=0.02)


def test_a_fixed_range_overloads_and_the_trigger_system_works(meters):
    smu, dmm, _ = meters
    smu.four_wire = True
    smu.output = True
    smu.current_limit = "50 mA"
    smu.source_voltage = 0.7
    dmm.voltage_range = 0.1
    assert dmm.read("voltage") == math.inf
    dmm.voltage_autorange = True
    dmm.sample_count = 3
    dmm.trigger_source = "bus"
    dmm.initiate()
    dmm.trigger()
    readings = dmm.fetch()
    assert len(readings) == 3
    assert all(r == pytest.approx(0.7, abs=1e-4) for r in readings)
    assert dmm.read_memory(2) == readings[:2]
    assert dmm.read_memory() == readings[2:]


def test_samples_is_an_array_reading_whose_burst_a_panel_does_not_take_by_itself(bench):
    from labkit.drivers.keysight import Keysight34465A

    dmm = Keysight34465A(bench.address("dmm"), name="dmm_samples", timeout=1.0)
    try:
        samples = dmm.readings.samples
        assert samples.spec.shape == (1,)
        assert samples.spec.side_effect_of(dmm) is None  # one reading: as voltage
        dmm.sample_count = 3
        dmm.trigger_count = 2
        assert samples.spec.shape == (6,)
        assert "takes 6 readings" in samples.spec.side_effect_of(dmm)
        assert dmm.read("samples").shape == (6,)
        dmm.function = "resistance"
        assert samples.unit == "ohm"
    finally:
        dmm.close()


def test_timed_samples_lie_on_the_meters_time_axis_and_counted_ones_are_numbered(bench):
    """Per the manual: with SAMP:SOUR TIM the first sample starts one trigger delay after the
    trigger and each next one SAMP:TIM after the one before; paced by the measurement (IMM) or
    spread over several triggers the readings have no time the meter can tell."""
    from labkit.drivers.keysight import Keysight34465A

    dmm = Keysight34465A(bench.address("dmm"), name="dmm_timed_axis", timeout=1.0)
    try:
        samples = dmm.readings.samples
        dmm.nplc = 0.02
        dmm.sample_count = 4
        assert samples.spec.axes[0].name == "reading"
        dmm.sample_source = "timer"
        dmm.sample_timer = "2 ms"
        dmm.trigger_delay = "5 ms"
        (axis,) = samples.spec.axes
        assert (axis.name, axis.unit, axis.size) == ("time", "s", 4)
        np.testing.assert_allclose(axis.coordinate(), [5e-3, 7e-3, 9e-3, 11e-3])
        assert dmm.read("samples").shape == (4,)
        dmm.sample_timer = "1 ms"  # the axis follows the interval
        np.testing.assert_allclose(samples.spec.axes[0].coordinate(), [5e-3, 6e-3, 7e-3, 8e-3])
        dmm.trigger_count = 2  # the moments of the triggers are not the meter's to tell
        (axis,) = samples.spec.axes
        assert (axis.name, axis.size, axis.unit) == ("reading", 8, None)
        dmm.trigger_count = 1
        dmm.sample_source = "immediate"
        assert samples.spec.axes[0].name == "reading"
    finally:
        dmm.close()


def test_the_sample_timer_is_the_meters_own_rounded_interval(scripted):
    """The manual: the interval set may differ slightly from the one sent (SAMP:TIM? says
    it); the samples' time axis is built on the meter's."""
    dmm, dialogue = scripted
    dmm.sample_count = 3
    dmm.sample_source = "timer"
    dialogue.replies["SAMP:TIM?"] = "+5.00000753E-01"
    dialogue.sent.clear()
    dmm.sample_timer = "500 ms"
    assert dialogue.sent[:3] == ["SAMP:TIM 0.5", "SYST:ERR?", "SAMP:TIM?"]
    assert dmm.sample_timer == 0.500000753
    np.testing.assert_allclose(
        dmm.readings.samples.spec.axes[0].coordinate(), [0.0, 0.500000753, 1.000001506]
    )
