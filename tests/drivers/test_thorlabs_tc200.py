"""Thorlabs TC200: its echo-and-prompt protocol (command/response pairs), the twin's bytes, the
closed loop on the bench's heater through pyserial, faults, and the conformance suite."""

from __future__ import annotations

import re

import pytest

import labkit
from labkit import (
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    NotConnectedError,
    ReplyError,
    SettingTypeError,
)
from labkit.drivers.thorlabs import TC200ArgumentError, TC200UndefinedCommand, ThorlabsTC200
from labkit.sim import Bench, Dialogue, serve
from labkit.testing import DriverConformance

KELVIN = 273.15


def answer(text: str):
    """The TC200's framing of a query's answer: echo, CR, answer, CR (then the prompt)."""
    return lambda message: f"{message}\r{text}\r"


class Controller:
    """A scripted TC200: fixed answers, a status byte that ``ens`` toggles."""

    def __init__(self, status: int = 0x14) -> None:
        self.status = status
        replies = {
            "*idn?": answer("THORLABS TC200 VERSION 2.0"),
            "tset?": answer("25.0 Celsius"),
            "tact?": answer("24.5 C"),
            "tmax?": answer("205.0"),
            "pmax?": answer("18.0"),
            "pid?": answer("20 10 0"),
            "sns?": answer("Sensor = PTC100, Beta = 3988"),
            "stat?": lambda message: f"{message}\r{self.status:x} ",
            "ens": self._toggle,
            re.compile(r"[a-z]+=.*"): lambda match: f"{match.group(0)}\r",
        }
        self.dialogue = Dialogue(replies, error_query=None, termination="\r")
        self.dialogue.write_termination = "> "  # the prompt ends every reply

    def _toggle(self, message: str) -> str:
        self.status ^= 0x01
        return f"{message}\r"


@pytest.fixture
def scripted():
    controller = Controller()
    serve("tc200", controller.dialogue)
    tc = ThorlabsTC200("labsim://tc200", name="tc", timeout=0.3)
    return tc, controller


def test_connecting_identifies_and_reads_every_setting(scripted):
    tc, controller = scripted
    sent = controller.dialogue.sent
    assert sent[0] == "*idn?"
    assert set(sent[1:]) == {"tset?", "stat?", "tmax?", "pmax?", "pid?", "sns?"}
    assert tc.identity == {
        "manufacturer": "THORLABS",
        "model": "TC200",
        "serial": "",
        "firmware": "2.0",
    }
    assert (tc.setpoint, tc.enabled, tc.max_temperature, tc.max_power) == (25.0, False, 205, 18)
    assert (tc.p_gain, tc.i_gain, tc.d_gain) == (20, 10, 0)
    assert (tc.display_unit, tc.sensor) == ("celsius", "PTC100")


def test_a_controller_without_star_idn_is_asked_id():
    controller = Controller()
    controller.dialogue.replies["*idn?"] = answer("Command error CMD_NOT_DEFINED\n")
    controller.dialogue.replies["id?"] = answer("THORLABS TC200 VERSION 1.1")
    serve("tc200_old", controller.dialogue)
    tc = ThorlabsTC200("labsim://tc200_old", name="tc_old", timeout=0.3)
    assert controller.dialogue.sent[:2] == ["*idn?", "id?"]
    assert tc.identity["firmware"] == "1.1"


def test_another_instrument_is_refused():
    controller = Controller()
    controller.dialogue.replies["*idn?"] = answer("THORLABS TED200C VERSION 1.0")
    serve("ted200", controller.dialogue)
    with pytest.raises(ConfigurationError, match="not a TC200"):
        ThorlabsTC200("labsim://ted200", name="ted", timeout=0.3)


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("setpoint", 40, "tset=40.0"),
        ("setpoint", "313.15 K", "tset=40.0"),
        ("max_temperature", 150, "tmax=150.0"),
        ("max_power", "9.5 W", "pmax=9.5"),
        ("p_gain", 100, "pgain=100"),
        ("i_gain", 0, "igain=0"),
        ("d_gain", 25, "dgain=25"),
        ("display_unit", "kelvin", "unit=k"),
        ("sensor", "TH10K", "sns=th10k"),
    ],
)
def test_each_setting_sends_its_command(scripted, setting, value, command):
    tc, controller = scripted
    controller.dialogue.sent.clear()
    tc.set(setting, value)
    assert controller.dialogue.sent == [command]


def test_enabled_toggles_only_when_needed_and_checks_the_result(scripted):
    tc, controller = scripted
    sent = controller.dialogue.sent
    sent.clear()
    tc.enabled = True
    assert sent == ["stat?", "ens", "stat?"]
    assert controller.status & 0x01
    sent.clear()
    tc.enabled = True  # already on: no toggle
    assert sent == ["stat?"]
    sent.clear()
    tc.enabled = False
    assert sent == ["stat?", "ens", "stat?"]
    assert not controller.status & 0x01


def test_enabling_is_refused_during_a_sensor_alarm(scripted):
    tc, controller = scripted
    controller.status |= 0x40
    assert tc.read("sensor_alarm") is True
    controller.dialogue.sent.clear()
    with pytest.raises(InstrumentError, match="sensor alarm") as caught:
        tc.enabled = True
    assert caught.value.command == "ens"
    assert controller.dialogue.sent == ["stat?"]  # no ens sent
    assert tc.enabled is False


def test_a_toggle_that_does_not_take_is_an_error(scripted):
    tc, controller = scripted
    controller.dialogue.replies["ens"] = lambda message: f"{message}\r"  # ignores it
    with pytest.raises(InstrumentError, match="did not turn its heater on"):
        tc.enabled = True


def test_out_of_range_values_are_refused_before_any_byte(scripted):
    tc, controller = scripted
    tc.max_temperature = 100
    controller.dialogue.sent.clear()
    for setting, value, error in [
        ("setpoint", 19.9, LimitError),
        ("setpoint", 201, LimitError),
        ("setpoint", 120, LimitError),  # above this controller's tmax
        ("max_temperature", 206, LimitError),
        ("max_power", 18.5, LimitError),
        ("p_gain", 0, LimitError),
        ("i_gain", 251, LimitError),
        ("d_gain", 2.5, SettingTypeError),
    ]:
        with pytest.raises(error):
            tc.set(setting, value)
    assert controller.dialogue.sent == []
    assert tc.setpoint == 25.0


def test_the_controllers_refusals_are_typed_errors(scripted):
    tc, controller = scripted
    refuse = {
        re.compile(r"tset=.*"): lambda match: (
            f"{match.group(0)}\rCommand error CMD_ARG_RANGE_ERR\n\r"
        )
    }
    controller.dialogue.replies = {**refuse, **controller.dialogue.replies}  # matched first
    with pytest.raises(TC200ArgumentError) as caught:
        tc.setpoint = 150
    assert caught.value.command == "tset=150.0"
    assert (caught.value.instrument, caught.value.resource) == ("tc", "labsim://tc200")
    assert tc.setpoint == 25.0
    controller.dialogue.replies["beta?"] = answer("Command error CMD_NOT_DEFINED\n")
    with pytest.raises(TC200UndefinedCommand):
        tc.command("beta?")


def test_temperatures_come_back_in_celsius_whatever_the_display_shows(scripted):
    tc, controller = scripted
    for text, celsius in [("24.5 C", 24.5), ("313.2 K", 40.05), ("98.6 F", 37.0)]:
        controller.dialogue.replies["tact?"] = answer(text)
        assert tc.read("temperature") == pytest.approx(celsius)


@pytest.mark.parametrize(
    ("reply", "what"),
    [
        (lambda message: "tset?\r25.0 Celsius\r", "echo"),  # the echo of another command
        (answer("--.- C"), "number"),
        (answer("12.0 R"), "unit"),
    ],
)
def test_replies_that_do_not_parse_are_errors_never_numbers(scripted, reply, what):
    tc, controller = scripted
    controller.dialogue.replies["tact?"] = reply
    with pytest.raises(ReplyError) as caught:
        tc.read("temperature")
    assert caught.value.command == "tact?"
    assert tc.temperature is None


# -- the twin's bytes, through pyserial -----------------------------------------------------------


@pytest.fixture
def link(bench):
    transport = labkit.open_transport(
        bench.address("tc"),
        {"baud_rate": 115200, "read_termination": "> ", "write_termination": "\r"},
    )
    yield transport
    transport.close()


def test_the_twin_echoes_answers_and_prompts(link, bench):
    assert link.query("tset?") == "tset?\r25.0 Celsius\r"
    assert link.query("tset=40.5") == "tset=40.5\r"
    assert bench.thermal.controller.setpoint == pytest.approx(40.5 + KELVIN)
    assert link.query("stat?") == "stat?\r14 "  # PTC100, °C, off: hex, no CR
    assert link.query("ens") == "ens\r"
    assert link.query("stat?") == "stat?\r15 "
    assert link.query("tset=250") == "tset=250\rCommand error CMD_ARG_RANGE_ERR\n\r"
    assert link.query("volt?") == "volt?\rCommand error CMD_NOT_DEFINED\n\r"
    assert link.query("pgain=50") == "pgain=50\r"
    assert link.query("pid?") == "pid?\r50 10 0\r"
    assert bench.thermal.controller.kp == pytest.approx(50 * 0.1)


def test_the_twin_talks_only_at_115200_8n1(bench):
    transport = labkit.open_transport(
        bench.address("tc"),
        {"baud_rate": 9600, "read_termination": "> ", "write_termination": "\r", "timeout": 0.2},
    )
    with pytest.raises(InstrumentTimeout):
        transport.query("tset?")
    transport.close()


# -- on the bench: the closed loop ----------------------------------------------------------------


def test_through_pyserial_the_tc200_follows_the_heaters_physics(bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)
    tc.max_power = 12
    tc.p_gain = 30
    tc.setpoint = 45
    tc.enabled = True
    loop = bench.thermal.controller
    assert loop.enabled
    assert (loop.setpoint, loop.max_power) == (pytest.approx(45 + KELVIN), 12)
    start = tc.read("temperature")
    # The same stage under the same loop, computed apart from any instrument:
    with Bench(seed=0, time_scale=0, instruments=[], prefix="model_") as model:
        model.thermal.controller.update(**loop.fields())
        read, expected, lag = [], [], []
        for step in (2, 5, 10, 20, 40, 80, 160, 320, 640, 1280):
            bench.advance(step)
            model.advance(step)
            read.append(tc.read("temperature"))
            expected.append(model.thermal.sensor_temperature() - KELVIN)
            lag.append(bench.thermal.heater_temperature - bench.thermal.sample_temperature)
        sample = model.thermal.sample_temperature
    assert read == pytest.approx(expected, abs=0.1)
    assert read[0] > start + 1  # it heats at once...
    assert read[-1] == pytest.approx(45, abs=0.1)  # ...and settles on the set-point
    assert all(difference > 0 for difference in lag)  # the sample trails the heater block
    assert bench.thermal.sample_temperature == pytest.approx(sample)
    assert tc.read("setpoint") == 45.0


def test_off_the_loop_leaves_the_stage_to_cool(bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)
    tc.setpoint = 60
    tc.enabled = True
    bench.advance(600)
    warm = tc.read("temperature")
    tc.enabled = False
    assert not bench.thermal.controller.enabled
    bench.advance(600)
    assert tc.read("temperature") < warm - 10
    tc.display_unit = "kelvin"  # the front panel in K; the driver still reads °C
    assert tc.read("temperature") == pytest.approx(
        bench.thermal.sensor_temperature() - KELVIN, abs=0.1
    )


def test_a_wrong_sensor_type_raises_the_alarm_and_stops_the_heater(bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)
    tc.enabled = True
    tc.sensor = "TH10K"  # the stage has a PTC100
    assert tc.read("sensor_alarm") is True
    assert tc.read("enabled") is False
    with pytest.raises(InstrumentError, match="sensor alarm"):
        tc.enabled = True
    tc.sensor = "PTC100"
    tc.enabled = True
    assert bench.thermal.controller.enabled


# -- faults ---------------------------------------------------------------------------------------


@pytest.fixture
def faulty(bench):
    return ThorlabsTC200(bench.address("tc"), name="tc", timeout=0.25), bench


def test_a_timeout_names_the_instrument_the_resource_and_the_command(faulty):
    tc, bench = faulty
    bench.inject("tc", "timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        tc.read("temperature")
    error = caught.value
    assert (error.instrument, error.resource, error.command) == ("tc", "labsim://tc", "tact?")
    tc.setpoint = 30  # works again
    assert tc.read("setpoint") == 30.0


def test_a_slow_reply_within_the_timeout_is_fine(faulty):
    tc, bench = faulty
    bench.inject("tc", "slow", delay=0.05)
    assert tc.read("max_power") == 18.0


def test_a_garbled_reply_is_an_error_never_a_number(faulty):
    tc, bench = faulty
    bench.inject("tc", "garbled")
    with pytest.raises(ReplyError) as caught:
        tc.read("temperature")
    assert (caught.value.resource, caught.value.command) == ("labsim://tc", "tact?")
    assert tc.temperature is None
    assert tc.read("temperature") == pytest.approx(22.0, abs=0.1)


def test_a_refusal_the_controller_reports(faulty):
    tc, bench = faulty
    bench.inject("tc", "error")
    with pytest.raises(TC200ArgumentError) as caught:
        tc.max_power = 5
    assert caught.value.command == "pmax=5.0"
    assert tc.max_power == 18.0
    tc.max_power = 5
    assert bench.thermal.controller.max_power == 5.0


def test_a_pulled_cable_then_reconnect(faulty):
    tc, bench = faulty
    bench.inject("tc", "disconnect")
    with pytest.raises(ConnectionLost) as caught:
        tc.read("temperature")
    assert (caught.value.resource, caught.value.command) == ("labsim://tc", "tact?")
    with pytest.raises(NotConnectedError):
        tc.enabled = True
    bench.clear_faults("tc")
    tc.reconnect()
    tc.enabled = True
    assert bench.thermal.controller.enabled


# -- the conformance suite ------------------------------------------------------------------------


class TestConformance(DriverConformance):
    driver = ThorlabsTC200

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["tc"])
        return ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)
