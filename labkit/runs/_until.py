"""Stop conditions of loops (``until=``): a loop that meets one ends early on purpose, and
the run completes with the points taken so far, the reason in its metadata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.core import Condition, ConfigurationError
from labkit.runs._context import StepContext

__all__ = ["Until", "as_until"]


class Until:
    """A condition on instruments (read again after each point), or a function of the values
    just recorded (``lambda point: point["dmm_current"] > 1e-3``, by their names in the run)."""

    def __init__(self, test: Condition | Callable[[dict[str, Any]], Any]) -> None:
        self.test = test
        if isinstance(test, Condition):
            self.description = test.description
        else:
            name = getattr(test, "__name__", "condition")
            self.description = "a condition on the point" if name == "<lambda>" else name

    async def reason(self, ctx: StepContext) -> str | None:
        """Why to stop after this point, or None to go on."""
        if isinstance(self.test, Condition):
            holds, why = await self.test.holds_async()
            return (
                f"{self.description} ({why})"
                if holds and why
                else (self.description if holds else None)
            )
        return self.description if self.test(dict(ctx.latest)) else None


def as_until(until: Any) -> Until | None:
    if until is None:
        return None
    if isinstance(until, Until):
        return until
    if isinstance(until, Condition) or callable(until):
        return Until(until)
    raise ConfigurationError(
        f"until= needs a condition or a function of the point's values, not {until!r}",
        hint='e.g. until=dmm.readings.current > "1 mA", or until=lambda p: p["dmm_current"] > 1e-3',
    )
