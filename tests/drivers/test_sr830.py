"""SR830: the protocol (command/response pairs, GPIB and RS-232) and the lock-in on the bench."""

from __future__ import annotations

import cmath
import math

import pytest

from labkit import (
    ChoiceError,
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    ReplyError,
)
from labkit.drivers.keysight import Keysight33522B
from labkit.drivers.stanford import SR830, LockInStatusError
from labkit.drivers.stanford._sr830 import interface_of
from labkit.sim import Dialogue, serve

IDN = "Stanford_Research_Systems,SR830,s/n86021,ver1.07"
POWER_ON = {
    "*IDN?": IDN,
    "FMOD?": "1",
    "FREQ?": "1000",
    "RSLP?": "0",
    "HARM?": "1",
    "PHAS?": "0.00",
    "SLVL?": "1.000",
    "ISRC?": "0",
    "IGND?": "0",
    "ICPL?": "0",
    "ILIN?": "0",
    "SENS?": "26",
    "RMOD?": "1",
    "OFLT?": "8",
    "OFSL?": "1",
    "SYNC?": "0",
    "DDEF? 1": "0,0",
    "DDEF? 2": "0,0",
    "OEXP? 1": "0.00,0",
    "OEXP? 2": "0.00,0",
    "OEXP? 3": "0.00,0",
    "AUXV? 1": "0.000",
    "AUXV? 2": "0.000",
    "AUXV? 3": "0.000",
    "AUXV? 4": "0.000",
    "SRAT?": "4",
    "SEND?": "1",
    "*ESR?": "0",
    "LIAS?": "0",
}


def _scripted(name: str, interface: str) -> tuple[SR830, Dialogue]:
    ending = "\r" if interface == "rs232" else "\n"
    dialogue = serve(name, Dialogue(dict(POWER_ON), error_query=None, termination=ending))
    lockin = SR830(f"labsim://{name}", name="lockin", interface=interface, timeout=0.3)
    return lockin, dialogue


@pytest.fixture
def scripted(unique_name):
    return _scripted(unique_name, "gpib")


@pytest.mark.parametrize(("interface", "outx"), [("gpib", "OUTX 1"), ("rs232", "OUTX 0")])
def test_connecting_selects_the_interface_first_then_identifies(unique_name, interface, outx):
    lockin, dialogue = _scripted(unique_name, interface)
    assert dialogue.sent[:3] == [outx, "*CLS", "*IDN?"]
    queries = set(POWER_ON) - {"*IDN?", "*ESR?", "LIAS?"}
    assert set(dialogue.sent[3:]) == queries
    assert lockin.identity["model"] == "SR830"
    assert (lockin.reference_source, lockin.sensitivity, lockin.time_constant) == (
        "internal",
        1.0,
        0.1,
    )
    assert lockin.filter_slope == 12


def test_the_interface_comes_from_the_address():
    assert interface_of("GPIB0::8::INSTR") == "gpib"
    assert interface_of("TCPIP0::gpib-gw::gpib0,8::INSTR") == "gpib"
    assert interface_of("ASRL3::INSTR") == "rs232"
    assert interface_of("COM4") == "rs232"
    assert interface_of("/dev/ttyUSB0") == "rs232"
    assert interface_of("labsim://lockin") == "rs232"


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("reference_source", "external", "FMOD 0"),
        ("frequency", "2.5 kHz", "FREQ 2500"),
        ("reference_trigger", "TTL falling", "RSLP 2"),
        ("harmonic", 3, "HARM 3"),
        ("phase", -45.5, "PHAS -45.50"),
        ("sine_amplitude", "250 mV", "SLVL 0.250"),
        ("input_config", "A-B", "ISRC 1"),
        ("input_ground", "ground", "IGND 1"),
        ("input_coupling", "DC", "ICPL 1"),
        ("line_filter", "both", "ILIN 3"),
        ("sensitivity", "2 mV", "SENS 18"),
        ("sensitivity", 2e-9, "SENS 0"),
        ("reserve", "low noise", "RMOD 2"),
        ("time_constant", "300 ms", "OFLT 9"),
        ("time_constant", 30e3, "OFLT 19"),
        ("filter_slope", 24, "OFSL 3"),
        ("sync_filter", True, "SYNC 1"),
    ],
)
def test_each_setting_sends_its_command_then_reads_the_status_bytes(
    scripted, setting, value, command
):
    lockin, dialogue = scripted
    dialogue.sent.clear()
    lockin.set(setting, value)
    assert dialogue.sent == [command, "*ESR?", "LIAS?"]


def test_values_off_the_tables_are_refused_before_any_byte(scripted):
    lockin, dialogue = scripted
    dialogue.sent.clear()
    with pytest.raises(ChoiceError, match=r"3 mV is not one of"):
        lockin.sensitivity = 3e-3
    with pytest.raises(ChoiceError):
        lockin.time_constant = "200 ms"
    with pytest.raises(ChoiceError):
        lockin.filter_slope = 9
    with pytest.raises(LimitError):
        lockin.harmonic = 20000
    with pytest.raises(LimitError):
        lockin.frequency = "103 kHz"
    with pytest.raises(LimitError):
        lockin.sine_amplitude = 6
    assert dialogue.sent == []


def test_an_execution_error_refuses_the_setting(scripted):
    lockin, dialogue = scripted
    dialogue.replies["*ESR?"] = "16"
    with pytest.raises(InstrumentError, match="execution error") as caught:
        lockin.harmonic = 200
    assert (caught.value.code, caught.value.command) == (16, "HARM 200")
    assert lockin.harmonic == 1
    dialogue.replies["*ESR?"] = "32"
    with pytest.raises(InstrumentError, match="command error"):
        lockin.phase = 10
    dialogue.replies["*ESR?"] = "128"  # power-on only: not a refusal
    lockin.phase = 10
    assert lockin.phase == 10


def test_a_reading_parses_the_sr830s_numbers_and_checks_the_status(scripted):
    lockin, dialogue = scripted
    dialogue.replies["OUTP? 1"] = "1.2345e-006"
    dialogue.sent.clear()
    assert lockin.read("x") == pytest.approx(1.2345e-6)
    assert dialogue.sent == ["OUTP? 1", "LIAS?"]


def test_an_overload_is_a_typed_error_carrying_the_values(scripted):
    lockin, dialogue = scripted
    dialogue.replies["OUTP? 3"] = "1.09876"
    dialogue.replies["LIAS?"] = "5"  # input and output overload
    with pytest.raises(LockInStatusError) as caught:
        lockin.read("r")
    error = caught.value
    assert error.conditions == ("input overload", "output overload")
    assert error.values == {"r": pytest.approx(1.09876)}
    assert error.instrument == "lockin"
    assert "raise the sensitivity" in str(error)
    lockin.check_status = False
    assert lockin.read("r") == pytest.approx(1.09876)
    dialogue.replies["LIAS?"] = "8"
    assert lockin.status() == ("reference unlock",)


def test_snap_reads_several_values_at_once(scripted):
    lockin, dialogue = scripted
    dialogue.replies["SNAP? 1,2,9"] = "0.951359,0.0253297,1000.00"
    dialogue.sent.clear()
    values = lockin.snap("x", "y", "frequency")
    assert values == {"x": 0.951359, "y": 0.0253297, "frequency": 1000.0}
    assert dialogue.sent == ["SNAP? 1,2,9", "LIAS?"]
    assert lockin.x == 0.951359  # the readings are stored too
    dialogue.replies["SNAP? 1,2"] = "0.951359"
    with pytest.raises(ReplyError, match="1 values for 2"):
        lockin.snap("x", "y")
    dialogue.sent.clear()
    for names in (
        ("x",),
        ("x", "x"),
        ("x", "z"),
        ("x", "y", "r", "theta", "ch1", "ch2", "frequency"),
    ):
        with pytest.raises(ConfigurationError):
            lockin.snap(*names)
    assert dialogue.sent == []


def test_text_where_a_number_belongs_is_an_error_never_nan(scripted):
    lockin, dialogue = scripted
    dialogue.replies["OUTP? 4"] = "OVLD"
    with pytest.raises(ReplyError) as caught:
        lockin.read("theta")
    assert caught.value.command == "OUTP? 4"
    dialogue.replies["LIAS?"] = "x"
    dialogue.replies["OUTP? 4"] = "12.5"
    with pytest.raises(ReplyError, match="status byte"):
        lockin.read("theta")


def test_hardware_errors_come_from_the_error_status_byte(scripted):
    lockin, dialogue = scripted
    dialogue.replies["ERRS?"] = "18"
    assert lockin.errors() == [(1, "battery backup failed"), (4, "ROM memory test failed")]
    dialogue.replies["ERRS?"] = "0"
    assert lockin.errors() == []


def test_auto_gain_waits_for_the_lock_in_then_reads_the_sensitivity(scripted):
    lockin, dialogue = scripted
    ready = iter(["1", "1", "3"])  # interface-ready (bit 1) on the third poll
    dialogue.replies["*STB?"] = lambda _: next(ready)
    dialogue.replies["SENS?"] = "22"
    dialogue.sent.clear()
    lockin.auto_gain()
    assert dialogue.sent == ["AGAN", "*STB?", "*STB?", "*STB?", "SENS?"]
    assert lockin.sensitivity == pytest.approx(50e-3)


def test_another_instrument_is_refused(unique_name):
    serve(
        unique_name, Dialogue({**POWER_ON, "*IDN?": "Stanford_Research_Systems,SR810,s/n1,ver1.5"})
    )
    with pytest.raises(ConfigurationError, match="not an SR830"):
        SR830(f"labsim://{unique_name}", name="sr810", interface="gpib", timeout=0.3)
    with pytest.raises(ConfigurationError, match="'gpib' or 'rs232'"):
        SR830(f"labsim://{unique_name}", name="sr8x", interface="usb")


# -- on the bench: GPIB through pyvisa, RS-232 through pyserial ---------------------------------


@pytest.fixture
def chain(bench):
    """The generator at 5 kHz into the path, the lock-in on its external reference."""
    bench.signal.path.update(gain=0.5, cutoff=20e3, noise_density=2e-6)
    fg = Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)
    lockin = SR830(bench.address("lockin"), name="lockin", timeout=0.5)
    fg.ch1.load = "high Z"  # the path's input is high impedance: what is set is delivered
    fg.ch1.frequency = 5e3
    fg.ch1.amplitude = 0.4
    fg.ch1.output = True
    lockin.reference_source = "external"
    lockin.time_constant = 0.1
    lockin.filter_slope = 24
    lockin.sensitivity = 0.2
    return fg, lockin, bench


def _expected(bench, frequency, vpp):
    h = bench.signal.transfer(frequency)
    return vpp / 2 / math.sqrt(2) * abs(h), math.degrees(cmath.phase(h))


def test_the_lock_in_reads_the_path_gain_times_the_rms_and_the_paths_phase(chain):
    fg, lockin, bench = chain
    bench.advance(3.0)  # 30 time constants
    values = lockin.snap("r", "theta", "frequency")
    r, theta = _expected(bench, 5e3, 0.4)
    noise = bench.signal.noise_sigma()
    assert values["r"] == pytest.approx(r, abs=5 * noise + 1e-6 * r)
    assert values["theta"] == pytest.approx(theta, abs=0.05)
    assert values["frequency"] == pytest.approx(5e3)
    fg.ch1.frequency = 15e3  # further up the path's low-pass: smaller and later
    bench.advance(3.0)
    r2, theta2 = _expected(bench, 15e3, 0.4)
    assert lockin.read("r") == pytest.approx(r2, abs=5 * noise + 1e-6 * r2)
    assert lockin.read("theta") == pytest.approx(theta2, abs=0.05)
    assert theta2 < theta - 10
    fg.ch1.load = "50 ohm"  # the same output, now shown as half: the lock-in sees no change
    assert fg.ch1.amplitude == pytest.approx(0.2)
    fg.ch1.amplitude = 0.4  # a 50 Ω setting delivers twice into high impedance
    bench.advance(3.0)
    assert lockin.read("r") == pytest.approx(2 * r2, rel=1e-3)


def test_x_and_y_settle_with_the_time_constant(chain):
    fg, lockin, bench = chain
    lockin.filter_slope = 6  # one RC stage: 1 - exp(-t/τ)
    fg.ch1.output = False
    bench.advance(5.0)
    fg.ch1.output = True
    lockin.reference_source = "internal"
    lockin.frequency = 5e3  # the internal oscillator on the signal's frequency
    bench.advance(0.1)  # one time constant
    rising = lockin.read("r")
    bench.advance(2.0)
    final = lockin.read("r")
    assert rising == pytest.approx(final * (1 - math.exp(-1)), rel=0.01)


def test_auto_phase_puts_the_signal_in_x(chain):
    _, lockin, bench = chain
    bench.advance(2.0)
    lockin.auto_phase()
    bench.advance(2.0)
    x, y = lockin.snap("x", "y").values()
    assert abs(y) < 1e-3 * abs(x)
    assert x > 0
    assert lockin.phase == pytest.approx(_expected(bench, 5e3, 0.4)[1], abs=0.01)


def test_an_output_overload_is_reported_and_auto_gain_cures_it(chain):
    _, lockin, bench = chain
    lockin.sensitivity = "20 mV"
    bench.advance(3.0)
    with pytest.raises(LockInStatusError) as caught:
        lockin.read("x")
    assert caught.value.conditions == ("output overload",)
    assert abs(caught.value.values["x"]) > 20e-3
    lockin.auto_gain()
    assert lockin.sensitivity == 0.1  # the smallest full scale above R / 80 % (69 mV)
    assert lockin.read("r") == pytest.approx(_expected(bench, 5e3, 0.4)[0], rel=1e-3)


def test_no_reference_is_an_unlock(chain):
    fg, lockin, bench = chain
    fg.ch1.output = False
    bench.advance(1.0)
    with pytest.raises(LockInStatusError, match="reference unlock"):
        lockin.read("r")


def test_the_lock_in_refuses_a_harmonic_above_102_khz(chain):
    _, lockin, _ = chain
    with pytest.raises(InstrumentError, match="execution error") as caught:
        lockin.harmonic = 30  # 30 × 5 kHz
    assert caught.value.command == "HARM 30"
    assert lockin.read("harmonic") == 1
    with pytest.raises(InstrumentError):
        lockin.frequency = 1e3  # external reference: the frequency is not the lock-in's


def test_both_interfaces_see_the_same_lock_in_and_outx_decides_who_hears(chain):
    _, gpib, bench = chain
    bench.advance(3.0)
    serial = SR830(bench.address("lockin", "serial"), name="lockin_rs232", timeout=0.5)
    assert serial.interface == "rs232"
    assert serial.sensitivity == gpib.sensitivity == 0.2  # one instrument
    reading = serial.read("r")
    assert reading == pytest.approx(_expected(bench, 5e3, 0.4)[0], rel=1e-3)
    with pytest.raises(InstrumentTimeout, match="reconnect"):
        gpib.read("r")  # OUTX 0: replies now go to RS-232
    gpib.reconnect()
    assert gpib.read("r") == pytest.approx(reading, rel=1e-3)


def test_a_visa_serial_resource_is_rs232_too(chain):
    _, gpib, bench = chain
    bench.advance(3.0)
    serial = SR830("ASRLlockin::INSTR@labkit", name="lockin_asrl", timeout=0.5)
    assert serial.interface == "rs232"
    assert serial.read("r") == pytest.approx(_expected(bench, 5e3, 0.4)[0], rel=1e-3)
    serial.close()
    gpib.reconnect()  # OUTX 1 again


def test_rs232_at_the_wrong_baud_rate_never_identifies(bench):
    with pytest.raises(InstrumentTimeout, match="baud rate") as caught:
        SR830(bench.address("lockin", "serial"), name="fast", baud_rate=19200, timeout=0.3)
    assert caught.value.command == "*IDN?"  # line noise, never a CR-terminated reply


def test_faults_on_both_interfaces_are_typed_and_the_lock_in_recovers(bench):
    for kind in ("visa", "serial"):
        address = bench.address("lockin", kind)
        lockin = SR830(address, name=f"lockin_{kind}", timeout=0.5)
        bench.inject("lockin", "timeout")
        with pytest.raises(InstrumentTimeout) as caught:
            lockin.read("x")
        assert (caught.value.instrument, caught.value.command) == (f"lockin_{kind}", "OUTP? 1")
        assert caught.value.resource == address
        bench.inject("lockin", "garbled")
        with pytest.raises(ReplyError) as caught:
            lockin.read("y")
        assert (caught.value.command, caught.value.resource) == ("OUTP? 2", address)
        lockin.time_constant = 1.0
        assert isinstance(lockin.read("y"), float)
        bench.inject("lockin", "disconnect")
        with pytest.raises(ConnectionLost):
            lockin.read("x")
        bench.clear_faults("lockin")
        lockin.reconnect()
        assert lockin.time_constant == 1.0
        lockin.close()
