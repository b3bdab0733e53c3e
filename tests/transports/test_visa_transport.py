"""The VISA transport through pyvisa: labkit's backend, pyvisa-sim files, errors."""

from __future__ import annotations

import textwrap

import pytest

from labkit import ConfigurationError, ConnectionLost, InstrumentError, InstrumentTimeout
from labkit.sim import Dialogue, serve
from labkit.transports import open_transport
from labkit.transports._visa import VisaTransport


@pytest.fixture
def echo():
    return serve(
        "echo", Dialogue({"*IDN?": "ACME,E1,1,1", "PING?": "PONG"}), visa="GPIB0::7::INSTR"
    )


def test_query_through_pyvisa_by_served_name_and_by_alias(echo):
    for address in ("TCPIP::echo::INSTR@labkit", "GPIB0::7::INSTR@labkit"):
        link = open_transport(address, {"timeout": 0.5})
        assert isinstance(link, VisaTransport)
        assert link.query("*IDN?") == "ACME,E1,1,1"
        link.close()
    assert echo.sent == ["*IDN?", "*IDN?"]


def test_backend_may_be_given_as_an_option(echo):
    link = VisaTransport("GPIB0::7::INSTR", backend="labkit", timeout=0.5)
    assert link.query("PING?") == "PONG"
    with pytest.raises(ConfigurationError, match="also given"):
        VisaTransport("GPIB0::7::INSTR@labkit", backend="sim")


def test_a_missing_resource_is_a_lost_connection_naming_it():
    with pytest.raises(ConnectionLost, match="cannot open") as caught:
        open_transport("GPIB0::29::INSTR@labkit", {"timeout": 0.2})
    assert caught.value.resource == "GPIB0::29::INSTR@labkit"


def test_an_unknown_backend_says_what_to_install():
    with pytest.raises(ConfigurationError, match="not available") as caught:
        open_transport("GPIB0::1::INSTR@nosuchbackend", {})
    assert "pip install" in caught.value.hint


def test_no_reply_is_a_timeout_naming_resource_and_command(echo):
    link = open_transport("TCPIP::echo::INSTR@labkit", {"timeout": 0.15})
    with pytest.raises(InstrumentTimeout) as caught:
        link.query("NOTHING?")
    assert caught.value.command == "NOTHING?"
    assert caught.value.resource == "TCPIP::echo::INSTR@labkit"
    assert "NOTHING?" in str(caught.value)


def test_read_bytes_ignores_the_termination_character(echo):
    echo.replies["BLOCK?"] = "#15a\nb\x00c"
    link = open_transport("TCPIP::echo::INSTR@labkit", {"timeout": 5.0})
    link.write("BLOCK?")
    assert link.read_bytes(2) == b"#1"
    assert link.read_bytes(1) == b"5"
    assert link.read_bytes(5) == b"a\nb\x00c"
    assert link.read() == ""


def test_clear_drops_a_late_reply(echo):
    echo.faults.inject("slow", delay=0.3)
    link = open_transport("TCPIP::echo::INSTR@labkit", {"timeout": 0.1})
    with pytest.raises(InstrumentTimeout):
        link.query("PING?")
    link.clear()
    assert link.query("*IDN?") == "ACME,E1,1,1"


def test_serial_options_apply_to_asrl_resources_only(echo):
    with pytest.raises(ConfigurationError, match="only apply to ASRL"):
        open_transport("GPIB0::7::INSTR@labkit", {"baud_rate": 9600})
    with pytest.raises(ConfigurationError, match="parity"):
        open_transport("ASRLecho::INSTR@labkit", {"parity": "sometimes"})


def test_serial_settings_that_differ_from_the_instrument_garble_the_line(echo):
    echo.serial_settings = {"baudrate": 115200}
    good = open_transport("ASRLecho::INSTR@labkit", {"baud_rate": 115200, "timeout": 0.3})
    assert good.query("PING?") == "PONG"
    good.close()
    bad = open_transport("ASRLecho::INSTR@labkit", {"baud_rate": 9600, "timeout": 0.2})
    bad.write("PING?")
    with pytest.raises((InstrumentTimeout, InstrumentError)):
        assert bad.read() != "PONG"


@pytest.fixture
def sim_yaml(tmp_path):
    import pyvisa.highlevel

    path = tmp_path / "devices.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            spec: "1.1"
            devices:
              psu:
                eom:
                  GPIB INSTR:
                    q: "\\n"
                    r: "\\n"
                error: ERROR
                dialogues:
                  - q: "*IDN?"
                    r: "ACME,PS30,42,1.0"
                  - q: "*CLS"
                properties:
                  voltage:
                    default: 1.0
                    getter:
                      q: "VOLT?"
                      r: "{:.3f}"
                    setter:
                      q: "VOLT {:.3f}"
                    specs:
                      min: 0
                      max: 30
                      type: float
            resources:
              GPIB0::8::INSTR:
                device: psu
            """
        )
    )
    yield path
    # pyvisa caches libraries (and pyvisa-sim their state) per path: forget this one.
    for key in [k for k in pyvisa.highlevel.VisaLibraryBase._registry if str(path) in str(k)]:
        del pyvisa.highlevel.VisaLibraryBase._registry[key]


def test_a_pyvisa_sim_file_works_through_the_normal_visa_transport(sim_yaml):
    link = open_transport(f"GPIB0::8::INSTR@{sim_yaml}@sim", {"timeout": 0.5})
    assert link.query("*IDN?") == "ACME,PS30,42,1.0"
    link.write("VOLT 12.500")
    assert link.query("VOLT?") == "12.500"
    assert link.query("NONSENSE?") == "ERROR"


def test_a_driver_runs_on_a_pyvisa_sim_file(sim_yaml):
    import labkit
    from labkit import Setting

    class PS30(labkit.ScpiInstrument):
        models = ("PS30",)
        check_errors = False
        voltage = Setting(unit="V", min=0, max=30, get="VOLT?", set="VOLT {}", fmt=".3f")

    psu = PS30(f"GPIB0::8::INSTR@{sim_yaml}@sim", name="ps30", timeout=0.5)
    assert psu.voltage == 1.0
    psu.voltage = "2500 mV"
    assert psu.read("voltage") == 2.5
