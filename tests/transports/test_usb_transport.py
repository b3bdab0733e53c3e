"""The USB transport through pyusb, on labkit's simulated bus (``@labkit``)."""

from __future__ import annotations

import pytest

import labkit
from labkit import ConfigurationError, ConnectionLost, InstrumentError, InstrumentTimeout
from labkit.sim import serve
from labkit.sim._usb import Endpoint, VirtualUsbDevice, get_backend
from labkit.transports import open_transport
from labkit.transports._usb import UsbTransport


class Gadget(VirtualUsbDevice):
    """A small binary protocol: 0x09 asks for data on EP 0x82, 0x05 <n> answers on 0x81."""

    vendor_id = 0x1209
    product_id = 0x4242
    manufacturer = "labkit tests"
    product = "gadget"
    endpoints = (Endpoint(0x01), Endpoint(0x81, max_packet=64), Endpoint(0x82))

    def __init__(self, serial_number: str = "G1") -> None:
        super().__init__("gadget-" + serial_number, serial_number=serial_number)
        self.delay = 0.0

    def handle_bulk(self, endpoint: int, data: bytes) -> None:
        if data[:1] == b"\x09":
            self.send(0x82, bytes(range(16)), delay=self.delay)
        elif data[:1] == b"\x05":
            self.send(0x81, b"\x05" + data[1:2] + b"slot" + bytes(11))
        else:
            raise InstrumentError("unreachable")  # pragma: no cover

    def handle_control(self, request_type, request, value, index, data):
        if request == 0x42 and request_type & 0x80:
            return bytes([value & 0xFF, index & 0xFF, 0xAB])
        return None


@pytest.fixture
def gadget():
    return serve("gadget", Gadget())


def test_bulk_transfers_on_named_endpoints(gadget):
    link = open_transport("usb:0x1209:0x4242@labkit", {"timeout": 0.5})
    assert isinstance(link, UsbTransport)
    link.bulk_write(0x01, b"\x09")
    assert link.bulk_read(0x82, 64) == bytes(range(16))
    link.bulk_write(0x01, b"\x05\x03")
    assert link.bulk_read(0x81, 64)[:6] == b"\x05\x03slot"
    assert gadget.received[-1] == (0x01, b"\x05\x03")


def test_control_transfers_reach_vendor_requests_and_stall_otherwise(gadget):
    link = open_transport("usb:1209:4242@labkit", {"timeout": 0.5})
    assert link.control_transfer(0xC0, 0x42, 7, 9, 3) == bytes([7, 9, 0xAB])
    with pytest.raises(InstrumentError, match="stalled"):
        link.control_transfer(0xC0, 0x13, 0, 0, 3)


def test_the_device_has_real_descriptors(gadget):
    import usb.core

    device = usb.core.find(idVendor=0x1209, idProduct=0x4242, backend=get_backend())
    assert device.manufacturer == "labkit tests"
    assert device.product == "gadget"
    assert device.serial_number == "G1"
    device.set_configuration()
    interface = device.get_active_configuration()[(0, 0)]
    assert [(e.bEndpointAddress, e.wMaxPacketSize) for e in interface] == [
        (0x01, 512),
        (0x81, 64),
        (0x82, 512),
    ]


def test_the_serial_number_picks_one_of_two_alike_devices(gadget):
    serve("gadget2", Gadget("G2"))
    link = open_transport("usb:0x1209:0x4242:G2@labkit", {"timeout": 0.5})
    link.bulk_write(0x01, b"\x09")
    assert link.device.serial_number == "G2"
    with pytest.raises(ConnectionLost, match="with serial number G9"):
        open_transport("usb:0x1209:0x4242:G9@labkit", {"timeout": 0.5})


def test_a_backend_object_may_be_given_as_an_option(gadget):
    link = UsbTransport("usb:0x1209:0x4242", backend=get_backend(), timeout=0.5)
    link.bulk_write(0x01, b"\x09")
    assert len(link.bulk_read(0x82, 64)) == 16
    with pytest.raises(ConfigurationError, match="no USB backend is called"):
        open_transport("usb:0x1209:0x4242@nonesuch", {})


def test_no_data_is_a_timeout_naming_the_command(gadget):
    link = open_transport("usb:0x1209:0x4242@labkit", {"timeout": 0.1})
    link.bulk_write(0x01, b"\x05\x01")
    with pytest.raises(InstrumentTimeout) as caught:
        link.bulk_read(0x82, 64)
    assert caught.value.command == "EP 0x01: 05 01"
    assert caught.value.resource == "usb:0x1209:0x4242@labkit"


def test_data_that_takes_longer_than_the_timeout_can_be_waited_for(gadget):
    gadget.delay = 0.2
    link = open_transport("usb:0x1209:0x4242@labkit", {"timeout": 0.05})
    link.bulk_write(0x01, b"\x09")
    with pytest.raises(InstrumentTimeout):
        link.bulk_read(0x82, 64)
    assert link.bulk_read(0x82, 64, timeout=10.0) == bytes(range(16))


def test_a_device_that_is_not_there_is_a_lost_connection():
    with pytest.raises(ConnectionLost, match="no USB device 1209:4243"):
        open_transport("usb:0x1209:0x4243@labkit", {"timeout": 0.1})


class TextDevice(labkit.ScpiInstrument):
    models = ("T1",)
    check_errors = False


def test_message_devices_speak_over_the_default_bulk_endpoints():
    from labkit.sim import Dialogue
    from labkit.sim._usb import UsbMessageDevice

    dialogue = Dialogue({"*IDN?": "ACME,T1,7,1"})
    serve("text", UsbMessageDevice(dialogue, vendor_id=0x1209, product_id=0x7777))
    device = TextDevice("usb:0x1209:0x7777@labkit", name="text", timeout=0.3)
    assert device.identity["model"] == "T1"
    assert dialogue.sent == ["*CLS", "*IDN?"]


# -- a binary USB driver and the faults of its device ---------------------------------------

from labkit.drivers.usb import UsbInstrument  # noqa: E402


class GadgetDriver(UsbInstrument):
    """Reads the gadget's 16-byte block as a sum."""

    total = labkit.Reading(int, doc="sum of the data block")

    def _get_total(self) -> int:
        self.bulk_write(0x01, b"\x09")
        return sum(self.bulk_read(0x82, 64))


ADDRESS = "usb:0x1209:0x4242@labkit"


@pytest.fixture
def driver(gadget):
    # A generous timeout: no reply that is merely slow on a loaded machine times out. The test
    # that needs a timeout shortens it for that one exchange.
    return GadgetDriver(ADDRESS, name="gadget", timeout=5.0), gadget


def test_a_usb_driver_refuses_a_non_usb_address(gadget):
    from labkit.sim import Dialogue

    serve("text", Dialogue())
    with pytest.raises(ConfigurationError, match="not a USB address"):
        GadgetDriver("labsim://text", name="notusb")


def test_binary_device_dropping_its_data(driver):
    device, gadget = driver
    gadget.faults.inject("timeout")
    device.transport.timeout = 0.15
    with pytest.raises(InstrumentTimeout) as caught:
        device.read("total")
    device.transport.timeout = 5.0
    assert (caught.value.instrument, caught.value.resource) == ("gadget", ADDRESS)
    assert caught.value.command == "EP 0x01: 09"
    assert device.read("total") == 120


def test_binary_device_slow_and_garbled(driver):
    device, gadget = driver
    gadget.faults.inject("slow", delay=0.05)
    assert device.read("total") == 120
    gadget.faults.inject("garbled")
    assert device.read("total") != 120  # a binary protocol has no way to tell; the bytes differ
    assert device.read("total") == 120


def test_binary_device_refusing_a_request_stalls_then_recovers(driver):
    device, gadget = driver
    gadget.faults.inject("error")
    with pytest.raises(InstrumentError, match="stalled") as caught:
        device.read("total")
    assert caught.value.command == "EP 0x01: 09"
    assert caught.value.instrument == "gadget"
    assert device.read("total") == 120  # the transport cleared the halt


def test_binary_device_unplugged_then_reconnected(driver):
    device, gadget = driver
    gadget.faults.inject("disconnect")
    with pytest.raises(ConnectionLost, match="gone") as caught:
        device.read("total")
    assert caught.value.resource == ADDRESS
    assert not device.connected
    with pytest.raises(ConnectionLost, match="no USB device"):
        device.reconnect()
    gadget.faults.clear()
    device.reconnect()
    assert device.read("total") == 120
