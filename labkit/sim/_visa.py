"""A pyvisa backend serving labkit's virtual instruments: ``pyvisa.ResourceManager("@labkit")``.

pyvisa resolves a backend spec ``@labkit`` by importing the top-level module ``pyvisa_labkit``
(shipped with labkit, see ``pyproject.toml``) and instantiating its ``WRAPPER_CLASS``, this
:class:`LabkitVisaLibrary`. Everything above it is pyvisa's own code: its resource classes
(``GPIBInstrument``, ``TCPIPInstrument``, ``SerialInstrument``...), terminations, chunked
reads, binary-value parsing, timeouts. The driver cannot tell it from a lab's NI-VISA.

Resource names reach served instruments (``labkit.sim.serve``) in two ways: the host of a
``TCPIP`` resource and the board of an ``ASRL`` resource is the served name
(``TCPIP::smu::INSTR``, ``ASRLtc::INSTR``); and every alias given to ``serve(..., visa=...)``
(``GPIB0::24::INSTR``) reaches its instrument. Reads end where VISA ends them: at the end of a
reply (the END a GPIB, USB-TMC or VXI-11 device asserts; not on serial), at the termination
character when enabled, or at the requested count. A pulled cable (``faults.inject
("disconnect")``) is ``VI_ERROR_CONN_LOST`` on I/O and ``VI_ERROR_RSRC_NFOUND`` on open.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from pyvisa import attributes, constants, errors, highlevel, rname
from pyvisa.typing import VISARMSession, VISASession
from pyvisa.util import LibraryPath

from labkit.sim._served import find_visa, served, visa_aliases
from labkit.sim._virtual import Connection, SimulatedDisconnect

__all__ = ["WRAPPER_CLASS", "LabkitVisaLibrary"]

RA = constants.ResourceAttribute
_INFINITE = constants.VI_TMO_INFINITE
_PARITY = {
    constants.Parity.none: "N",
    constants.Parity.odd: "O",
    constants.Parity.even: "E",
    constants.Parity.mark: "M",
    constants.Parity.space: "S",
}
_STOP_BITS = {10: 1, 15: 1.5, 20: 2}


def _fail(code: int) -> errors.VisaIOError:
    return errors.VisaIOError(code)


class _Session:
    """One open VISA session: a byte stream to a virtual instrument plus VISA attributes."""

    def __init__(self, parsed: rname.ResourceName, connection: Connection) -> None:
        self.parsed = parsed
        self.connection = connection
        self.interface = parsed.interface_type_const
        self.serial = self.interface == constants.InterfaceType.asrl
        self.attrs: dict[int, Any] = {
            RA.resource_name: str(parsed),
            RA.resource_class: parsed.resource_class,
            RA.interface_type: parsed.interface_type_const,
        }
        if self.serial:
            self.configure_serial()

    def get(self, attribute: int) -> Any:
        if attribute in self.attrs:
            return self.attrs[attribute]
        known = attributes.AttributesByID.get(attribute)
        return None if known is None else known.default

    def configure_serial(self) -> None:
        parity = self.get(RA.asrl_parity)
        self.connection.configure(
            baudrate=int(self.get(RA.asrl_baud_rate) or 9600),
            bytesize=int(self.get(RA.asrl_data_bits) or 8),
            parity=_PARITY.get(constants.Parity(parity or 0), "N"),
            stopbits=_STOP_BITS.get(int(self.get(RA.asrl_stop_bits) or 10), 1),
        )


class LabkitVisaLibrary(highlevel.VisaLibraryBase):
    """pyvisa's view of labkit's served virtual instruments (``@labkit``)."""

    @staticmethod
    def get_library_paths() -> tuple[LibraryPath, ...]:
        return (LibraryPath("labkit"),)

    @staticmethod
    def get_debug_info() -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("labkit")
        except PackageNotFoundError:  # running from a source tree
            found = "unknown"
        return {"Version": found, "Serves": "labkit.sim virtual instruments"}

    def _init(self) -> None:
        self.sessions: dict[int, Any] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()

    def _register(self, obj: Any) -> int:
        with self._lock:
            session = next(self._ids)
            self.sessions[session] = obj
        return session

    def _session(self, session: int) -> _Session:
        found = self.sessions.get(session)
        if not isinstance(found, _Session):
            raise _fail(constants.StatusCode.error_invalid_object)
        return found

    # -- resource manager -----------------------------------------------------------------

    def open_default_resource_manager(self) -> tuple[VISARMSession, constants.StatusCode]:
        return VISARMSession(self._register(self)), constants.StatusCode.success

    def list_resources(self, session: int, query: str = "?*::INSTR") -> tuple[str, ...]:
        names = [
            f"TCPIP0::{name}::INSTR"
            for name, instrument in served().items()
            if hasattr(instrument, "connect")
        ]
        names += list(visa_aliases())
        return tuple(rname.filter(names, query))

    def open(
        self,
        session: int,
        resource_name: str,
        access_mode: constants.AccessModes = constants.AccessModes.no_lock,
        open_timeout: int = constants.VI_TMO_IMMEDIATE,
    ) -> tuple[VISASession, constants.StatusCode]:
        try:
            parsed = rname.parse_resource_name(resource_name)
        except rname.InvalidResourceName:
            raise _fail(constants.StatusCode.error_invalid_resource_name) from None
        instrument = self._lookup(parsed)
        if instrument is None:
            raise _fail(constants.StatusCode.error_resource_not_found)
        try:
            connection = instrument.connect()
        except SimulatedDisconnect:
            raise _fail(constants.StatusCode.error_resource_not_found) from None
        session_id = self._register(_Session(parsed, connection))
        return VISASession(session_id), constants.StatusCode.success

    @staticmethod
    def _lookup(parsed: rname.ResourceName) -> Any:
        def same(alias: str, name: str) -> bool:
            try:
                canonical = str(rname.parse_resource_name(alias))
            except rname.InvalidResourceName:
                return False
            return canonical.casefold() == name.casefold()

        found = find_visa(str(parsed), same)
        if found is not None:
            return found[1]
        key = getattr(parsed, "host_address", None)
        if key is None and parsed.interface_type_const == constants.InterfaceType.asrl:
            key = getattr(parsed, "board", None)
        instrument = served().get(str(key)) if key is not None else None
        return instrument if hasattr(instrument, "connect") else None

    def close(self, session: int) -> constants.StatusCode:
        with self._lock:
            found = self.sessions.pop(session, None)
        if found is None:
            return constants.StatusCode.error_invalid_object
        if isinstance(found, _Session):
            found.connection.close()
        return constants.StatusCode.success

    # -- attributes -----------------------------------------------------------------------

    def get_attribute(self, session: int, attribute: Any) -> tuple[Any, constants.StatusCode]:
        target = self.sessions.get(session)
        if target is None:
            return 0, constants.StatusCode.error_invalid_object
        if not isinstance(target, _Session):
            return 0, constants.StatusCode.error_nonsupported_attribute
        return target.get(attribute), constants.StatusCode.success

    def set_attribute(self, session: int, attribute: Any, state: Any) -> constants.StatusCode:
        target = self.sessions.get(session)
        if not isinstance(target, _Session):
            return constants.StatusCode.error_invalid_object
        target.attrs[attribute] = state
        if target.serial and attribute in (
            RA.asrl_baud_rate,
            RA.asrl_data_bits,
            RA.asrl_parity,
            RA.asrl_stop_bits,
        ):
            target.configure_serial()
        return constants.StatusCode.success

    # -- I/O ------------------------------------------------------------------------------

    def write(self, session: int, data: bytes) -> tuple[int, constants.StatusCode]:
        target = self._session(session)
        payload = bytes(data)
        instrument = target.connection.instrument
        ending = instrument.read_termination.encode(instrument.encoding)
        framed_by_end = not target.serial and target.get(RA.send_end_enabled)
        if framed_by_end and ending and not payload.endswith(ending):
            # GPIB, USB-TMC and VXI-11 frame messages by END: the instrument takes the
            # message at its end even when no termination character was sent.
            payload += ending
        try:
            target.connection.write(payload)
        except SimulatedDisconnect:
            raise _fail(constants.StatusCode.error_connection_lost) from None
        return len(data), constants.StatusCode.success

    def read(self, session: int, count: int) -> tuple[bytes, constants.StatusCode]:
        target = self._session(session)
        timeout_ms = target.get(RA.timeout_value)
        timeout = None if timeout_ms in (None, _INFINITE) else float(timeout_ms) / 1000.0
        deadline = None if timeout is None else time.monotonic() + timeout
        stop = None
        if target.get(RA.termchar_enabled):
            stop = bytes([int(target.get(RA.termchar)) & 0xFF])
        if target.serial:
            end_in = target.get(RA.asrl_end_in)
            if end_in == constants.SerialTermination.termination_char:
                stop = bytes([int(target.get(RA.termchar)) & 0xFF])
        honour_end = not target.serial and not target.get(RA.suppress_end_enabled)
        out = bytearray()
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                chunk, ended = target.connection.read_chunk(count - len(out), remaining, stop)
            except SimulatedDisconnect:
                raise _fail(constants.StatusCode.error_connection_lost) from None
            if not chunk:
                raise _fail(constants.StatusCode.error_timeout)
            out += chunk
            if stop is not None and out.endswith(stop):
                return bytes(out), constants.StatusCode.success_termination_character_read
            if ended and honour_end:
                return bytes(out), constants.StatusCode.success
            if len(out) >= count:
                return bytes(out), constants.StatusCode.success_max_count_read

    def clear(self, session: int) -> constants.StatusCode:
        target = self._session(session)
        target.connection.reset_input()
        target.connection.reset_output()
        return constants.StatusCode.success

    def flush(self, session: int, mask: Any) -> constants.StatusCode:
        self._session(session)
        return constants.StatusCode.success

    def assert_trigger(self, session: int, protocol: Any) -> constants.StatusCode:
        target = self._session(session)
        instrument = target.connection.instrument
        self.write(session, ("*TRG" + instrument.read_termination).encode(instrument.encoding))
        return constants.StatusCode.success

    def read_stb(self, session: int) -> tuple[int, constants.StatusCode]:
        self._session(session)
        return 0, constants.StatusCode.success

    def gpib_control_ren(self, session: int, mode: Any) -> constants.StatusCode:
        self._session(session)
        return constants.StatusCode.success

    def lock(
        self, session: int, lock_type: Any, timeout: int, requested_key: str | None = None
    ) -> tuple[str, constants.StatusCode]:
        self._session(session)
        # A shared lock asked without a key gets a new one (VISA's viLock); the key names the
        # session that made it.
        key = requested_key if requested_key is not None else f"labkit-sim-{session}"
        return key, constants.StatusCode.success

    def unlock(self, session: int) -> constants.StatusCode:
        self._session(session)
        return constants.StatusCode.success

    def enable_event(self, session: int, event_type: Any, mechanism: Any, context: Any = None):
        return constants.StatusCode.success

    def disable_event(self, session: int, event_type: Any, mechanism: Any):
        return constants.StatusCode.success

    def discard_events(self, session: int, event_type: Any, mechanism: Any):
        return constants.StatusCode.success


WRAPPER_CLASS = LabkitVisaLibrary
