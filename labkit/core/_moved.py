"""Public names that moved: the old name keeps working, with a ``DeprecationWarning``."""

from __future__ import annotations

import warnings
from collections.abc import Callable

__all__ = ["moved_names"]


def moved_names(
    module: str, moved: dict[str, tuple[str, Callable[[], object]]]
) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``{old name: (what to use now, the object)}``."""

    def __getattr__(name: str) -> object:
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        now, value = moved[name]
        warnings.warn(f"{module}.{name} is now {now}", DeprecationWarning, stacklevel=2)
        return value()

    return __getattr__
