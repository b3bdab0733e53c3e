"""``labsim://<name>``: a pyserial port wired to a served virtual instrument.

pyserial finds this module through ``serial.protocol_handler_packages``; ``serial_for_url``
then returns this class, and everything above it (labkit's serial transport, the driver) is
the real code path. Port settings are passed to the instrument, which garbles the line if they
differ from its own, as a real serial instrument at the wrong baud rate does.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from labkit.sim._served import find
from labkit.sim._virtual import Connection, SimulatedDisconnect

if TYPE_CHECKING:
    from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

__all__ = ["Serial"]


class Serial(SerialBase):
    """A serial port whose far end is a labkit virtual instrument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connection: Connection | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self.port is None:
            raise SerialException("Port must be configured before it can be used.")
        parts = urllib.parse.urlsplit(self.port)
        if parts.scheme != "labsim" or not parts.netloc:
            raise SerialException(f"expected labsim://<name>, got {self.port!r}")
        try:
            instrument = find(parts.netloc)
            self._connection = instrument.connect()
        except (LookupError, SimulatedDisconnect) as error:
            raise SerialException(str(error)) from None
        self.is_open = True
        self._reconfigure_port()

    def _reconfigure_port(self) -> None:
        if self._connection is not None:
            self._connection.configure(
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=self.stopbits,
                xonxoff=self.xonxoff,
                rtscts=self.rtscts,
                dsrdtr=self.dsrdtr,
            )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.is_open = False

    def _link(self) -> Connection:
        if not self.is_open or self._connection is None:
            raise PortNotOpenError()
        return self._connection

    @property
    def in_waiting(self) -> int:
        try:
            return self._link().in_waiting
        except SimulatedDisconnect as error:
            raise SerialException(str(error)) from None

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes within the port's timeout (pyserial's semantics)."""
        link = self._link()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        out = bytearray()
        try:
            while len(out) < size:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                chunk = link.read(size - len(out), remaining)
                if not chunk:
                    break
                out += chunk
        except SimulatedDisconnect as error:
            raise SerialException(str(error)) from None
        return bytes(out)

    def write(self, data: Buffer) -> int:
        try:
            return self._link().write(bytes(data))
        except SimulatedDisconnect as error:
            raise SerialException(str(error)) from None

    def reset_input_buffer(self) -> None:
        self._link().reset_input()

    def reset_output_buffer(self) -> None:
        self._link().reset_output()

    def flush(self) -> None:
        self._link()

    def send_break(self, duration: float = 0.25) -> None:
        self._link()

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True
