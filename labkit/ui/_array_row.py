"""A panel row for an array reading: its shape over its axes, a small plot of its last
value, and a button to read it now (a look: the panel reads it only if that changes nothing
on the instrument, as for any reading)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from labkit.core import ReadingHandle
from labkit.ui._format import escape
from labkit.ui._plots import Axis
from labkit.ui._rows import ReadingRow, _unread
from labkit.ui._traces import SmallTrace
from labkit.ui._whole import hbox

__all__ = ["ArrayReadingRow", "reading_row"]


class ArrayReadingRow(ReadingRow):
    """A reading whose value is an array: the value cell holds its shape, and a small plot
    of it sits beside the button."""

    def __init__(self, section: Any, handle: ReadingHandle) -> None:
        spec = handle.spec
        self._axes = spec.axes
        self.plot = SmallTrace(_plot_axis(spec.axes), spec.title, spec.unit)
        self._shown: Any = None
        super().__init__(section, handle)

    def _value_cell(self) -> list[Any]:
        return [widgets.VBox([hbox([self.value, self.refresh]), self.plot.widget])]

    def render(self) -> None:
        value = self.handle.value
        shown = "not read yet" if value is None else _shape(self.spec, value)
        html = f'<span class="labkit-value">{escape(shown)}</span>'
        if self.value.value != html:
            self.value.value = html
        if self.spec.axes is not self._axes:  # the device moved the axis (a timebase)
            self._axes = self.spec.axes
            self.plot.plot.x = _plot_axis(self._axes)
        if value is not None and value is not self._shown:
            self._shown = value
            self.plot.show(value)
        connected = self.handle.instrument.connected
        if self.refresh.disabled == connected:
            self.refresh.disabled = not connected
        effect = self.side_effect if connected else None
        status = ""
        if effect:
            why = "not read" if value is None else "read on request only"
            status = _unread(f"{why}: {effect}")
        if self.status.value != status:
            self.status.value = status


def _shape(spec: Any, value: Any) -> str:
    """``2048 wavelength``: the length along each axis (the unit is on the plot)."""
    sizes = zip(getattr(value, "shape", ()), spec.axes or (), strict=False)
    return " × ".join(f"{n} {axis.name}" for n, axis in sizes)


def _plot_axis(axes: Any) -> Axis:
    axis = axes[0]  # an array reading has at least one axis
    return Axis(axis.name, axis.label or axis.name, axis.coordinate(), axis.size, axis.unit)


def reading_row(section: Any, handle: ReadingHandle) -> ReadingRow:
    """The row of a reading: an array reading gets its small plot."""
    if handle.spec.is_array and len(handle.spec.axes or ()) == 1:
        return ArrayReadingRow(section, handle)
    return ReadingRow(section, handle)
