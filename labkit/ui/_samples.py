"""The live view of points a learner chose (``Adaptive``): each point where it was taken.

Over one setting the value is drawn against it, the points joined in the order of the
setting (a curve filling in where it bends); over two, each point is a dot coloured by its
value. Ticks are computed in the kernel (``_ticks``), the newest points win (``LiveChannel``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from labkit.ui._image import colormap_colors
from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, LiveChannel, Scheduler
from labkit.ui._ranges import stable_range
from labkit.ui._ticks import TICK_FORMAT, apply_ticks, linear_ticks

__all__ = ["SamplesPlot"]


class SamplesPlot:
    """``value`` at the set-points ``where`` (one or two names), as the points arrive."""

    def __init__(
        self,
        where: Sequence[tuple[str, str, str | None]],
        value: tuple[str, str, str | None],
        *,
        title: str = "",
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.where = list(where)  # (variable name, label, unit) of each set-point
        self.value = value
        self._lock = threading.Lock()
        self._points: dict[int, tuple[float, ...]] = {}
        scales = [bqplot.LinearScale(), bqplot.LinearScale()]
        self.scales = scales
        self.axes = [
            bqplot.Axis(scale=scales[0], label=self.where[0][1], tick_format=TICK_FORMAT),
            bqplot.Axis(scale=scales[1], side="left", label_offset="60px", tick_format=TICK_FORMAT),
        ]
        self.two_d = len(self.where) == 2
        if self.two_d:
            self.color_scale = bqplot.ColorScale(colors=list(colormap_colors("viridis")))
            self.mark: Any = bqplot.Scatter(
                x=np.zeros(0),
                y=np.zeros(0),
                color=np.zeros(0),
                scales={"x": scales[0], "y": scales[1], "color": self.color_scale},
                default_size=24,
            )
            color_axis = bqplot.ColorAxis(
                scale=self.color_scale, side="right", label=value[1], tick_format=TICK_FORMAT
            )
            self.axes.append(color_axis)
            self.axes[1].label = self.where[1][1]
        else:
            self.mark = bqplot.Lines(
                x=np.zeros(0),
                y=np.zeros(0),
                scales={"x": scales[0], "y": scales[1]},
                marker="circle",
                marker_size=12,
                colors=["#1f77b4"],
            )
            self.axes[1].label = value[1]
        self.figure = bqplot.Figure(
            marks=[self.mark],
            axes=self.axes,
            title=title,
            animation_duration=0,
            fig_margin={"top": 40, "bottom": 50, "left": 80, "right": 100 if self.two_d else 20},
            layout=widgets.Layout(width="480px", height="360px"),
        )
        self.figure.add_class("labkit-samplesplot")
        self.channel = LiveChannel(
            self._render, rate=rate, max_in_flight=max_in_flight, scheduler=scheduler
        )
        self.widget = self.figure

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.where] + [self.value[0]]

    @property
    def count(self) -> int:
        return len(self._points)

    def record(self, position: int, values: dict[str, Any]) -> None:
        names = self.names
        if not all(name in values for name in names):
            return
        with self._lock:
            self._points[position] = tuple(float(values[name]) for name in names)
        self.channel.touch()

    def fill(self, columns: dict[str, np.ndarray]) -> None:
        """Points not seen yet, from the store (one column per name, in sample order)."""
        names = self.names
        if not all(name in columns for name in names):
            return
        table = np.column_stack([np.asarray(columns[n], dtype=float).ravel() for n in names])
        with self._lock:
            for position, row in enumerate(table):
                if np.isfinite(row).all():
                    self._points.setdefault(position, tuple(row))
        self.channel.touch()

    def _render(self) -> bool:
        with self._lock:
            table = np.asarray([self._points[k] for k in sorted(self._points)], dtype=float)
        if not table.size:
            return True
        for axis in range(2 if self.two_d else 1):
            self._range(axis, table[:, axis], self.where[axis])
        if self.two_d:
            low, high = float(table[:, 2].min()), float(table[:, 2].max())
            if high <= low:
                high = low + (abs(low) * 1e-9 or 1e-12)
            with self.color_scale.hold_sync():
                self.color_scale.min, self.color_scale.max = low, high
            apply_ticks(self.axes[2], linear_ticks(low, high, self.value[2]), self.value[1])
            with self.mark.hold_sync():
                self.mark.x, self.mark.y, self.mark.color = table[:, 0], table[:, 1], table[:, 2]
            return True
        self._range(1, table[:, 1], self.value)
        order = np.argsort(table[:, 0], kind="stable")
        with self.mark.hold_sync():
            self.mark.x, self.mark.y = table[order, 0], table[order, 1]
        return True

    def _range(self, axis: int, values: np.ndarray, described: tuple[str, str, str | None]) -> None:
        scale = self.scales[axis]
        finite = values[np.isfinite(values)]
        if not finite.size:
            return
        current = (scale.min, scale.max)
        shown = stable_range(current, float(finite.min()), float(finite.max()), headroom=0.05)
        if shown != current:
            with scale.hold_sync():
                scale.min, scale.max = shown
            apply_ticks(self.axes[axis], linear_ticks(*shown, described[2]), described[1])

    def close(self) -> None:
        self.channel.close()
