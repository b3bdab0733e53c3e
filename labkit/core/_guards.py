"""Guards an instrument keeps on its settings: soft limits, instructor locks, ramps, interlocks.

Hard limits come from the declaration and never change. Soft limits narrow them for one
instrument (a station file, a careful user); an instructor's lock fixes a value or a range and
needs the instructor's key to lift; interlocks tie a setting to conditions over other
instruments. All are enforced by the instrument itself, below every UI.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labkit.core._errors import ConfigurationError, LimitError, LockedError
from labkit.core._spec import TraitSpec
from labkit.core._state import make_lock
from labkit.core._units import format_quantity, to_number

if TYPE_CHECKING:
    from labkit.core._conditions import Interlock

__all__ = ["GuardMixin"]


class GuardMixin:
    """The limits-and-locks half of :class:`~labkit.core.Instrument`."""

    def _set_soft_limits(self, spec: TraitSpec, low: Any, high: Any) -> None:
        if not spec.numeric:
            raise ConfigurationError(
                f"{spec.name} is not a number and has no limits",
                instrument=self.name,
                setting=spec.name,
            )
        state = self._states[spec.name]
        where = spec.name
        hard_lo, hard_hi = spec.hard_range()
        new = []
        for value, hard, side in ((low, hard_lo, "lower"), (high, hard_hi, "upper")):
            if value is None:
                new.append(None)
                continue
            number = to_number(value, spec.unit, where=where)
            if not hard_lo <= number <= hard_hi:
                raise LimitError(
                    f"the {side} soft limit {format_quantity(number, spec.unit)} lies outside the "
                    f"hard limits {format_quantity(hard_lo, spec.unit)} … "
                    f"{format_quantity(hard_hi, spec.unit)}",
                    value=number,
                    limit=hard,
                    instrument=self.name,
                    setting=spec.name,
                    hint="Soft limits can only narrow the instrument's own range",
                )
            new.append(number)
        if new[0] is not None and new[1] is not None and new[0] > new[1]:
            raise LimitError(
                f"soft limits [{new[0]}, {new[1]}] are reversed",
                value=tuple(new),
                instrument=self.name,
                setting=spec.name,
                hint="Give min below max",
            )
        with state.hold_trait_notifications():
            state.soft_min, state.soft_max = new

    def _lock(
        self, spec: TraitSpec, *, value: Any, min: Any, max: Any, reason: str, key: str | None
    ) -> None:
        context = {"instrument": self.name, "setting": spec.name}
        if not spec.lockable:
            raise ConfigurationError(f"{spec.name} is declared not lockable", **context)
        state = self._states[spec.name]
        if state.lock is not None and not state.lock.opens_with(key):
            # Whoever could unlock it may lock it anew (a notebook cell run again); others not.
            raise LockedError(
                f"{spec.name} is already {state.lock.describe()}", **context, hint="Unlock it first"
            )
        previous, state.lock = state.lock, None
        try:
            self._lock_anew(spec, state, value=value, min=min, max=max, reason=reason, key=key)
        except BaseException:
            state.lock = previous
            raise

    def _lock_anew(
        self,
        spec: TraitSpec,
        state: Any,
        *,
        value: Any,
        min: Any,
        max: Any,
        reason: str,
        key: str | None,
    ) -> None:
        context = {"instrument": self.name, "setting": spec.name}
        where = spec.name
        if value is not None:
            coerced = spec.coerce(value, where=where)
            if (
                self.connected
                and self._can_write(spec)
                and self._trait_values.get(spec.name) != coerced
            ):
                self._assign(spec, coerced)
            state.lock = make_lock(value=coerced, reason=reason, key=key)
            return
        low = to_number(min, spec.unit, where=where) if min is not None else None
        high = to_number(max, spec.unit, where=where) if max is not None else None
        if low is None and high is None:
            raise ConfigurationError("lock() needs value=, min= or max=", **context)
        current = self._trait_values.get(spec.name)
        if current is not None and (
            (low is not None and current < low) or (high is not None and current > high)
        ):
            raise LimitError(
                f"cannot lock the limits to [{low}, {high}]: the present value "
                f"{format_quantity(current, spec.unit)} lies outside",
                value=current,
                limit=(low, high),
                **context,
                hint="Move the setting inside the range first",
            )
        state.lock = make_lock(min=low, max=high, reason=reason, key=key)

    def _unlock(self, spec: TraitSpec, key: str | None) -> None:
        state = self._states[spec.name]
        if state.lock is None:
            return
        if not state.lock.opens_with(key):
            raise LockedError(
                f"wrong key to unlock {spec.name}",
                instrument=self.name,
                setting=spec.name,
                hint="Ask the instructor who locked it",
            )
        state.lock = None

    def _set_ramp_rate(self, spec: TraitSpec, rate: Any) -> None:
        if rate is None:
            self._states[spec.name].ramp_rate = None
            return
        if spec.kind != "float":
            raise ConfigurationError(
                f"{spec.name} is not a float setting and cannot ramp",
                instrument=self.name,
                setting=spec.name,
            )
        unit = f"{spec.unit}/s" if spec.unit else "1/s"
        number = to_number(rate, unit, where=f"{self.name}.{spec.name} ramp rate")
        if not number > 0 or not math.isfinite(number):
            raise ConfigurationError(
                f"a ramp rate must be positive, not {rate!r}",
                instrument=self.name,
                setting=spec.name,
            )
        self._states[spec.name].ramp_rate = number

    def _add_interlock(self, interlock: Interlock) -> None:
        self._interlocks.setdefault(interlock.setting.name, []).append(interlock)

    def _remove_interlock(self, interlock: Interlock) -> None:
        entries = self._interlocks.get(interlock.setting.name, [])
        if interlock in entries:
            entries.remove(interlock)
