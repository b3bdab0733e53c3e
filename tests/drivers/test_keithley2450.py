"""Keithley 2450: the protocol (command/response pairs) and the driver on the bench via pyvisa."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit import ConfigurationError, InstrumentError, LimitError, ReplyError
from labkit.drivers.keithley import Keithley2450
from labkit.sim import Dialogue, serve

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2450,04096001,1.7.12b"
POWER_ON = {
    "*LANG?": "SCPI",
    "*IDN?": IDN,
    ":SOUR:FUNC?": "VOLT",
    ":SOUR:VOLT?": "0.000000E+00",
    ":SOUR:CURR?": "0.000000E+00",
    ":SOUR:VOLT:RANG?": "2.000000E+01",
    ":SOUR:VOLT:RANG:AUTO?": "1",
    ":SOUR:CURR:RANG?": "1.000000E-04",
    ":SOUR:CURR:RANG:AUTO?": "1",
    ":SOUR:VOLT:ILIM?": "1.050000E-04",
    ":SOUR:CURR:VLIM?": "2.100000E+01",
    ":SENS:FUNC?": '"CURR:DC"',
    ":SENS:CURR:RANG?": "1.000000E-04",
    ":SENS:CURR:RANG:AUTO?": "1",
    ":SENS:VOLT:RANG?": "2.000000E+01",
    ":SENS:VOLT:RANG:AUTO?": "1",
    ":SENS:CURR:NPLC?": "1.000000E+00",
    ":SENS:CURR:RSEN?": "0",
    ":OUTP?": "0",
    ":SENS:COUN?": "1",
    ':TRAC:POIN? "defbuffer1"': "10000",
    ':TRAC:FILL:MODE? "defbuffer1"': "CONT",
    ':TRAC:ACT? "defbuffer1"': "0",
}


@pytest.fixture
def scripted():
    dialogue = serve("k2450", Dialogue(dict(POWER_ON)))
    smu = Keithley2450("labsim://k2450", name="smu", timeout=0.3)
    return smu, dialogue


def test_connecting_clears_checks_the_command_set_identifies_and_reads_settings(scripted):
    smu, dialogue = scripted
    assert dialogue.sent[:3] == ["*CLS", "*LANG?", "*IDN?"]
    assert set(dialogue.sent[3:]) == set(POWER_ON) - {"*LANG?", "*IDN?"}
    assert smu.identity["model"] == "MODEL 2450"
    assert (smu.source_function, smu.measure_function) == ("voltage", "current")
    assert smu.current_limit == pytest.approx(105e-6)
    assert smu.output is False


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("source_voltage", 1.5, ":SOUR:VOLT 1.5"),
        ("source_current", "-2 mA", ":SOUR:CURR -0.002"),
        ("source_function", "current", ":SOUR:FUNC CURR"),
        ("source_voltage_range", 2, ":SOUR:VOLT:RANG 2"),
        ("source_voltage_autorange", False, ":SOUR:VOLT:RANG:AUTO OFF"),
        ("current_limit", "10 mA", ":SOUR:VOLT:ILIM 0.01"),
        ("voltage_limit", 5, ":SOUR:CURR:VLIM 5"),
        ("measure_function", "voltage", ':SENS:FUNC "VOLT"'),
        ("current_range", 1e-6, ":SENS:CURR:RANG 1e-06"),
        ("current_autorange", True, ":SENS:CURR:RANG:AUTO ON"),
        ("nplc", 0.1, ":SENS:CURR:NPLC 0.1;:SENS:VOLT:NPLC 0.1;:SENS:RES:NPLC 0.1"),
        ("four_wire", True, ":SENS:CURR:RSEN ON;:SENS:VOLT:RSEN ON;:SENS:RES:RSEN ON"),
        ("output", True, ":OUTP ON"),
    ],
)
def test_each_setting_sends_its_command_then_checks_the_error_queue(
    scripted, setting, value, command
):
    smu, dialogue = scripted
    dialogue.sent.clear()
    smu.set(setting, value)
    assert dialogue.sent == [command, ":SYST:ERR?"]


def test_values_beyond_the_manuals_limits_are_refused_before_any_byte(scripted):
    smu, dialogue = scripted
    dialogue.sent.clear()
    with pytest.raises(LimitError):
        smu.source_voltage = 211
    with pytest.raises(LimitError):
        smu.current_limit = "2 A"
    with pytest.raises(LimitError):
        smu.nplc = 20
    assert dialogue.sent == []


def test_measuring_parses_the_reply_and_follows_the_function(scripted):
    smu, dialogue = scripted
    dialogue.replies.update({":MEAS:VOLT?": "6.990000E-01", ":MEAS:CURR?": "9.9E+37"})
    dialogue.sent.clear()
    assert smu.read("voltage") == pytest.approx(0.699)
    assert smu.measure_function == "voltage"  # :MEASure changed it on the instrument too
    assert smu.read("current") == math.inf  # overflow
    assert dialogue.sent == [":MEAS:VOLT?", ":MEAS:CURR?"]


def test_text_where_a_number_belongs_is_an_error(scripted):
    smu, dialogue = scripted
    dialogue.replies[":MEAS:CURR?"] = "OVERLOAD"
    with pytest.raises(ReplyError) as caught:
        smu.read("current")
    assert caught.value.command == ":MEAS:CURR?"
    assert caught.value.instrument == "smu"


def test_compliance_is_asked_for_the_function_being_sourced(scripted):
    smu, dialogue = scripted
    dialogue.replies.update({":SOUR:VOLT:ILIM:TRIP?": "1", ":SOUR:CURR:VLIM:TRIP?": "0"})
    assert smu.read("in_compliance") is True
    smu.source_function = "current"
    assert smu.read("in_compliance") is False


def test_an_error_in_the_touch_test_format_becomes_an_instrument_error(scripted):
    smu, dialogue = scripted
    dialogue.errors.append('-222,"Parameter data out of range;1;2019/05/03 16:20:11.890"')
    with pytest.raises(InstrumentError) as caught:
        smu.source_voltage = 3
    assert caught.value.code == -222
    assert "Parameter data out of range" in str(caught.value)
    assert "2019" not in str(caught.value)
    assert smu.source_voltage == 0  # refused: the old value stays


def test_an_instrument_in_tsp_mode_is_refused():
    serve("tsp", Dialogue({**POWER_ON, "*LANG?": "TSP"}))
    with pytest.raises(ConfigurationError, match="TSP command set"):
        Keithley2450("labsim://tsp", name="tsp_smu", timeout=0.3)


def test_another_model_is_refused():
    serve("k2400", Dialogue({**POWER_ON, "*IDN?": "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1,C32"}))
    with pytest.raises(ConfigurationError, match="not a 2450"):
        Keithley2450("labsim://k2400", name="old_smu", timeout=0.3)


def test_make_safe_zeroes_the_levels_then_opens_the_output(scripted):
    smu, dialogue = scripted
    smu.source_voltage = 2
    smu.output = True
    dialogue.sent.clear()
    smu.make_safe()
    commands = [c for c in dialogue.sent if c != ":SYST:ERR?"]
    assert commands == [":SOUR:VOLT 0", ":SOUR:CURR 0", ":OUTP OFF"]


# -- on the bench, through pyvisa --------------------------------------------------------------


@pytest.fixture
def on_bench(bench):
    smu = Keithley2450(bench.address("smu"), name="smu", timeout=1.0)
    smu.current_limit = "100 mA"
    smu.four_wire = True
    smu.output = True
    return smu, bench


def test_the_2450_sweeps_the_diode_and_follows_its_model(on_bench):
    smu, bench = on_bench
    diode = bench.dut
    temperature = bench.thermal.sample_temperature
    levels = np.linspace(0.3, 0.75, 10)
    measured = []
    for level in levels:
        smu.source_voltage = level
        measured.append((smu.read("voltage"), smu.read("current")))
    volts, amps = np.array(measured).T
    assert volts == pytest.approx(levels, abs=1e-4)  # 4-wire: the device sees the level
    dmm_load = levels / 10e6  # the DMM's 10 MΩ sits across the device
    model = np.array([diode.current(v, temperature) for v in levels]) + dmm_load
    assert amps == pytest.approx(model, rel=2e-3)
    # ...and it is a diode: the current grows by a decade every ~n·Vt·ln(10)
    slope = np.diff(np.log10(amps[:5])) / np.diff(levels[:5])
    assert slope == pytest.approx(1 / (diode.ideality * 0.02569 * math.log(10)), rel=0.05)


def test_the_compliance_limit_holds_on_the_bench(on_bench):
    smu, _ = on_bench
    smu.current_limit = "1 mA"
    smu.source_voltage = 2
    assert smu.read("in_compliance") is True
    assert smu.read("current") == pytest.approx(1e-3, rel=1e-3)
    assert smu.read("voltage") < 0.7


def test_a_warmer_sample_passes_more_current(on_bench):
    smu, bench = on_bench
    smu.source_voltage = 0.5
    cold = smu.read("current")
    bench.thermal.heater_power = 5.0
    bench.advance(600.0)
    assert smu.read("current") > 2 * cold


def test_two_wire_sees_the_lead_drop_that_four_wire_removes(on_bench):
    smu, bench = on_bench
    bench.dut = "resistor"
    bench.dut.resistance = 10.0
    smu.source_voltage = 1.0
    four = smu.read("current")
    smu.four_wire = False
    two = smu.read("current")
    leads = 2 * bench.circuit.lead_resistance
    assert four == pytest.approx(1.0 / 10.0, rel=1e-3)
    assert two == pytest.approx(1.0 / (10.0 + leads), rel=1e-3)


def test_the_twin_refuses_a_level_beyond_a_fixed_range(on_bench):
    smu, _ = on_bench
    smu.source_voltage_range = 0.2
    with pytest.raises(InstrumentError) as caught:
        smu.source_voltage = 1.0
    assert caught.value.code == -222
    assert caught.value.command == ":SOUR:VOLT 1"
