"""Panel widgets built whole: one message each, nothing sent twice.

Every ipywidget is a comm. Creating one sends a ``comm_open`` carrying its state; every trait
set afterwards sends an update; its layout and style are widgets (comms) of their own. The
kernel's IOPub socket keeps a bounded number of messages for a reader that is behind
(ZeroMQ's high-water mark, 1000) and silently drops the rest. The intermittent CI hangs, where
a cell's client waited for ever while the kernel sat idle, all came at cells sending a burst
of some 1,260 messages; the burst is the common factor, not a proven cause, and it was waste.

An instrument panel used to cost about 1,260 messages: 704 ``comm_open`` (262 of them
layouts, 150 styles) and 560 updates, 420 of which only added a CSS class to a widget just
made. So panel widgets are made here with their classes, tooltip and value given to the
constructor, and the layouts and styles nobody changes afterwards are shared
(:func:`shared_layout`, :func:`shared_style`): one model for every label of every panel
instead of a pair per widget. A layout that changes (a row shown and hidden) is made per
widget with :func:`own_layout`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_button import ButtonStyle
from ipywidgets.widgets.widget_string import HTMLStyle

__all__ = ["button", "hbox", "html", "is_shared", "own_layout", "shared_layout", "shared_style"]

_lock = threading.Lock()
_layouts: dict[tuple[tuple[str, str], ...], Any] = {}
_styles: dict[str, Any] = {}
_STYLE_CLASSES = {"html": HTMLStyle, "button": ButtonStyle}


def shared_layout(**properties: str) -> Any:
    """The shared layout with these ``properties`` (never change it: see :func:`own_layout`)."""
    key = tuple(sorted(properties.items()))
    with _lock:
        found = _layouts.get(key)
        if found is None or found.comm is None:  # closed (Widget.close_all in a test)
            found = _layouts[key] = widgets.Layout(**properties)
        return found


def own_layout(**properties: str) -> Any:
    """A layout for one widget, which it may change (``display`` to show and hide it)."""
    return widgets.Layout(**properties)


def shared_style(kind: str) -> Any:
    """The shared default style of an ``"html"`` or ``"button"`` widget."""
    with _lock:
        found = _styles.get(kind)
        if found is None or found.comm is None:
            found = _styles[kind] = _STYLE_CLASSES[kind]()
        return found


def is_shared(part: Any) -> bool:
    """A shared layout or style: closing one widget must not close it for the others."""
    with _lock:
        return any(part is shared for shared in (*_layouts.values(), *_styles.values()))


def _classes(classes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in classes if name))


def html(value: str = "", *classes: str, tooltip: str | None = None, **properties: str) -> Any:
    """An HTML cell sized to its content (``width: auto``, unless ``properties`` say else)."""
    return widgets.HTML(
        value,
        tooltip=tooltip,
        layout=shared_layout(**{"width": "auto", **properties}),
        style=shared_style("html"),
        _dom_classes=_classes(classes),
    )


def button(*classes: str, layout: Any = None, **options: Any) -> Any:
    """A button (``description``, ``icon``, ``tooltip``... as for ``widgets.Button``)."""
    return widgets.Button(
        layout=layout if layout is not None else shared_layout(width="auto"),
        style=shared_style("button"),
        _dom_classes=_classes(classes),
        **options,
    )


def hbox(children: Iterable[Any] = (), *classes: str, layout: Any = None) -> Any:
    """A row of widgets, centred vertically."""
    return widgets.HBox(
        list(children),
        layout=layout if layout is not None else shared_layout(align_items="center"),
        _dom_classes=_classes(classes),
    )
