"""pyvisa's own resource classes on labkit's backend (``@labkit``)."""

from __future__ import annotations

import pytest
import pyvisa

from labkit.sim import Dialogue, serve


@pytest.fixture
def rm():
    return pyvisa.ResourceManager("@labkit")


@pytest.fixture
def device():
    return serve("dev", Dialogue({"*IDN?": "ACME,D1,1,1"}), visa=("GPIB0::5::INSTR",))


def test_served_instruments_are_listed_and_resolved_to_pyvisa_classes(rm, device):
    assert {"TCPIP0::dev::INSTR", "GPIB0::5::INSTR"} <= set(rm.list_resources())
    gpib = rm.open_resource("GPIB0::5::INSTR")
    lan = rm.open_resource("TCPIP::dev::INSTR")
    serial = rm.open_resource("ASRLdev::INSTR")
    assert type(gpib).__name__ == "GPIBInstrument"
    assert type(lan).__name__ == "TCPIPInstrument"
    assert type(serial).__name__ == "SerialInstrument"
    for resource in (gpib, lan, serial):
        resource.read_termination = resource.write_termination = "\n"
        assert resource.query("*IDN?") == "ACME,D1,1,1"


def test_an_unknown_resource_is_not_found(rm):
    with pytest.raises(pyvisa.errors.VisaIOError) as caught:
        rm.open_resource("GPIB0::30::INSTR")
    assert caught.value.error_code == pyvisa.constants.StatusCode.error_resource_not_found


def test_a_gpib_message_ends_at_end_even_without_a_termination_character(rm, device):
    resource = rm.open_resource("GPIB0::5::INSTR", read_termination="\n")
    resource.write_termination = ""
    resource.write("*IDN?")  # END marks the end of the message, as on a GPIB bus
    assert resource.read() == "ACME,D1,1,1"


def test_a_read_without_termination_character_ends_at_the_reply_end(rm, device):
    resource = rm.open_resource("TCPIP::dev::INSTR", write_termination="\n")
    resource.read_termination = None
    resource.write("*IDN?")
    assert resource.read_raw() == b"ACME,D1,1,1\n"


def test_binary_blocks_through_pyvisa_helpers(rm, device):
    import struct

    values = [1.5, -2.25, 1e-3]
    payload = struct.pack("<3d", *values)
    block = b"#2" + str(len(payload)).encode() + payload
    device.replies["DATA?"] = block.decode("latin-1")
    device.encoding = "latin-1"
    resource = rm.open_resource("TCPIP::dev::INSTR", read_termination="\n", write_termination="\n")
    resource.encoding = "latin-1"
    assert resource.query_binary_values("DATA?", datatype="d") == values


def test_a_timeout_is_pyvisas_timeout(rm, device):
    resource = rm.open_resource("TCPIP::dev::INSTR", read_termination="\n", write_termination="\n")
    resource.timeout = 50
    resource.write("NOTHING?")
    with pytest.raises(pyvisa.errors.VisaIOError) as caught:
        resource.read()
    assert caught.value.error_code == pyvisa.constants.StatusCode.error_timeout


def test_a_disconnect_is_a_lost_connection_and_blocks_opening(rm, device):
    resource = rm.open_resource("TCPIP::dev::INSTR", read_termination="\n", write_termination="\n")
    device.faults.inject("disconnect")
    with pytest.raises(pyvisa.errors.VisaIOError) as caught:
        resource.query("*IDN?")
    assert caught.value.error_code == pyvisa.constants.StatusCode.error_connection_lost
    with pytest.raises(pyvisa.errors.VisaIOError):
        rm.open_resource("TCPIP::dev::INSTR")
    device.faults.clear()
    again = rm.open_resource("TCPIP::dev::INSTR", read_termination="\n", write_termination="\n")
    assert again.query("*IDN?") == "ACME,D1,1,1"


def test_device_clear_drops_pending_replies(rm, device):
    resource = rm.open_resource("TCPIP::dev::INSTR", read_termination="\n", write_termination="\n")
    resource.write("*IDN?")
    resource.clear()
    resource.timeout = 50
    with pytest.raises(pyvisa.errors.VisaIOError):
        resource.read()


def test_a_shared_lock_asked_without_a_key_gets_one_and_a_given_key_is_kept(rm, device):
    resource = rm.open_resource("GPIB0::5::INSTR")
    key = resource.lock()  # VISA's viLock: a new shared key when none is asked for
    assert isinstance(key, str)
    assert key
    assert resource.lock(requested_key="team-key") == "team-key"
    resource.unlock()
