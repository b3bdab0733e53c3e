"""``Instrument``: declarations, guards and values over a :class:`~labkit.core.Device`.

A driver subclasses :class:`Instrument` (or :class:`~labkit.core.MessageInstrument` for a
message-based one, or a camera base) and declares its settings, readings and actions with
``Setting``, ``Reading`` and ``Action`` — or lets the device declare them when it connects
(:meth:`Instrument.device_declarations`). From the declarations an instrument gets validation
before any byte is sent (the guards of :mod:`._guards`, kept per setting in a
:class:`~labkit.core.SettingState`), units, limits, locks, interlocks and ramps; a blocking face
for notebooks and an async face for the run engine; snapshots; and the handles scans refer to.

Every set and every read takes one path, whatever the instrument: check (no I/O), write or
read on the worker, store the acknowledged value. An instrument that answers in-process runs
that path on the caller's thread (the worker's inline mode), which is what keeps a sweep's
per-point cost at tens of microseconds; nothing in the path is skipped for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, ClassVar

from labkit.core import _registry
from labkit.core._declarations import Channel, InstrumentMeta, device_class, own_class, snake_case
from labkit.core._device import Device
from labkit.core._errors import AccessError, ConfigurationError, LabkitError
from labkit.core._guards import check_writable
from labkit.core._handles import ActionHandle, Namespace, ReadingHandle, SettingHandle
from labkit.core._link import Link
from labkit.core._ramp import ramp_error, ramp_points
from labkit.core._snapshot import describe_rows, no_such, snapshot_of
from labkit.core._spec import TraitSpec
from labkit.core._state import SettingState
from labkit.core._templates import MovedToMessageInstrument as _Moved
from labkit.core._templates import read_template, run_template, write_template
from labkit.core._traits import LabkitTrait
from labkit.core._units import format_quantity
from labkit.core._worker import NOT_RUN, wait_for

__all__ = ["Channel", "Instrument"]

_NEVER_CANCELLED = threading.Event()  # for sets that are one write: there is nothing to stop


class Instrument(Device, metaclass=InstrumentMeta):
    """A connected instrument whose settings, readings and actions are traits.

    ``resource`` is the address the link is made from (``"GPIB0::24::INSTR"``,
    ``"labsim://tc"``, ``"genicam://cam0"``); or pass the ``link=`` itself (``transport=`` is
    the same). ``name`` defaults to the class name in snake case. Extra keyword arguments go to
    the link (termination, baud rate...) on top of the class's ``transport_options``.
    """

    _labkit_api = True

    transport_options: ClassVar[dict[str, Any]] = {}
    """Link settings the instrument needs (terminations, baud rate...), given once per driver."""

    declared_at_connect: ClassVar[bool] = False
    """The device declares (some of) its settings when it connects: :meth:`device_declarations`
    is asked then, and station files check those settings once connected."""

    identity: dict[str, str] | None
    settings: Namespace[SettingHandle]
    readings: Namespace[ReadingHandle]
    actions: Namespace[ActionHandle]

    _labkit_specs: ClassVar[dict[str, TraitSpec]]
    _labkit_traits: ClassVar[dict[str, LabkitTrait]]
    _labkit_channels: ClassVar[dict[str, Channel]]

    def __init__(
        self,
        resource: str | None = None,
        *,
        name: str | None = None,
        link: Link | None = None,
        transport: Link | None = None,
        timeout: float | None = None,
        connect: bool = True,
        parent: Instrument | None = None,
        **options: Any,
    ) -> None:
        link = link if link is not None else transport
        base_name = name or type(self).default_name()
        if resource is None:
            resource = parent.resource if parent is not None else getattr(link, "resource", None)
        link_options = {**type(self).transport_options, **options}
        if timeout is not None:
            link_options["timeout"] = timeout
        super().__init__(
            f"{parent.name}.{base_name}" if parent is not None else base_name,
            resource,
            link,
            link_options,
            parent,
        )
        self._ramp_cancels: set[threading.Event] = set()
        self._states: dict[str, SettingState] = {}
        self.identity = None
        self._make_handles()
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

    def _make_handles(self) -> None:
        specs = self._labkit_specs
        for name, spec in specs.items():
            if spec.role == "setting" and name not in self._states:
                self._states[name] = SettingState(spec, self.name)
        self.settings = Namespace(
            "setting",
            self.name,
            {n: SettingHandle(self, s, self._states[n]) for n, s in _role(specs, "setting")},
        )
        self.readings = Namespace(
            "reading", self.name, {n: ReadingHandle(self, s) for n, s in _role(specs, "reading")}
        )
        self.actions = Namespace(
            "action", self.name, {n: ActionHandle(self, s) for n, s in _role(specs, "action")}
        )

    # ------------------------------------------------------------------ identity & display

    @classmethod
    def default_name(cls) -> str:
        return snake_case(cls.__name__)

    @property
    def driver_class(self) -> type[Instrument]:
        """The driver class this instrument was made from (``type(inst)`` is a class of its own
        once its device declared settings at connect)."""
        return getattr(type(self), "_labkit_device_of", None) or type(self)

    @property
    def channels(self) -> dict[str, Instrument]:
        return dict(self._channels)

    # Message I/O moved to MessageInstrument; drivers written on Instrument keep working.
    write, query, read_message, write_bytes, read_bytes, transport = (_Moved() for _ in range(6))

    def __repr__(self) -> str:
        state = "connected" if self.connected else ("closed" if self.closed else "not connected")
        return f"<{type(self).__name__} {self.name!r} at {self.resource} ({state})>"

    def describe(self) -> str:
        """A text table of settings and readings with their values, units and limits."""
        lines = [repr(self), *describe_rows(self._labkit_specs, self.last_value, self._states)]
        for channel in self._channels.values():
            lines.extend("  " + line for line in channel.describe().splitlines())
        return "\n".join(lines)

    # ------------------------------------------------------------------ declarations

    @classmethod
    def declarations(cls) -> dict[str, TraitSpec]:
        """The declarations (``{name: TraitSpec}``, in panel order), inherited ones included,
        for checking without connecting (station files, simulators, docs).

        ``type(inst).declarations()`` also holds what the instrument's device declared at
        connect; ``inst.settings``/``readings``/``actions`` hold them with their handles.
        """
        return dict(cls._labkit_specs)

    @classmethod
    def channel_classes(cls) -> dict[str, tuple[type[Instrument], dict[str, Any]]]:
        """``{channel name: (channel class, its attributes)}`` declared with ``Channel``."""
        return {n: (c.cls, dict(c.attributes)) for n, c in cls._labkit_channels.items()}

    def device_declarations(self) -> Iterable[Any]:
        """What the connected device declares, when ``declared_at_connect`` is True.

        Called once, on the worker, with the link open and before ``_on_open``; yields
        :class:`~labkit.core.TraitSpec` objects (with their ``name``), ``(name, declaration)``
        pairs or a ``{name: declaration}`` mapping, whose ``get``/``set`` are callables taking
        the instrument. By default the link's own ``declarations()`` (a pvAccess context, a
        plugin library); a driver that maps the device's features itself overrides this.
        They are checked as a class body's are (names free, readings readable...) and the
        instrument gets a class of its own holding them.
        """
        declare = getattr(self.link, "declarations", None)
        if not callable(declare):
            raise ConfigurationError(
                f"{type(self).__name__} says its device declares its settings, but its link "
                f"{type(self.link).__name__} has no declarations()",
                instrument=self.name,
                hint="Override device_declarations() or give a link that declares",
            )
        return declare()

    def update_declaration(self, name: str, **changes: Any) -> TraitSpec:
        """Change what the device now says about a declaration (``min``, ``max``, ``step``,
        ``choices``, an array reading's ``axes`` or ``unit``...): GenICam limits follow other
        features, a server's limits change, a scope's record length follows its timebase.

        Checked again; the limits in force follow at once. The first change gives this
        instrument (and its handles) its own copy of a class-body declaration.
        """
        spec = self._spec(name)
        checked = spec.replace(**changes)
        cls = own_class(self, spec.name)
        if cls is not type(self):
            self.__class__ = cls
            trait = cls._labkit_traits[spec.name]
            trait.instance_init(self)
            spec = trait.spec
            state = self._states.get(spec.name)
            if state is not None:
                state.spec = spec
            for handles in (self.settings, self.readings, self.actions):
                if spec.name in handles:  # handles taken before now see the copy too
                    handles[spec.name].spec = spec
        for field in changes:
            setattr(spec, field, getattr(checked, field))
        state = self._states.get(spec.name)
        if state is not None:
            state.declaration_changed()
        return spec

    def _greet(self) -> None:
        if self.declared_at_connect and "_labkit_device_of" not in type(self).__dict__:
            self.__class__ = device_class(self, self.device_declarations())
            for trait in type(self).class_own_traits().values():
                trait.instance_init(self)
            self._make_handles()
        self._on_open()
        self.identity = self.identify()
        for instrument in (self, *self._channels.values()):
            instrument.refresh_settings()

    def refresh_settings(self) -> dict[str, Any]:
        """Read every readable setting (on connect, and when the device changed several)."""
        return self.run_io(
            self._refresh_on_worker,
            [s for s in self._labkit_specs.values() if s.role == "setting" and s.readable],
        )

    def _forget(self) -> None:
        _registry.unregister(self)

    # ------------------------------------------------------------------ hooks for drivers

    def identify(self) -> dict[str, str] | None:
        """Who the instrument says it is (vendor, model, serial, firmware), if it can say."""
        return None

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        """Called on the worker after each write of a setting (SCPI: check the error queue)."""

    # ------------------------------------------------------------------ driver-author API

    def store(self, name: str, value: Any) -> None:
        """Record a value the device reported for ``name`` and tell observers (no I/O, no
        checks): a setting the device changed by itself, a monitor's update.

        Cheap when nobody observes it (no panel, no live view): a sweep stores every point.
        """
        if not self._set_quietly(name, value):
            self._labkit_traits[name].notify(self, value)

    # ------------------------------------------------------------------ settings and readings

    def set(self, name: str | SettingHandle, value: Any) -> Any:
        """Set a setting by name; the same as assigning ``inst.<name> = value``."""
        return self._assign(self._spec(name, "setting"), value)

    async def set_async(self, name: str | SettingHandle, value: Any) -> Any:
        """The async face for the run engine; cancelling stops a ramp where it is."""
        spec = self._spec(name, "setting")
        value = self._checked(spec, value, interlocks=False)
        state = self._states[spec.name]
        if state.interlocks:
            await self._interlocks_async(state, value)
        if state.one_write:  # nothing to cancel
            done = self._worker.try_inline(self._do_set, spec, value, _NEVER_CANCELLED)
            if done is NOT_RUN:
                done = await self._worker.call_async(
                    self._do_set, spec, value, _NEVER_CANCELLED, quick=True
                )
            return done
        cancel = threading.Event()
        self._ramp_cancels.add(cancel)
        acknowledged = asyncio.wrap_future(self._worker.submit(self._do_set, spec, value, cancel))
        try:
            return await asyncio.shield(acknowledged)
        except asyncio.CancelledError:
            cancel.set()  # stop a ramp where it is, then let the cancellation through
            try:
                await acknowledged
            except LabkitError:
                pass
            raise
        finally:
            self._ramp_cancels.discard(cancel)

    def submit(self, name: str | SettingHandle, value: Any) -> Future[Any]:
        """Check ``value`` now (raising at once), then set it in the background; the future
        resolves with the acknowledged value (panels use this)."""
        spec = self._spec(name, "setting")
        value = self._checked(spec, value)
        cancel = threading.Event()
        self._ramp_cancels.add(cancel)
        future = self._worker.submit(self._do_set, spec, value, cancel)
        future.add_done_callback(lambda _: self._ramp_cancels.discard(cancel))
        return future

    def read(self, name: str | Any, *more: str | Any) -> Any:
        """Read one or more readings (or readable settings) from the instrument now.

        One name returns its value; several return a ``{name: value}`` dict read in one go.
        """
        if not more:
            spec = self._spec(name)
            if not self._trait_values.get("connected"):
                self.require_connected()
            return self._worker.call(self._do_read, spec, quick=True)
        specs = [self._spec(n) for n in (name, *more)]
        self.require_connected()
        return self._worker.call(self._refresh_on_worker, specs)

    async def read_async(self, name: str | Any, *more: str | Any) -> Any:
        if not more:
            spec = self._spec(name)
            if not self._trait_values.get("connected"):
                self.require_connected()
            value = self._worker.try_inline(self._do_read, spec)
            if value is NOT_RUN:
                value = await self._worker.call_async(self._do_read, spec, quick=True)
            return value
        specs = [self._spec(n) for n in (name, *more)]
        self.require_connected()
        return await self._worker.call_async(self._refresh_on_worker, specs)

    def refresh(self, *names: str) -> dict[str, Any]:
        """Read every readable setting and reading (or those named); returns their values.

        Without names, readings that would change the instrument (``side_effect``) are left
        out: refreshing is looking.
        """
        self.require_connected()
        return self._worker.call(self._refresh_on_worker, self._refreshable(names))

    async def refresh_async(self, *names: str) -> dict[str, Any]:
        self.require_connected()
        return await self._worker.call_async(self._refresh_on_worker, self._refreshable(names))

    def _refreshable(self, names: Iterable[str]) -> list[TraitSpec]:
        if names:
            return [self._spec(n) for n in names]
        return [s for s in self._labkit_specs.values() if s.readable and not s.side_effect_of(self)]

    def _refresh_on_worker(self, specs: list[TraitSpec]) -> dict[str, Any]:
        return {spec.name: self._do_read(spec) for spec in specs}

    def run_action(self, name: str | ActionHandle) -> Any:
        """Run an action (``inst.reset()`` does the same) and wait for it."""
        spec = self._spec(name, "action")
        self.require_connected()
        return self._worker.call(self._action_call, spec)

    async def run_action_async(self, name: str | ActionHandle) -> Any:
        spec = self._spec(name, "action")
        self.require_connected()
        return await self._worker.call_async(self._action_call, spec)

    def submit_action(self, name: str | ActionHandle) -> Future[Any]:
        """Start an action in the background (panels use this)."""
        spec = self._spec(name, "action")
        self.require_connected()
        return self._worker.submit(self._action_call, spec)

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
            changed[spec.name] = await self.set_async(spec.name, spec.safe)
        for channel in self._channels.values():
            sub = await channel.make_safe_async()
            changed.update({f"{channel.name}.{k}": v for k, v in sub.items()})
        return changed

    def _safe_specs(self) -> list[TraitSpec]:
        return [s for s in self._labkit_specs.values() if s.safe is not None and s.writable]

    def snapshot(self, *, refresh: bool = False) -> dict[str, Any]:
        """Every setting with value, unit and limits, and every reading's last value.

        Plain JSON-able data; it goes into every run's metadata. ``refresh=True`` reads first.
        """
        if refresh:
            self.refresh()
        return snapshot_of(self)

    # ------------------------------------------------------------------ internals: lookup

    def _spec(self, name: Any, role: str | None = None) -> TraitSpec:
        if type(name) is str:
            spec = self._labkit_specs.get(name)
            if spec is None:
                raise AttributeError(no_such(self.name, name, self._labkit_specs))
        else:
            spec = name.spec
            if name.instrument is not self:
                raise ConfigurationError(
                    f"{name.full_name} belongs to another instrument", instrument=self.name
                )
        if role is not None and spec.role != role:
            raise AccessError(
                f"{spec.name} is a {spec.role}, not a {role}",
                instrument=self.name,
                setting=spec.name,
            )
        return spec

    # ------------------------------------------------------------------ internals: setting

    def _checked(self, spec: TraitSpec, raw: Any, interlocks: bool = True) -> Any:
        """Everything that can refuse a value before the write: type, unit, choices, lock,
        limits (no I/O), the connection, then interlocks (which may read other instruments)."""
        state = self._states.get(spec.name)
        if state is None:
            check_writable(spec, raw, self.name)  # a reading or an action: refused
            raise AssertionError("unreachable")  # pragma: no cover
        try:
            value = state.check(raw)
            if not self._trait_values.get("connected"):
                self.require_connected()
            for interlock in state.interlocks if interlocks else ():
                interlock.enforce(value)
        except LabkitError as error:
            state.flag("error", str(error))
            raise
        return value

    async def _interlocks_async(self, state: SettingState, value: Any) -> None:
        try:
            for interlock in state.interlocks:
                await interlock.enforce_async(value)
        except LabkitError as error:
            state.flag("error", str(error))
            raise

    def _assign(self, spec: TraitSpec, raw: Any) -> Any:
        """The blocking face: check, write on the worker, wait for the acknowledgement."""
        value = self._checked(spec, raw)
        if self._states[spec.name].one_write:  # nothing to cancel
            return self._worker.call(self._do_set, spec, value, _NEVER_CANCELLED, quick=True)
        cancel = threading.Event()
        if self._worker.on_worker():
            return self._do_set(spec, value, cancel)
        self._ramp_cancels.add(cancel)
        future = self._worker.submit(self._do_set, spec, value, cancel)
        try:
            return wait_for(future)
        except KeyboardInterrupt:
            cancel.set()
            return future.result()  # raises RampInterrupted (or finishes a write already sent)
        finally:
            self._ramp_cancels.discard(cancel)

    def _do_set(self, spec: TraitSpec, value: Any, cancel: threading.Event) -> Any:
        """On the worker: write (or ramp), then store the acknowledged value."""
        state = self._states[spec.name]
        state.flag("busy", True)
        self._enter_busy()
        try:
            if state.ramping:
                value = self._ramp(spec, float(state.ramp_rate or 0.0), value, cancel)
            else:
                value = self._write_value(spec, value)
                self.store(spec.name, value)
            if spec.delay:
                time.sleep(spec.delay)
            state.succeeded()
            return value
        except LabkitError as error:
            self._attach(self._link_failed(error), spec)
            state.flag("error", str(error))
            raise
        finally:
            state.flag("busy", False)
            self._leave_busy()

    def _write_value(self, spec: TraitSpec, value: Any) -> Any:
        """Write ``value``; returns the value the instrument was actually given.

        A template formats the value (``fmt``), so the instrument receives the formatted token:
        that, parsed back, is what gets stored. A setter may return the value it really sent
        (rounded to the instrument's resolution); None means ``value`` itself.
        """
        setter = spec.set
        if isinstance(setter, str):
            sent, command = write_template(self, spec, value)
            self._after_set(spec, command)
            return sent
        sent = setter(self, value)  # type: ignore[misc]  # writable: a setter is there
        self._after_set(spec, None)
        return value if sent is None else sent

    def _ramp(self, spec: TraitSpec, rate: float, target: float, cancel: threading.Event) -> float:
        start = self.last_value(spec.name)
        if start is None:
            if not spec.readable:
                raise ConfigurationError(
                    f"cannot ramp to {format_quantity(target, spec.unit)}: the present value is "
                    "unknown and cannot be read",
                    instrument=self.name,
                    setting=spec.name,
                    hint="Set the ramp rate to None for one direct set, or set a known value first",
                )
            start = self._read_value(spec)
            self.store(spec.name, start)
        if target == start:
            reached = self._write_value(spec, target)
            self.store(spec.name, reached)
            return reached
        points, pause = ramp_points(spec, start, target, rate)
        reached = start
        for index, point in enumerate(points, 1):
            try:
                reached = self._write_value(spec, point)
            except LabkitError as error:
                raise ramp_error(spec, reached, target, str(error), error, self.name) from error
            self.store(spec.name, reached)
            if index < len(points) and cancel.wait(pause):
                raise ramp_error(spec, reached, target, "it was stopped", None, self.name)
        if cancel.is_set():
            cancel.clear()
        return reached

    # ------------------------------------------------------------------ internals: reading

    def _read_value(self, spec: TraitSpec) -> Any:
        """Ask the instrument (on the worker) and parse; no storing."""
        getter = spec.get
        if isinstance(getter, str):
            return read_template(self, spec)
        return spec.accept(getter(self))  # type: ignore[misc]  # readable: a getter is there

    def _do_read(self, spec: TraitSpec) -> Any:
        if not spec.readable:
            raise AccessError(
                f"{spec.name} cannot be read from the instrument",
                instrument=self.name,
                setting=spec.name,
                hint=f"Its last written value is {self.name}.{spec.name}",
            )
        self._enter_busy()
        try:
            value = self._read_value(spec)
        except LabkitError as error:
            raise self._attach(self._link_failed(error), spec) from None
        finally:
            self._leave_busy()
        self.store(spec.name, value)
        return value

    # ------------------------------------------------------------------ internals: actions

    def _action_call(self, spec: TraitSpec) -> Any:
        self._enter_busy()
        try:
            if isinstance(spec.set, str):
                self._after_set(spec, run_template(self, spec))
                return None
            assert spec.set is not None
            return spec.set(self)
        except LabkitError as error:
            raise self._attach(self._link_failed(error), spec) from None
        finally:
            self._leave_busy()


def _role(specs: dict[str, TraitSpec], role: str) -> list[tuple[str, TraitSpec]]:
    return [(n, s) for n, s in specs.items() if s.role == role]
