"""Agilent E3631A: the protocol (command/response pairs), its twin, the supply on the bench
powering the lamp and the heater, faults, and the conformance suite."""

from __future__ import annotations

import pytest

from labkit import (
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    NotConnectedError,
    ReplyError,
)
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.agilent._e3631a import is_serial_address
from labkit.drivers.thorlabs import ThorlabsTC200
from labkit.sim import Bench, Dialogue, serve
from labkit.testing import DriverConformance

IDN = "HEWLETT-PACKARD,E3631A,0,2.1-5.0-1.0"
POWER_ON = {
    "*IDN?": IDN,
    "OUTP?": "0",
    "OUTP:TRAC?": "0",
    "APPL? P6V": '"0.000000,5.000000"',
    "APPL? P25V": '"0.000000,1.000000"',
    "APPL? N25V": '"0.000000,1.000000"',
}


@pytest.fixture
def scripted():
    dialogue = serve(
        "e3631", Dialogue(dict(POWER_ON), error_query="SYST:ERR?"), visa="GPIB0::5::INSTR"
    )
    psu = AgilentE3631A("GPIB0::5::INSTR@labkit", name="psu", timeout=0.3)
    return psu, dialogue


def test_connecting_over_gpib_clears_identifies_and_reads_every_output(scripted):
    psu, dialogue = scripted
    assert dialogue.sent[:2] == ["*CLS", "*IDN?"]
    assert set(dialogue.sent[2:]) == set(POWER_ON) - {"*IDN?"}
    assert psu.identity["model"] == "E3631A"
    assert (psu.p6v.current_limit, psu.p25v.current_limit, psu.n25v.voltage) == (5.0, 1.0, 0.0)
    assert psu.output is False


@pytest.mark.parametrize(
    ("address", "serial"),
    [
        ("GPIB0::5::INSTR", False),
        ("TCPIP0::psu::INSTR@labkit", False),
        ("USB0::0x0957::0x1234::MY1::INSTR", False),
        ("ASRL3::INSTR", True),
        ("ASRL/dev/ttyUSB0::INSTR@py", True),
        ("COM3", True),
        ("/dev/ttyS0", True),
        ("labsim://psu", True),
        ("socket://10.0.0.9:4001", True),
    ],
)
def test_the_rs232_settings_apply_to_serial_addresses_only(address, serial):
    assert is_serial_address(address) is serial


def test_over_rs232_the_supply_goes_remote_first_and_local_when_closed():
    dialogue = serve("e3631_serial", Dialogue(dict(POWER_ON), error_query="SYST:ERR?"))
    psu = AgilentE3631A("labsim://e3631_serial", name="psu_rs232", timeout=0.3)
    assert dialogue.sent[:3] == ["SYST:REM", "*CLS", "*IDN?"]
    dialogue.sent.clear()
    psu.close()
    assert dialogue.sent == ["SYST:LOC"]


@pytest.mark.parametrize(
    ("channel", "setting", "value", "commands"),
    [
        (None, "output", True, ["OUTP ON"]),
        ("p6v", "voltage", 5, ["APPL P6V,5"]),
        ("p25v", "voltage", "12.5 V", ["APPL P25V,12.5"]),
        ("n25v", "voltage", -12.5, ["APPL N25V,-12.5"]),
        ("p6v", "current_limit", "250 mA", ["APPL? P6V", "APPL P6V,0,0.25"]),
        ("n25v", "current_limit", 0.5, ["APPL? N25V", "APPL N25V,0,0.5"]),
    ],
)
def test_each_setting_names_its_output_then_checks_the_error_queue(
    scripted, channel, setting, value, commands
):
    psu, dialogue = scripted
    target = psu if channel is None else psu.channels[channel]
    dialogue.sent.clear()
    target.set(setting, value)
    assert dialogue.sent == [*commands, "SYST:ERR?"]


def test_tracking_reads_back_both_25_volt_outputs(scripted):
    psu, dialogue = scripted
    dialogue.replies["OUTP:TRAC?"] = "1"
    dialogue.sent.clear()
    psu.tracking = True
    assert dialogue.sent == ["OUTP:TRAC ON", "SYST:ERR?", "APPL? P25V", "APPL? N25V"]
    dialogue.replies["APPL? N25V"] = '"-7.000000,1.000000"'
    dialogue.sent.clear()
    psu.p25v.voltage = 7
    assert dialogue.sent == ["APPL P25V,7", "SYST:ERR?", "APPL? N25V"]
    assert psu.n25v.voltage == -7.0  # the -25 V output followed


def test_values_beyond_the_manuals_ranges_are_refused_before_any_byte(scripted):
    psu, dialogue = scripted
    dialogue.sent.clear()
    for channel, setting, value in [
        (psu.p6v, "voltage", 6.2),
        (psu.p6v, "current_limit", 5.2),
        (psu.p25v, "voltage", 26),
        (psu.p25v, "current_limit", "1.1 A"),
        (psu.n25v, "voltage", 1),  # the -25 V output only goes negative
        (psu.n25v, "voltage", -26),
    ]:
        with pytest.raises(LimitError) as caught:
            channel.set(setting, value)
        assert caught.value.instrument == channel.name
    assert dialogue.sent == []


def test_measurements_parse_and_garbage_is_an_error(scripted):
    psu, dialogue = scripted
    dialogue.replies["MEAS:VOLT? P25V"] = "+1.20002000E+01"
    dialogue.replies["MEAS:CURR? P25V"] = "OVLD"
    dialogue.replies["APPL? P6V"] = '"5.000000"'
    assert psu.p25v.read("measured_voltage") == pytest.approx(12.0002)
    with pytest.raises(ReplyError) as caught:
        psu.p25v.read("measured_current")
    assert caught.value.command == "MEAS:CURR? P25V"
    with pytest.raises(ReplyError) as caught:
        psu.p6v.read("voltage")
    assert caught.value.command == "APPL? P6V"
    assert caught.value.instrument == "psu.p6v"


def test_a_refused_level_keeps_the_old_value_and_names_the_command(scripted):
    psu, dialogue = scripted
    dialogue.errors.append('-222,"Data out of range"')
    with pytest.raises(InstrumentError) as caught:
        psu.p25v.voltage = 20
    assert caught.value.code == -222
    assert caught.value.command == "APPL P25V,20"
    assert caught.value.instrument == "psu.p25v"
    assert psu.p25v.voltage == 0.0


def test_make_safe_switches_the_outputs_off_then_zeroes_them(scripted):
    psu, dialogue = scripted
    dialogue.sent.clear()
    psu.make_safe()
    commands = [c for c in dialogue.sent if c != "SYST:ERR?"]
    assert commands == ["OUTP OFF", "APPL P6V,0", "APPL P25V,0", "APPL N25V,0"]


def test_another_model_is_refused():
    serve("e3632", Dialogue({**POWER_ON, "*IDN?": "Agilent Technologies,E3632A,0,1.1-5.0-1.0"}))
    with pytest.raises(ConfigurationError, match="not a E3631A"):
        AgilentE3631A("labsim://e3632", name="other_psu", timeout=0.3)


# -- the twin, through pyvisa and pyserial ------------------------------------------------------


@pytest.fixture
def psu(bench):
    return AgilentE3631A(bench.address("psu"), name="psu", timeout=1.0)


def test_a_channel_acts_on_its_output_whatever_the_front_panel_selected(psu, bench):
    twin = bench["psu"]
    twin.selected = "N25V"  # someone pressed the -25V key
    psu.p6v.voltage = 3
    psu.p6v.current_limit = 2
    assert (twin.outputs["P6V"].voltage, twin.outputs["P6V"].current) == (3.0, 2.0)
    assert (twin.outputs["N25V"].voltage, twin.outputs["N25V"].current) == (0.0, 1.0)
    bench.inject("psu", "error", code=-222, message="Data out of range")
    with pytest.raises(InstrumentError):
        psu.p25v.voltage = 5  # refused as a whole: no output changed
    assert [o.voltage for o in twin.outputs.values()] == [3.0, 0.0, 0.0]


def test_the_twin_refuses_out_of_range_levels_and_answers_min_max(psu, bench):
    twin = bench["psu"]
    for command in ("APPL P6V,7", "APPL N25V,5", "INST:SEL P25V;:CURR 1.2"):
        assert twin.handle(command) is None
        assert twin.handle("SYST:ERR?") == '-222,"Data out of range"'
    assert twin.handle("INST:SEL N25V;:VOLT? MAX") == "-2.57500000E+01"
    assert twin.handle("INST:NSEL?") == "3"
    assert twin.handle("APPL? P6V") == '"0.000000,5.000000"'


def test_rs232_needs_the_supplys_8n2_settings(bench):
    address = bench.address("psu", "serial")
    psu = AgilentE3631A(address, name="psu_serial", timeout=1.0)
    assert bench["psu"].remote
    psu.close()
    assert not bench["psu"].remote
    with pytest.raises(InstrumentTimeout):  # one stop bit: the supply's answers are noise
        AgilentE3631A(address, name="psu_1stop", timeout=0.2, stop_bits=1)


# -- on the bench: the supply lights the lamp and heats the stage --------------------------------


def test_the_25_volt_output_lights_the_lamp_in_constant_voltage_then_constant_current(psu, bench):
    lamp = bench.optics.lamp
    psu.p25v.voltage = 12
    assert lamp.voltage == 0  # the outputs are still off
    psu.output = True
    assert lamp.voltage == 12
    assert psu.p25v.read("measured_voltage") == pytest.approx(12, abs=1e-3)
    assert psu.p25v.read("measured_current") == pytest.approx(lamp.current(12), abs=3e-4)
    limit = 0.5 * lamp.current(12)
    psu.p25v.current_limit = limit  # the lamp would draw more: the supply holds the current
    assert psu.p25v.read("measured_current") == pytest.approx(limit, abs=3e-4)
    assert psu.p25v.read("measured_voltage") == pytest.approx(
        lamp.voltage_at_current(limit), abs=1e-3
    )
    assert lamp.voltage == pytest.approx(lamp.voltage_at_current(limit))
    psu.output = False
    assert lamp.voltage == 0


def test_the_6_volt_output_heats_the_stage_that_the_tc200_reads(psu, bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)  # its loop stays off
    resistance = bench.thermal.heater_resistance
    psu.p6v.voltage = 4
    psu.output = True
    assert psu.p6v.read("measured_current") == pytest.approx(4 / resistance, abs=3e-4)
    assert bench.thermal.power == pytest.approx(4**2 / resistance)
    start = tc.read("temperature")
    bench.advance(3600.0)
    heater, _sample = bench.thermal.steady_state(4**2 / resistance)
    assert tc.read("temperature") == pytest.approx(heater - 273.15, abs=0.1)
    assert tc.read("temperature") > start + 10
    psu.p6v.current_limit = 1.0  # constant current now: P = I²R
    assert bench.thermal.power == pytest.approx(1.0**2 * resistance)
    assert psu.p6v.read("measured_voltage") == pytest.approx(1.0 * resistance, abs=1e-3)


def test_tracking_on_the_bench(psu, bench):
    psu.p25v.voltage = 15
    psu.tracking = True
    assert psu.n25v.voltage == -15.0
    psu.n25v.voltage = -9
    assert psu.p25v.voltage == 9.0
    assert bench["psu"].outputs["P25V"].voltage == 9.0
    psu.tracking = False
    psu.n25v.voltage = -2
    assert psu.p25v.voltage == 9.0


# -- faults, through pyvisa and pyserial ----------------------------------------------------------


@pytest.fixture(params=["visa", "serial"])
def faulty(request, bench):
    address = bench.address("psu", request.param)
    return AgilentE3631A(address, name="psu", timeout=0.25), bench, address


def test_a_timeout_names_the_instrument_the_resource_and_the_command(faulty):
    psu, bench, address = faulty
    bench.inject("psu", "timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        psu.p25v.read("measured_voltage")
    error = caught.value
    assert (error.instrument, error.resource, error.command) == (
        "psu.p25v",
        address,
        "MEAS:VOLT? P25V",
    )
    psu.p25v.voltage = 2  # works again, and the late reply is not taken for this one
    assert psu.p25v.read("voltage") == 2.0


def test_a_garbled_reply_is_an_error_never_a_number(faulty):
    psu, bench, address = faulty
    psu.p6v.voltage = 1.5
    bench.inject("psu", "garbled")
    with pytest.raises(ReplyError) as caught:
        psu.p6v.read("voltage")
    assert (caught.value.resource, caught.value.command) == (address, "APPL? P6V")
    assert psu.p6v.voltage == 1.5
    assert psu.p6v.read("voltage") == 1.5


def test_a_pulled_cable_then_reconnect(faulty):
    psu, bench, address = faulty
    bench.inject("psu", "disconnect")
    with pytest.raises(ConnectionLost) as caught:
        psu.output = True
    error = caught.value
    assert (error.instrument, error.resource, error.command) == ("psu", address, "OUTP ON")
    assert "reconnect" in str(caught.value)
    with pytest.raises(NotConnectedError):
        psu.p6v.read("voltage")
    bench.clear_faults("psu")
    bench["psu"].remote = False
    psu.reconnect()
    assert bench["psu"].remote == address.startswith("labsim://")  # SYST:REM again on RS-232
    psu.output = True
    assert psu.read("output") is True


# -- the conformance suite ------------------------------------------------------------------------


class TestConformance(DriverConformance):
    driver = AgilentE3631A

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["psu"])
        return AgilentE3631A(bench.address("psu"), name="psu", timeout=1.0)


class TestConformanceOverRS232(TestConformance):
    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["psu"])
        return AgilentE3631A(bench.address("psu", "serial"), name="psu", timeout=1.0)
