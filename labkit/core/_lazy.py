"""Names a package exports but imports only on first use, so ``import labkit`` stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(namespace: dict[str, Any], lazy: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``{name: "module"}`` (or ``"module:attribute"`` where the
    attribute is named otherwise there): the first use imports it and keeps it in
    ``namespace``, the module's ``globals()``, so later uses cost nothing."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        where = lazy.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
        namespace[name] = value
        return value

    return __getattr__
