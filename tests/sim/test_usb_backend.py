"""pyusb on labkit's simulated bus: enumeration, descriptors, strings, unplugging."""

from __future__ import annotations

import array
import errno

import pytest
import usb.core
import usb.util

from labkit.sim import serve
from labkit.sim._usb import Endpoint, VirtualUsbDevice, get_backend


class Probe(VirtualUsbDevice):
    vendor_id = 0x1209
    product_id = 0x0001
    manufacturer = "Probe Co"
    product = "probe"
    endpoints = (
        Endpoint(0x02, max_packet=64),
        Endpoint(0x87, max_packet=64),
        Endpoint(0x83, "interrupt", 8, 10),
    )

    def handle_bulk(self, endpoint, data):
        self.send(0x87, bytes(reversed(data)))


@pytest.fixture
def probe():
    return serve("probe", Probe(serial_number="P-7"))


def test_find_enumerates_served_devices_only_while_plugged(probe):
    backend = get_backend()
    assert usb.core.find(idVendor=0x1209, idProduct=0x0001, backend=backend) is not None
    probe.faults.inject("disconnect")
    assert usb.core.find(idVendor=0x1209, idProduct=0x0001, backend=backend) is None
    probe.faults.clear()
    assert usb.core.find(idVendor=0x1209, idProduct=0x0001, backend=backend) is not None


def test_descriptors_and_strings_read_through_pyusb(probe):
    device = usb.core.find(idVendor=0x1209, idProduct=0x0001, backend=get_backend())
    assert (device.bcdUSB, device.bNumConfigurations) == (0x0200, 1)
    assert usb.util.get_string(device, device.iManufacturer) == "Probe Co"
    assert device.serial_number == "P-7"
    raw = device.ctrl_transfer(0x80, 6, 0x0100, 0, 18)  # GET_DESCRIPTOR(device)
    assert bytes(raw[8:12]) == bytes([0x09, 0x12, 0x01, 0x00])
    config = device.ctrl_transfer(0x80, 6, 0x0200, 0, 64)  # GET_DESCRIPTOR(configuration)
    assert len(config) == 9 + 9 + 3 * 7
    device.set_configuration()
    kinds = [
        usb.util.endpoint_type(e.bmAttributes) for e in device.get_active_configuration()[(0, 0)]
    ]
    assert kinds == [
        usb.util.ENDPOINT_TYPE_BULK,
        usb.util.ENDPOINT_TYPE_BULK,
        usb.util.ENDPOINT_TYPE_INTR,
    ]


def test_transfers_use_array_buffers(probe):
    device = usb.core.find(idVendor=0x1209, backend=get_backend())
    device.set_configuration()
    assert device.write(0x02, b"abc") == 3
    buffer = array.array("B", bytes(8))
    assert device.read(0x87, buffer, 100) == 3
    assert bytes(buffer[:3]) == b"cba"


def test_errors_carry_errno(probe):
    device = usb.core.find(idVendor=0x1209, backend=get_backend())
    device.set_configuration()
    with pytest.raises(usb.core.USBTimeoutError):
        device.read(0x87, 8, 20)
    probe.faults.inject("error")
    device.write(0x02, b"x")
    with pytest.raises(usb.core.USBError) as caught:
        device.read(0x87, 8, 20)
    assert caught.value.errno == errno.EPIPE
    device.clear_halt(0x87)
    probe.faults.inject("disconnect")
    with pytest.raises(usb.core.USBError) as caught:
        device.write(0x02, b"x")
    assert caught.value.errno == errno.ENODEV
