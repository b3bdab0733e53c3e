"""Serial instruments through pyserial: COM ports, /dev/tty* devices and pyserial URLs.

Terminations, timeouts and encodings are handled here so drivers exchange whole messages.
pyserial's exceptions become labkit errors naming the resource and the command: a reply that
does not complete in time is an ``InstrumentTimeout``, a vanished port a ``ConnectionLost``.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from labkit.core import ConfigurationError, ConnectionLost, InstrumentTimeout

_SIM_HANDLERS = "labkit.sim.serial_handlers"

__all__ = ["SerialTransport"]

_PARITY = {
    "none": "N",
    "even": "E",
    "odd": "O",
    "mark": "M",
    "space": "S",
    "N": "N",
    "E": "E",
    "O": "O",
    "M": "M",
    "S": "S",
}
_FLOW = ("none", "xonxoff", "rtscts", "dsrdtr")


class SerialTransport:
    """A message link over a serial port; option names follow pyvisa's (``baud_rate``...)."""

    OPTION_CHOICES: ClassVar[dict[str, Any]] = {
        "parity": tuple(_PARITY),
        "flow_control": _FLOW,
        "stop_bits": (1, 1.5, 2),
        "data_bits": (5, 6, 7, 8),
    }

    def __init__(
        self,
        resource: str,
        *,
        timeout: float = 2.0,
        baud_rate: int = 9600,
        data_bits: int = 8,
        parity: str = "none",
        stop_bits: float = 1,
        flow_control: str = "none",
        read_termination: str = "\n",
        write_termination: str = "\n",
        encoding: str = "ascii",
    ) -> None:
        if parity not in _PARITY:
            raise ConfigurationError(
                f"parity {parity!r} is not one of none, even, odd, mark, space",
                hint=f"Fix the options of {resource}",
            )
        if flow_control not in _FLOW:
            raise ConfigurationError(
                f"flow_control {flow_control!r} is not one of {_FLOW}",
                hint=f"Fix the options of {resource}",
            )
        self.resource = resource
        self.timeout = float(timeout)
        self.baud_rate = int(baud_rate)
        self.data_bits = int(data_bits)
        self.parity = _PARITY[parity]
        self.stop_bits = stop_bits
        self.flow_control = flow_control
        self.read_termination = read_termination
        self.write_termination = write_termination
        self.encoding = encoding
        self._port: Any = None
        self._last_command: str | None = None
        self.open()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def open(self) -> None:
        import serial

        # labkit's simulators answer pyserial URLs (``labsim://name``) through pyserial's own
        # protocol-handler lookup, which searches packages by name.
        if _SIM_HANDLERS not in serial.protocol_handler_packages:
            serial.protocol_handler_packages.append(_SIM_HANDLERS)

        if self.is_open:
            return
        try:
            self._port = serial.serial_for_url(
                self.resource,
                baudrate=self.baud_rate,
                bytesize=self.data_bits,
                parity=self.parity,
                stopbits=self.stop_bits,
                timeout=self.timeout,
                write_timeout=self.timeout,
                xonxoff=self.flow_control == "xonxoff",
                rtscts=self.flow_control == "rtscts",
                dsrdtr=self.flow_control == "dsrdtr",
            )
        except ValueError as error:
            raise ConfigurationError(
                f"{self.resource}: {error}", hint="Check the port name or URL"
            ) from None
        except (serial.SerialException, OSError) as error:
            raise ConnectionLost(
                f"cannot open the serial port: {error}",
                resource=self.resource,
                hint="Check the cable, the port name and that no other program holds the port",
            ) from None

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None

    # -- messages -------------------------------------------------------------------------

    def write(self, message: str) -> None:
        self._last_command = message
        self.write_bytes((message + self.write_termination).encode(self.encoding))

    def read(self) -> str:
        terminator = self.read_termination.encode(self.encoding)
        data = self._read_until(terminator)
        text = data[: -len(terminator)] if terminator else data
        try:
            return text.decode(self.encoding)
        except UnicodeDecodeError:
            return text.decode(self.encoding, "replace")

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def _read_until(self, terminator: bytes) -> bytes:
        port = self._require_port()
        deadline = time.monotonic() + self.timeout
        data = bytearray()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                port.timeout = remaining
                chunk = port.read_until(terminator) if terminator else port.read(1)
                data += chunk
                if terminator and data.endswith(terminator):
                    return bytes(data)
                if not chunk:
                    break
        except Exception as error:
            raise self._lost(error) from None
        raise self._timed_out(bytes(data))

    # -- bytes ----------------------------------------------------------------------------

    def write_bytes(self, data: bytes) -> None:
        port = self._require_port()
        try:
            port.write(data)
            port.flush()
        except Exception as error:
            if type(error).__name__ == "SerialTimeoutException":
                raise InstrumentTimeout(
                    f"writing took longer than {self.timeout} s",
                    resource=self.resource,
                    command=self._last_command,
                ) from None
            raise self._lost(error) from None

    def read_bytes(self, size: int) -> bytes:
        port = self._require_port()
        deadline = time.monotonic() + self.timeout
        data = bytearray()
        try:
            while len(data) < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                port.timeout = remaining
                chunk = port.read(size - len(data))
                if not chunk:
                    break
                data += chunk
        except Exception as error:
            raise self._lost(error) from None
        if len(data) < size:
            raise self._timed_out(bytes(data), expected=size)
        return bytes(data)

    def clear(self) -> None:
        port = self._require_port()
        try:
            port.reset_input_buffer()
        except Exception as error:
            raise self._lost(error) from None

    # -- errors ---------------------------------------------------------------------------

    def _require_port(self) -> Any:
        if not self.is_open:
            raise ConnectionLost(
                "the serial port is closed",
                resource=self.resource,
                command=self._last_command,
                hint="Reconnect the instrument",
            )
        return self._port

    def _lost(self, error: Exception) -> ConnectionLost:
        return ConnectionLost(
            f"the serial link failed: {error}", resource=self.resource, command=self._last_command
        )

    def _timed_out(self, partial: bytes, expected: int | None = None) -> InstrumentTimeout:
        got = f"; {len(partial)} bytes arrived ({partial[:40]!r})" if partial else ""
        wanted = f"{expected} bytes" if expected is not None else "no complete reply"
        if expected is not None:
            wanted = (
                f"only {len(partial)} of {expected} bytes"
                if partial
                else f"none of {expected} bytes"
            )
        return InstrumentTimeout(
            f"{wanted} within {self.timeout:g} s{got if expected is None else ''}",
            resource=self.resource,
            command=self._last_command,
            hint="Check the cable, the baud rate and the termination, or raise the timeout",
        )

    def __repr__(self) -> str:
        return f"<SerialTransport {self.resource} {self.baud_rate} baud>"
