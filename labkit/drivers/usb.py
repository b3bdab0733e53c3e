"""Instruments with binary protocols on USB endpoints (a spectrometer, a camera's control).

A driver subclasses :class:`UsbInstrument` and talks to endpoints by number::

    class Spectrometer(UsbInstrument):
        def _get_temperature(self):
            self.bulk_write(0x01, b"\\x6c")
            reply = self.bulk_read(0x81, 3)
            ...

The link comes from the address (``usb:0x2457:0x101e[:serial][@backend]``); connecting
anything but a USB link is refused. Transfers run on the instrument's worker thread and
raise labkit errors naming the instrument, the resource and the transfer.
"""

from __future__ import annotations

from typing import Any

from labkit.core import ConfigurationError, MessageInstrument, UsbLink

__all__ = ["UsbInstrument"]


class UsbInstrument(MessageInstrument):
    """An instrument reached through USB bulk and control transfers (and, for message-based
    devices, the message I/O of :class:`~labkit.core.MessageInstrument`)."""

    @property
    def usb(self) -> UsbLink:
        """The USB link (the same object as :attr:`link`)."""
        return self.link

    def _on_open(self) -> None:
        if not isinstance(self.link, UsbLink):
            raise ConfigurationError(
                f"{type(self).__name__} talks to USB endpoints, but {self.resource} is not a "
                "USB address",
                instrument=self.name,
                hint="Use usb:<vendor id>:<product id>[:<serial>], e.g. usb:0x2457:0x101e",
            )

    def bulk_write(self, endpoint: int, data: bytes, timeout: float | None = None) -> int:
        """Send ``data`` to a bulk OUT endpoint (raw data: where guards are in force, only
        inside :meth:`raw_access`)."""
        if not self.worker.on_worker():
            self.check_message(bytes(data))
        return self.run_io(lambda: self.usb.bulk_write(endpoint, bytes(data), timeout))

    def bulk_read(self, endpoint: int, size: int, timeout: float | None = None) -> bytes:
        """One bulk IN transfer of at most ``size`` bytes."""
        return self.run_io(lambda: self.usb.bulk_read(endpoint, size, timeout))

    def control_transfer(
        self,
        request_type: int,
        request: int,
        value: int = 0,
        index: int = 0,
        data_or_length: Any = None,
        timeout: float | None = None,
    ) -> bytes | int:
        """A control transfer on endpoint 0 (vendor requests). A host-to-device one is raw
        data: where guards are in force, only inside :meth:`raw_access`."""
        if not request_type & 0x80 and not self.worker.on_worker():
            self.check_message(bytes(data_or_length or b""))
        return self.run_io(
            lambda: self.usb.control_transfer(
                request_type, request, value, index, data_or_length, timeout
            )
        )
