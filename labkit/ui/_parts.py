"""Which image of a multi-part frame a camera view shows (a 3D camera's intensity, or one of
its coordinate planes), and the menu that picks it.

A frame with several parts (:attr:`labkit.core.Frame.parts`) shows its ``intensity`` part by
default, else its first; the menu appears only while the frames arriving have several parts
and lists them in the camera's order. A chosen part the frames lack falls back to the default
quietly: the camera's payload may change between acquisitions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from labkit.ui._sync import guarded, is_quiet, quietly

__all__ = ["DEFAULT_PART", "PartChooser"]

DEFAULT_PART = "intensity"


class PartChooser:
    """The part menu of a camera view; :meth:`image_of` gives the image to draw."""

    def __init__(self, part: str | None, changed: Callable[[], None]) -> None:
        self.part = part
        self.names: tuple[str, ...] = ()
        self._changed = changed
        self.menu = widgets.Dropdown(
            options=[], description="part", layout=widgets.Layout(width="220px", display="none")
        )
        self.menu.add_class("labkit-camera-part")
        self.menu.observe(self._on_menu, names="value")

    def choose(self, part: str) -> None:
        """Show ``part`` from now on (it need not have arrived yet)."""
        self.part = str(part)
        if self.part in self.names:
            with quietly():
                self.menu.value = self.part

    @guarded
    def _on_menu(self, change: dict[str, Any]) -> None:
        if not is_quiet() and change["new"]:
            self.part = change["new"]
            self._changed()

    def shown(self, names: tuple[str, ...]) -> str | None:
        """The part shown among ``names`` (None for a single-image frame)."""
        if not names:
            return None
        if self.part in names:
            return self.part
        return DEFAULT_PART if DEFAULT_PART in names else names[0]

    def image_of(self, frame: Any) -> Any:
        """The image of ``frame`` to draw, keeping the menu in step with its parts."""
        parts = getattr(frame, "parts", None) or {}
        names = tuple(parts)
        if names != self.names:
            self.names = names
            with quietly():
                self.menu.options = list(names)
            self.menu.layout.display = None if len(names) > 1 else "none"
        shown = self.shown(names)
        if shown is None:
            return frame.pixels
        if self.menu.value != shown:
            with quietly():
                self.menu.value = shown
        return parts[shown]
