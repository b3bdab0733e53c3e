"""Virtual USB devices, and a pyusb backend that presents them: ``usb:VID:PID@labkit``.

A :class:`VirtualUsbDevice` has real descriptors (device, one configuration, one interface,
its endpoints, string descriptors for manufacturer, product and serial number) and answers
bulk and control transfers. Subclasses implement a binary protocol in :meth:`handle_bulk`
(commands arriving on an OUT endpoint) and :meth:`handle_control` (vendor requests), and
answer with :meth:`send` (data queued on an IN endpoint, available after a delay such as an
integration time). :class:`UsbMessageDevice` presents a text :class:`VirtualInstrument` over
a pair of bulk endpoints instead.

:class:`LabkitUsbBackend` is a ``usb.backend.IBackend``: ``usb.core.find(backend=...)``
enumerates the served virtual devices (``labkit.sim.serve``) and pyusb's own ``Device`` does
the rest, so the driver above runs the same code as with libusb. Buffers pyusb hands over are
``array.array('B')``. Faults: ``timeout`` drops the next IN transfer (pyusb raises
``USBTimeoutError``), ``slow`` delays it, ``garbled`` corrupts it, ``error`` stalls the IN
endpoint (``USBError`` EPIPE, the device refusing the request) until the host clears the halt,
``disconnect`` removes the device from the bus (``USBError`` ENODEV) until cleared.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import errno
import itertools
import threading
import time
from typing import Any, ClassVar

import usb.backend
import usb.core

from labkit.sim._served import served
from labkit.sim._virtual import Connection, Faults, SimulatedDisconnect, VirtualInstrument

__all__ = [
    "Endpoint",
    "LabkitUsbBackend",
    "UsbMessageDevice",
    "VirtualUsbDevice",
    "get_backend",
]

_LIBUSB_TIMEOUT, _LIBUSB_PIPE, _LIBUSB_NO_DEVICE = -7, -9, -4
_SPEEDS = {"low": 1, "full": 2, "high": 3, "super": 4}
_addresses = itertools.count(2)
_GET_STATUS, _CLEAR_FEATURE, _SET_ADDRESS, _GET_DESCRIPTOR = 0, 1, 5, 6
_GET_CONFIGURATION, _SET_CONFIGURATION, _GET_INTERFACE, _SET_INTERFACE = 8, 9, 10, 11
_LANGID_EN_US = 0x0409


def _gone(name: str) -> usb.core.USBError:
    return usb.core.USBError(
        f"No such device (it may have been disconnected): {name}", _LIBUSB_NO_DEVICE, errno.ENODEV
    )


def _stall(what: str) -> usb.core.USBError:
    return usb.core.USBError(f"Pipe error: {what}", _LIBUSB_PIPE, errno.EPIPE)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One endpoint: ``address`` has bit 7 set for IN (``0x81``); ``kind`` bulk or interrupt."""

    address: int
    kind: str = "bulk"
    max_packet: int = 512
    interval: int = 0

    @property
    def is_in(self) -> bool:
        return bool(self.address & 0x80)

    @property
    def attributes(self) -> int:
        return {"bulk": 2, "interrupt": 3}[self.kind]


class VirtualUsbDevice:
    """A simulated USB device with real descriptors, bulk endpoints and vendor requests.

    Class attributes describe the device (``vendor_id``, ``product_id``, ``manufacturer``,
    ``product``, ``endpoints``...); ``serial_number`` may be given per instance. Subclasses
    implement :meth:`handle_bulk` and, if they have vendor requests, :meth:`handle_control`.
    """

    # Descriptor fields: class defaults that a device may set per instance.
    vendor_id: int = 0x1209  # pid.codes, the open test vendor id
    product_id: int = 0x0001
    bcd_device: ClassVar[int] = 0x0100
    bcd_usb: ClassVar[int] = 0x0200
    manufacturer: str = "labkit"
    product: str = "virtual USB device"
    device_class: ClassVar[int] = 0x00
    interface_class: ClassVar[int] = 0xFF  # vendor specific
    speed: str = "high"
    endpoints: tuple[Endpoint, ...] = (Endpoint(0x01), Endpoint(0x81))

    def __init__(self, name: str | None = None, *, serial_number: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.serial_number = serial_number or f"LK{abs(hash(self.name)) % 10**8:08d}"
        self.faults = Faults()
        self.lock = threading.RLock()
        self.address = next(_addresses) % 126 + 1
        self.configuration = 0
        self.received: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=1000)
        self._cond = threading.Condition()
        self._queues: dict[int, collections.deque[tuple[float, bytearray]]] = {
            ep.address: collections.deque() for ep in self.endpoints if ep.is_in
        }
        self._halted: set[int] = set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.vendor_id:04x}:{self.product_id:04x}>"

    # -- for subclasses -------------------------------------------------------------------

    def handle_bulk(self, endpoint: int, data: bytes) -> None:
        """Act on data the host sent to an OUT endpoint (queue replies with :meth:`send`)."""
        raise _stall(f"{self.name} takes no data on endpoint {endpoint:#04x}")

    def handle_control(
        self, request_type: int, request: int, value: int, index: int, data: bytes | int
    ) -> bytes | int | None:
        """A vendor or class control request: IN returns bytes, OUT a count; None stalls."""
        return None

    def send(self, endpoint: int, data: bytes, *, delay: float = 0.0) -> None:
        """Queue ``data`` as one IN transfer on ``endpoint``, available after ``delay`` s."""
        fault = self.faults.take("timeout", "slow", "garbled", "error")
        if fault is not None:
            if fault.kind == "timeout":
                return
            if fault.kind == "slow":
                delay += fault.delay
            if fault.kind == "garbled":
                data = bytes((b ^ 0x5A) for b in data)
            if fault.kind == "error":
                with self._cond:
                    self._halted.add(endpoint)
                return
        with self._cond:
            self._queues[endpoint].append((time.monotonic() + delay, bytearray(data)))
            self._cond.notify_all()

    def reset(self) -> None:
        """Forget queued IN data and halts (a USB reset, or a new host session)."""
        with self._cond:
            for queue in self._queues.values():
                queue.clear()
            self._halted.clear()

    # -- for the backend ------------------------------------------------------------------

    def check_present(self) -> None:
        if self.faults.disconnected:
            raise _gone(self.name)

    def open(self) -> None:
        """A host opened the device."""
        self.check_present()

    def close(self) -> None:
        """The host closed the device."""

    def bulk_out(self, endpoint: int, data: bytes) -> int:
        self.check_present()
        if endpoint in self._halted:
            raise _stall(f"endpoint {endpoint:#04x} is halted")
        self.received.append((endpoint, bytes(data)))
        with self.lock:
            self.handle_bulk(endpoint, bytes(data))
        return len(data)

    def bulk_in(self, endpoint: int, size: int, timeout: float | None) -> bytes:
        """One IN transfer of at most ``size`` bytes; ``b""`` when none came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        queue = self._queues.get(endpoint)
        if queue is None:
            raise _stall(f"{self.name} has no IN endpoint {endpoint:#04x}")
        with self._cond:
            while True:
                self.check_present()
                if endpoint in self._halted:
                    raise _stall(f"endpoint {endpoint:#04x} is halted")
                now = time.monotonic()
                if queue and queue[0][0] <= now:
                    break
                if deadline is not None and now >= deadline:
                    return b""
                wake = deadline if not queue else min(queue[0][0], deadline or queue[0][0])
                self._cond.wait(None if wake is None else max(0.0, min(wake - now, 0.05)))
            _ready, chunk = queue[0]
            out = bytes(chunk[:size])
            del chunk[:size]
            if not chunk:
                queue.popleft()
            return out

    def clear_halt(self, endpoint: int) -> None:
        with self._cond:
            self._halted.discard(endpoint)

    # -- descriptors ----------------------------------------------------------------------

    def strings(self) -> dict[int, str]:
        return {1: self.manufacturer, 2: self.product, 3: self.serial_number}

    def device_descriptor(self) -> bytes:
        def word(value: int) -> bytes:
            return value.to_bytes(2, "little")

        return (
            bytes([18, 1]) + word(self.bcd_usb) + bytes([self.device_class, 0, 0, 64])
            + word(self.vendor_id) + word(self.product_id) + word(self.bcd_device)
            + bytes([1, 2, 3, 1])
        )  # fmt: skip

    def configuration_descriptor(self) -> bytes:
        body = bytes([9, 4, 0, 0, len(self.endpoints), self.interface_class, 0, 0, 0])
        for ep in self.endpoints:
            body += bytes([7, 5, ep.address, ep.attributes])
            body += ep.max_packet.to_bytes(2, "little") + bytes([ep.interval])
        total = 9 + len(body)
        return bytes([9, 2, *total.to_bytes(2, "little"), 1, 1, 0, 0x80, 250]) + body


class UsbMessageDevice(VirtualUsbDevice):
    """A text :class:`VirtualInstrument` presented over USB bulk endpoints.

    What the host writes to the OUT endpoint reaches the instrument as from a serial line;
    replies come back on the IN endpoint. Faults are the instrument's own. Clearing the halt
    of the IN endpoint flushes replies not yet read (the host's way to resynchronise).
    """

    def __init__(
        self,
        instrument: VirtualInstrument,
        *,
        vendor_id: int,
        product_id: int,
        serial_number: str | None = None,
        manufacturer: str = "labkit",
        product: str | None = None,
    ) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.manufacturer = manufacturer
        self.product = product or instrument.name
        super().__init__(instrument.name, serial_number=serial_number)
        self.instrument = instrument
        self.faults = instrument.faults
        self._connection: Connection | None = None

    def _link(self) -> Connection:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = self.instrument.connect()
            except SimulatedDisconnect:
                raise _gone(self.name) from None
        return self._connection

    def open(self) -> None:
        super().open()
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._link()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def handle_bulk(self, endpoint: int, data: bytes) -> None:
        try:
            self._link().write(data)
        except SimulatedDisconnect:
            raise _gone(self.name) from None

    def bulk_in(self, endpoint: int, size: int, timeout: float | None) -> bytes:
        self.check_present()
        try:
            data, _ended = self._link().read_chunk(size, timeout)
        except SimulatedDisconnect:
            raise _gone(self.name) from None
        return data

    def clear_halt(self, endpoint: int) -> None:
        super().clear_halt(endpoint)
        if self._connection is not None and endpoint & 0x80:
            self._connection.reset_input()


# -- the pyusb backend ---------------------------------------------------------------------


class _Descriptor:
    """Attribute bag pyusb reads descriptor fields from."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


class _Handle:
    def __init__(self, device: VirtualUsbDevice) -> None:
        self.device = device
        self.open = True


class LabkitUsbBackend(usb.backend.IBackend):
    """A pyusb backend whose bus holds the served :class:`VirtualUsbDevice` objects."""

    def enumerate_devices(self) -> list[VirtualUsbDevice]:
        return [
            device
            for device in served().values()
            if isinstance(device, VirtualUsbDevice) and not device.faults.disconnected
        ]

    def get_parent(self, dev: VirtualUsbDevice) -> None:
        return None

    def get_device_descriptor(self, dev: VirtualUsbDevice) -> _Descriptor:
        raw = dev.device_descriptor()
        return _Descriptor(
            bLength=raw[0],
            bDescriptorType=raw[1],
            bcdUSB=dev.bcd_usb,
            bDeviceClass=dev.device_class,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=64,
            idVendor=dev.vendor_id,
            idProduct=dev.product_id,
            bcdDevice=dev.bcd_device,
            iManufacturer=1,
            iProduct=2,
            iSerialNumber=3,
            bNumConfigurations=1,
            address=dev.address,
            bus=1,
            port_number=dev.address,
            port_numbers=(dev.address,),
            speed=_SPEEDS[dev.speed],
        )

    def get_configuration_descriptor(self, dev: VirtualUsbDevice, config: int) -> _Descriptor:
        if config != 0:
            raise IndexError("the device has one configuration")
        raw = dev.configuration_descriptor()
        return _Descriptor(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=len(raw),
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0x80,
            bMaxPower=250,
            extra_descriptors=[],
        )

    def get_interface_descriptor(
        self, dev: VirtualUsbDevice, intf: int, alt: int, config: int
    ) -> _Descriptor:
        if intf != 0 or alt != 0 or config != 0:
            raise IndexError("the device has one interface with one setting")
        return _Descriptor(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=len(dev.endpoints),
            bInterfaceClass=dev.interface_class,
            bInterfaceSubClass=0,
            bInterfaceProtocol=0,
            iInterface=0,
            extra_descriptors=[],
        )

    def get_endpoint_descriptor(
        self, dev: VirtualUsbDevice, ep: int, intf: int, alt: int, config: int
    ) -> _Descriptor:
        endpoint = dev.endpoints[ep]
        return _Descriptor(
            bLength=7,
            bDescriptorType=5,
            bEndpointAddress=endpoint.address,
            bmAttributes=endpoint.attributes,
            wMaxPacketSize=endpoint.max_packet,
            bInterval=endpoint.interval,
            bRefresh=0,
            bSynchAddress=0,
            extra_descriptors=[],
        )

    def open_device(self, dev: VirtualUsbDevice) -> _Handle:
        dev.open()
        return _Handle(dev)

    def close_device(self, dev_handle: _Handle) -> None:
        dev_handle.open = False
        dev_handle.device.close()

    def _device(self, dev_handle: _Handle) -> VirtualUsbDevice:
        device = dev_handle.device
        device.check_present()
        return device

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        device = self._device(dev_handle)
        if config_value not in (0, 1):
            raise _stall(f"configuration {config_value} does not exist")
        device.configuration = config_value

    def get_configuration(self, dev_handle: _Handle) -> int:
        return self._device(dev_handle).configuration

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        self._device(dev_handle)

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._device(dev_handle)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        pass

    def bulk_write(self, dev_handle: _Handle, ep: int, intf: int, data: Any, timeout: int) -> int:
        return self._device(dev_handle).bulk_out(ep, bytes(data))

    def bulk_read(self, dev_handle: _Handle, ep: int, intf: int, buff: Any, timeout: int) -> int:
        device = self._device(dev_handle)
        seconds = None if not timeout else timeout / 1000.0
        data = device.bulk_in(ep, len(buff), seconds)
        if not data:
            raise usb.core.USBTimeoutError("Operation timed out", _LIBUSB_TIMEOUT, errno.ETIMEDOUT)
        buff[: len(data)] = array.array("B", data)
        return len(data)

    intr_write = bulk_write
    intr_read = bulk_read

    def ctrl_transfer(
        self,
        dev_handle: _Handle,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: Any,
        timeout: int,
    ) -> int:
        device = self._device(dev_handle)
        inbound = bool(bmRequestType & 0x80)
        standard = bmRequestType & 0x60 == 0
        reply: bytes | int | None
        if standard:
            reply = self._standard_request(device, bmRequestType, bRequest, wValue, wIndex)
        else:
            payload = len(data) if inbound else bytes(data)
            with device.lock:
                reply = device.handle_control(bmRequestType, bRequest, wValue, wIndex, payload)
        if reply is None:
            raise _stall(f"request {bRequest:#04x} refused")
        if not inbound:
            return len(data) if not isinstance(reply, int) else reply
        raw = bytes(reply) if not isinstance(reply, int) else b""
        raw = raw[: len(data)]
        data[: len(raw)] = array.array("B", raw)
        return len(raw)

    @staticmethod
    def _standard_request(
        device: VirtualUsbDevice, request_type: int, request: int, value: int, index: int
    ) -> bytes | int | None:
        if request == _GET_DESCRIPTOR:
            kind, number = value >> 8, value & 0xFF
            if kind == 1:
                return device.device_descriptor()
            if kind == 2 and number == 0:
                return device.configuration_descriptor()
            if kind == 3:
                if number == 0:
                    return bytes([4, 3, *_LANGID_EN_US.to_bytes(2, "little")])
                text = device.strings().get(number)
                if text is None:
                    return None
                encoded = text.encode("utf-16-le")
                return bytes([2 + len(encoded), 3]) + encoded
            return None
        if request == _GET_STATUS:
            return bytes([0, 0])
        if request == _GET_CONFIGURATION:
            return bytes([device.configuration])
        if request == _SET_CONFIGURATION:
            device.configuration = value
            return 0
        if request == _CLEAR_FEATURE and request_type & 0x1F == 2:  # ENDPOINT_HALT
            device.clear_halt(index & 0xFF)
            return 0
        if request in (_GET_INTERFACE, _SET_INTERFACE, _SET_ADDRESS):
            return bytes([0]) if request == _GET_INTERFACE else 0
        return None

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        self._device(dev_handle).clear_halt(ep)

    def reset_device(self, dev_handle: _Handle) -> None:
        self._device(dev_handle).reset()

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        return False

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        pass

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        pass


_backend: LabkitUsbBackend | None = None
_backend_lock = threading.Lock()


def get_backend() -> LabkitUsbBackend:
    """The process's simulated USB bus (entry point ``labkit.usb_backends: labkit``)."""
    global _backend
    with _backend_lock:
        if _backend is None:
            _backend = LabkitUsbBackend()
        return _backend
