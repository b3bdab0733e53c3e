"""Interlocks are watched, not only checked when a setting changes.

An interlock says a setting may be in some state (an output on, a voltage away from zero) only
while a condition holds. Checking it when the setting changes is not enough: the sample heats
up later, the cooling water stops later. So every interlock is re-checked at a steady rate
(``check_every``, 0.5 s by default) while it is **engaged** — its setting is in a state the
interlock governs and not at its declared safe value — and, whatever the setting's state,
while a run uses the instrument. When the condition fails (or cannot be read: interlocks fail
closed) the interlock **trips**: the instrument's outputs go to their declared safe values, the
trip is kept on the interlock (``interlock.tripped``) and shown in the setting's state, logged,
and handed to whoever listens — a run using the instrument records it and fails.

The watcher runs on labkit's event loop. Its clock is injectable (``now()`` and ``sleep()``),
so tests decide when checks are due instead of waiting on a wall clock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as _dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from labkit.core import _loop
from labkit.core._errors import InterlockError, LabkitError

if TYPE_CHECKING:
    from labkit.core._conditions import Interlock

__all__ = [
    "DEFAULT_INTERVAL",
    "Clock",
    "InterlockWatcher",
    "Trip",
    "on_trip",
    "set_watcher",
    "watcher",
]

log = logging.getLogger("labkit.interlocks")

DEFAULT_INTERVAL = 0.5
"""Seconds between two checks of an engaged interlock, unless it says otherwise."""


class Clock(Protocol):
    """What the watcher reads time from and waits with."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real one."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclasses.dataclass(frozen=True)
class Trip:
    """An interlock that tripped: when, why, and what went to safe values."""

    interlock: Interlock
    reason: str
    time: str
    made_safe: dict[str, Any]
    error: str | None = None

    @property
    def instrument(self) -> Any:
        return self.interlock.setting.instrument

    def exception(self) -> InterlockError:
        """The error a run using the instrument fails with."""
        handle = self.interlock.setting
        safe = ", ".join(f"{name}={value!r}" for name, value in self.made_safe.items())
        return InterlockError(
            f"interlock tripped: {handle.full_name} needs {self.interlock.condition.description}"
            f", but {self.reason}; outputs went to safe values ({safe or 'none declared'})",
            condition=self.interlock.condition.description,
            instrument=handle.instrument.name,
            setting=handle.name,
            hint="Fix what the condition watches, then start again",
        )


TripHook = Callable[[Trip], None]
_trip_hooks: list[TripHook] = []
_busy_providers: list[Callable[[], set[int]]] = []


def on_trip(hook: TripHook) -> None:
    """Call ``hook(trip)`` on labkit's loop each time an interlock trips (runs use this)."""
    if hook not in _trip_hooks:
        _trip_hooks.append(hook)


def in_use_by(provider: Callable[[], set[int]]) -> None:
    """``provider()`` gives the ``id`` of instruments in use (by runs): their interlocks are
    watched whatever their settings' state."""
    if provider not in _busy_providers:
        _busy_providers.append(provider)


class _Entry:
    __slots__ = ("due", "interlock", "interval")

    def __init__(self, interlock: Interlock, interval: float, due: float) -> None:
        self.interlock = interlock
        self.interval = interval
        self.due = due


class InterlockWatcher:
    """Re-checks engaged interlocks at their rate and trips them when their condition fails."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or MonotonicClock()
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()
        self._changed: asyncio.Event | None = None
        self._task: concurrent.futures.Future[None] | None = None
        self.started = False  # start() was called: set_watcher() restarts it when put back
        self.trips: list[Trip] = []

    # -- registration (any thread) ---------------------------------------------------------

    def watch(self, interlock: Interlock, interval: float | None = None) -> None:
        """Start watching ``interlock`` (every ``interval`` seconds while engaged)."""
        every = DEFAULT_INTERVAL if interval is None else float(interval)
        with self._lock:
            self._entries[id(interlock)] = _Entry(interlock, every, self.clock.now() + every)
        self._wake()

    def unwatch(self, interlock: Interlock) -> None:
        with self._lock:
            self._entries.pop(id(interlock), None)
        self._wake()

    def watched(self) -> list[Interlock]:
        with self._lock:
            return [entry.interlock for entry in self._entries.values()]

    def rates(self) -> list[tuple[Interlock, float]]:
        """Every watched interlock with its interval."""
        with self._lock:
            return [(entry.interlock, entry.interval) for entry in self._entries.values()]

    # -- the checks ------------------------------------------------------------------------

    @staticmethod
    def engaged(interlock: Interlock) -> bool:
        """The setting is in a state the interlock governs, and not at its safe value."""
        handle = interlock.setting
        if not handle.instrument.connected:
            return False
        value = handle.value
        if value is None:
            return False
        safe = handle.spec.safe
        if safe is not None:
            try:
                if handle.spec.coerce(safe) == value:
                    return False
            except LabkitError:
                pass
        return interlock.applies_to(value)

    def _due(self, now: float) -> list[_Entry]:
        busy: set[int] = set()
        for provider in _busy_providers:
            try:
                busy |= provider()
            except Exception:  # a provider's bug must not stop the watching
                log.exception("labkit: an interlock in-use provider failed")
        due = []
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            handle = entry.interlock.setting
            if _closed(handle.instrument):  # gone for good: forget it
                self.unwatch(entry.interlock)
                continue
            if entry.due > now:
                continue
            entry.due = now + entry.interval
            if not handle.instrument.connected:
                continue
            if id(handle.instrument) in busy or self.engaged(entry.interlock):
                due.append(entry)
        return due

    async def check_due(self) -> list[Trip]:
        """Check every interlock whose time has come; trip those that fail. Returns the trips."""
        trips = []
        for entry in self._due(self.clock.now()):
            interlock = entry.interlock
            try:
                holds, why = await interlock.condition.holds_async()
            except Exception as error:  # fail closed: a condition that cannot be read fails
                holds, why = False, f"it could not be checked ({error})"
            if not holds:
                trips.append(await self._trip(interlock, why))
        return trips

    async def _trip(self, interlock: Interlock, why: str) -> Trip:
        handle = interlock.setting
        instrument = handle.instrument
        made: dict[str, Any] = {}
        failure = None
        try:
            made = await instrument.make_safe_async()
        except Exception as error:  # say so; the trip is recorded either way
            failure = f"{type(error).__name__}: {error}"
        trip = Trip(
            interlock,
            why,
            _dt.datetime.now(_dt.timezone.utc).isoformat(),
            dict(made),
            failure,
        )
        interlock.tripped = trip
        self.trips.append(trip)
        message = str(trip.exception())
        if failure:
            message += f" — making it safe failed: {failure}"
        try:
            handle.state.error = message
        except Exception:
            pass
        log.warning("labkit: %s", message)
        for hook in list(_trip_hooks):
            try:
                hook(trip)
            except Exception:
                log.exception("labkit: an interlock trip listener failed")
        return trip

    # -- the loop --------------------------------------------------------------------------

    def next_delay(self) -> float | None:
        """Seconds until the next check is due (None: nothing is watched)."""
        with self._lock:
            if not self._entries:
                return None
            first = min(entry.due for entry in self._entries.values())
        return max(0.0, first - self.clock.now())

    async def run(self) -> None:
        """Check what is due, sleep until the next, forever (a task on labkit's loop)."""
        self._changed = asyncio.Event()
        while True:
            delay = self.next_delay()
            self._changed.clear()
            sleeping = asyncio.ensure_future(self.clock.sleep(delay if delay is not None else 3600))
            woken = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait([sleeping, woken], return_when=asyncio.FIRST_COMPLETED)
            for waiting in (sleeping, woken):
                waiting.cancel()
            try:
                await self.check_due()
            except Exception:
                log.exception("labkit: checking interlocks failed")

    def start(self) -> None:
        """Run the loop on labkit's event loop (once)."""
        self.started = True
        if self._task is None or self._task.done():
            self._task = _loop.submit(self.run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _wake(self) -> None:
        changed = self._changed
        if changed is not None:
            loop = _loop.get_loop()
            loop.call_soon_threadsafe(changed.set)


def _closed(instrument: Any) -> bool:
    return bool(instrument.closed)  # a channel asks its parent


_watcher: InterlockWatcher | None = None
_watcher_lock = threading.Lock()


def watcher() -> InterlockWatcher:
    """The process's watcher, running on labkit's loop."""
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            _watcher = InterlockWatcher()
            _watcher.start()
        return _watcher


def set_watcher(replacement: InterlockWatcher | None) -> InterlockWatcher | None:
    """Use ``replacement`` (a test's, with its own clock) from now on; returns the old one."""
    global _watcher
    with _watcher_lock:
        old, _watcher = _watcher, replacement
    if old is not None and old is not replacement:
        if replacement is not None:
            for interlock, interval in old.rates():
                if not _closed(interlock.setting.instrument):
                    replacement.watch(interlock, interval)
        old.stop()
    if replacement is not None and replacement.started:
        replacement.start()  # a watcher put back after a swap watches again
    return old
