"""The guard rules on a setting, as pure functions: checked before any byte goes out.

Hard limits come from the declaration and never change. Soft limits narrow them for one
instrument (a station file, a careful user); an instructor's lock fixes a value or a range and
needs the instructor's key to lift; a ramp rate makes changes gradual. Each rule is written
once, here, and does no I/O: an instrument applies them to every value (through its
:class:`~labkit.core.SettingState`), and a station file is checked with the very same functions
before anything connects, so both refuse with the same words.

Errors name the setting; the caller adds the instrument (and, for a station file, the line).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

from labkit.core._errors import AccessError, ConfigurationError, LimitError, LockedError
from labkit.core._spec import TraitSpec
from labkit.core._units import format_quantity, to_number

__all__ = [
    "Bound",
    "SettingLock",
    "bounds_in_force",
    "check_lock",
    "check_ramp_rate",
    "check_soft_limits",
    "check_value",
    "check_writable",
    "describe_range",
    "make_lock",
]

LIMIT_TOLERANCE = 1e-12
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
    key_digest: str | None = None,
) -> SettingLock:
    """A lock; ``key`` is kept only as its SHA-256 (or give that digest, as a station file does)."""
    digest = _digest(key) if key is not None else key_digest
    return SettingLock(
        value=value,
        min=min,
        max=max,
        reason=reason,
        key_digest=digest.lower() if digest else None,
    )


@dataclasses.dataclass(frozen=True)
class Bound:
    """One side of the range in force, and where it comes from (for error messages)."""

    value: float
    source: str  # "hard limit", "soft limit", "locked limit"

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


def hard_bounds(spec: TraitSpec) -> tuple[Bound, Bound]:
    lo, hi = spec.hard_range()
    return Bound(lo, "hard limit"), Bound(hi, "hard limit")


def bounds_in_force(
    spec: TraitSpec,
    soft_min: float | None = None,
    soft_max: float | None = None,
    lock: SettingLock | None = None,
) -> tuple[Bound, Bound]:
    """The tightest lower and upper bounds of the hard limits, the soft limits and a locked
    range, each with where it comes from (for the error that names it)."""
    lower, upper = hard_bounds(spec)
    if soft_min is not None and soft_min > lower.value:
        lower = Bound(soft_min, "soft limit")
    if soft_max is not None and soft_max < upper.value:
        upper = Bound(soft_max, "soft limit")
    if lock is not None and not lock.locks_value:
        if lock.min is not None and lock.min > lower.value:
            lower = Bound(lock.min, "locked limit")
        if lock.max is not None and lock.max < upper.value:
            upper = Bound(lock.max, "locked limit")
    return lower, upper


def check_writable(spec: TraitSpec, value: Any, instrument: str | None = None) -> None:
    """Refuse a value for a reading, an action or a read-only setting."""
    context = {"instrument": instrument, "setting": spec.name, "value": value}
    if spec.role == "reading":
        who = f"{instrument}.read({spec.name!r})" if instrument else f"read({spec.name!r})"
        raise AccessError(
            f"{spec.name} is a reading and cannot be set", hint=f"Read it with {who}", **context
        )
    if spec.role == "action":
        raise AccessError(
            f"{spec.name} is an action and cannot be set",
            hint=f"Call {instrument or 'the instrument'}.{spec.name}()",
            **context,
        )
    if not spec.writable:
        raise AccessError(
            f"{spec.name} is read-only",
            hint="Its value follows the instrument's other settings",
            **context,
        )


def check_value(
    spec: TraitSpec, value: Any, bounds: tuple[Bound, Bound], lock: SettingLock | None
) -> Any:
    """``value`` in the declaration's kind and unit, within the limits in force and any lock.

    Type, unit and choices first (:meth:`TraitSpec.coerce`), then a lock on the value, then the
    range (a value within a part in 10¹² of a bound is taken as the bound: float noise of a
    scan's arithmetic).
    """
    value = spec.coerce(value, where=spec.name)
    if lock is not None and lock.locks_value and value != lock.value:
        raise LockedError(
            f"{format_quantity(value, spec.unit)} refused: the setting is {lock.describe()}",
            setting=spec.name,
            value=value,
            limit=lock.value,
            hint="Ask your instructor to unlock it (handle.unlock(key))",
        )
    if not spec.numeric:
        return value
    lower, upper = bounds
    if lower.value <= value <= upper.value:
        if spec.kind == "int" and spec.step is not None and spec.step > 1:
            _check_increment(spec, value, lower.value if lower.finite else 0)
        return value
    below = value < lower.value
    bound = lower if below else upper
    if math.isclose(value, bound.value, rel_tol=LIMIT_TOLERANCE, abs_tol=1e-300):
        return type(value)(bound.value)
    side, where = ("lower", "below") if below else ("upper", "above")
    raise LimitError(
        f"{format_quantity(value, spec.unit)} is {where} the {side} {bound.source} "
        f"{format_quantity(bound.value, spec.unit)}",
        setting=spec.name,
        value=value,
        limit=bound.value,
        hint=f"Choose a value {describe_range(lower.value, upper.value, spec.unit)}"
        + _limit_advice(bound.source),
    )


def _check_increment(spec: TraitSpec, value: int, origin: float) -> None:
    """Refuse a whole number off the setting's increment (a camera's Width in steps of 16):
    the device would round it, or refuse it, behind the user's back."""
    step = int(spec.step)  # type: ignore[arg-type]
    start = int(spec.min) if spec.min is not None else int(origin)
    if (value - start) % step == 0:
        return
    below = start + (value - start) // step * step
    raise LimitError(
        f"{value} is not on the increment of {step} from {start}",
        setting=spec.name,
        value=value,
        limit=step,
        hint=f"Choose a value {start} + a multiple of {step}: the nearest are {below} and "
        f"{below + step}",
    )


def check_soft_limits(spec: TraitSpec, low: Any, high: Any) -> tuple[float | None, float | None]:
    """Soft limits as numbers in the declared unit, inside the hard limits and in order."""
    if not spec.numeric:
        raise ConfigurationError(
            f"{spec.name} is not a number and has no limits", setting=spec.name
        )
    hard_lo, hard_hi = spec.hard_range()
    limits: list[float | None] = []
    for raw, side in ((low, "lower"), (high, "upper")):
        if raw is None:
            limits.append(None)
            continue
        number = to_number(raw, spec.unit, where=spec.name)
        if not hard_lo <= number <= hard_hi:
            raise LimitError(
                f"the {side} limit {format_quantity(number, spec.unit)} is beyond the hard limits "
                f"of {spec.qualname} ({describe_range(hard_lo, hard_hi, spec.unit, bare=True)})",
                setting=spec.name,
                value=number,
                limit=hard_lo if side == "lower" else hard_hi,
                hint="Limits can only narrow the instrument's own range",
            )
        limits.append(number)
    lower, upper = limits
    if lower is not None and upper is not None and lower > upper:
        raise LimitError(
            f"the limits are reversed: min {format_quantity(lower, spec.unit)} is above max "
            f"{format_quantity(upper, spec.unit)}",
            setting=spec.name,
            value=(lower, upper),
            hint="Give min below max",
        )
    return lower, upper


def check_ramp_rate(spec: TraitSpec, rate: Any) -> float | None:
    """A ramp rate in the declared unit per second (None: no ramp)."""
    if rate is None:
        return None
    if spec.kind != "float":
        raise ConfigurationError(
            f"{spec.name} is not a float setting and cannot ramp", setting=spec.name
        )
    unit = f"{spec.unit}/s" if spec.unit else "1/s"
    number = to_number(rate, unit, where=f"{spec.name} ramp rate")
    if not number > 0 or not math.isfinite(number):
        raise ConfigurationError(
            f"a ramp rate must be positive, not {rate!r}",
            setting=spec.name,
            hint=f"Give a rate in {unit}, e.g. '0.5 {unit}'",
        )
    return number


def check_lock(
    spec: TraitSpec,
    *,
    value: Any = None,
    min: Any = None,
    max: Any = None,
    reason: str = "",
    key: str | None = None,
    key_digest: str | None = None,
    bounds: tuple[Bound, Bound] | None = None,
    current: Any = None,
) -> SettingLock:
    """The lock an instructor asks for, checked: a value (valid, within ``bounds``) or limits
    (numbers inside the hard limits, holding the ``current`` value)."""
    if not spec.lockable:
        raise ConfigurationError(f"{spec.name} is declared not lockable", setting=spec.name)
    if value is not None and (min is not None or max is not None):
        raise ConfigurationError(
            "lock either a value or limits (min/max), not both", setting=spec.name
        )
    if key is not None and key_digest is not None:
        raise ConfigurationError("give key or key_sha256, not both", setting=spec.name)
    if value is not None:
        locked = (
            check_value(spec, value, bounds, None)
            if bounds
            else spec.coerce(value, where=spec.name)
        )
        return make_lock(value=locked, reason=reason, key=key, key_digest=key_digest)
    if min is None and max is None:
        raise ConfigurationError("a lock needs value=, or min= and/or max=", setting=spec.name)
    low, high = check_soft_limits(spec, min, max)
    lo = -math.inf if low is None else low
    hi = math.inf if high is None else high
    if current is not None and not lo <= current <= hi:
        raise LimitError(
            f"cannot lock the limits to {describe_range(lo, hi, spec.unit, bare=True)}: the "
            f"value {format_quantity(current, spec.unit)} lies outside",
            setting=spec.name,
            value=current,
            limit=(low, high),
            hint="Move the setting inside the range first",
        )
    return make_lock(min=low, max=high, reason=reason, key=key, key_digest=key_digest)


def describe_range(low: float, high: float, unit: str | None, *, bare: bool = False) -> str:
    """``in 0 V … 30 V``, ``≥ 0 A`` or ``≤ 5 V``: the range in force, as people say it."""
    if math.isinf(low) and math.isinf(high):
        return "(any value)"
    if math.isinf(low):
        return f"≤ {format_quantity(high, unit)}"
    if math.isinf(high):
        return f"≥ {format_quantity(low, unit)}"
    span = f"{format_quantity(low, unit)} … {format_quantity(high, unit)}"
    return span if bare else f"in {span}"


def _limit_advice(source: str) -> str:
    if source == "soft limit":
        return "; widen the soft limits (handle.limit(...), or limits: in a station file) if needed"
    if source == "locked limit":
        return "; the limit was locked by an instructor"
    return ""
