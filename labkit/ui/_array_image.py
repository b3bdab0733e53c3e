"""The latest value of a two-dimensional array reading (a trace per channel, a spectrum
image) as a heat map: its last axis across, its first axis up, a colour bar in the reading's
unit that follows the colormap.

Like every live view it is prepared in the kernel: a large item is averaged into at most
:data:`~labkit.ui._traces.WATERFALL_COLUMNS` columns and as many rows before it is sent, and
recording an item only keeps a reference and touches the view's channel (the newest wins).
A short integer axis (channel numbers) is labelled with its values, one tick per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.ui._image import colormap_colors
from labkit.ui._plots import Axis, HeatMapPlot
from labkit.ui._traces import WATERFALL_COLUMNS, bin_columns

__all__ = ["ImagePlot", "bin_image"]

_LABELLED_ROWS = 32  # integer coordinates up to this many are shown as labels (channels)


def bin_image(values: Any, count: int = WATERFALL_COLUMNS) -> np.ndarray:
    """``values`` (2-D) averaged into at most ``count`` columns and ``count`` rows."""
    array = bin_columns(np.asarray(values, dtype=float), count)
    return bin_columns(array.T, count).T


def _binned(axis: Axis, count: int = WATERFALL_COLUMNS) -> Axis:
    """The plot's axis for an item axis averaged into at most ``count`` buckets."""
    if not axis.size:
        return Axis(axis.dim, axis.name, None, 1, axis.unit)
    values = axis.values
    if values is not None and values.dtype.kind in "iu" and len(values) <= _LABELLED_ROWS:
        return Axis(axis.dim, axis.name, values.astype(str), unit=axis.unit)
    return Axis(axis.dim, axis.name, bin_columns(axis.positions(axis.size), count), unit=axis.unit)


class ImagePlot(HeatMapPlot):
    """The newest item of a 2-D array reading, drawn whole against both coordinates."""

    def __init__(
        self, x: Axis, y: Axis, name: str, label: str, *, colormap: str = "viridis", **options: Any
    ) -> None:
        self.full_x, self.full_y = x, y
        self._colormap = colormap
        self._pending: np.ndarray | None = None
        options.setdefault("title", f"{label}: latest")
        super().__init__(_binned(x), _binned(y), name, label, colormap=colormap, **options)
        self.figure.remove_class("labkit-heatmap")
        self.figure.add_class("labkit-arrayimage")
        self.items = 0  # items recorded (or filled) so far

    @property
    def colormap(self) -> str:
        return self._colormap

    @colormap.setter
    def colormap(self, name: str) -> None:
        """Paint the map in ``name``; the colour bar shares its scale, so it follows."""
        self.color_scale.colors = list(colormap_colors(name))  # refuses an unknown name
        self._colormap = name

    def record_item(self, values: Any) -> None:
        """Show ``values`` (one whole item) next: on the recording thread, cheap."""
        array = np.asarray(values)
        if array.ndim != 2:
            return  # not this plot's shape: never draw a guess
        with self._lock:
            self._pending = array
            self.items += 1
        self.channel.touch()

    def _render(self) -> bool:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            image = bin_image(pending)
            with self._lock:
                self._z = image
                self._rows = image.shape[0]
        return super()._render()
