"""Observable state records for the bench's subsystems.

Physics that evolves in time (heat flow, a lock-in's filters) is integrated lazily, up to the
moment someone looks. A change of an input (a heater power, a generator frequency) must
therefore first bring the subsystem up to now under the old input. :class:`State` does that:
assigning any public field calls the owner's ``before_change`` hook first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["State"]


class State:
    """A record whose public fields may be assigned directly; the owner syncs first.

    Subclasses declare their fields once, in the class body, with their starting values
    (``gain: float = 0.5``); each instance starts from them (``**fields`` overrides some).
    """

    _before_change: Callable[[], object] | None

    def __init__(self, before_change: Callable[[], object] | None = None, **fields: Any) -> None:
        object.__setattr__(self, "_before_change", before_change)
        for klass in reversed(type(self).__mro__):
            for key in vars(klass).get("__annotations__", {}):
                if not key.startswith("_"):
                    object.__setattr__(self, key, getattr(klass, key))
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> None:
        if not key.startswith("_"):
            if not hasattr(self, key):
                known = ", ".join(self.fields())
                raise AttributeError(f"{type(self).__name__} has no field {key!r} (it has {known})")
            hook = self._before_change
            if hook is not None:
                hook()
        object.__setattr__(self, key, value)

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def update(self, **changes: Any) -> None:
        """Change several fields at once (one sync)."""
        for key in changes:
            if not hasattr(self, key):
                raise AttributeError(f"{type(self).__name__} has no field {key!r}")
        hook = self._before_change
        if hook is not None:
            hook()
        for key, value in changes.items():
            object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        inside = ", ".join(f"{k}={v!r}" for k, v in self.fields().items())
        return f"{type(self).__name__}({inside})"
