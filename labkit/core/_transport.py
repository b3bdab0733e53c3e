"""The Transport protocol: what a driver needs from the link to its instrument.

Concrete transports (pyvisa, pyserial, pyusb) live in ``labkit.transports`` and are picked from
the resource address; drivers only see this protocol. Transports raise labkit errors
(``InstrumentTimeout``, ``ConnectionLost``) that name the resource and the command.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from labkit.core._link import Link

__all__ = ["Transport", "UsbLink"]


@runtime_checkable
class Transport(Link, Protocol):
    """A message- and byte-level link to one instrument (the link of a ``MessageInstrument``)."""

    resource: str
    """The address this transport was opened from (``GPIB0::24::INSTR``, ``labsim://tc``...)."""

    timeout: float
    """Seconds to wait for a reply before raising ``InstrumentTimeout``."""

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """(Re)open the link; used to reconnect after a disconnect."""

    def close(self) -> None: ...

    def write(self, message: str) -> None:
        """Send ``message`` followed by the write termination."""

    def read(self) -> str:
        """Read one message up to the read termination, which is stripped."""

    def query(self, message: str) -> str:
        """Write ``message`` and read the reply."""

    def write_bytes(self, data: bytes) -> None:
        """Send raw bytes, no termination added."""

    def read_bytes(self, size: int) -> bytes:
        """Read exactly ``size`` raw bytes."""

    def clear(self) -> None:
        """Discard anything waiting to be read (a late reply after a timeout)."""


@runtime_checkable
class UsbLink(Transport, Protocol):
    """A USB link: the message face of :class:`Transport` plus endpoint-level transfers.

    ``labkit.transports.UsbTransport`` (pyusb) is the one labkit opens from ``usb:`` addresses.

    Binary USB protocols (a spectrometer's command bytes, spectra on a second endpoint) need to
    name the endpoint of each transfer; message-based devices use the ``Transport`` face, which
    goes to the default bulk OUT/IN endpoints. Timeouts are in seconds; ``None`` uses
    ``timeout``.
    """

    def bulk_write(self, endpoint: int, data: bytes, timeout: float | None = None) -> int:
        """Send ``data`` to a bulk OUT endpoint; returns the number of bytes sent."""

    def bulk_read(self, endpoint: int, size: int, timeout: float | None = None) -> bytes:
        """One bulk IN transfer of at most ``size`` bytes (it may end early, on a short packet)."""

    def control_transfer(
        self,
        request_type: int,
        request: int,
        value: int = 0,
        index: int = 0,
        data_or_length: bytes | int | None = None,
        timeout: float | None = None,
    ) -> bytes | int:
        """A control transfer on endpoint 0: IN returns the bytes, OUT the count sent."""
