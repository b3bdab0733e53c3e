"""Addresses pick the transport kind; backends ride after '@'."""

from __future__ import annotations

import pytest

from labkit import ConfigurationError
from labkit.transports import kind_of_address, open_transport, split_backend
from labkit.transports._usb import parse_usb_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("GPIB0::24::INSTR", "visa"),
        ("TCPIP::192.168.1.5::INSTR@py", "visa"),
        ("USB0::0x05E6::0x2450::04096001::INSTR", "visa"),
        ("ASRL/dev/ttyUSB0::INSTR", "visa"),
        ("TCPIP0::10.0.0.2::5025::SOCKET", "visa"),
        ("GPIB0::8::INSTR@/tmp/devices.yaml@sim", "visa"),
        ("usb:0x2457:0x101e", "usb"),
        ("usb:2457:101E:USB2+F01234@labkit", "usb"),
        ("COM3", "serial"),
        ("/dev/ttyUSB0", "serial"),
        ("labsim://tc", "serial"),
        ("socket://localhost:5025", "serial"),
    ],
)
def test_address_picks_the_transport_kind(address, kind):
    assert kind_of_address(address).name == kind


def test_an_unknown_address_lists_the_forms_labkit_knows():
    with pytest.raises(ConfigurationError, match="not an address labkit recognises") as caught:
        kind_of_address("smu-on-the-left")
    assert "GPIB0::24::INSTR" in caught.value.hint
    assert "usb:0x2457:0x101e" in caught.value.hint


def test_backend_spec_is_everything_after_the_first_at():
    assert split_backend("GPIB0::8::INSTR") == ("GPIB0::8::INSTR", None)
    assert split_backend("GPIB0::8::INSTR@py") == ("GPIB0::8::INSTR", "py")
    assert split_backend("GPIB0::8::INSTR@/x/d.yaml@sim") == ("GPIB0::8::INSTR", "/x/d.yaml@sim")
    with pytest.raises(ConfigurationError, match="names no backend"):
        split_backend("GPIB0::8::INSTR@")


def test_usb_address_parts():
    assert parse_usb_address("usb:0x2457:0x101e") == (0x2457, 0x101E, None, None)
    assert parse_usb_address("usb:2457:101e:AB12@labkit") == (0x2457, 0x101E, "AB12", "labkit")
    with pytest.raises(ConfigurationError, match="not a USB address"):
        parse_usb_address("usb:xyz")


def test_an_option_the_transport_lacks_is_refused_before_opening():
    with pytest.raises(ConfigurationError, match="no option 'baudrate'") as caught:
        open_transport("GPIB0::1::INSTR@labkit", {"baudrate": 9600})
    assert "baud_rate" in caught.value.hint


def test_importing_the_transports_loads_no_io_library():
    import subprocess
    import sys

    code = (
        "import sys, labkit, labkit.transports, labkit.sim;"
        "print(sorted(m for m in ('pyvisa','usb','serial','numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
