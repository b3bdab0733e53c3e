"""An instrument through its simulator beneath pyserial: what a scientist relies on."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import labkit
from labkit import (
    AccessError,
    ChoiceError,
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    NotConnectedError,
    SettingTypeError,
    UnitError,
)
from labkit.testing import record

from .conftest import Supply


def test_opening_greets_the_instrument_and_reads_its_settings(supply, supply_sim) -> None:
    assert supply.connected
    assert supply.identity == {
        "manufacturer": "ACME",
        "model": "PS30",
        "serial": supply.identity["serial"],
        "firmware": "sim",
    }
    assert list(supply_sim.received)[:2] == ["*CLS", "*IDN?"]
    assert supply.voltage == 0.0
    assert supply.serial_number == "SN42"
    assert supply.measured_voltage is None  # readings are read explicitly, not on open


def test_assignment_writes_then_stores_the_acknowledged_value(supply, supply_sim) -> None:
    seen = []
    supply.observe(lambda change: seen.append(change["new"]), names=["voltage"])
    with record(supply) as log:
        supply.voltage = "1.5 V"
    assert log.sent[0] == "VOLT 1.5"
    assert supply_sim.value("voltage") == 1.5
    assert supply.voltage == 1.5
    assert seen == [1.5]


def test_each_kind_reaches_the_instrument_in_its_own_words(supply, supply_sim) -> None:
    supply.output = True
    supply.mode = "constant current"
    supply.averages = 16
    supply.label = "hello"
    supply.aux.voltage = 2
    sent = list(supply_sim.received)
    assert {"OUTP ON", "MODE CC", "AVER 16", "DISP:TEXT hello", "OUT1:VOLT 2"} <= set(sent)
    assert supply_sim.value("output") is True
    assert supply_sim.value("mode") == "constant current"
    assert supply_sim.value("aux.voltage") == 2.0
    assert supply.label == "hello"  # write-only: the last value sent is what is known


@pytest.mark.parametrize(
    ("setting", "value", "error", "words"),
    [
        ("voltage", 31, LimitError, ["psu.voltage", "31 V", "upper hard limit 30 V"]),
        ("voltage", -1, LimitError, ["psu.voltage", "-1 V", "lower hard limit 0 V"]),
        ("current_limit", 2.5, LimitError, ["psu.current_limit", "upper soft limit 2 A", "widen"]),
        ("voltage", "2 A", UnitError, ["psu.voltage", "'2 A'", "V"]),
        ("voltage", "lots", SettingTypeError, ["psu.voltage", "'lots'", "not a number"]),
        ("mode", "turbo", ChoiceError, ["psu.mode", "'turbo'", "constant voltage"]),
        ("averages", 1.5, SettingTypeError, ["psu.averages", "whole number"]),
        ("output", "perhaps", SettingTypeError, ["psu.output", "on/off"]),
        ("serial_number", "x", AccessError, ["psu.serial_number", "read-only"]),
        ("measured_voltage", 1, AccessError, ["psu.measured_voltage", "reading"]),
    ],
)
def test_bad_values_raise_typed_errors_and_send_no_byte(
    supply, setting, value, error, words
) -> None:
    before = getattr(supply, setting)
    with record(supply) as log, pytest.raises(error) as raised:
        setattr(supply, setting, value)
    assert log.sent == []
    assert getattr(supply, setting) == before
    for word in words:
        assert word in str(raised.value)
    assert raised.value.instrument == "psu"


def test_limit_errors_carry_the_value_and_the_limit(supply) -> None:
    with pytest.raises(LimitError) as raised:
        supply.voltage = "31000 mV"
    assert raised.value.value == 31.0
    assert raised.value.limit == 30.0
    assert raised.value.setting == "voltage"


def test_an_instrument_error_keeps_the_old_value_and_names_the_command(supply, supply_sim) -> None:
    supply.voltage = 1
    supply_sim.faults.inject("error", code=-222, message="Data out of range")
    with pytest.raises(InstrumentError) as raised:
        supply.voltage = 2
    assert raised.value.code == -222
    assert "VOLT 2" in str(raised.value)
    assert "Data out of range" in str(raised.value)
    assert supply.voltage == 1
    supply.voltage = 3  # usable again
    assert supply_sim.value("voltage") == 3


def test_a_timeout_names_instrument_and_command_and_the_instrument_recovers(
    supply, supply_sim
) -> None:
    supply_sim.faults.inject("timeout")
    with pytest.raises(InstrumentTimeout) as raised:
        supply.read("measured_voltage")
    assert raised.value.instrument == "psu"
    assert raised.value.command == "MEAS:VOLT?"
    assert raised.value.resource == f"labsim://{supply_sim.name}"
    supply.voltage = 4
    assert supply.read("measured_voltage") == 4.0


@pytest.mark.timeout(20)
def test_a_set_whose_error_check_times_out_raises_instead_of_waiting_forever(
    supply, supply_sim
) -> None:
    supply_sim.faults.inject("timeout")  # the error-queue query after VOLT 2 gets no reply
    with pytest.raises(InstrumentTimeout) as raised:
        supply.voltage = 2
    assert raised.value.command == "SYST:ERR?"
    assert raised.value.setting == "voltage"
    supply.voltage = 3
    assert supply.read("voltage") == 3.0


def test_a_late_reply_after_a_timeout_is_not_taken_for_the_next_one(supply, supply_sim) -> None:
    supply.voltage = 2
    supply_sim.faults.inject("slow", delay=0.7)
    with pytest.raises(InstrumentTimeout):
        supply.read("voltage")
    import time

    time.sleep(0.4)  # the late reply to VOLT? arrives now
    supply.current_limit = 1
    assert supply.read("current_limit") == 1.0


def test_a_garbled_reply_is_an_error_not_a_number(supply, supply_sim) -> None:
    supply_sim.faults.inject("garbled")
    with pytest.raises(labkit.ReplyError, match="expected a number"):
        supply.read("measured_voltage")
    assert isinstance(supply.read("measured_voltage"), float)


def test_a_disconnect_is_reported_and_reconnect_restores_the_instrument(supply, supply_sim) -> None:
    supply_sim.faults.inject("disconnect")
    with pytest.raises(ConnectionLost) as raised:
        supply.read("measured_voltage")
    assert "reconnect()" in str(raised.value)
    assert not supply.connected
    with pytest.raises(NotConnectedError, match="reconnect"):
        supply.voltage = 1
    supply_sim.faults.clear()
    supply.reconnect()
    supply.voltage = 1
    assert supply_sim.value("voltage") == 1


def test_rerunning_the_cell_returns_the_connected_instance(supply_sim) -> None:
    address = f"labsim://{supply_sim.name}"
    first = Supply(address, name="again")
    second = Supply(address, name="again")
    assert first is second
    assert len([i for i in labkit.instruments() if i.name == "again"]) == 1


def test_a_conflicting_definition_is_a_clear_error(supply, thermometer) -> None:
    with pytest.raises(ConfigurationError, match=r"already open: Supply.*Close it first"):
        Supply("labsim://thermo", name="psu")


def test_a_redefined_class_reconnects(supply_sim) -> None:
    address = f"labsim://{supply_sim.name}"
    first = Supply(address, name="redefined")
    namespace: dict = {}
    exec(  # the notebook cell defining the class is run again
        textwrap.dedent("""
            import labkit
            from labkit import Setting
            class Supply(labkit.ScpiInstrument):
                models = ("PS30",)
                voltage = Setting(unit="V", min=0, max=30, get="VOLT?", set="VOLT {}")
        """),
        namespace,
    )
    namespace["Supply"].__module__ = Supply.__module__
    namespace["Supply"].__qualname__ = Supply.__qualname__
    with pytest.warns(UserWarning, match="redefined"):
        second = namespace["Supply"](address, name="redefined")
    assert second is not first
    assert not first.connected
    assert second.connected


def test_snapshot_holds_values_units_and_limits_as_plain_json(supply) -> None:
    supply.voltage = 2
    supply.settings.voltage.limit(max=12)
    snapshot = json.loads(json.dumps(supply.snapshot()))
    assert snapshot["name"] == "psu"
    assert snapshot["driver"].endswith("Supply")
    assert snapshot["settings"]["voltage"] == {"value": 2.0, "unit": "V", "min": 0.0, "max": 12.0}
    assert snapshot["settings"]["mode"]["choices"] == ["constant voltage", "constant current"]
    assert snapshot["channels"]["aux"]["settings"]["voltage"]["max"] == 6.0
    assert snapshot["identity"]["model"] == "PS30"


def test_read_and_refresh_ask_the_instrument(supply, supply_sim) -> None:
    supply_sim.state[("voltage", ())] = 7.0  # someone turned the knob
    assert supply.voltage == 0.0
    assert supply.read("voltage") == 7.0
    assert supply.voltage == 7.0
    values = supply.refresh()
    assert values["measured_voltage"] == 7.0
    assert "label" not in values  # write-only


def test_handles_tab_complete_and_catch_typos(supply) -> None:
    assert "voltage" in dir(supply.settings)
    assert "measured_voltage" in dir(supply.readings)
    assert supply.settings.voltage.full_name == "psu.voltage"
    with pytest.raises(AttributeError, match="Did you mean 'voltage'"):
        supply.settings.votlage  # noqa: B018
    with pytest.raises(AttributeError, match="no setting or reading 'curent'"):
        supply.read("curent")


def test_actions_run_on_the_instrument(supply, supply_sim) -> None:
    supply.zero()
    assert "CAL:ZERO" in supply_sim.received
    with pytest.raises(AccessError, match="call it"):
        supply.zero = 1


def test_make_safe_brings_outputs_to_their_declared_safe_values(supply, supply_sim) -> None:
    supply.voltage = 5
    supply.output = True
    assert supply.make_safe() == {"voltage": 0.0, "output": False}
    assert supply_sim.value("output") is False


def test_context_manager_closes(supply_sim) -> None:
    with Supply(f"labsim://{supply_sim.name}", name="ctx") as psu:
        assert psu.connected
    assert not psu.connected
    with pytest.raises(NotConnectedError):
        psu.voltage = 1
    assert psu not in labkit.instruments()


def test_instruments_are_closed_when_the_interpreter_exits(tmp_path) -> None:
    script = textwrap.dedent("""
        import labkit

        class Announcing(labkit.ScpiInstrument):
            voltage = labkit.Setting(unit="V", min=0, max=30, get="VOLT?", set="VOLT {}")

            def _on_close(self):
                print("closed", self.name, "connected:", self.connected)

        labkit.sim.simulate(Announcing, "exit")
        psu = Announcing("labsim://exit", name="psu")
        psu.voltage = 1
    """)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "closed psu connected: True" in result.stdout


def test_the_stored_value_is_what_the_instrument_was_sent(supply_sim) -> None:
    class Coarse(Supply):
        voltage = Supply.voltage.replace(fmt=".2f")
        current_limit = Supply.current_limit.replace(set=None)

        def _set_current_limit(self, value: float) -> float:
            self.write(f"CURR {value:.1f}")
            return round(value, 1)

    psu = Coarse(f"labsim://{supply_sim.name}", name="coarse")
    psu.voltage = 1.23456
    assert psu.voltage == 1.23 == supply_sim.value("voltage")
    psu.current_limit = 0.46
    assert psu.current_limit == 0.5 == supply_sim.value("current_limit")


def test_channels_report_their_parents_resource(supply) -> None:
    assert supply.aux.resource == supply.resource
    assert "None" not in repr(supply.aux)
