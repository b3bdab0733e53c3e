"""Where the outer layers plug into core without core importing them.

``core`` may not import transports or the UI (DESIGN.md), yet an instrument opens a link from
its address and shows a panel in a notebook. The top-level package registers those factories
here when it is imported; core only calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labkit.core._errors import ConfigurationError
from labkit.core._link import Link

__all__ = ["display", "open_link", "register_display", "register_link_opener"]

LinkOpener = Callable[[str, Mapping[str, Any]], Link]

_link_opener: LinkOpener | None = None
_displays: dict[str, Callable[[Any], Any]] = {}


def register_link_opener(opener: LinkOpener) -> None:
    """Register how an address becomes a link (labkit registers its transports)."""
    global _link_opener
    _link_opener = opener


def open_link(resource: str, options: Mapping[str, Any]) -> Link:
    """The open link for ``resource``, from the registered opener."""
    if _link_opener is None:
        raise ConfigurationError(
            f"no transport layer is registered to open {resource!r}",
            hint="Import labkit (not only labkit.core), or pass link= explicitly",
        )
    return _link_opener(resource, options)


def register_display(kind: str, factory: Callable[..., Any]) -> None:
    """Register how to show an object of ``kind`` ("panel", "run") in a notebook."""
    _displays[kind] = factory


def display(kind: str, obj: Any, **options: Any) -> Any:
    """Build the widget for ``obj`` (with the view's ``options``); None when no UI is
    registered (headless use)."""
    factory = _displays.get(kind)
    return None if factory is None else factory(obj, **options)
