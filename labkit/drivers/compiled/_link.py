"""``PluginLink``: one device opened through a compiled plugin, with typed calls.

Values go in and come out in the declared kind (``labkit_value``); text crosses in buffers
labkit owns, grown once when the plugin says it needs more. A status other than ``LABKIT_OK``
becomes a typed labkit error carrying the plugin's name, the call, the plugin's message and the
device's own error code. A plugin that breaks the ABI's rules (an undefined status, a text
longer than its buffer, a name it declared but does not know) raises :class:`PluginFault`.

The link is called from the instrument's worker thread only, one call at a time, as the
header promises plugin authors; it keeps no lock of its own.
"""

from __future__ import annotations

import ctypes
import json
import warnings
from typing import Any

from labkit.core import (
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LabkitError,
    NotConnectedError,
    SettingTypeError,
)
from labkit.drivers.compiled import _abi
from labkit.drivers.compiled._errors import PluginFault
from labkit.drivers.compiled._schema import Declaration, Declarations, parse_declarations
from labkit.drivers.compiled._traits import make_traits

__all__ = ["PluginLink"]

_TEXT_START = 256  # bytes; grown to what the plugin asks for
_TEXT_MOST = 1 << 20  # a plugin asking for more than this is broken
_MESSAGE_SIZE = 1024

_HINTS = {
    _abi.ERROR_REFUSED: "The device refused it in its present state; its message says why",
    _abi.ERROR_TIMEOUT: "Check that the device is on and connected",
    _abi.ERROR_NO_DEVICE: "Check the resource string; the plugin's documentation gives its form",
    _abi.ERROR_BAD_RESOURCE: "Check the resource string; the plugin's documentation gives its form",
    _abi.ERROR_UNSUPPORTED: "This device or its firmware cannot do it",
}


class PluginLink:
    """An open (or openable) device behind a compiled plugin library.

    ``schema`` holds the library's declarations, or the device's own once it is open and the
    plugin offers ``describe``; :meth:`declarations` gives them to the instrument model.
    """

    writes = ("set", "action")
    """The calls that change the device (what ``labkit.testing.record`` records)."""

    def __init__(self, library: Any, resource: str, *, instrument: str | None = None) -> None:
        self.library = library
        self.resource = resource
        self.instrument = instrument
        self.schema: Declarations = library.declarations
        self._device = ctypes.c_void_p()
        self._kinds = _kinds(self.schema)
        self._names: dict[str, bytes] = {}
        self._cell = _abi.Value()  # one call at a time per device: one value cell suffices
        self._set = library.function("set")
        self._get = library.function("get")
        self._read = library.function("read")

    @property
    def plugin(self) -> str:
        return str(self.library.name)

    @property
    def is_open(self) -> bool:
        return bool(self._device.value)

    # ---------------------------------------------------------------------- lifecycle

    def open(self) -> None:
        """Open the device (nothing happens if it is open); read its own declarations."""
        if self.is_open:
            return
        if "\x00" in self.resource:
            raise InstrumentError(
                f"the resource {self.resource!r} contains a NUL character",
                resource=self.resource,
                instrument=self.instrument,
            )
        device = ctypes.c_void_p()
        status = self.library.function("open")(self.resource.encode("utf-8"), ctypes.byref(device))
        if status != _abi.OK:
            raise self._error(status, "open", None, device=None)
        if not device.value:
            raise PluginFault(
                f"the {self.plugin} plugin's open() returned LABKIT_OK but no device",
                resource=self.resource,
                command="open",
                instrument=self.instrument,
            )
        self._device = device
        try:
            if self.library.offers("describe"):
                text = self._text_call("describe", self.library.function("describe"))
                try:
                    self.schema = parse_declarations(text, plugin=self.plugin)
                except LabkitError as error:
                    error.message = f"the device's own declarations (describe): {error.message}"
                    raise
                self._kinds = _kinds(self.schema)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the device; the handle is gone even if the plugin reports a problem (a warning)."""
        if not self.is_open:
            return
        device, self._device = self._device, ctypes.c_void_p()
        status = self.library.function("close")(device)
        if status != _abi.OK:
            error = self._error(status, "close", None, device=None, message="")
            warnings.warn(f"closing {self.resource}: {error}", stacklevel=2)

    def declarations(self) -> list[tuple[str, Any]]:
        """The device's declarations as labkit traits (``(name, trait)`` in panel order), for
        :meth:`labkit.Instrument.device_declarations`; each reaches the device through the
        instrument's link (``instrument.link.set(name, value)``), so a recorder sees it."""
        traits = make_traits(self.schema, plugin=self.plugin, accessors=_accessors)
        return list(traits.items())

    # ---------------------------------------------------------------------- values

    def set(self, name: str, value: Any) -> None:
        """Write the setting ``name``; ``value`` is already checked against the declarations."""
        kind = self._kind(name)
        cell = self._cell
        cell.kind = kind
        keep: Any = None
        if kind == _abi.FLOAT:
            cell.as_.f = float(value)
        elif kind == _abi.INT:
            cell.as_.i = int(value)
        elif kind == _abi.BOOL:
            cell.as_.b = 1 if value else 0
        else:
            text = str(value)
            if "\x00" in text:
                raise SettingTypeError(
                    f"{text!r} contains a NUL character, which cannot reach the plugin",
                    setting=name,
                    value=value,
                    instrument=self.instrument,
                )
            encoded = text.encode("utf-8")
            keep = ctypes.create_string_buffer(encoded)
            cell.as_.text.data = ctypes.addressof(keep)
            cell.as_.text.size = len(encoded)
        device = self._device
        if not device.value:
            self._require_open()
        status = self._set(device, self._encoded(name), ctypes.byref(cell))
        del keep
        if status != _abi.OK:
            raise self._error(status, "set", name)

    def get(self, name: str) -> Any:
        """The device's present value of the setting ``name``."""
        return self._value_call("get", name)

    def read(self, name: str) -> Any:
        """Measure the reading ``name``."""
        return self._value_call("read", name)

    def action(self, name: str) -> None:
        """Run the action ``name``."""
        self._kind(name)
        device = self._require_open()
        status = self.library.function("action")(device, self._encoded(name))
        if status != _abi.OK:
            raise self._error(status, "action", name)

    def identify(self) -> dict[str, str] | None:
        """Who the device says it is, or None if the plugin does not say."""
        if not self.library.offers("identify"):
            return None
        text = self._text_call("identify", self.library.function("identify"))
        try:
            identity = json.loads(text)
        except ValueError as error:
            raise self._fault("identify", None, f"wrote text that is not JSON ({error})") from None
        if not isinstance(identity, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in identity.items()
        ):
            raise self._fault("identify", None, "must write a JSON object of texts")
        return identity

    # ---------------------------------------------------------------------- internals

    def _encoded(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            encoded = self._names[name] = name.encode("utf-8")
        return encoded

    def _kind(self, name: str) -> int:
        try:
            return self._kinds[name]
        except KeyError:
            raise self._fault("call", name, f"{name!r} is not among its declarations") from None

    def _require_open(self) -> ctypes.c_void_p:
        if not self.is_open:
            raise NotConnectedError(
                f"the {self.plugin} device at {self.resource} is not open",
                instrument=self.instrument,
                hint="Open it first (or reconnect())",
            )
        return self._device

    def _value_call(self, operation: str, name: str) -> Any:
        kind = self._kind(name)
        if kind == _abi.TEXT:
            function = self.library.function(operation)
            return self._text_call(operation, function, name)
        cell = self._cell
        cell.kind = kind
        device = self._device
        if not device.value:
            self._require_open()
        function = self._read if operation == "read" else self._get
        status = function(device, self._encoded(name), ctypes.byref(cell))
        if status != _abi.OK:
            raise self._error(status, operation, name)
        if cell.kind != kind:
            raise self._fault(operation, name, f"changed the value's kind to {cell.kind}")
        if kind == _abi.FLOAT:
            return float(cell.as_.f)
        if kind == _abi.INT:
            return int(cell.as_.i)
        return cell.as_.b != 0

    def _text_call(self, operation: str, function: Any, name: str | None = None) -> str:
        """Call a function that writes text, growing the buffer once if the plugin asks."""
        capacity = _TEXT_START
        for attempt in (1, 2):
            buffer = ctypes.create_string_buffer(capacity)
            device = self._require_open()
            if name is None:
                text = _abi.Text(ctypes.addressof(buffer), capacity)
                status = function(device, ctypes.byref(text))
            else:
                cell = _abi.Value(kind=_abi.TEXT)
                cell.as_.text.data = ctypes.addressof(buffer)
                cell.as_.text.size = capacity
                status = function(device, self._encoded(name), ctypes.byref(cell))
                if status == _abi.OK and cell.kind != _abi.TEXT:
                    raise self._fault(operation, name, f"changed the value's kind to {cell.kind}")
                text = cell.as_.text
            if status == _abi.ERROR_TEXT_TOO_LONG and attempt == 1:
                needed = int(text.size)
                if needed < capacity or needed >= _TEXT_MOST:
                    raise self._fault(operation, name, f"asked for a text buffer of {needed} bytes")
                capacity = needed + 1
                continue
            if status != _abi.OK:
                raise self._error(status, operation, name)
            size = int(text.size)
            if size >= capacity or buffer.raw[size] != 0:
                raise self._fault(
                    operation, name, f"wrote {size} bytes of text into a {capacity}-byte buffer"
                )
            try:
                return buffer.raw[:size].decode("utf-8")
            except UnicodeDecodeError:
                raise self._fault(operation, name, "wrote text that is not UTF-8") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _last_error(self, device: ctypes.c_void_p | None) -> tuple[str, int]:
        buffer = ctypes.create_string_buffer(_MESSAGE_SIZE)
        code = self.library.function("last_error")(device, buffer, _MESSAGE_SIZE)
        message = buffer.raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
        return message, int(code)

    def _error(
        self,
        status: int,
        operation: str,
        name: str | None,
        *,
        device: Any = ...,
        message: str | None = None,
    ) -> LabkitError:
        if device is ...:
            device = self._device
        if message is None:
            message, code = self._last_error(device)
        else:
            code = 0
        command = operation if name is None else f"{operation} {name}"
        status_name = _abi.STATUS_NAMES.get(status)
        if status_name is None or status in (_abi.ERROR_UNKNOWN_NAME, _abi.ERROR_WRONG_KIND):
            what = status_name or f"status {status}, which labkit_plugin.h does not define"
            return self._fault(operation, name, f"returned {what}: {message or 'no message'}")
        text = f"the {self.plugin} plugin reports: {message or 'no message'} ({status_name}"
        text += f", device code {code})" if code else ")"
        cls = {
            _abi.ERROR_TIMEOUT: InstrumentTimeout,
            _abi.ERROR_DISCONNECTED: ConnectionLost,
        }.get(status, InstrumentError)
        return cls(
            text,
            resource=self.resource,
            command=command,
            code=code or None,
            instrument=self.instrument,
            hint=_HINTS.get(status),
        )

    def _fault(self, operation: str, name: str | None, what: str) -> PluginFault:
        command = operation if name is None else f"{operation} {name}"
        return PluginFault(
            f"the {self.plugin} plugin broke labkit's plugin ABI: {command} {what}",
            resource=self.resource,
            command=command,
            instrument=self.instrument,
            hint="Report it to the plugin's authors",
        )

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<PluginLink {self.plugin} {self.resource} ({state})>"


def _accessors(item: Declaration) -> dict[str, Any]:
    """How a declaration's trait reaches the device: through the instrument's link."""
    name = item.name
    if item.role == "action":

        def do(instrument: Any) -> None:
            instrument.link.action(name)

        return {"do": do}

    def get(instrument: Any) -> Any:
        return instrument.link.get(name)

    def measure(instrument: Any) -> Any:
        return instrument.link.read(name)

    def put(instrument: Any, value: Any) -> None:
        instrument.link.set(name, value)

    access = item.options.get("access", "rw")
    found: dict[str, Any] = {
        "get": None if access == "w" else (get if item.role == "setting" else measure)
    }
    if item.role == "setting":
        found["set"] = put if access != "r" else None
    return found


def _kinds(declarations: Declarations) -> dict[str, int]:
    return {
        item.name: (_abi.KIND_CODES[item.kind] if item.role != "action" else 0)
        for item in declarations
    }
