"""``Instrument``: a traitlets model of one instrument, declared once.

A driver subclasses :class:`Instrument` and declares its settings, readings and actions with
``Setting``, ``Reading`` and ``Action``. From those declarations an instrument gets validation
before any byte is sent, units, limits, locks, interlocks and ramps (``_assign``, ``_guards``);
a worker thread for its I/O; a blocking face for notebooks and scripts and an async face for the
run engine; snapshots; and the handles scans refer to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, ClassVar

from traitlets import Bool
from traitlets import HasTraits as _HasTraits

from labkit.core import _declarations, _hooks, _registry
from labkit.core._assign import AssignMixin
from labkit.core._conditions import Interlock
from labkit.core._declarations import Channel, InstrumentMeta, snake_case
from labkit.core._errors import (
    AccessError,
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LabkitError,
    NotConnectedError,
    ReplyError,
)
from labkit.core._guards import GuardMixin
from labkit.core._handles import ActionHandle, Namespace, ReadingHandle, SettingHandle
from labkit.core._spec import TraitSpec
from labkit.core._state import SettingState
from labkit.core._traits import LabkitTrait
from labkit.core._transport import Transport
from labkit.core._units import format_quantity
from labkit.core._worker import Worker

__all__ = ["Channel", "Instrument"]


class Instrument(AssignMixin, GuardMixin, _HasTraits, metaclass=InstrumentMeta):
    """A connected instrument whose settings, readings and actions are traits.

    ``resource`` is the address the transport is picked from (``"GPIB0::24::INSTR"``,
    ``"labsim://tc"``, ``"usb:2457:101e"``); or pass ``transport=`` directly. ``name`` defaults
    to the class name in snake case. Extra keyword arguments go to the transport (termination,
    baud rate...) on top of the class's ``transport_options``.
    """

    transport_options: ClassVar[dict[str, Any]] = {}
    """Link settings the instrument needs (terminations, baud rate...), given once per driver."""

    declared_at_connect: ClassVar[bool] = False
    """The device declares (some of) its settings when it connects (a camera's node map), so
    station files check them then rather than before connecting."""

    connected = Bool(False, help="The link is open and the instrument answered")
    busy = Bool(False, help="The instrument's worker is doing I/O")

    _labkit_specs: ClassVar[dict[str, TraitSpec]]
    _labkit_traits: ClassVar[dict[str, LabkitTrait]]
    _labkit_channels: ClassVar[dict[str, Channel]]

    def __init__(
        self,
        resource: str | None = None,
        *,
        name: str | None = None,
        transport: Transport | None = None,
        timeout: float | None = None,
        connect: bool = True,
        parent: Instrument | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self.parent = parent
        base_name = name or type(self).default_name()
        self.name = f"{parent.name}.{base_name}" if parent is not None else base_name
        if resource is None:
            resource = (
                parent.resource if parent is not None else getattr(transport, "resource", None)
            )
        self.resource = resource
        self._transport = transport
        self._options = {**type(self).transport_options, **options}
        if timeout is not None:
            self._options["timeout"] = timeout
        self._worker = parent._worker if parent is not None else Worker(self.name)
        self._closed = False
        self._needs_clear = False
        self._busy_count = 0
        self._busy_lock = threading.Lock()
        self._ramp_cancels: set[threading.Event] = set()
        self._states = {
            n: SettingState(s) for n, s in self._labkit_specs.items() if s.role == "setting"
        }
        self._interlocks: dict[str, list[Interlock]] = {}
        self.identity: dict[str, str] | None = None
        specs = self._labkit_specs
        self.settings: Namespace[SettingHandle] = Namespace(
            "setting",
            self.name,
            {n: SettingHandle(self, s) for n, s in specs.items() if s.role == "setting"},
        )
        self.readings: Namespace[ReadingHandle] = Namespace(
            "reading",
            self.name,
            {n: ReadingHandle(self, s) for n, s in specs.items() if s.role == "reading"},
        )
        self.actions: Namespace[ActionHandle] = Namespace(
            "action",
            self.name,
            {n: ActionHandle(self, s) for n, s in specs.items() if s.role == "action"},
        )
        self._channels: dict[str, Instrument] = {}
        for channel_name, declaration in self._labkit_channels.items():
            channel = declaration.cls(parent=self, name=channel_name, connect=False)
            for key, value in declaration.attributes.items():
                setattr(channel, key, value)
            self._channels[channel_name] = channel
        if connect and parent is None:
            try:
                self.open()
            except BaseException:
                self._worker.shutdown()
                self._closed = True
                raise

    # ------------------------------------------------------------------ identity & display

    @classmethod
    def default_name(cls) -> str:
        return snake_case(cls.__name__)

    @property
    def transport(self) -> Transport | None:
        if self.parent is not None:
            return self.parent.transport
        return self._transport

    @property
    def instant(self) -> bool:
        """The instrument answers in-process and fast (a simulator, a memory-mapped device):
        its single reads and sets run on the caller's thread. Real instruments never are."""
        return self._worker.instant

    @property
    def channels(self) -> dict[str, Instrument]:
        return dict(self._channels)

    def __repr__(self) -> str:
        state = "connected" if self.connected else ("closed" if self._closed else "not connected")
        return f"<{type(self).__name__} {self.name!r} at {self.resource} ({state})>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.describe())

    def describe(self) -> str:
        """A text table of settings and readings with their values, units and limits."""
        lines = [repr(self)]
        for name, spec in self._labkit_specs.items():
            if spec.role == "action":
                continue
            value = self._trait_values.get(name)
            shown = "?" if value is None else format_quantity(value, spec.unit)
            extra = ""
            if spec.role == "setting":
                lower, upper = self._states[name].bounds(spec)
                if lower.finite or upper.finite:
                    extra = f"  [{format_quantity(lower.value)} … {format_quantity(upper.value)}]"
                if self._states[name].lock is not None:
                    extra += f"  {self._states[name].lock.describe()}"
            lines.append(f"  {name:<24} {shown:<16}{extra}")
        for channel in self._channels.values():
            lines.extend("  " + line for line in channel.describe().splitlines())
        return "\n".join(lines)

    def panel(self) -> Any:
        """The ipywidgets panel for this instrument, built from its declarations."""
        widget = _hooks.display("panel", self)
        if widget is None:
            raise ConfigurationError(
                "no panel factory is registered (labkit.ui could not be loaded)",
                instrument=self.name,
                hint="Install ipywidgets and import labkit",
            )
        return widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        try:
            widget = _hooks.display("panel", self)
        except Exception:
            widget = None
        if widget is not None and hasattr(widget, "_repr_mimebundle_"):
            bundle.update(widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"] = self.describe()
        return bundle

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> Instrument:
        """Open the link, greet the instrument and read its settings. Returns the instrument."""
        if self.parent is not None:
            return self.parent.open()
        if self.connected:
            return self
        if self._closed:
            raise NotConnectedError(
                "this instrument was closed",
                instrument=self.name,
                hint="Create it again to reconnect",
            )
        self._worker.call(self._open_on_worker)
        self._mark_connected(True)
        return self

    def _open_on_worker(self) -> None:
        if self._transport is None:
            if self.resource is None:
                raise ConfigurationError(
                    "no resource address and no transport given",
                    instrument=self.name,
                    hint="Pass an address such as 'GPIB0::24::INSTR'",
                )
            try:
                self._transport = _hooks.open_transport(self.resource, self._options)
            except LabkitError as error:
                raise self._attach(error) from None
        elif not self._transport.is_open:
            self._transport.open()
        try:
            self._on_open()
            self.identity = self.identify()
            for instrument in (self, *self._channels.values()):
                instrument._refresh_on_worker(
                    [
                        s
                        for s in instrument._labkit_specs.values()
                        if s.role == "setting" and instrument._can_read(s)
                    ]
                )
        except LabkitError as error:
            self._safe_close_transport()
            raise self._attach(error) from None
        except BaseException:
            self._safe_close_transport()
            raise

    def _safe_close_transport(self) -> None:
        try:
            if self._transport is not None:
                self._transport.close()
        except Exception:
            pass

    def _mark_connected(self, value: bool) -> None:
        self.connected = value
        for channel in self._channels.values():
            channel.connected = value

    def close(self) -> None:
        """Close the link and end the worker thread. Nothing is moved to safe values."""
        if self.parent is not None:
            return
        if self._closed:
            return
        self._closed = True
        try:
            if self.connected:
                self._worker.call(self._close_on_worker)
        finally:
            self._mark_connected(False)
            self._worker.shutdown()
            _registry.unregister(self)

    def _close_on_worker(self) -> None:
        try:
            self._on_close()
        finally:
            if self._transport is not None:
                self._transport.close()

    def reconnect(self) -> Instrument:
        """Close and reopen the link (after a disconnect), then read the settings again."""
        if self.parent is not None:
            return self.parent.reconnect()
        if self._closed:
            raise NotConnectedError(
                "this instrument was closed", instrument=self.name, hint="Create it again instead"
            )

        def again() -> None:
            self._safe_close_transport()
            if self._transport is not None:
                try:
                    self._transport.open()
                except LabkitError as error:
                    raise self._attach(error) from None
            self._needs_clear = False
            self._open_on_worker()

        self._worker.call(again)
        self._mark_connected(True)
        return self

    def __enter__(self) -> Instrument:
        return self.open()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ hooks for drivers

    def _on_open(self) -> None:
        """Called on the worker once the link is open: handshakes, clearing status."""

    def _on_close(self) -> None:
        """Called on the worker before the link closes (return to local mode...)."""

    def identify(self) -> dict[str, str] | None:
        """Who the instrument says it is (vendor, model, serial, firmware), if it can say."""
        return None

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        """Called on the worker after each write of a setting (SCPI: check the error queue)."""

    # ------------------------------------------------------------------ message I/O for drivers

    def write(self, message: str) -> None:
        """Send a message to the instrument (on its worker thread)."""
        self._worker.call(self._io, "write", message)

    def query(self, message: str) -> str:
        """Send a message and return the reply (on the worker thread)."""
        return self._worker.call(self._io, "query", message)

    def read_message(self) -> str:
        """Read one message the instrument sent (after a write)."""
        return self._worker.call(self._io, "read")

    def write_bytes(self, data: bytes) -> None:
        self._worker.call(self._io, "write_bytes", data)

    def read_bytes(self, size: int) -> bytes:
        return self._worker.call(self._io, "read_bytes", size)

    def _io(self, operation: str, *args: Any) -> Any:
        transport = self.transport
        if transport is None:
            raise NotConnectedError(
                "the instrument has no open link", instrument=self.name, hint="Call open() first"
            )
        root = self.parent or self
        try:
            if root._needs_clear:
                root._needs_clear = False
                transport.clear()
            return getattr(transport, operation)(*args)
        except InstrumentTimeout as error:
            root._needs_clear = True  # a late reply must not be taken for the next one
            raise self._attach(error) from None
        except ConnectionLost as error:
            root._mark_connected(False)
            if error.hint is None:
                error.hint = f"Call {root.name}.reconnect() once the link is back"
            raise self._attach(error) from None
        except LabkitError as error:
            raise self._attach(error) from None

    def _attach(self, error: LabkitError, spec: TraitSpec | None = None) -> LabkitError:
        if error.instrument is None:
            error.instrument = self.name
        if spec is not None and error.setting is None:
            error.setting = spec.name
        if isinstance(error, InstrumentError) and error.resource is None:
            error.resource = (self.parent or self).resource
        return error

    # ------------------------------------------------------------------ settings and readings

    def set(self, name: str | SettingHandle, value: Any) -> Any:
        """Set a setting by name; the same as assigning ``inst.<name> = value``."""
        return self._assign(self._spec(name, "setting"), value)

    async def set_async(self, name: str | SettingHandle, value: Any) -> Any:
        return await self._assign_async(self._spec(name, "setting"), value)

    def read(self, name: str | Any, *more: str | Any) -> Any:
        """Read one or more readings (or readable settings) from the instrument now.

        One name returns its value; several return a ``{name: value}`` dict read in one go.
        """
        specs = [self._spec(n) for n in (name, *more)]
        if not more:
            return self._read_now(specs[0])
        self._require_connected()
        values = self._worker.call(self._refresh_on_worker, specs)
        return values

    async def read_async(self, name: str | Any, *more: str | Any) -> Any:
        specs = [self._spec(n) for n in (name, *more)]
        if not more:
            return await self._read_now_async(specs[0])
        self._require_connected()
        return await self._worker.call_async(self._refresh_on_worker, specs)

    def refresh(self, *names: str) -> dict[str, Any]:
        """Read every readable setting and reading (or those named); returns their values.

        Without names, readings that would change the instrument (``side_effect``) are left
        out: refreshing is looking.
        """
        self._require_connected()
        specs = self._refreshable(names)
        return self._worker.call(self._refresh_on_worker, specs)

    async def refresh_async(self, *names: str) -> dict[str, Any]:
        self._require_connected()
        return await self._worker.call_async(self._refresh_on_worker, self._refreshable(names))

    def _refreshable(self, names: Iterable[str]) -> list[TraitSpec]:
        if names:
            return [self._spec(n) for n in names]
        return [
            s
            for s in self._labkit_specs.values()
            if s.role != "action" and self._can_read(s) and not s.side_effect_of(self)
        ]

    def _refresh_on_worker(self, specs: list[TraitSpec]) -> dict[str, Any]:
        return {spec.name: self._do_read(spec) for spec in specs}

    def stop(self) -> None:
        """Stop ramps in progress where they are (each raises ``RampInterrupted``)."""
        for event in list(self._ramp_cancels):
            event.set()

    def make_safe(self) -> dict[str, Any]:
        """Bring every setting that declares a safe value there (with its ramp)."""
        changed = {}
        for spec in self._safe_specs():
            changed[spec.name] = self._assign(spec, spec.safe)
        for channel in self._channels.values():
            changed.update({f"{channel.name}.{k}": v for k, v in channel.make_safe().items()})
        return changed

    async def make_safe_async(self) -> dict[str, Any]:
        changed = {}
        for spec in self._safe_specs():
            changed[spec.name] = await self._assign_async(spec, spec.safe)
        for channel in self._channels.values():
            sub = await channel.make_safe_async()
            changed.update({f"{channel.name}.{k}": v for k, v in sub.items()})
        return changed

    def _safe_specs(self) -> list[TraitSpec]:
        return [
            s
            for s in self._labkit_specs.values()
            if s.role == "setting" and s.safe is not None and self._can_write(s)
        ]

    def snapshot(self, *, refresh: bool = False) -> dict[str, Any]:
        """Every setting with value, unit and limits, and every reading's last value.

        Plain JSON-able data; it goes into every run's metadata. ``refresh=True`` reads first.
        """
        if refresh:
            self.refresh()
        settings: dict[str, Any] = {}
        readings: dict[str, Any] = {}
        for name, spec in self._labkit_specs.items():
            value = self._trait_values.get(name)
            if spec.role == "setting":
                state = self._states[name]
                lower, upper = state.bounds(spec)
                entry: dict[str, Any] = {"value": value, "unit": spec.unit}
                entry["min"] = lower.value if lower.finite else None
                entry["max"] = upper.value if upper.finite else None
                if spec.choices is not None:
                    entry["choices"] = list(spec.choices)
                if state.ramp_rate is not None:
                    entry["ramp"] = state.ramp_rate
                if state.lock is not None:
                    entry["locked"] = state.lock.describe()
                settings[name] = entry
            elif spec.role == "reading":
                readings[name] = {"value": value, "unit": spec.unit}
        snapshot: dict[str, Any] = {
            "name": self.name,
            "driver": f"{type(self).__module__}.{type(self).__qualname__}",
            "resource": (self.parent or self).resource,
            "connected": bool(self.connected),
            "identity": self.identity,
            "settings": settings,
            "readings": readings,
        }
        if self._channels:
            snapshot["channels"] = {n: c.snapshot() for n, c in self._channels.items()}
        return snapshot

    # ------------------------------------------------------------------ internals: lookup

    def _spec(self, name: Any, role: str | None = None) -> TraitSpec:
        if hasattr(name, "spec") and hasattr(name, "instrument"):
            if name.instrument is not self:
                raise ConfigurationError(
                    f"{name.full_name} belongs to another instrument", instrument=self.name
                )
            spec = name.spec
        else:
            spec = self._labkit_specs.get(name)  # type: ignore[arg-type]
            if spec is None:
                import difflib

                close = difflib.get_close_matches(str(name), list(self._labkit_specs), n=3)
                hint = (
                    f"Did you mean {' or '.join(map(repr, close))}?"
                    if close
                    else f"It has: {', '.join(self._labkit_specs)}"
                )
                raise AttributeError(f"{self.name} has no setting or reading {name!r}. {hint}")
        if role is not None and spec.role != role:
            raise AccessError(
                f"{spec.name} is a {spec.role}, not a {role}",
                instrument=self.name,
                setting=spec.name,
            )
        return spec

    def _getter(self, spec: TraitSpec) -> Any:
        """The template or function that reads ``spec`` (declared, or a ``_get_<name>`` method)."""
        return self._accessors(spec)[0]

    def _setter(self, spec: TraitSpec) -> Any:
        return self._accessors(spec)[1]

    def _accessors(self, spec: TraitSpec) -> tuple[Any, Any]:
        # Resolved once per class and setting: every read and set of a sweep asks for them.
        cls = type(self)
        cache = cls.__dict__.get("_labkit_accessors")
        if cache is None:
            cache = {}
            cls._labkit_accessors = cache  # type: ignore[attr-defined]
        found = cache.get(spec)
        if found is None:
            getter = spec.get if spec.get is not None else getattr(cls, f"_get_{spec.name}", None)
            setter = spec.set if spec.set is not None else getattr(cls, f"_set_{spec.name}", None)
            found = cache[spec] = (getter, setter)
        return found

    def _can_read(self, spec: TraitSpec) -> bool:
        return spec.access != "w" and self._getter(spec) is not None

    def _can_write(self, spec: TraitSpec) -> bool:
        return spec.role == "setting" and spec.access != "r" and self._setter(spec) is not None

    def _trait(self, spec: TraitSpec) -> LabkitTrait:
        return self._labkit_traits[spec.name]

    def _require_connected(self) -> None:
        if not self.connected:
            root = self.parent or self
            hint = (
                f"Call {root.name}.reconnect()"
                if not root._closed
                else "Create the instrument again"
            )
            raise NotConnectedError(
                "the instrument is not connected", instrument=self.name, hint=hint
            )

    # ------------------------------------------------------------------ internals: reading

    def _read_value(self, spec: TraitSpec) -> Any:
        """Ask the instrument (on the worker) and parse; no storing."""
        getter = self._getter(spec)
        if isinstance(getter, str):
            command = spec.query(self)
            reply = self._io("query", command)
            try:
                return spec.from_reply(reply, where=spec.name)
            except ReplyError as error:
                if error.command is None:
                    error.command = command  # a garbled reply names the query it answered
                raise
        raw = getter(self)
        if isinstance(raw, (str, bytes)) and spec.kind != "str":
            return spec.from_reply(raw, where=spec.name)
        if raw is not None and spec.kind == "float":
            return float(raw)
        if raw is not None and spec.kind == "int":
            return int(raw)
        return raw

    def _do_read(self, spec: TraitSpec) -> Any:
        if not self._can_read(spec):
            raise AccessError(
                f"{spec.name} cannot be read from the instrument",
                instrument=self.name,
                setting=spec.name,
                hint=f"Its last written value is {self.name}.{spec.name}",
            )
        visible = not self._worker.running_inline()
        if visible:
            self._enter_busy()
        try:
            value = self._read_value(spec)
        except LabkitError as error:
            raise self._attach(error, spec) from None
        finally:
            if visible:
                self._leave_busy()
        self._trait(spec).store(self, value)
        return value

    def _read_now(self, spec: TraitSpec) -> Any:
        self._require_connected()
        return self._worker.call(self._do_read, spec, quick=True)

    async def _read_now_async(self, spec: TraitSpec) -> Any:
        self._require_connected()
        return await self._worker.call_async(self._do_read, spec, quick=True)

    # ------------------------------------------------------------------ internals: actions

    def _action_call(self, spec: TraitSpec) -> Any:
        self._enter_busy()
        try:
            if isinstance(spec.set, str):
                self._io("write", spec.set.format(self=self))
                self._after_set(spec, spec.set)
                return None
            assert spec.set is not None
            return spec.set(self)
        except LabkitError as error:
            raise self._attach(error, spec) from None
        finally:
            self._leave_busy()

    def _run_action(self, spec: TraitSpec) -> Any:
        self._require_connected()
        return self._worker.call(self._action_call, spec)

    async def _run_action_async(self, spec: TraitSpec) -> Any:
        self._require_connected()
        return await self._worker.call_async(self._action_call, spec)

    def _submit_action(self, spec: TraitSpec) -> Future[Any]:
        self._require_connected()
        return self._worker.submit(self._action_call, spec)


_declarations.BASE_ATTRIBUTES = frozenset(dir(Instrument)) | {
    "name",
    "resource",
    "parent",
    "identity",
    "settings",
    "readings",
    "actions",
    "transport",
}
