"""The camera view's image and colour pipeline: a frame shrunk to the preview and mapped
through the contrast levels to 8 bits in the kernel, sent as raw bytes to the page's canvas,
which applies the colormap's palette (:mod:`labkit.ui._canvas_image`); the colour bar, the
levels, the histogram and the counters that follow it a few times a second.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.core import Region
from labkit.native import preview
from labkit.ui._camera_layout import CONTRAST_MODES, MARGIN, WIDTH
from labkit.ui._image import as_mono, bmp, colormap_colors, histogram
from labkit.ui._ranges import stable_range
from labkit.ui._sync import quietly
from labkit.ui._ticks import apply_ticks, linear_ticks

DETAILS_INTERVAL = 0.25
"""Seconds between updates of the colour bar, levels, histogram and counters (the image goes
at full rate)."""


class CameraPicture:
    """Draws frames into the camera view's widgets (a mixin of :class:`CameraView`)."""

    colormap: str
    size: int
    gamma: float | None
    binning: str
    contrast: Any
    channel: Any
    source: Any
    parts: Any
    accounting: Callable[[], str] | None
    # The widgets CameraLayout builds, and the state CameraView keeps, that drawing updates.
    picture: Any
    figure: Any
    bar_figure: Any
    bar: Any
    bar_axis: Any
    bar_scale: Any
    colormap_menu: Any
    contrast_menu: Any
    levels_slider: Any
    live_button: Any
    status: Any
    counters: Any
    hist: Any
    hist_x: Any
    hist_x_axis: Any
    hist_y: Any
    hist_y_axis: Any
    level_lines: Any
    x_axis: Any
    x_scale: Any
    y_axis: Any
    y_scale: Any
    _bar_images: list[Any]
    _bar_index: int
    _top: int
    _region: Region | None
    _levels: tuple[int, int] | None
    _details_at: float
    _stale_details: tuple[Any, ...] | None
    _acquiring: Callable[[], bool | None]

    def _set_slider_range(self, top: int) -> None:
        top = int(top)
        if top > self.levels_slider.max:
            with quietly():
                self.levels_slider.max = top
        self._top = max(self._top, top)

    def _set_colormap(self, name: str) -> None:
        colormap_colors(name)  # refuses an unknown name
        self.colormap = name
        gradient = np.arange(255, -1, -1, dtype=np.uint8).reshape(256, 1)
        self._bar_index ^= 1
        target = self._bar_images[self._bar_index]
        target.value = bmp(gradient, name)
        self.bar.image = target
        self.picture.set_colormap(name)
        with quietly():
            self.colormap_menu.value = name

    def _draw(self, frame: Any, details: bool = True) -> None:
        mono = as_mono(self.parts.image_of(frame))
        top = int(np.iinfo(mono.dtype).max)
        contrast = self.contrast
        if not isinstance(contrast, str) and len(contrast) == 2:
            contrast = (min(int(contrast[0]), top - 1), min(int(contrast[1]), top))
        shown = preview(
            mono, max_size=self.size, binning=self.binning, contrast=contrast, gamma=self.gamma
        )
        counts, edges = histogram(mono)
        height, width = mono.shape
        region = frame.regions[0] if getattr(frame, "regions", ()) else None
        if region is None or region.shape != (height, width):
            region = Region(0, 0, width, height)

        self.picture.show(shown.image)
        if region != self._region:
            with self.x_scale.hold_sync():
                self.x_scale.min, self.x_scale.max = float(region.x), float(region.x + region.width)
            with self.y_scale.hold_sync():
                self.y_scale.min = float(region.y)
                self.y_scale.max = float(region.y + region.height)
            apply_ticks(
                self.x_axis,
                linear_ticks(region.x, region.x + region.width, count=4),
                "x (sensor px)",
            )
            apply_ticks(
                self.y_axis,
                linear_ticks(region.y, region.y + region.height, count=4),
                "y (sensor px)",
            )
            self._fit(region)
            self._region = region
        levels = (int(shown.levels[0]), int(shown.levels[1]))
        # The colour bar, the levels, the histogram and the counters change a few times a
        # second at most: automatic levels jitter with every noisy frame, and axes and text
        # re-laid out at video rate cost the browser more than the image itself.
        now = self.channel.clock()
        shown_details = (frame, (height, width), shown.factor, counts, edges, levels, top)
        if details or now - self._details_at >= DETAILS_INTERVAL:
            self._details_at = now
            self._stale_details = None
            self._show_details(*shown_details)
        else:
            self._stale_details = shown_details
        acquiring = self._acquiring()
        self.status.value = "live" if acquiring else "stopped"
        if acquiring is not None and self.live_button.value != acquiring:
            with quietly():
                self.live_button.value = acquiring

    def _show_details(
        self,
        frame: Any,
        shape: tuple[int, int],
        factor: tuple[int, int],
        counts: np.ndarray,
        edges: np.ndarray,
        levels: tuple[int, int],
        top: int,
    ) -> None:
        if self._levels_moved(levels):
            with self.bar_scale.hold_sync():
                self.bar_scale.min, self.bar_scale.max = float(levels[0]), float(levels[1])
            apply_ticks(self.bar_axis, linear_ticks(levels[0], levels[1]), "counts")
            with self.bar.hold_sync():
                self.bar.y = np.array([levels[0], levels[1]], float)
            self._levels = levels
            self._levels_at = self.channel.clock()
            self._levels_forced = False
            if CONTRAST_MODES[self.contrast_menu.value] is not None:
                self._set_slider_range(slider_top(max(int(edges[-1]) - 1, levels[1]), top))
                with quietly():
                    self.levels_slider.value = levels
        # Axes that move with every noisy frame make the browser redraw their ticks: the
        # ranges change only when the data leaves them (or fills less than half of them).
        span = stable_range(
            (self.hist_x.min, self.hist_x.max), float(edges[0]), float(max(edges[-1], edges[0] + 1))
        )
        if span != (self.hist_x.min, self.hist_x.max):
            with self.hist_x.hold_sync():
                self.hist_x.min, self.hist_x.max = span
            apply_ticks(self.hist_x_axis, linear_ticks(*span, count=4), "pixel value")
        most = max(2, int(counts.max()))
        decade = 10 ** int(np.log10(most))
        ceiling = float(10 ** np.ceil(np.log10(most * 1.2)))
        if self.hist_y.max != ceiling:
            self.hist_y.max = ceiling
        if list(self.hist_y_axis.tick_values) != [1, decade]:
            self.hist_y_axis.tick_values = np.array([1, decade])
        with self.hist.hold_sync():
            # A log scale shows a few bright pixels beside a million dark ones; an empty bin
            # sits on the floor of the axis (1) instead of at minus infinity.
            self.hist.x = np.asarray(edges[:-1], float)
            self.hist.y = np.maximum(counts, 1).astype(float)
        low, high = levels
        self.level_lines.x = np.array([[low, low], [high, high]], float)
        self.counters.value = self._counters_text(frame, shape, factor)

    def _levels_moved(self, levels: tuple[int, int]) -> bool:
        """Whether the colour bar and the levels slider should show ``levels``: automatic
        levels of a noisy camera move by a count or two with every frame, which is not worth
        redrawing an axis for; a move by 1 % of the range, or any move after a second, is."""
        shown = self._levels
        if shown is None or self._levels_forced:
            return True
        if levels == shown:
            return False
        span = max(1, shown[1] - shown[0])
        moved = max(abs(levels[0] - shown[0]), abs(levels[1] - shown[1]))
        return moved > span / 100 or self.channel.clock() - self._levels_at >= 1.0

    def _fit(self, region: Region) -> None:
        """Size the figure so the image has square pixels and fills it."""
        aspect = region.width / region.height if region.height else 1.0
        plot_width = WIDTH - MARGIN["left"] - MARGIN["right"]
        plot_height = max(60, min(2 * plot_width, round(plot_width / aspect)))
        height = f"{plot_height + MARGIN['top'] + MARGIN['bottom']}px"
        self.figure.layout.height = height
        self.bar_figure.layout.height = height
        self.picture.layout.height = f"{plot_height}px"

    def _counters_text(self, frame: Any, shape: tuple[int, int], factor: tuple[int, int]) -> str:
        counters = self.source.counters
        parts = [
            f"frame {counters.frames}",
            f"camera {counters.rate():.1f} fps",
            f"view {self.channel.updates_per_second():.1f} /s",
            f"skipped {self.source.skipped}",
            f"dropped {counters.dropped}",
            f"{shape[1]}×{shape[0]} px" + (f" shown 1:{factor[0]}" if factor != (1, 1) else ""),
        ]
        keys = ["frames", "fps", "view", "skipped", "dropped", "size"]
        run_text = self.accounting() if self.accounting is not None else ""
        if run_text:
            keys.append("run")
            parts.append(f"run: {run_text}")
        spans = "".join(
            f'<span class="labkit-counter-{key}">{html.escape(text)}</span> · '
            for key, text in zip(keys, parts, strict=True)
        )
        return f"<small>{spans[:-3]}</small>"


def slider_top(observed: int, dtype_top: int) -> int:
    """A levels slider range that fits the camera's bit depth (4095 for 12-bit pixels)."""
    top = (1 << max(8, int(observed).bit_length())) - 1
    return min(top, dtype_top)
