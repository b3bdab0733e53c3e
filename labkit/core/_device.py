"""``Device``: one link, one worker thread, and the lifecycle around them.

The part of an instrument that has nothing to do with its declarations: the link to the device
(a transport, a camera SDK, a pvAccess context, a plugin library), the worker thread that
serialises every call on it, opening, closing and reconnecting, and what a failed call means
(a lost connection marks the device disconnected). :class:`~labkit.core.Instrument` adds the
declarations, guards and values on top; drivers meet this part through :meth:`Device.run_io`,
:attr:`Device.link` and the ``_on_open``/``_on_close`` hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from traitlets import All, Bool, HasTraits

from labkit.core import _hooks
from labkit.core._attributes import SEALED, no_attribute, refuse_unknown
from labkit.core._errors import (
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    LabkitError,
    NotConnectedError,
)
from labkit.core._holds import RunHolds
from labkit.core._link import Link
from labkit.core._spec import TraitSpec
from labkit.core._worker import Worker

__all__ = ["Device"]

T = TypeVar("T")


class Device(HasTraits):
    """A link to a device and the worker thread all its I/O runs on.

    ``parent`` makes a channel: it shares its parent's link and worker.
    """

    connected = Bool(False, help="The link is open and the instrument answered")
    busy = Bool(False, help="The instrument's worker is doing I/O")

    name: str
    resource: str | None
    parent: Any

    def __init__(
        self,
        name: str,
        resource: str | None,
        link: Link | None,
        options: dict[str, Any],
        parent: Device | None = None,
    ) -> None:
        super().__init__()
        self.parent = parent
        self.name = name
        self.resource = resource
        self._link = link
        self._options = options
        self._worker = parent.worker if parent is not None else Worker(name)
        self._closed = False
        self._busy = _Depth()
        self._channels: dict[str, Any] = {}
        self.run_holds = RunHolds(name)  # which run sets which setting (one at a time)

    # ------------------------------------------------------------------ names

    def __setattr__(self, name: str, value: Any) -> None:
        # A typo (smu.current_limt = 1) must not become a new attribute: see ._attributes.
        if name[0] != "_" and SEALED in self.__dict__ and not self._worker.on_worker():
            refuse_unknown(self, name)
        super().__setattr__(name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called for names the instance does not have: say which were meant.
        if name[0] == "_" or SEALED not in self.__dict__:
            raise AttributeError(name)
        raise AttributeError(no_attribute(self, name))

    # ------------------------------------------------------------------ what it is

    @property
    def link(self) -> Any:
        """The link to the device (a transport, a camera SDK...), shared with channels.

        Raises ``NotConnectedError`` when there is none (not opened yet, or closed). Setting it
        replaces the link of a connected instrument (``labkit.testing.record`` wraps it).
        """
        if self.parent is not None:
            return self.parent.link
        link = self._link
        if link is None:
            raise NotConnectedError(
                "the instrument has no open link", instrument=self.name, hint="Call open() first"
            )
        return link

    @link.setter
    def link(self, link: Any) -> None:
        if self.parent is not None:
            self.parent.link = link
        else:
            self._link = link

    @property
    def worker(self) -> Worker:
        """The thread that runs this instrument's I/O (shared with its channels)."""
        return self._worker

    @property
    def closed(self) -> bool:
        """``close()`` was called: the instrument cannot be used again (make a new one)."""
        return self.parent.closed if self.parent is not None else self._closed

    @property
    def instant(self) -> bool:
        """The instrument answers in-process and fast (a simulator, a memory-mapped device):
        its single reads and sets run on the caller's thread. Real instruments never are."""
        return self._worker.instant

    @property
    def channels(self) -> dict[str, Any]:
        return dict(self._channels)

    # ------------------------------------------------------------------ in a notebook

    def describe(self) -> str:
        return repr(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.describe())

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

    def make_link(self) -> Link:
        """The link for ``resource`` when none was given: by default the transport its address
        names (pyvisa, pyserial, pyusb, simulators included). Drivers of other links
        (cameras, servers, libraries) override it; the link may be returned unopened."""
        if self.resource is None:
            raise ConfigurationError(
                "no resource address and no link given",
                instrument=self.name,
                hint="Pass an address such as 'GPIB0::24::INSTR'",
            )
        return _hooks.open_link(self.resource, self._options)

    def open(self) -> Any:
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
        try:
            if self._link is None:
                self._link = self.make_link()
            if not self._link.is_open:
                self._link.open()
        except LabkitError as error:
            raise self._attach(error) from None
        try:
            self._greet()
        except LabkitError as error:
            self._safe_close_link()
            raise self._attach(error) from None
        except BaseException:
            self._safe_close_link()
            raise

    def _greet(self) -> None:
        """On the worker, the link open: the driver's handshake (``_on_open``)."""
        self._on_open()

    def _safe_close_link(self) -> None:
        try:
            if self._link is not None:
                self._link.close()
        except Exception:
            pass

    def _mark_connected(self, value: bool) -> None:
        root = self.parent or self
        root.connected = value
        for channel in root.channels.values():
            channel.connected = value

    def close(self) -> None:
        """Close the link and end the worker thread. Nothing is moved to safe values."""
        if self.parent is not None or self._closed:
            return
        self._closed = True
        try:
            if self.connected:
                self._worker.call(self._close_on_worker)
        finally:
            self._mark_connected(False)
            self._worker.shutdown()
            self._forget()

    def _forget(self) -> None:
        """Closed for good: let go of whatever keeps the device known (the registry)."""

    def _close_on_worker(self) -> None:
        try:
            self._on_close()
        finally:
            if self._link is not None:
                self._link.close()

    def reconnect(self) -> Any:
        """Close and reopen the link (after a disconnect), then read the settings again."""
        if self.parent is not None:
            return self.parent.reconnect()
        if self._closed:
            raise NotConnectedError(
                "this instrument was closed", instrument=self.name, hint="Create it again instead"
            )

        def again() -> None:
            self._safe_close_link()
            self._open_on_worker()

        try:
            self._worker.call(again)
        except BaseException:
            self._mark_connected(False)  # the link is closed: say so, not "connected"
            raise
        self._mark_connected(True)
        return self

    def __enter__(self) -> Any:
        return self.open()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ hooks for drivers

    def hold_for_run(
        self, run: str, settings: Iterable[str], *, about: Callable[[], str] | None = None
    ) -> None:
        """A run is about to set ``settings`` (``"ch1.amplitude"`` for a channel's); raising
        :class:`SettingInUse` refuses it. A setting belongs to one run at a time
        (:attr:`run_holds`); a remote instrument also claims them on its server."""
        self.run_holds.hold(run, settings, about=about)

    def release_from_run(self, run: str) -> None:
        """The run that held settings with :meth:`hold_for_run` has ended (made safe too)."""
        self.run_holds.release(run)

    def _on_open(self) -> None:
        """Called on the worker once the link is open: handshakes, clearing status."""

    def _on_close(self) -> None:
        """Called on the worker before the link closes (return to local mode...)."""

    # ------------------------------------------------------------------ I/O on the worker

    def run_io(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on this instrument's worker (at once if already
        there), serialised with all its other I/O; wait for the result.

        Labkit errors come back naming the instrument; a ``ConnectionLost`` marks it
        disconnected. Called from outside the worker it first checks the instrument is
        connected. ``self.run_io(self.link.bulk_read, 0x81, 512)``.
        """
        self.require_connected()
        return self._worker.call(self._guarded, function, args, kwargs)

    async def run_io_async(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`run_io` for async code: the event loop is not blocked."""
        self.require_connected()
        return await self._worker.call_async(self._guarded, function, args, kwargs)

    def _guarded(self, function: Callable[..., T], args: Any, kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except LabkitError as error:
            raise self._link_failed(error) from None

    def _link_failed(self, error: LabkitError) -> LabkitError:
        """What a failed link call means for the device: a lost connection marks it
        disconnected (and says how to recover); every error names the instrument."""
        if isinstance(error, ConnectionLost):
            root = self.parent or self
            if root.connected:
                self._mark_connected(False)
            if error.hint is None:
                error.hint = f"Call {root.name}.reconnect() once the link is back"
        return self._attach(error)

    def require_connected(self) -> None:
        """Raise ``NotConnectedError`` (saying how to recover) unless connected (or inside one
        of the instrument's own operations, on its worker: connecting, for one)."""
        if not self._connected_now and not self._worker.on_worker():
            root = self.parent or self
            hint = (
                f"Call {root.name}.reconnect()"
                if not root.closed
                else "Create the instrument again"
            )
            raise NotConnectedError(
                "the instrument is not connected", instrument=self.name, hint=hint
            )

    def _attach(self, error: LabkitError, spec: TraitSpec | None = None) -> LabkitError:
        if error.instrument is None:
            error.instrument = self.name
        if spec is not None and error.setting is None:
            error.setting = spec.name
        if isinstance(error, InstrumentError) and error.resource is None:
            error.resource = (self.parent or self).resource
        return error

    # ------------------------------------------------------------------ values and flags

    def last_value(self, name: str) -> Any:
        """The last value acknowledged or reported for ``name`` (None if unknown): no I/O."""
        return self._trait_values.get(name)

    # Every operation runs holding the worker's lock (on its thread or inline), so the count
    # of operations in progress needs no lock of its own. It lives in a plain object: every
    # operation passes here, and the instrument's own __setattr__ (typo guard) costs a call.
    def _enter_busy(self) -> None:
        busy = self._busy
        busy.depth += 1
        if busy.depth == 1:
            notifiers = self._trait_notifiers  # _flag, inlined: every operation passes here
            if "busy" in notifiers or All in notifiers:
                self.set_trait("busy", True)
            else:
                self._trait_values["busy"] = True

    def _leave_busy(self) -> None:
        busy = self._busy
        busy.depth -= 1
        if busy.depth == 0:
            notifiers = self._trait_notifiers
            if "busy" in notifiers or All in notifiers:
                self.set_trait("busy", False)
            else:
                self._trait_values["busy"] = False

    @property
    def _connected_now(self) -> bool:
        # ``connected`` without traitlets' descriptor: every set and read of a sweep asks.
        return bool(self._trait_values.get("connected"))

    def _set_quietly(self, name: str, value: Any) -> bool:
        """Set a trait without traitlets' machinery when nobody observes it (every operation
        raises and lowers ``busy``; a sweep stores every point). True when it was quiet."""
        notifiers = self._trait_notifiers
        if name in notifiers or All in notifiers or name in self._trait_validators:
            return False
        self._trait_values[name] = value
        return True

    def _flag(self, name: str, value: Any) -> None:
        notifiers = self._trait_notifiers
        if name in notifiers or All in notifiers:
            self.set_trait(name, value)
        else:
            self._trait_values[name] = value


class _Depth:
    """How many operations of a device are in progress (nested calls included)."""

    __slots__ = ("depth",)

    def __init__(self) -> None:
        self.depth = 0
