"""Views of array readings: the latest trace, the history as a waterfall, and a panel's
small plot.

A trace (a spectrum, a scope record, a meter's buffer) is drawn against its coordinate
(wavelength, time, reading number). Everything sent to the page is prepared in the kernel:
long traces are thinned to the minimum and maximum of each bucket (every peak survives),
the waterfall's rows are averaged into at most :data:`WATERFALL_COLUMNS` columns, and every
axis gets round ticks labelled with the unit's SI prefix (``_ticks``). Recording a trace only
keeps a reference and touches the view's :class:`~labkit.ui._live.LiveChannel`: the newest
trace wins, renders are throttled, the acquisition never waits for the page.
"""

from __future__ import annotations

import threading
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, LiveChannel, Scheduler
from labkit.ui._plots import Axis, HeatMapPlot, decimate
from labkit.ui._ranges import stable_range
from labkit.ui._ticks import TICK_FORMAT, apply_ticks, linear_ticks

__all__ = ["WATERFALL_COLUMNS", "SmallTrace", "TracePlot", "WaterfallPlot", "bin_columns"]

WATERFALL_COLUMNS = 400
"""Columns of a waterfall at most: a row is averaged over buckets of neighbouring samples."""


def bin_columns(values: Any, count: int = WATERFALL_COLUMNS) -> np.ndarray:
    """The mean of ``count`` buckets of neighbouring samples along the last axis (all of
    them when there are at most ``count``); NaN stays NaN only where a bucket is all NaN."""
    array = np.asarray(values, dtype=float)
    size = array.shape[-1]
    if size <= count:
        return array
    edges = np.linspace(0, size, count + 1).astype(int)
    sums = np.add.reduceat(np.nan_to_num(array), edges[:-1], axis=-1)
    counts = np.add.reduceat(np.isfinite(array), edges[:-1], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _line_figure(
    x: Axis, y_label: str, y_unit: str | None, *, title: str, width: str, height: str
) -> tuple[bqplot.Figure, bqplot.Lines, Any, Any, Any, Any]:
    x_scale, y_scale = bqplot.LinearScale(), bqplot.LinearScale()
    lines = bqplot.Lines(
        x=np.zeros(0), y=np.zeros(0), scales={"x": x_scale, "y": y_scale}, colors=["#1f77b4"]
    )
    x_axis = bqplot.Axis(scale=x_scale, label=x.label, tick_format=TICK_FORMAT)
    y_axis = bqplot.Axis(
        scale=y_scale, label=y_label, side="left", label_offset="60px", tick_format=TICK_FORMAT
    )
    figure = bqplot.Figure(
        marks=[lines],
        axes=[x_axis, y_axis],
        title=title,
        animation_duration=0,
        fig_margin={"top": 40 if title else 10, "bottom": 50, "left": 80, "right": 20},
        layout=widgets.Layout(width=width, height=height),
    )
    return figure, lines, x_scale, y_scale, x_axis, y_axis


class TracePlot:
    """The latest trace of an array reading against its coordinate."""

    def __init__(
        self,
        x: Axis,
        name: str,
        label: str,
        unit: str | None = None,
        *,
        title: str = "",
        width: str = "480px",
        height: str = "320px",
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.x, self.name, self.label, self.unit = x, name, label, unit
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self.traces = 0  # traces recorded (or filled) so far
        y_label = f"{label}" if not unit else label  # the unit goes in with the ticks
        (self.figure, self.lines, self.x_scale, self.y_scale, self.x_axis, self.y_axis) = (
            _line_figure(x, y_label, unit, title=title, width=width, height=height)
        )
        self.figure.add_class("labkit-traceplot")
        positions = x.positions(x.size or 0)
        finite = positions[np.isfinite(positions)]
        if finite.size and finite.max() > finite.min():
            low, high = float(finite.min()), float(finite.max())
            with self.x_scale.hold_sync():
                self.x_scale.min, self.x_scale.max = low, high
            apply_ticks(self.x_axis, linear_ticks(low, high, x.unit), x.name)
        apply_ticks(self.y_axis, linear_ticks(0.0, 1.0, unit), label)
        self.channel = LiveChannel(
            self._render, rate=rate, max_in_flight=max_in_flight, scheduler=scheduler
        )
        self.widget = self.figure

    def record(self, values: Any) -> None:
        """Show ``values`` next (on the recording thread: a reference and a touch)."""
        with self._lock:
            self._latest = values
            self.traces += 1
        self.channel.touch()

    def _render(self) -> bool:
        with self._lock:
            latest = self._latest
        if latest is None:
            return True
        y = np.asarray(latest, dtype=float).ravel()
        x = self.x.positions(len(y))
        if len(x) < len(y):  # the reading grew past its declared axis: plot by position
            x = np.arange(len(y), dtype=float)
        x, ys = decimate(x, y[np.newaxis, :])
        finite = ys[np.isfinite(ys)]
        if finite.size:
            current = (self.y_scale.min, self.y_scale.max)
            shown = stable_range(current, float(finite.min()), float(finite.max()), headroom=0.05)
            if shown != current:
                with self.y_scale.hold_sync():
                    self.y_scale.min, self.y_scale.max = shown
                apply_ticks(self.y_axis, linear_ticks(*shown, self.unit), self.label)
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = ys[0]
        return True

    def close(self) -> None:
        self.channel.close()


class WaterfallPlot(HeatMapPlot):
    """The history of an array reading: one row per point along the run's innermost
    dimension (the newest slice of any outer ones), the trace's coordinate across, filling
    in as the run goes."""

    def __init__(self, x: Axis, y: Axis, name: str, label: str, **options: Any) -> None:
        self.full_x = x
        binned = Axis(
            x.dim,
            x.name,
            bin_columns(x.positions(x.size or 0)) if x.size else None,
            size=None if x.size else 1,
            unit=x.unit,
        )
        options.setdefault("title", f"{label}: history")
        super().__init__(binned, y, name, label, **options)
        self.figure.remove_class("labkit-heatmap")
        self.figure.add_class("labkit-waterfall")

    def record_trace(self, index: tuple[int, ...], values: Any) -> None:
        """Store a whole trace as the row of the point ``index`` (outer dims, row)."""
        *outer, row = index
        binned = bin_columns(np.asarray(values, dtype=float).ravel())
        with self._lock:
            if self._outer is not None and tuple(outer) != self._outer:
                self._z[:] = np.nan
            self._outer = tuple(outer)
            if row >= self._z.shape[0]:
                grown = np.full((max(row + 1, 2 * self._z.shape[0]), self._z.shape[1]), np.nan)
                grown[: self._z.shape[0]] = self._z
                self._z = grown
            width = min(len(binned), self._z.shape[1])
            self._z[row, :width] = binned[:width]
            self._rows = max(self._rows, row + 1)
        self.channel.touch()

    def fill(self, data: np.ndarray) -> None:
        """Fill rows not seen yet from the store (the trace's dimension last)."""
        super().fill(bin_columns(data))


class SmallTrace:
    """A panel's small plot of an array reading's last value (no I/O of its own)."""

    def __init__(self, x: Axis, label: str, unit: str | None) -> None:
        self.plot = TracePlot(x, label, label, unit, width="260px", height="150px", rate=4.0)
        self.plot.figure.fig_margin = {"top": 6, "bottom": 36, "left": 56, "right": 24}
        self.plot.figure.add_class("labkit-smalltrace")
        self.widget = self.plot.figure

    def show(self, values: Any) -> None:
        if values is not None:
            self.plot.record(values)

    def close(self) -> None:
        self.plot.close()
