"""VISA instruments through pyvisa: GPIB, LAN (VXI-11, HiSLIP, sockets), USB-TMC and ASRL.

The address is a VISA resource name, optionally followed by ``@`` and a pyvisa backend spec:
``GPIB0::24::INSTR`` (pyvisa's default library), ``TCPIP::192.168.1.5::INSTR@py``
(pyvisa-py), ``GPIB0::8::INSTR@/path/devices.yaml@sim`` (a pyvisa-sim file),
``TCPIP::smu::INSTR@labkit`` (labkit's own simulators). VISA resource names never contain
``@``, so everything after the first ``@`` is the backend spec; ``backend=`` says the same
as an option. Without either, pyvisa's default applies (``PYVISA_LIBRARY``, then IVI, then
pyvisa-py).

pyvisa's errors become labkit errors naming the resource and the command: a timeout is an
``InstrumentTimeout``, a lost or absent device a ``ConnectionLost``, a missing VISA library a
``MissingVendorLibrary``, anything else an ``InstrumentError`` carrying the VISA status code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from labkit.core import (
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    MissingVendorLibrary,
)
from labkit.transports._address import split_backend

__all__ = ["VisaTransport"]

_PARITY = ("none", "odd", "even", "mark", "space")
_FLOW = {"none": 0, "xonxoff": 1, "rtscts": 2, "dsrdtr": 4}
_STOP_BITS = {1: 10, 1.5: 15, 2: 20}
_SERIAL_OPTIONS = ("baud_rate", "data_bits", "parity", "stop_bits", "flow_control")
# VISA status codes (VPP-4.3) that mean the device is gone rather than slow or unhappy.
_LOST = {
    -1073807343: "the resource is not present",  # VI_ERROR_RSRC_NFOUND
    -1073807194: "the connection was lost",  # VI_ERROR_CONN_LOST
    -1073807265: "no listeners on the bus (is the device on and addressed right?)",  # NLISTENERS
    -1073807346: "the session is closed",  # VI_ERROR_INV_OBJECT
    -1073807298: "an I/O error occurred on the link",  # VI_ERROR_IO
    -1073807342: "the resource name is invalid",  # VI_ERROR_INV_RSRC_NAME
}
_TIMEOUT = -1073807339  # VI_ERROR_TMO


class VisaTransport:
    """A message link to one VISA resource, opened through pyvisa.

    ``timeout`` is in seconds. Serial settings (``baud_rate``, ``data_bits``, ``parity``,
    ``stop_bits``, ``flow_control``) apply to ``ASRL`` resources only. ``chunk_size`` is
    pyvisa's read size; ``query_delay`` a pause between a query's write and its read;
    ``send_end`` whether writes assert END (left as the session has it when not given).
    """

    OPTION_CHOICES: ClassVar[dict[str, Any]] = {
        "parity": _PARITY,
        "flow_control": tuple(_FLOW),
        "stop_bits": tuple(_STOP_BITS),
    }

    @staticmethod
    def check_options(resource: str, options: Mapping[str, Any]) -> None:
        """Serial settings only make sense on a serial port (``ASRL``) resource."""
        serial = sorted(k for k in _SERIAL_OPTIONS if options.get(k) is not None)
        name, _ = split_backend(resource)
        if serial and not name.upper().startswith("ASRL"):
            raise ConfigurationError(
                f"{resource}: serial options ({', '.join(serial)}) only apply to ASRL resources",
                setting=serial[0],
                hint="Remove them, or use the ASRL resource of the serial port",
            )

    def __init__(
        self,
        resource: str,
        *,
        timeout: float = 2.0,
        backend: str | None = None,
        read_termination: str = "\n",
        write_termination: str = "\n",
        encoding: str = "ascii",
        baud_rate: int | None = None,
        data_bits: int | None = None,
        parity: str | None = None,
        stop_bits: float | None = None,
        flow_control: str | None = None,
        chunk_size: int | None = None,
        query_delay: float = 0.0,
        send_end: bool | None = None,
    ) -> None:
        name, inline = split_backend(resource)
        if inline is not None and backend is not None and inline != backend:
            raise ConfigurationError(
                f"{resource}: the address names backend @{inline} but backend={backend!r} "
                "was also given",
                hint="Give the backend once, in the address or as backend=",
            )
        self.resource = resource
        self.resource_name = name
        self.backend = backend if backend is not None else inline
        self._timeout = float(timeout)
        self.read_termination = read_termination
        self.write_termination = write_termination
        self.encoding = encoding
        self.chunk_size = chunk_size
        self.query_delay = float(query_delay)
        self.send_end = send_end
        self._serial: dict[str, Any] = {  # option -> value of its own type
            key: value
            for key, value in {
                "baud_rate": baud_rate,
                "data_bits": data_bits,
                "parity": parity,
                "stop_bits": stop_bits,
                "flow_control": flow_control,
            }.items()
            if value is not None
        }
        if parity is not None and parity not in _PARITY:
            raise ConfigurationError(
                f"{resource}: parity {parity!r} is not one of {', '.join(_PARITY)}",
                hint="Fix the transport options",
            )
        if flow_control is not None and flow_control not in _FLOW:
            raise ConfigurationError(
                f"{resource}: flow_control {flow_control!r} is not one of {', '.join(_FLOW)}",
                hint="Fix the transport options",
            )
        if stop_bits is not None and stop_bits not in _STOP_BITS:
            raise ConfigurationError(
                f"{resource}: stop_bits {stop_bits!r} must be 1, 1.5 or 2",
                hint="Fix the transport options",
            )
        self._resource: Any = None
        self._last_command: str | None = None
        self.open()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._resource is not None

    def _resource_manager(self) -> Any:
        import pyvisa

        spec = "" if self.backend is None else f"@{self.backend}"
        if self.backend is not None and "@" in self.backend:
            spec = self.backend  # a path with its own backend: "/x/devices.yaml@sim"
        try:
            return pyvisa.ResourceManager(spec)
        except ValueError as error:
            # pyvisa says "Wrapper not found: No package named pyvisa_<name>"
            backend = self.backend or "default"
            raise ConfigurationError(
                f"{self.resource}: the VISA backend {backend!r} is not available ({error})",
                hint="Install it (pip install pyvisa-py for @py, pyvisa-sim for @sim) "
                "or use another backend",
            ) from None
        except OSError as error:
            raise MissingVendorLibrary(
                f"{self.resource}: no VISA library could be loaded ({error})",
                hint="Install a VISA implementation (NI-VISA, Keysight IO) or use the "
                "pure-Python backend: append @py to the address (pip install pyvisa-py)",
            ) from None

    def open(self) -> None:
        if self.is_open:
            return
        import pyvisa

        manager = self._resource_manager()
        try:
            resource = manager.open_resource(self.resource_name)
        except pyvisa.errors.VisaIOError as error:
            raise self._error(error, opening=True) from None
        except ValueError as error:
            raise ConfigurationError(
                f"{self.resource}: {error}", hint="Check the VISA resource name"
            ) from None
        try:
            self._configure(resource)
        except Exception:
            try:
                resource.close()
            except Exception:
                pass
            raise
        self._resource = resource

    @property
    def timeout(self) -> float:
        """Seconds a reply may take; a change applies to the open session at once (a driver
        lengthens it around a measurement it knows is long)."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = float(seconds)
        if self._resource is not None:
            self._resource.timeout = self._timeout * 1000.0

    def _configure(self, resource: Any) -> None:
        import pyvisa

        if not hasattr(resource, "read_termination"):
            raise ConfigurationError(
                f"{self.resource} is not a message-based VISA resource",
                hint="labkit talks to INSTR and SOCKET resources",
            )
        resource.timeout = self.timeout * 1000.0
        resource.read_termination = self.read_termination or None
        resource.write_termination = self.write_termination
        resource.encoding = self.encoding
        if self.send_end is not None:  # raw sockets have no END to configure
            resource.send_end = self.send_end
        if self.chunk_size is not None:
            resource.chunk_size = int(self.chunk_size)
        if self._serial and not isinstance(resource, pyvisa.resources.SerialInstrument):
            raise ConfigurationError(
                f"{self.resource}: serial options ({', '.join(self._serial)}) only apply to "
                "ASRL resources",
                hint="Remove them, or use the ASRL resource of the serial port",
            )
        constants = pyvisa.constants
        for key, value in self._serial.items():
            if key == "parity":
                value = constants.Parity[value]
            elif key == "stop_bits":
                value = constants.StopBits(_STOP_BITS[value])
            elif key == "flow_control":
                value = constants.ControlFlow(_FLOW[value])
            setattr(resource, key, value)

    def close(self) -> None:
        resource, self._resource = self._resource, None
        if resource is not None:
            try:
                resource.close()
            except Exception:
                pass  # closing a session whose device vanished must not hide the first error

    # -- messages -------------------------------------------------------------------------

    def write(self, message: str) -> None:
        self._last_command = message
        self._call("write", message)

    def read(self) -> str:
        return self._call("read")

    def query(self, message: str) -> str:
        self.write(message)
        if self.query_delay:
            import time

            time.sleep(self.query_delay)
        return self.read()

    def write_bytes(self, data: bytes) -> None:
        self._call("write_raw", bytes(data))

    def read_bytes(self, size: int) -> bytes:
        """Exactly ``size`` bytes, whatever they contain (the termination is not special)."""
        return bytes(self._call("read_bytes", size))

    def clear(self) -> None:
        """VISA device clear: the instrument and the session drop pending input and output."""
        self._call("clear")

    def _call(self, method: str, *args: Any) -> Any:
        import pyvisa

        resource = self._resource
        if resource is None:
            raise ConnectionLost(
                "the VISA session is closed",
                resource=self.resource,
                command=self._last_command,
                hint="Reconnect the instrument",
            )
        try:
            return getattr(resource, method)(*args)
        except pyvisa.errors.VisaIOError as error:
            raise self._error(error) from None
        except pyvisa.errors.InvalidSession:
            raise ConnectionLost(
                "the VISA session is no longer valid",
                resource=self.resource,
                command=self._last_command,
            ) from None
        except UnicodeDecodeError as error:
            raise InstrumentError(
                f"the reply is not {self.encoding} text ({error.reason} at byte {error.start})",
                resource=self.resource,
                command=self._last_command,
                hint="Check the termination and the encoding, or read raw bytes",
            ) from None

    def _error(self, error: Any, *, opening: bool = False) -> InstrumentError:
        code = int(error.error_code)
        if code == _TIMEOUT and not opening:
            return InstrumentTimeout(
                f"no complete reply within {self.timeout:g} s",
                resource=self.resource,
                command=self._last_command,
                code=code,
                hint="Check the address, the termination and that the instrument is on, "
                "or raise the timeout",
            )
        if code in _LOST or opening:
            why = _LOST.get(code, error.description)
            return ConnectionLost(
                f"cannot open the VISA resource: {why}" if opening else f"VISA: {why}",
                resource=self.resource,
                command=None if opening else self._last_command,
                code=code,
                # At I/O time the instrument adds how to reconnect.
                hint="Check the cable, the address and that the instrument is on"
                if opening
                else None,
            )
        return InstrumentError(
            f"VISA error {error.abbreviation}: {error.description}",
            resource=self.resource,
            command=self._last_command,
            code=code,
        )

    def __repr__(self) -> str:
        backend = f" @{self.backend}" if self.backend else ""
        return f"<VisaTransport {self.resource_name}{backend}>"
