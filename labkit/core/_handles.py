"""Handles: named references to one instrument's setting, reading or action.

``smu.voltage`` is a number (the trait value); ``smu.settings.voltage`` is the handle that
scans, interlocks and panels use to refer to it. Handles tab-complete, fail on typos with a
suggestion, and carry the declaration (unit, limits) along with the instrument.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from labkit.core import _watch
from labkit.core._conditions import Condition, Interlock, compare
from labkit.core._errors import ConfigurationError
from labkit.core._snapshot import shown_value
from labkit.core._spec import TraitSpec

if TYPE_CHECKING:
    from labkit.core._guards import SettingLock
    from labkit.core._instrument import Instrument
    from labkit.core._state import SettingState

__all__ = ["ActionHandle", "Handle", "Namespace", "ReadingHandle", "SettingHandle"]

H = TypeVar("H", bound="Handle")


class Handle:
    """What every handle has: the instrument, the declaration, a full name and the cached value."""

    __slots__ = ("instrument", "spec")

    def __init__(self, instrument: Instrument, spec: TraitSpec) -> None:
        self.instrument = instrument
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def full_name(self) -> str:
        """``smu.voltage``: unique across a station, used in runs and messages."""
        return f"{self.instrument.name}.{self.spec.name}"

    @property
    def unit(self) -> str | None:
        return self.spec.unit

    @property
    def label(self) -> str:
        return self.spec.title

    @property
    def value(self) -> Any:
        """The last value the instrument acknowledged or reported (no I/O)."""
        return self.instrument.last_value(self.spec.name)

    @property
    def readable(self) -> bool:
        """The instrument can be asked for it."""
        return self.spec.readable

    def current(self) -> Any:
        """The value now: read from the instrument if it can be read, else the last known one."""
        if self.spec.readable:
            return self.instrument.read(self)
        return self.value

    async def current_async(self) -> Any:
        if self.spec.readable:
            return await self.instrument.read_async(self)
        return self.value

    # Comparisons build conditions for interlocks and suspenders. There is deliberately no
    # __eq__: handles stay hashable and comparable by identity; use .equals() instead.
    def __lt__(self, other: Any) -> Condition:
        return compare(self, "<", other)

    def __le__(self, other: Any) -> Condition:
        return compare(self, "<=", other)

    def __gt__(self, other: Any) -> Condition:
        return compare(self, ">", other)

    def __ge__(self, other: Any) -> Condition:
        return compare(self, ">=", other)

    def equals(self, other: Any) -> Condition:
        return compare(self, "==", other)

    def between(self, low: Any, high: Any) -> Condition:
        """Holds while ``low <= value <= high``."""
        return (self >= low) & (self <= high)

    def __repr__(self) -> str:
        role = self.spec.role.capitalize()
        shown = shown_value(self.spec, self.value) if self.value is not None else "unknown"
        return f"<{role} {self.full_name} = {shown}>"


class SettingHandle(Handle):
    """A setting: set, read, check without I/O, limits, locks and interlocks."""

    __slots__ = ("state",)

    def __init__(self, instrument: Instrument, spec: TraitSpec, state: SettingState) -> None:
        super().__init__(instrument, spec)
        self.state = state
        """The setting's limits in force, lock, ramp rate, interlocks, busy and error."""

    @property
    def writable(self) -> bool:
        """The instrument can be told it (not read-only)."""
        return self.spec.writable

    def set(self, value: Any) -> Any:
        """Set and block until the instrument acknowledged; returns the stored value."""
        return self.instrument.set(self, value)

    def set_async(self, value: Any) -> Coroutine[Any, Any, Any]:
        """Set from async code (the run engine): ``await handle.set_async(1)``; the I/O runs
        on the instrument's worker. (The instrument's own coroutine: no second frame.)"""
        return self.instrument.set_async(self, value)

    def submit(self, value: Any) -> Future[Any]:
        """Check now, then set in the background; the future resolves when acknowledged."""
        return self.instrument.submit(self, value)

    def read(self) -> Any:
        """Ask the instrument for the value it has now."""
        return self.instrument.read(self)

    def read_async(self) -> Coroutine[Any, Any, Any]:
        """``await handle.read_async()``: the instrument's own coroutine."""
        return self.instrument.read_async(self)

    def check(self, value: Any) -> Any:
        """Validate ``value`` against type, unit, choices, locks and limits, with no I/O.

        Returns the value as it would be sent (in the declared unit). Used by dry runs.
        """
        return self.state.check(value)

    @property
    def limits(self) -> tuple[float, float]:
        """The range in force now: hard, soft and locked limits combined."""
        lower, upper = self.state.bounds()
        return lower.value, upper.value

    def limit(self, min: float | str | None = None, max: float | str | None = None) -> None:
        """Narrow (or widen, up to the hard limits) the soft limits."""
        self.state.limit(min, max)

    def lock(
        self,
        *,
        value: Any = None,
        min: Any = None,
        max: Any = None,
        reason: str = "",
        key: str | None = None,
        key_sha256: str | None = None,
    ) -> None:
        """Lock the value or the limits (as an instructor); ``key`` is then needed to unlock
        (or give only its SHA-256, ``key_sha256``, to publish the locking code without it).

        Locking a value sets it first when the instrument is connected.
        """
        lock = self.state.make_lock(
            current=self.value,
            value=value,
            min=min,
            max=max,
            reason=reason,
            key=key,
            key_digest=key_sha256,
        )
        self.engage(lock)

    def engage(self, lock: SettingLock) -> None:
        """Put a lock in force that was checked already (``state.make_lock``, a station
        file), in place of any lock there; a locked value is set first when the instrument is
        connected (free of the lock it replaces, which stays if that set fails)."""
        writes = lock.locks_value and self.instrument.connected and self.spec.writable
        if writes and self.value != lock.value:
            previous, self.state.lock = self.state.lock, None
            try:
                self.set(lock.value)
            except BaseException:
                self.state.lock = previous
                raise
        self.state.lock = lock

    def unlock(self, key: str | None = None) -> None:
        self.state.unlock(key)

    @property
    def locked(self) -> bool:
        return self.state.lock is not None

    @property
    def ramp_rate(self) -> float | None:
        return self.state.ramp_rate

    @ramp_rate.setter
    def ramp_rate(self, rate: float | str | None) -> None:
        self.state.set_ramp_rate(rate)

    def interlock(
        self,
        condition: Condition,
        *,
        when: Any = None,
        reason: str = "",
        check_every: float | None = None,
    ) -> Interlock:
        """Allow changes (to values matching ``when``) only while ``condition`` holds, and
        watch it: while the setting is in such a state (and whenever a run uses the
        instrument) the condition is re-checked every ``check_every`` seconds (0.5 s by
        default); when it fails, or cannot be read, the instrument's outputs go to their
        safe values and a run using it fails, saying why.

        ``smu.settings.output.interlock(tc.readings.temperature < "350 K", when=True)``:
        the output may be on only while the sample is below 350 K.
        """
        if not isinstance(condition, Condition):
            if callable(condition):
                condition = Condition.from_callable(condition)
            else:
                raise ConfigurationError(
                    f"an interlock needs a condition, not {condition!r}",
                    setting=self.full_name,
                    hint="Compare a handle (tc.readings.temperature < 350) or pass a function",
                )
        if check_every is not None and not 0 < check_every < math.inf:
            raise ConfigurationError(
                f"check_every must be a positive number of seconds, not {check_every!r}",
                setting=self.full_name,
                hint="Give e.g. check_every=0.5",
            )
        interlock = Interlock(self, condition, when=when, reason=reason)
        self.state.add_interlock(interlock)
        _watch.watcher().watch(interlock, check_every)
        return interlock

    @property
    def interlocks(self) -> list[Interlock]:
        return list(self.state.interlocks)


class ReadingHandle(Handle):
    """A reading: read it (blocking or async)."""

    __slots__ = ()

    def read(self) -> Any:
        return self.instrument.read(self)

    def read_async(self) -> Coroutine[Any, Any, Any]:
        """``await handle.read_async()``: the instrument's own coroutine."""
        return self.instrument.read_async(self)


class ActionHandle(Handle):
    """An action, bound to its instrument: call it."""

    __slots__ = ()

    def __call__(self) -> Any:
        return self.instrument.run_action(self)

    async def run_async(self) -> Any:
        return await self.instrument.run_action_async(self)

    def submit(self) -> Future[Any]:
        return self.instrument.submit_action(self)

    def __repr__(self) -> str:
        return f"<Action {self.full_name}>"


class Namespace(Generic[H]):
    """Attribute access to an instrument's handles that tab-completes and catches typos."""

    _kind: str
    _owner: str
    _handles: dict[str, H]

    def __init__(self, kind: str, owner: str, handles: dict[str, H]) -> None:
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_handles", handles)

    def __getattr__(self, name: str) -> H:
        handles: dict[str, H] = object.__getattribute__(self, "_handles")
        try:
            return handles[name]
        except KeyError:
            pass
        if name.startswith("__"):
            raise AttributeError(name)
        close = difflib.get_close_matches(name, list(handles), n=3)
        hint = (
            f"Did you mean {' or '.join(repr(c) for c in close)}?"
            if close
            else (f"It has: {', '.join(handles) or 'none'}")
        )
        raise AttributeError(f"{self._owner} has no {self._kind} {name!r}. {hint}")

    def __getitem__(self, name: str) -> H:
        try:
            return self._handles[name]
        except KeyError:
            self.__getattr__(name)
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"{self._owner}.{self._kind}s holds handles; set values with "
            f"{self._owner.split('.')[-1]}.{name} = ... or the handle's .set()"
        )

    def __dir__(self) -> list[str]:
        return list(self._handles)

    def _ipython_key_completions_(self) -> list[str]:
        return list(self._handles)

    def __iter__(self) -> Iterator[H]:
        return iter(self._handles.values())

    def __len__(self) -> int:
        return len(self._handles)

    def __contains__(self, name: object) -> bool:
        return name in self._handles

    def names(self) -> list[str]:
        return list(self._handles)

    def __repr__(self) -> str:
        return f"<{self._owner} {self._kind}s: {', '.join(self._handles)}>"
