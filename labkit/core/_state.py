"""What one instrument knows about one of its settings beyond the declaration.

The declaration holds the hard limits from the manual; here live the soft limits a user set,
an instructor's lock, the ramp rate in use, and whether the hardware is busy with the setting
or refused it. These are traits so a panel can observe them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

from traitlets import Bool, Float, HasTraits, Instance, Unicode, observe

from labkit.core._spec import TraitSpec

__all__ = ["Bound", "SettingLock", "SettingState"]

_UNSET: Any = object()


@dataclasses.dataclass(frozen=True)
class SettingLock:
    """An instructor's lock on a value or on limits; ``key`` (hashed) is needed to lift it."""

    value: Any = _UNSET
    min: float | None = None
    max: float | None = None
    reason: str = ""
    key_digest: str | None = None

    @property
    def locks_value(self) -> bool:
        return self.value is not _UNSET

    def opens_with(self, key: str | None) -> bool:
        return self.key_digest is None or (key is not None and _digest(key) == self.key_digest)

    def describe(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        if self.locks_value:
            return f"locked at {self.value!r}{why}"
        return f"limits locked to [{self.min}, {self.max}]{why}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def make_lock(
    *,
    value: Any = _UNSET,
    min: float | None = None,
    max: float | None = None,
    reason: str = "",
    key: str | None = None,
) -> SettingLock:
    return SettingLock(
        value=value,
        min=min,
        max=max,
        reason=reason,
        key_digest=_digest(key) if key is not None else None,
    )


@dataclasses.dataclass(frozen=True)
class Bound:
    """One side of the range in force, and where it comes from (for error messages)."""

    value: float
    source: str  # "hard limit", "soft limit", "locked limit"

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


class SettingState(HasTraits):
    """Observable per-instance state of a setting."""

    soft_min = Float(None, allow_none=True, help="Lower soft limit, within the hard limits")
    soft_max = Float(None, allow_none=True, help="Upper soft limit, within the hard limits")
    ramp_rate = Float(None, allow_none=True, help="Ramp rate in use (declared unit per second)")
    lock = Instance(SettingLock, allow_none=True, help="An instructor's lock, if any")
    busy = Bool(False, help="The instrument is working on this setting")
    error = Unicode("", help="Why the last change was refused or failed; empty if it worked")

    def __init__(self, spec: TraitSpec) -> None:
        super().__init__(soft_min=spec.soft_min, soft_max=spec.soft_max, ramp_rate=spec.ramp)
        self._bounds: tuple[Bound, Bound] | None = None

    @observe("soft_min", "soft_max", "lock")
    def _limits_changed(self, change: Any) -> None:
        self._bounds = None

    def bounds(self, spec: TraitSpec) -> tuple[Bound, Bound]:
        """The tightest lower and upper bounds in force, with their source (cached: every
        set checks them, they change only when limits or locks do)."""
        if self._bounds is None:
            self._bounds = self._compute_bounds(spec)
        return self._bounds

    def _compute_bounds(self, spec: TraitSpec) -> tuple[Bound, Bound]:
        lo, hi = spec.hard_range()
        lower, upper = Bound(lo, "hard limit"), Bound(hi, "hard limit")
        if self.soft_min is not None and self.soft_min > lower.value:
            lower = Bound(self.soft_min, "soft limit")
        if self.soft_max is not None and self.soft_max < upper.value:
            upper = Bound(self.soft_max, "soft limit")
        if self.lock is not None and not self.lock.locks_value:
            if self.lock.min is not None and self.lock.min > lower.value:
                lower = Bound(self.lock.min, "locked limit")
            if self.lock.max is not None and self.lock.max < upper.value:
                upper = Bound(self.lock.max, "locked limit")
        return lower, upper
