"""The Transport protocol: what a driver needs from the link to its instrument.

Concrete transports (pyvisa, pyserial, pyusb) live in ``labkit.transports`` and are picked from
the resource address; drivers only see this protocol. Transports raise labkit errors
(``InstrumentTimeout``, ``ConnectionLost``) that name the resource and the command.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """A message- and byte-level link to one instrument."""

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
