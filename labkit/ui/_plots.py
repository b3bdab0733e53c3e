"""Live line plots and heat maps of a run's readings.

Each plot owns NumPy buffers shaped like the run's dimensions. The run's record hook writes a
point into them (a few microseconds, on the thread that recorded it) and touches the plot's
:class:`~labkit.ui._live.LiveChannel`; renders copy what was measured and send it to bqplot as
binary arrays, at the channel's pace. Points not measured yet are NaN: a heat map fills in as a
grid scan goes, a line grows point by point.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from labkit.core._units import unit_symbol
from labkit.ui._image import colormap_colors
from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, LiveChannel, Scheduler
from labkit.ui._ranges import stable_range
from labkit.ui._ticks import TICK_FORMAT, Ticks, apply_ticks, linear_ticks, log_ticks

__all__ = ["Y_SCALES", "Axis", "HeatMapPlot", "LinePlot", "decimate"]

Y_SCALES = ("linear", "log")
"""How a line plot's y axis may be scaled: ``log`` for what spans decades (a diode's current)."""

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_POINTS = 4000
"""Points per line sent to the page at most; longer lines are thinned to their min/max per
bucket, which keeps every peak and dip visible."""


class Axis:
    """One dimension of a plot: its name, unit and values (None: positions or times)."""

    def __init__(
        self,
        dim: str,
        name: str,
        values: Any = None,
        size: int | None = None,
        unit: str | None = None,
    ) -> None:
        self.dim = dim
        self.name = name
        self.unit = unit or None
        values = None if values is None else np.asarray(values)
        if values is not None and values.dtype.kind not in "fiub":
            values = values.astype(str)  # text set-points: labelled positions
        self.values = values
        self.size = size if values is None else len(values)

    @property
    def label(self) -> str:
        """``smu voltage (V)``: the name and the declared unit."""
        return f"{self.name} ({unit_symbol(self.unit)})" if self.unit else self.name

    @property
    def numeric(self) -> bool:
        return self.values is None or self.values.dtype.kind in "fiub"

    @property
    def geometric(self) -> bool:
        """Positive set-points a constant ratio apart over two decades or more (a logspace):
        shown on a logarithmic axis."""
        if self.values is None or not self.numeric or len(self.values) < 3:
            return False
        values = self.values.astype(float)
        if not (np.all(np.isfinite(values)) and np.all(values > 0)):
            return False
        ratios = np.diff(np.log10(values))
        span = abs(float(np.log10(values.max() / values.min())))
        return span >= 2 and bool(np.allclose(ratios, ratios[0], rtol=1e-6, atol=1e-12))

    def positions(self, count: int) -> np.ndarray:
        if self.values is not None and self.numeric:
            return self.values[:count].astype(float)
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


def decade_range(current: tuple[Any, Any], low: float, high: float) -> tuple[float, float]:
    """A log axis's range: whole decades around [low, high] (both above zero), kept while
    the data stays inside it and spans more than a third of its decades."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    if current[0] is not None and current[1] is not None:
        start, end = float(current[0]), float(current[1])
        if start > 0 and start <= low and high <= end:
            decades = math.log10(end / start)
            if (last - first) * 3 >= decades:
                return start, end
    return float(f"1e{first}"), float(f"1e{last}")


def _planned_range(x: Axis) -> tuple[float, float] | None:
    """The span of the planned set-points, where they are known numbers."""
    if x.values is None or not x.numeric or not x.values.size:
        return None
    values = x.values.astype(float)
    finite = values[np.isfinite(values)]
    if finite.size and finite.max() > finite.min():
        return float(finite.min()), float(finite.max())
    return None


def _label_positions(axis: bqplot.Axis, names: Any, name: str) -> None:
    """Text set-points (``sine``, ``square``) at positions 0, 1, ... labelled with the text."""
    values = [float(i) for i in range(len(names))]
    apply_ticks(axis, Ticks(values, [str(n) for n in names], ""), name)


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
    """Lines of one or several readings (sharing a unit) against one dimension.

    The x axis spans the planned set-points from the first point (the line grows across it;
    a logspace gets a logarithmic axis); the y axis moves only when the data leaves its range
    (see ``_ranges``). Every axis gets round ticks labelled in the kernel, with the unit's SI
    prefix in its label (``_ticks``).
    """

    def __init__(
        self,
        x: Axis,
        names: Sequence[str],
        labels: Sequence[str],
        y_name: str,
        y_unit: str | None = None,
        *,
        title: str = "",
        y_scale: str = "linear",
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        if y_scale not in Y_SCALES:
            raise ValueError(f"y_scale must be one of {', '.join(Y_SCALES)}, not {y_scale!r}")
        self.x = x
        self.log_y = y_scale == "log"
        self.title = title
        self.hidden = 0
        """Points not drawn because a log axis cannot show them (zero or negative): the
        figure's title says how many."""
        self.names = list(names)
        self.y_name, self.y_unit = y_name, y_unit
        self._lock = threading.Lock()
        size = x.size or 0
        self._y = np.full((len(self.names), size), np.nan)
        self._t = np.full(size, np.nan) if x.values is None else None  # x from times
        self._count = 0
        self._planned = _planned_range(x)
        if not x.numeric:
            self.x_scale: Any = bqplot.LinearScale(min=-0.5, max=max(0.5, len(x.values) - 0.5))
        elif x.geometric and self._planned is not None:
            self.x_scale = bqplot.LogScale(min=self._planned[0], max=self._planned[1])
        elif self._planned is not None:
            self.x_scale = bqplot.LinearScale(min=self._planned[0], max=self._planned[1])
        else:
            self.x_scale = bqplot.LinearScale()
        self.y_scale = bqplot.LogScale() if self.log_y else bqplot.LinearScale()
        self.lines = bqplot.Lines(
            x=np.zeros(0),
            y=np.zeros((len(self.names), 0)),
            scales={"x": self.x_scale, "y": self.y_scale},
            labels=list(labels),
            display_legend=len(self.names) > 1,
            colors=COLORS[: max(1, len(self.names))],
            marker="circle" if (x.size or 0) <= 60 and x.size else None,
            marker_size=16,
        )
        self.x_axis = bqplot.Axis(scale=self.x_scale, label=x.label, tick_format=TICK_FORMAT)
        self.y_axis = bqplot.Axis(
            scale=self.y_scale,
            label=_label(y_name, y_unit),
            side="left",
            label_offset="60px",
            tick_format=TICK_FORMAT,
        )
        if not x.numeric:
            _label_positions(self.x_axis, x.values, x.name)
        elif self._planned is not None:
            self._tick_x(*self._planned)
        self.figure = bqplot.Figure(
            marks=[self.lines],
            axes=[self.x_axis, self.y_axis],
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

    def _tick_x(self, low: float, high: float) -> None:
        if isinstance(self.x_scale, bqplot.LogScale):
            ticks = log_ticks(low, high, self.x.unit)
        else:
            ticks = linear_ticks(low, high, self.x.unit)
        apply_ticks(self.x_axis, ticks, self.x.name)

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
        if self.log_y:
            ys = self._positive(ys)
        finite = ys[np.isfinite(ys)]
        if finite.size:  # the axes first, so the page never draws points off its scale
            current = (self.y_scale.min, self.y_scale.max)
            low, high = float(finite.min()), float(finite.max())
            if self.log_y:
                shown = decade_range(current, low, high)
                ticks = log_ticks(*shown, self.y_unit)
            else:
                shown = stable_range(current, low, high, headroom=0.1)
                ticks = linear_ticks(*shown, self.y_unit)
            if shown != current:
                with self.y_scale.hold_sync():
                    self.y_scale.min, self.y_scale.max = shown
                apply_ticks(self.y_axis, ticks, self.y_name)
        if self._planned is None and self.x.numeric and x.size:
            xs = x[np.isfinite(x)]
            if xs.size:
                current = (self.x_scale.min, self.x_scale.max)
                shown = stable_range(current, float(xs.min()), float(xs.max()), headroom=0.1)
                if shown != current:
                    with self.x_scale.hold_sync():
                        self.x_scale.min, self.x_scale.max = shown
                    self._tick_x(*shown)
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = ys[0] if len(ys) == 1 else ys
        return True

    def _positive(self, ys: np.ndarray) -> np.ndarray:
        """``ys`` with what a log axis cannot show (zero, negative) as gaps, counted in the
        title: a current that crosses zero is not silently cut."""
        hidden = int(np.count_nonzero(np.isfinite(ys) & (ys <= 0)))
        if hidden != self.hidden:
            self.hidden = hidden
            note = (
                f"{hidden} point{'s' if hidden != 1 else ''} ≤ 0 not drawn (log axis)"
                if hidden
                else ""
            )
            title = " · ".join(part for part in (self.title, note) if part)
            if self.figure.title != title:
                self.figure.title = title
        return np.where(ys > 0, ys, np.nan)

    def close(self) -> None:
        self.channel.close()


class HeatMapPlot:
    """A map of one reading over the two innermost dimensions of a grid, filling in.

    Cells are drawn at the set-points, or at their positions where those are text
    (``sine``, ``square``), not monotonic, or a logspace (then the axis is labelled in
    decades): every cell the same size. The colour bar follows the colormap and the data.
    """

    def __init__(
        self,
        x: Axis,
        y: Axis,
        name: str,
        label: str,
        *,
        unit: str | None = None,
        title: str = "",
        colormap: str = "viridis",
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.x, self.y, self.name = x, y, name
        self.label, self.unit = label, unit
        self._lock = threading.Lock()
        self._z = np.full((y.size or 1, x.size or 1), np.nan)
        self._outer: tuple[int, ...] | None = None  # index of the slice shown (outer dims)
        self._rows = 0
        x_scale = bqplot.LinearScale(allow_padding=False)
        y_scale = bqplot.LinearScale(allow_padding=False)
        self.color_scale = bqplot.ColorScale(colors=list(colormap_colors(colormap)))
        self.map = bqplot.HeatMap(
            x=_heat_axis(x, x.size or 1),
            y=_heat_axis(y, y.size or 1),
            color=self._z.copy(),
            scales={"x": x_scale, "y": y_scale, "color": self.color_scale},
            null_color="#e8e8e8",
        )
        self.x_axis = bqplot.Axis(scale=x_scale, label=x.label, tick_format=TICK_FORMAT)
        self.y_axis = bqplot.Axis(
            scale=y_scale, label=y.label, side="left", label_offset="60px", tick_format=TICK_FORMAT
        )
        self.color_axis = bqplot.ColorAxis(
            scale=self.color_scale, side="right", label=_label(label, unit), tick_format=TICK_FORMAT
        )
        for axis, dim, scale in ((self.x_axis, x, x_scale), (self.y_axis, y, y_scale)):
            _tick_heat_axis(axis, scale, dim, dim.size or 1)
        self.figure = bqplot.Figure(
            marks=[self.map],
            axes=[self.x_axis, self.y_axis, self.color_axis],
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
        finite = z[np.isfinite(z)]
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            if high <= low:
                high = low + (abs(low) * 1e-9 or 1e-12)
            if (low, high) != (self.color_scale.min, self.color_scale.max):
                with self.color_scale.hold_sync():
                    self.color_scale.min, self.color_scale.max = low, high
                apply_ticks(self.color_axis, linear_ticks(low, high, self.unit), self.label)
        with self.map.hold_sync():
            if self.y.size is None:
                self.map.y = _heat_axis(self.y, rows)
                _tick_heat_axis(self.y_axis, self.y_axis.scale, self.y, rows)
            self.map.color = z
        return True

    def close(self) -> None:
        self.channel.close()


def _monotonic(axis: Axis) -> bool:
    if axis.values is None or not axis.numeric or len(axis.values) < 2:
        return True
    steps = np.diff(axis.values.astype(float))
    return bool(np.all(steps > 0) or np.all(steps < 0))


def _heat_axis(axis: Axis, count: int) -> np.ndarray:
    """Cell centres: the set-points; their log for a logspace; positions for text or
    set-points that are not monotonic."""
    if axis.geometric:
        return np.log10(axis.values.astype(float))
    if not axis.numeric or not _monotonic(axis):
        return np.arange(count, dtype=float)
    return axis.positions(count)


def _tick_heat_axis(axis: Any, scale: Any, dim: Axis, count: int) -> None:
    """Range and ticks of a heat map's axis: half a cell beyond the outer cells' centres."""
    centres = _heat_axis(dim, count)
    half = float(np.min(np.abs(np.diff(centres)))) / 2 if len(centres) > 1 else 0.5
    low, high = float(np.min(centres)) - half, float(np.max(centres)) + half
    if (scale.min, scale.max) != (low, high):
        with scale.hold_sync():
            scale.min, scale.max = low, high
    if not dim.numeric:
        _label_positions(axis, dim.values, dim.name)
    elif not _monotonic(dim):
        apply_ticks(axis, linear_ticks(0, count - 1), f"{dim.label} (by position)")
    elif dim.geometric:
        decades = log_ticks(10**low, 10**high, dim.unit)
        exponents = [float(np.log10(v)) for v in decades.values]
        apply_ticks(axis, Ticks(exponents, decades.labels, decades.unit), dim.name)
    else:
        apply_ticks(axis, linear_ticks(low, high, dim.unit), dim.name)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def label_of(attrs: dict[str, Any], fallback: str) -> str:
    """``long_name (units)`` from CF attributes."""
    name = attrs.get("long_name") or fallback
    units = attrs.get("units")
    return _label(str(name), units)


def _label(name: str, unit: str | None) -> str:
    if not unit:
        return name
    return f"{name} ({unit_symbol(unit)})".strip()
