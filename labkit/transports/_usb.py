"""USB instruments through pyusb: bulk and control transfers with timeouts.

Address: ``usb:<vendor id>:<product id>[:<serial number>][@<backend>]`` with the ids in hex
(``0x`` optional): ``usb:0x2457:0x101e``, ``usb:2457:101e:USB2+F01234@labkit``. Without a
serial number the first matching device is used (two alike devices need the serial number).

The backend is pyusb's: by default pyusb picks libusb (``libusb-1.0-0`` must be installed);
``@libusb1``, ``@libusb0`` and ``@openusb`` name one; any other name is looked up in the
entry-point group ``labkit.usb_backends`` (labkit registers ``labkit``: its simulated devices),
and ``module:function`` names a function returning a backend. ``backend=`` takes the same names
or a ``usb.backend.IBackend`` object.

Two faces: binary protocols use :meth:`UsbTransport.bulk_write`, :meth:`~UsbTransport.bulk_read`
and :meth:`~UsbTransport.control_transfer` on named endpoints (the
:class:`~labkit.core.UsbTransport` protocol); message-based devices use ``write``/``read``/
``query``, which go to the default bulk OUT/IN endpoints with terminations, like a serial port.
pyusb's errors become labkit errors naming the resource and the command: a timeout is an
``InstrumentTimeout``, a vanished device a ``ConnectionLost``, a stalled endpoint (the device
refused the request) an ``InstrumentError``.
"""

from __future__ import annotations

import errno
import importlib
import time
from typing import Any

from labkit.core import ConfigurationError, ConnectionLost, InstrumentError, InstrumentTimeout
from labkit.transports._address import USB_ADDRESS

__all__ = ["UsbTransport", "parse_usb_address", "resolve_usb_backend"]

_BUILTIN_BACKENDS = ("libusb1", "libusb0", "openusb")
_LOST_ERRNOS = {errno.ENODEV, errno.ENOENT, errno.EIO, errno.ESHUTDOWN, errno.EBADF}
_DRAIN_LIMIT = 64


def parse_usb_address(address: str) -> tuple[int, int, str | None, str | None]:
    """``"usb:0x2457:0x101e:SER@labkit"`` → ``(0x2457, 0x101E, "SER", "labkit")``."""
    match = USB_ADDRESS.match(address)
    if match is None:
        raise ConfigurationError(
            f"{address!r} is not a USB address",
            hint="Write usb:<vendor id>:<product id>[:<serial>][@backend], e.g. usb:0x2457:0x101e",
        )
    return (
        int(match["vid"], 16),
        int(match["pid"], 16),
        match["serial"],
        match["backend"],
    )


def resolve_usb_backend(backend: Any) -> Any:
    """A pyusb backend object from a name, a ``module:function`` path or an object (None: default)."""
    if backend is None or not isinstance(backend, str):
        return backend
    if backend in _BUILTIN_BACKENDS:
        module = importlib.import_module(f"usb.backend.{backend}")
        found = module.get_backend()
        if found is None:
            raise ConfigurationError(
                f"the pyusb backend {backend!r} found no usable library",
                hint="Install libusb (Debian: apt-get install libusb-1.0-0)",
            )
        return found
    if ":" in backend:
        module_name, _, attribute = backend.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(
                f"the USB backend {backend!r} cannot be imported ({error})",
                hint="Name a function returning a usb.backend.IBackend as module:function",
            ) from None
        return factory()
    from importlib.metadata import entry_points

    for point in entry_points(group="labkit.usb_backends"):
        if point.name == backend:
            return point.load()()
    known = [*_BUILTIN_BACKENDS, *(p.name for p in entry_points(group="labkit.usb_backends"))]
    raise ConfigurationError(
        f"no USB backend is called {backend!r}",
        hint=f"Use one of {', '.join(known)}, or module:function",
    )


class UsbTransport:
    """A link to one USB device through pyusb.

    ``interface`` is the interface number used; ``out_endpoint``/``in_endpoint`` the bulk
    endpoints of the message face (default: the interface's first bulk OUT and IN).
    ``timeout`` is in seconds.
    """

    def __init__(
        self,
        resource: str,
        *,
        timeout: float = 2.0,
        backend: Any = None,
        configuration: int | None = None,
        interface: int = 0,
        out_endpoint: int | None = None,
        in_endpoint: int | None = None,
        read_termination: str = "\n",
        write_termination: str = "\n",
        encoding: str = "ascii",
        chunk_size: int = 512,
    ) -> None:
        vendor, product, serial, inline = parse_usb_address(resource)
        if inline is not None and backend is not None and inline != backend:
            raise ConfigurationError(
                f"{resource}: the address names backend @{inline} but backend={backend!r} "
                "was also given",
                hint="Give the backend once, in the address or as backend=",
            )
        self.resource = resource
        self.vendor_id = vendor
        self.product_id = product
        self.serial_number = serial
        self.backend_spec = backend if backend is not None else inline
        self.timeout = float(timeout)
        self.configuration = configuration
        self.interface = interface
        self.out_endpoint = out_endpoint
        self.in_endpoint = in_endpoint
        self.read_termination = read_termination
        self.write_termination = write_termination
        self.encoding = encoding
        self.chunk_size = int(chunk_size)
        self._device: Any = None
        self._buffer = bytearray()
        self._last_command: str | None = None
        self.open()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._device is not None

    @property
    def device(self) -> Any:
        """The ``usb.core.Device`` (for descriptors); None while closed."""
        return self._device

    def _describe(self) -> str:
        serial = f" with serial number {self.serial_number}" if self.serial_number else ""
        return f"USB device {self.vendor_id:04x}:{self.product_id:04x}{serial}"

    def open(self) -> None:
        if self.is_open:
            return
        import usb.core
        import usb.util

        backend = resolve_usb_backend(self.backend_spec)

        def wanted(device: Any) -> bool:
            if self.serial_number is None:
                return True
            try:
                return device.serial_number == self.serial_number
            except (usb.core.USBError, ValueError):
                return False

        try:
            device = usb.core.find(
                idVendor=self.vendor_id,
                idProduct=self.product_id,
                custom_match=wanted,
                backend=backend,
            )
        except usb.core.NoBackendError:
            raise ConfigurationError(
                f"{self.resource}: pyusb found no USB library",
                hint="Install libusb (Debian: apt-get install libusb-1.0-0), or append @labkit "
                "to the address for a simulated device",
            ) from None
        if device is None:
            raise ConnectionLost(
                f"no {self._describe()} is connected",
                resource=self.resource,
                hint="Check the cable and the ids (lsusb lists them)",
            )
        try:
            try:
                if device.is_kernel_driver_active(self.interface):
                    device.detach_kernel_driver(self.interface)  # e.g. Linux's usbtmc module
            except (NotImplementedError, usb.core.USBError):
                pass  # not every platform or backend has kernel drivers to detach
            if self.configuration is not None:
                device.set_configuration(self.configuration)
            else:
                try:
                    active = device.get_active_configuration()
                except usb.core.USBError:
                    active = None
                if active is None:
                    device.set_configuration()
            setting = device.get_active_configuration()[(self.interface, 0)]
        except usb.core.USBError as error:
            usb.util.dispose_resources(device)
            raise self._error(error, "opening") from None
        except (KeyError, IndexError):
            usb.util.dispose_resources(device)
            raise ConfigurationError(
                f"{self.resource}: the device has no interface {self.interface}",
                hint="Choose the interface= the instrument's manual names",
            ) from None
        self._endpoints = {int(ep.bEndpointAddress): ep for ep in setting}
        if self.out_endpoint is None:
            self.out_endpoint = self._first_bulk(setting, inbound=False)
        if self.in_endpoint is None:
            self.in_endpoint = self._first_bulk(setting, inbound=True)
        self._buffer.clear()
        self._device = device

    @staticmethod
    def _first_bulk(setting: Any, *, inbound: bool) -> int | None:
        for endpoint in setting:
            address = int(endpoint.bEndpointAddress)
            is_bulk = int(endpoint.bmAttributes) & 0x3 == 0x2
            if is_bulk and bool(address & 0x80) == inbound:
                return address
        return None

    def close(self) -> None:
        device, self._device = self._device, None
        self._buffer.clear()
        if device is not None:
            import usb.util

            try:
                usb.util.dispose_resources(device)
            except Exception:
                pass  # a vanished device cannot be released; nothing is left to free

    # -- endpoint transfers ---------------------------------------------------------------

    def bulk_write(self, endpoint: int, data: bytes, timeout: float | None = None) -> int:
        self._last_command = _describe_bytes(endpoint, data)
        return self._send(endpoint, data, timeout)

    def _send(self, endpoint: int, data: bytes, timeout: float | None = None) -> int:
        device = self._require_device()
        try:
            return int(device.write(endpoint, bytes(data), self._ms(timeout)))
        except Exception as error:
            self._recover_stall(error, endpoint)
            raise self._error(error, "writing", timeout=timeout) from None

    def bulk_read(self, endpoint: int, size: int, timeout: float | None = None) -> bytes:
        device = self._require_device()
        try:
            return bytes(device.read(endpoint, int(size), self._ms(timeout)))
        except Exception as error:
            self._recover_stall(error, endpoint)
            raise self._error(error, "reading", timeout=timeout) from None

    def _recover_stall(self, error: Exception, endpoint: int) -> None:
        """After a STALL, clear the halt so the next transfer works (the error still rises)."""
        if getattr(error, "errno", None) == errno.EPIPE and self._device is not None:
            try:
                self._device.clear_halt(endpoint)
            except Exception:
                pass

    def control_transfer(
        self,
        request_type: int,
        request: int,
        value: int = 0,
        index: int = 0,
        data_or_length: bytes | int | None = None,
        timeout: float | None = None,
    ) -> bytes | int:
        self._last_command = f"control {request_type:#04x} {request:#04x} {value:#06x} {index:#06x}"
        device = self._require_device()
        try:
            result = device.ctrl_transfer(
                request_type, request, value, index, data_or_length, self._ms(timeout)
            )
        except Exception as error:
            raise self._error(error, "in a control transfer", timeout=timeout) from None
        return result if isinstance(result, int) else bytes(result)

    def _ms(self, timeout: float | None) -> int:
        seconds = self.timeout if timeout is None else timeout
        return max(1, round(seconds * 1000))

    # -- the message face -----------------------------------------------------------------

    def _message_endpoint(self, inbound: bool) -> int:
        endpoint = self.in_endpoint if inbound else self.out_endpoint
        if endpoint is None:
            raise ConfigurationError(
                f"{self.resource}: interface {self.interface} has no bulk "
                f"{'IN' if inbound else 'OUT'} endpoint for messages",
                hint="Name it with in_endpoint=/out_endpoint=",
            )
        return endpoint

    def write(self, message: str) -> None:
        self._last_command = message
        data = (message + self.write_termination).encode(self.encoding)
        self._send(self._message_endpoint(inbound=False), data)

    def read(self) -> str:
        terminator = self.read_termination.encode(self.encoding)
        if not terminator:
            raise ConfigurationError(
                f"{self.resource}: reading a message needs a read termination",
                hint="Set read_termination=, or read raw bytes",
            )
        deadline = time.monotonic() + self.timeout
        while terminator not in self._buffer:
            self._fill(deadline)
        message, _, rest = bytes(self._buffer).partition(terminator)
        self._buffer[:] = rest
        return message.decode(self.encoding, "replace")

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def write_bytes(self, data: bytes) -> None:
        self.bulk_write(self._message_endpoint(inbound=False), data)

    def read_bytes(self, size: int) -> bytes:
        deadline = time.monotonic() + self.timeout
        while len(self._buffer) < size:
            self._fill(deadline, expected=size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _fill(self, deadline: float, expected: int | None = None) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out(expected)
        endpoint = self._message_endpoint(inbound=True)
        try:
            self._buffer += self.bulk_read(endpoint, self.chunk_size, timeout=remaining)
        except InstrumentTimeout:
            raise self._timed_out(expected) from None

    def clear(self) -> None:
        """Drop buffered input and drain what the device still has queued."""
        import usb.core

        device = self._require_device()
        self._buffer.clear()
        endpoint = self.in_endpoint
        if endpoint is None:
            return
        try:
            device.clear_halt(endpoint)
            for _ in range(_DRAIN_LIMIT):
                if not device.read(endpoint, self.chunk_size, 1):
                    break
        except usb.core.USBTimeoutError:
            pass
        except Exception as error:
            raise self._error(error, "clearing") from None

    # -- errors ---------------------------------------------------------------------------

    def _require_device(self) -> Any:
        if self._device is None:
            raise ConnectionLost(
                f"the link to the {self._describe()} is closed",
                resource=self.resource,
                command=self._last_command,
                hint="Reconnect the instrument",
            )
        return self._device

    def _timed_out(self, expected: int | None) -> InstrumentTimeout:
        got = len(self._buffer)
        what = (
            "no complete reply"
            if expected is None
            else f"only {got} of {expected} bytes"
            if got
            else f"none of {expected} bytes"
        )
        return InstrumentTimeout(
            f"{what} within {self.timeout:g} s",
            resource=self.resource,
            command=self._last_command,
            hint="Check that the instrument is on and the termination, or raise the timeout",
        )

    def _error(self, error: Exception, doing: str, timeout: float | None = None) -> InstrumentError:
        import usb.core

        if isinstance(error, usb.core.USBTimeoutError):
            seconds = self.timeout if timeout is None else timeout
            return InstrumentTimeout(
                f"the USB transfer timed out {doing} (after {seconds:g} s)",
                resource=self.resource,
                command=self._last_command,
                hint="Check that the instrument is on, or raise the timeout",
            )
        number = getattr(error, "errno", None)
        if isinstance(error, usb.core.USBError) and number in _LOST_ERRNOS:
            return ConnectionLost(
                f"the {self._describe()} is gone ({error.strerror or error})",
                resource=self.resource,
                command=self._last_command,
            )
        if isinstance(error, usb.core.USBError) and number == errno.EPIPE:
            return InstrumentError(
                f"the device stalled the endpoint {doing}: it refused the request",
                resource=self.resource,
                command=self._last_command,
                code=number,
                hint="Check the command against the instrument's protocol",
            )
        if isinstance(error, usb.core.USBError) and number == errno.EACCES:
            return ConnectionLost(
                f"no permission to use the {self._describe()}",
                resource=self.resource,
                hint="Add a udev rule for the device, or run with the rights to use it",
            )
        if isinstance(error, ValueError):
            return InstrumentError(
                f"USB error {doing}: {error}",
                resource=self.resource,
                command=self._last_command,
                hint="Check the endpoint address against the device's descriptors",
            )
        return InstrumentError(
            f"USB error {doing}: {error}",
            resource=self.resource,
            command=self._last_command,
            code=number,
        )

    def __repr__(self) -> str:
        return f"<UsbTransport {self._describe()}>"


def _describe_bytes(endpoint: int, data: bytes) -> str:
    """What a bulk write sent, short enough for an error message: ``"EP 0x01: 05 11"``."""
    shown = bytes(data[:8]).hex(" ")
    more = " …" if len(data) > 8 else ""
    return f"EP {endpoint:#04x}: {shown}{more}"
