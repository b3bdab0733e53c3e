"""Live line plots and heat maps of a run's readings.

Each plot owns NumPy buffers shaped like the run's dimensions. The run's record hook writes a
point into them (a few microseconds, on the thread that recorded it) and touches the plot's
:class:`~labkit.ui._live.LiveChannel`; renders copy what was measured and send it to bqplot as
binary arrays, at the channel's pace. Points not measured yet are NaN: a heat map fills in as a
grid scan goes, a line grows point by point.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from labkit.ui._image import colormap_colors
from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, LiveChannel, Scheduler
from labkit.ui._ranges import stable_range

__all__ = ["Axis", "HeatMapPlot", "LinePlot", "decimate"]

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_POINTS = 4000
"""Points per line sent to the page at most; longer lines are thinned to their min/max per
bucket, which keeps every peak and dip visible."""


class Axis:
    """One dimension of a plot: its name, label, and its values (None: positions or times)."""

    def __init__(self, dim: str, label: str, values: Any = None, size: int | None = None):
        self.dim = dim
        self.label = label
        values = None if values is None else np.asarray(values)
        if values is not None and values.dtype.kind not in "fiub":
            values = values.astype(str)  # text set-points: an ordinal axis
        self.values = values
        self.size = size if values is None else len(values)

    @property
    def numeric(self) -> bool:
        return self.values is None or self.values.dtype.kind in "fiub"

    def positions(self, count: int) -> np.ndarray:
        if self.values is not None:
            values = self.values[:count]
            return values.astype(float) if self.numeric else values
        return np.arange(count, dtype=float)


def decimate(x: np.ndarray, ys: np.ndarray, limit: int = MAX_POINTS) -> tuple[np.ndarray, ...]:
    """At most about ``limit`` points: each bucket of consecutive points keeps the positions of
    its minimum and maximum (of the first line), in order, so peaks and dips survive."""
    count = len(x)
    if count <= limit:
        return x, ys
    edges = np.linspace(0, count, limit // 2 + 1).astype(int)
    first = ys[0]
    keep: list[int] = []
    for start, stop in itertools.pairwise(edges):
        segment = first[start:stop]
        if segment.size == 0:
            continue
        if np.isnan(segment).all():
            keep.append(start)
            continue
        low, high = int(np.nanargmin(segment)), int(np.nanargmax(segment))
        keep.extend(start + i for i in sorted({low, high}))
    index = np.asarray(keep)
    return x[index], ys[:, index]


def _planned_scale(x: Axis) -> Any:
    """A scale for ``x``: fixed to the planned set-points where they are known numbers."""
    if not x.numeric:
        return bqplot.OrdinalScale()
    if x.values is not None and x.values.size:
        values = x.values.astype(float)
        finite = values[np.isfinite(values)]
        if finite.size and finite.max() > finite.min():
            return bqplot.LinearScale(min=float(finite.min()), max=float(finite.max()))
    return bqplot.LinearScale()


def _grow(array: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """``array`` with at least ``size`` entries along ``axis`` (doubling), new ones NaN."""
    have = array.shape[axis]
    if size <= have:
        return array
    shape = list(array.shape)
    shape[axis] = max(size, 2 * have, 64)
    grown = np.full(shape, np.nan)
    grown[tuple(slice(0, n) for n in array.shape)] = array
    return grown


class LinePlot:
    """Lines of one or several readings (sharing a unit) against one dimension."""

    def __init__(
        self,
        x: Axis,
        names: Sequence[str],
        labels: Sequence[str],
        y_label: str,
        *,
        title: str = "",
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.x = x
        self.names = list(names)
        self._lock = threading.Lock()
        size = x.size or 0
        self._y = np.full((len(self.names), size), np.nan)
        self._t = np.full(size, np.nan) if x.values is None else None  # x from times
        self._count = 0
        # The x axis spans the planned set-points from the start (the line grows across it,
        # and the axis is not re-laid out with each point); y moves only when the data
        # leaves its range (see _ranges).
        x_scale = _planned_scale(x)
        self.y_scale = bqplot.LinearScale()
        self.lines = bqplot.Lines(
            x=np.zeros(0),
            y=np.zeros((len(self.names), 0)),
            scales={"x": x_scale, "y": self.y_scale},
            labels=list(labels),
            display_legend=len(self.names) > 1,
            colors=COLORS[: max(1, len(self.names))],
            marker="circle" if (x.size or 0) <= 60 and x.size else None,
            marker_size=16,
        )
        self.figure = bqplot.Figure(
            marks=[self.lines],
            axes=[
                bqplot.Axis(scale=x_scale, label=x.label, num_ticks=6),
                bqplot.Axis(
                    scale=self.y_scale, label=y_label, side="left", num_ticks=6, label_offset="60px"
                ),
            ],
            title=title,
            animation_duration=0,
            legend_location="top-left",
            fig_margin={"top": 40, "bottom": 50, "left": 80, "right": 20},
            layout=widgets.Layout(width="480px", height="320px"),
        )
        self.figure.add_class("labkit-lineplot")
        self.channel = LiveChannel(
            self._render, rate=rate, max_in_flight=max_in_flight, scheduler=scheduler
        )
        self.widget = self.figure

    @property
    def timed(self) -> bool:
        """The x axis is time (no set-points to plot against)."""
        return self._t is not None

    @property
    def count(self) -> int:
        """Points along the dimension that hold data so far."""
        return self._count

    def record(self, position: int, values: dict[str, Any], time_s: float | None = None) -> None:
        """Store the point at ``position`` (on the recording thread: only a few assignments)."""
        with self._lock:
            if position >= self._y.shape[1]:
                self._y = _grow(self._y, position + 1, axis=1)
                if self._t is not None:
                    self._t = _grow(self._t, position + 1)
            for row, name in enumerate(self.names):
                if name in values:
                    self._y[row, position] = _number(values[name])
            if self._t is not None and time_s is not None:
                self._t[position] = time_s
            self._count = max(self._count, position + 1)
        self.channel.touch()

    def fill(self, data: dict[str, np.ndarray], times: np.ndarray | None = None) -> None:
        """Fill points not seen yet from the store (a view opened after the run began)."""
        with self._lock:
            for row, name in enumerate(self.names):
                column = data.get(name)
                if column is None:
                    continue
                column = np.asarray(column, float).ravel()
                if len(column) > self._y.shape[1]:
                    self._y = _grow(self._y, len(column), axis=1)
                known = self._y[row, : len(column)]
                self._y[row, : len(column)] = np.where(np.isnan(known), column, known)
            if self._t is not None and times is not None:
                if len(times) > len(self._t):
                    self._t = _grow(self._t, len(times))
                known_t = self._t[: len(times)]
                self._t[: len(times)] = np.where(np.isnan(known_t), times, known_t)
            measured = np.flatnonzero(~np.all(np.isnan(self._y), axis=0))
            if measured.size:
                self._count = max(self._count, int(measured[-1]) + 1)
        self.channel.touch()

    def _render(self) -> bool:
        with self._lock:
            count = self._count
            ys = self._y[:, :count].copy()
            x = self._t[:count].copy() if self._t is not None else self.x.positions(count)
        if self._t is not None:
            keep = ~np.isnan(x)
            x, ys = x[keep], ys[:, keep]
        if x.dtype.kind == "f":
            x, ys = decimate(x, ys)
        if len(x) == 1 and len(ys) > 1:
            # bqplot squeezes y: (lines, 1) would read as one line; a point drawn twice is not.
            x, ys = np.repeat(x, 2), np.repeat(ys, 2, axis=1)
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = ys[0] if len(ys) == 1 else ys
        finite = ys[np.isfinite(ys)]
        if finite.size:
            current = (self.y_scale.min, self.y_scale.max)
            shown = stable_range(current, float(finite.min()), float(finite.max()), headroom=0.1)
            if shown != current:
                with self.y_scale.hold_sync():
                    self.y_scale.min, self.y_scale.max = shown
        return True

    def close(self) -> None:
        self.channel.close()


class HeatMapPlot:
    """A map of one reading over the two innermost dimensions of a grid, filling in."""

    def __init__(
        self,
        x: Axis,
        y: Axis,
        name: str,
        label: str,
        *,
        title: str = "",
        colormap: str = "viridis",
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.x, self.y, self.name = x, y, name
        self._lock = threading.Lock()
        self._z = np.full((y.size or 1, x.size or 1), np.nan)
        self._outer: tuple[int, ...] | None = None  # index of the slice shown (outer dims)
        self._rows = 0
        x_scale = bqplot.LinearScale() if x.numeric else bqplot.OrdinalScale()
        y_scale = bqplot.LinearScale() if y.numeric else bqplot.OrdinalScale()
        self.color_scale = bqplot.ColorScale(colors=list(colormap_colors(colormap)))
        self.map = bqplot.HeatMap(
            x=_heat_axis(x, x.size or 1),
            y=_heat_axis(y, y.size or 1),
            color=self._z.copy(),
            scales={"x": x_scale, "y": y_scale, "color": self.color_scale},
            null_color="#e8e8e8",
        )
        self.figure = bqplot.Figure(
            marks=[self.map],
            axes=[
                bqplot.Axis(scale=x_scale, label=_heat_label(x), num_ticks=6),
                bqplot.Axis(
                    scale=y_scale,
                    label=_heat_label(y),
                    side="left",
                    num_ticks=6,
                    label_offset="60px",
                ),
                bqplot.ColorAxis(scale=self.color_scale, side="right", label=label, num_ticks=5),
            ],
            title=title,
            animation_duration=0,
            padding_x=0.0,
            padding_y=0.0,
            fig_margin={"top": 40, "bottom": 50, "left": 80, "right": 100},
            layout=widgets.Layout(width="500px", height="460px"),
        )
        self.figure.add_class("labkit-heatmap")
        self.channel = LiveChannel(
            self._render, rate=rate, max_in_flight=max_in_flight, scheduler=scheduler
        )
        self.widget = self.figure

    def record(self, index: tuple[int, ...], value: Any) -> None:
        """Store the value at ``index`` (outer dims, row, column); an index in another outer
        slice than the one shown starts showing that slice (the newest wins)."""
        *outer, row, column = index
        with self._lock:
            if self._outer is not None and tuple(outer) != self._outer:
                self._z[:] = np.nan
            self._outer = tuple(outer)
            if row >= self._z.shape[0]:
                self._z = _grow(self._z, row + 1, axis=0)
            self._z[row, column] = _number(value)
            self._rows = max(self._rows, row + 1)
        self.channel.touch()

    def fill(self, data: np.ndarray) -> None:
        """Fill cells not seen yet from the store: ``data`` has the plot's dims last."""
        data = np.asarray(data, float)
        if data.ndim < 2 or data.size == 0:
            return
        with self._lock:
            if data.ndim > 2:
                outer = self._outer
                if outer is None:
                    slices = data.reshape(-1, *data.shape[-2:])
                    filled = np.flatnonzero(~np.isnan(slices).all(axis=(1, 2)))
                    flat = int(filled[-1]) if filled.size else 0
                    outer = tuple(int(i) for i in np.unravel_index(flat, data.shape[:-2]))
                    self._outer = outer
                data = data[outer]
            rows = data.shape[0]
            if rows > self._z.shape[0]:
                self._z = _grow(self._z, rows, axis=0)
            known = self._z[:rows, : data.shape[1]]
            self._z[:rows, : data.shape[1]] = np.where(np.isnan(known), data, known)
            measured = np.flatnonzero(~np.isnan(self._z).all(axis=1))
            if measured.size:
                self._rows = max(self._rows, int(measured[-1]) + 1)
        self.channel.touch()

    def _render(self) -> bool:
        with self._lock:
            rows = max(1, self._z.shape[0] if self.y.size else self._rows)
            z = self._z[:rows].copy()
        with self.map.hold_sync():
            if self.y.size is None:
                self.map.y = _heat_axis(self.y, rows)
            self.map.color = z
        finite = z[np.isfinite(z)]
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            if high <= low:
                high = low + (abs(low) * 1e-9 or 1e-12)
            with self.color_scale.hold_sync():
                self.color_scale.min, self.color_scale.max = low, high
        return True

    def close(self) -> None:
        self.channel.close()


def _monotonic(axis: Axis) -> bool:
    if axis.values is None or not axis.numeric or len(axis.values) < 2:
        return True
    steps = np.diff(axis.values.astype(float))
    return bool(np.all(steps > 0) or np.all(steps < 0))


def _heat_axis(axis: Axis, count: int) -> np.ndarray:
    """Cell centres: the set-points, or positions where they are not monotonic."""
    if not _monotonic(axis):
        return np.arange(count, dtype=float)
    return axis.positions(count)


def _heat_label(axis: Axis) -> str:
    return axis.label if _monotonic(axis) else f"{axis.label} (by position)"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def label_of(attrs: dict[str, Any], fallback: str) -> str:
    """``long_name (units)`` from CF attributes."""
    name = attrs.get("long_name") or fallback
    units = attrs.get("units")
    return f"{name} ({units})" if units else str(name)
