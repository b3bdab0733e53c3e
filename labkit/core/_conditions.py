"""Conditions over instruments, and the interlocks built from them.

``tc.readings.temperature < "350 K"`` is a :class:`Condition`: it reads the temperature afresh
each time it is checked and says, when it fails, what it found. An :class:`Interlock` ties a
condition to a setting: the setting may only change (to some values) while the condition holds.
Checking fails closed: if the condition cannot be read, the change is refused.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from labkit.core import _watch
from labkit.core._errors import InterlockError, LabkitError
from labkit.core._units import format_quantity

if TYPE_CHECKING:
    from labkit.core._handles import Handle, SettingHandle

__all__ = ["Condition", "Interlock"]

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

Verdict = tuple[bool, str]


class Condition:
    """Something that holds or not, and explains itself."""

    def __init__(
        self,
        description: str,
        check: Callable[[], Verdict],
        check_async: Callable[[], Awaitable[Verdict]] | None = None,
    ) -> None:
        self.description = description
        self._check = check
        self._check_async = check_async

    @classmethod
    def from_callable(
        cls, function: Callable[[], bool], description: str | None = None
    ) -> Condition:
        """Wrap a plain function returning True/False (``lambda: tc.temperature < 350``)."""
        text = description or str(getattr(function, "__name__", "condition"))

        def check() -> Verdict:
            return bool(function()), f"{text} is false"

        return cls(text, check)

    def holds(self) -> Verdict:
        """``(True, "")`` or ``(False, why)``; reads instruments now."""
        return self._check()

    async def holds_async(self) -> Verdict:
        if self._check_async is not None:
            return await self._check_async()
        return self._check()

    def __bool__(self) -> bool:
        raise TypeError(
            f"the condition {self.description!r} is not a bool: it is checked when an interlock "
            "or suspender needs it. Call .holds() to check it now"
        )

    def __and__(self, other: Condition) -> Condition:
        return _combine(self, other, "and")

    def __or__(self, other: Condition) -> Condition:
        return _combine(self, other, "or")

    def __invert__(self) -> Condition:
        def check() -> Verdict:
            ok, _ = self.holds()
            return (not ok), f"{self.description} holds"

        async def check_async() -> Verdict:
            ok, _ = await self.holds_async()
            return (not ok), f"{self.description} holds"

        return Condition(f"not ({self.description})", check, check_async)

    def __repr__(self) -> str:
        return f"<Condition {self.description}>"


def _combine(a: Condition, b: Condition, how: str) -> Condition:
    def decide(first: Verdict, second: Verdict) -> Verdict:
        if how == "and":
            if not first[0]:
                return first
            return second
        if first[0] or second[0]:
            return True, ""
        return False, f"{first[1]} and {second[1]}"

    def check() -> Verdict:
        first = a.holds()
        if how == "and" and not first[0]:
            return first
        if how == "or" and first[0]:
            return first
        return decide(first, b.holds())

    async def check_async() -> Verdict:
        first = await a.holds_async()
        if how == "and" and not first[0]:
            return first
        if how == "or" and first[0]:
            return first
        return decide(first, await b.holds_async())

    return Condition(f"({a.description}) {how} ({b.description})", check, check_async)


def compare(handle: Handle, op: str, threshold: Any) -> Condition:
    """``handle <op> threshold``, the threshold converted to the handle's unit once, now."""
    limit = (
        handle.spec.coerce(threshold, where=handle.full_name) if handle.spec.numeric else threshold
    )
    shown = format_quantity(limit, handle.unit)
    description = f"{handle.full_name} {op} {shown}"
    test = _OPERATORS[op]

    def verdict(value: Any) -> Verdict:
        if value is None:
            return False, f"{handle.full_name} is unknown"
        return bool(
            test(value, limit)
        ), f"{handle.full_name} is {format_quantity(value, handle.unit)}"

    def check() -> Verdict:
        return verdict(handle.current())

    async def check_async() -> Verdict:
        return verdict(await handle.current_async())

    return Condition(description, check, check_async)


class Interlock:
    """A setting may change (to values matching ``when``) only while ``condition`` holds."""

    def __init__(
        self,
        setting: SettingHandle,
        condition: Condition,
        *,
        when: Any = None,
        reason: str = "",
    ) -> None:
        self.setting = setting
        self.condition = condition
        self.when = when
        self.reason = reason
        self.tripped: Any = None
        """The last :class:`~labkit.core._watch.Trip` of this interlock, if it tripped."""

    def applies_to(self, value: Any) -> bool:
        """Whether changing the setting to ``value`` needs the condition (turning off never does
        if ``when=True``, and going to the setting's declared safe value never does: that is
        what a trip does when the condition fails)."""
        safe = self.setting.spec.safe
        if safe is not None:
            try:
                if value == self.setting.spec.coerce(safe):
                    return False
            except Exception:
                pass
        if self.when is None:
            return True
        if callable(self.when):
            return bool(self.when(value))
        try:
            return value == self.setting.spec.coerce(self.when)
        except Exception:
            return value == self.when

    def enforce(self, value: Any) -> None:
        """Raise ``InterlockError`` if changing the setting to ``value`` is not allowed now."""
        if self.applies_to(value):
            try:
                verdict = self.condition.holds()
            except LabkitError as error:
                raise self._unknown(value, error) from error
            self._judge(value, verdict)

    async def enforce_async(self, value: Any) -> None:
        if self.applies_to(value):
            try:
                verdict = await self.condition.holds_async()
            except LabkitError as error:
                raise self._unknown(value, error) from error
            self._judge(value, verdict)

    def _judge(self, value: Any, verdict: Verdict) -> None:
        holds, why = verdict
        if holds:
            return
        reason = f" ({self.reason})" if self.reason else ""
        raise InterlockError(
            f"{format_quantity(value, self.setting.unit)} refused by an interlock: it requires "
            f"{self.condition.description}{reason}, but {why}",
            condition=self.condition.description,
            instrument=self.setting.instrument.name,
            setting=self.setting.name,
            hint="Wait until the condition holds; interlock.remove() lifts it",
        )

    def _unknown(self, value: Any, error: LabkitError) -> InterlockError:
        # Fail closed: a condition that cannot be read does not hold.
        return InterlockError(
            f"{format_quantity(value, self.setting.unit)} refused: the interlock condition "
            f"{self.condition.description} could not be checked ({error})",
            condition=self.condition.description,
            instrument=self.setting.instrument.name,
            setting=self.setting.name,
            hint="Fix the instrument the interlock depends on, then try again",
        )

    def remove(self) -> None:
        """Lift this interlock (and stop watching it)."""
        self.setting.state.remove_interlock(self)
        _watch.watcher().unwatch(self)

    def describe(self) -> str:
        target = ""
        if self.when is not None and not callable(self.when):
            target = f" to {self.when!r}"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.setting.full_name} may change{target} only while {self.condition.description}{why}"

    def __repr__(self) -> str:
        return f"<Interlock: {self.describe()}>"
