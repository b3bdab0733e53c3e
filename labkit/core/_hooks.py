"""Where the outer layers plug into core without core importing them.

``core`` may not import transports or the UI (DESIGN.md), yet an instrument opens a transport
from its address and shows a panel in a notebook. The top-level package registers those
factories here when it is imported; core only calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labkit.core._errors import ConfigurationError
from labkit.core._transport import Transport

__all__ = ["display", "open_transport", "register_display", "register_transport_opener"]

TransportOpener = Callable[[str, Mapping[str, Any]], Transport]

_transport_opener: TransportOpener | None = None
_displays: dict[str, Callable[[Any], Any]] = {}


def register_transport_opener(opener: TransportOpener) -> None:
    global _transport_opener
    _transport_opener = opener


def open_transport(resource: str, options: Mapping[str, Any]) -> Transport:
    """Open the transport for ``resource`` with the registered opener."""
    if _transport_opener is None:
        raise ConfigurationError(
            f"no transport layer is registered to open {resource!r}",
            hint="Import labkit (not only labkit.core), or pass transport= explicitly",
        )
    return _transport_opener(resource, options)


def register_display(kind: str, factory: Callable[[Any], Any]) -> None:
    """Register how to show an object of ``kind`` ("panel", "run") in a notebook."""
    _displays[kind] = factory


def display(kind: str, obj: Any) -> Any:
    """Build the widget for ``obj``; None when no UI is registered (headless use)."""
    factory = _displays.get(kind)
    return None if factory is None else factory(obj)
