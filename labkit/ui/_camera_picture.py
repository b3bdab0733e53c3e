"""The camera view's image and colour pipeline: a frame shrunk to the preview and mapped
through the contrast levels to 8 bits in the kernel, sent as raw bytes to the page's canvas,
which applies the colormap's palette (:mod:`labkit.ui._canvas_image`); the colour bar, the
levels, the histogram and the counters that follow it a few times a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labkit.core import Region
from labkit.native import preview
from labkit.ui._camera_layout import CONTRAST_MODES, CameraLayout
from labkit.ui._image import bmp, colormap_colors, histogram
from labkit.ui._ranges import stable_range
from labkit.ui._sync import quietly
from labkit.ui._ticks import apply_ticks, linear_ticks

DETAILS_INTERVAL = 0.25
"""Seconds between updates of the colour bar, levels, histogram and counters (the image goes
at full rate)."""


class CameraPicture:
    """Draws frames into a :class:`CameraLayout`'s picture, colour bar, levels, histogram and
    counters; ``clock`` is the live channel's, ``counters_text(shape, factor)`` says the
    counters line of a frame of ``shape`` shown shrunk by ``factor`` (``shape`` None: no
    picture yet)."""

    def __init__(
        self,
        layout: CameraLayout,
        clock: Callable[[], float],
        counters_text: Callable[[tuple[int, int] | None, tuple[int, int]], str],
    ) -> None:
        self.ui = layout
        self.clock = clock
        self.counters_text = counters_text
        self.colormap = "gray"
        self._bar_index = 0
        self._region: Region | None = None
        self._levels: tuple[int, int] | None = None
        self._levels_at = -1e9
        self._levels_forced = False
        self._details_at = -1e9
        self._stale_details: tuple[Any, ...] | None = None
        self._size_shown: tuple[tuple[int, int], tuple[int, int]] | None = None  # shape, factor

    def force_levels(self) -> None:
        """A control changed: the next picture's levels show exactly, however little they
        moved."""
        self._levels_forced = True

    def set_colormap(self, name: str) -> None:
        """Show pictures and the colour bar in colormap ``name``."""
        colormap_colors(name)  # refuses an unknown name
        self.colormap = name
        gradient = np.arange(255, -1, -1, dtype=np.uint8).reshape(256, 1)
        self._bar_index ^= 1
        target = self.ui.bar_images[self._bar_index]
        target.value = bmp(gradient, name)
        self.ui.bar.image = target
        self.ui.picture.set_colormap(name)
        with quietly():
            self.ui.colormap_menu.value = name

    def draw(
        self,
        mono: np.ndarray,
        regions: Sequence[Region] = (),
        *,
        size: int,
        binning: str,
        gamma: float | None,
        details: bool = True,
    ) -> None:
        """Show the 2-D unsigned image ``mono`` (whose sensor regions are ``regions``) shrunk
        to ``size``, with the contrast the controls ask for; the details follow at most every
        :data:`DETAILS_INTERVAL` seconds, unless ``details``."""
        top = int(np.iinfo(mono.dtype).max)
        contrast = self.ui.contrast
        if not isinstance(contrast, str) and len(contrast) == 2:
            contrast = (min(int(contrast[0]), top - 1), min(int(contrast[1]), top))
        shown = preview(mono, max_size=size, binning=binning, contrast=contrast, gamma=gamma)
        counts, edges = histogram(mono)
        height, width = mono.shape
        region = regions[0] if regions else None
        if region is None or region.shape != (height, width):
            region = Region(0, 0, width, height)

        ui = self.ui
        ui.picture.show(shown.image)
        if region != self._region:
            with ui.x_scale.hold_sync():
                ui.x_scale.min, ui.x_scale.max = float(region.x), float(region.x + region.width)
            with ui.y_scale.hold_sync():
                ui.y_scale.min, ui.y_scale.max = float(region.y), float(region.y + region.height)
            apply_ticks(
                ui.x_axis, linear_ticks(region.x, region.x + region.width, count=4), "x (sensor px)"
            )
            apply_ticks(
                ui.y_axis,
                linear_ticks(region.y, region.y + region.height, count=4),
                "y (sensor px)",
            )
            ui.fit(region)
            self._region = region
        levels = (int(shown.levels[0]), int(shown.levels[1]))
        # The colour bar, the levels, the histogram and the counters change a few times a
        # second at most: automatic levels jitter with every noisy frame, and axes and text
        # re-laid out at video rate cost the browser more than the image itself.
        now = self.clock()
        self._size_shown = ((height, width), shown.factor)
        shown_details = ((height, width), shown.factor, counts, edges, levels, top)
        if details or now - self._details_at >= DETAILS_INTERVAL:
            self._details_at = now
            self._stale_details = None
            self._show_details(*shown_details)
        else:
            self._stale_details = shown_details

    def catch_up(self, counters: bool = False, *, now: bool = False) -> bool:
        """No picture came (the camera paused, or stopped): show the details held back from
        the last picture, or with ``counters`` (what they say changed) the counters again,
        once they are due — at once with ``now``. True if it showed anything."""
        stale = self._stale_details
        if stale is None and not counters:
            return False
        if not now and self.clock() - self._details_at < DETAILS_INTERVAL:
            return False
        self._stale_details = None
        self._details_at = self.clock()
        if stale is not None:
            self._show_details(*stale)  # the counters with them
        else:
            shape, factor = self._size_shown or (None, (1, 1))
            self.ui.counters.value = self.counters_text(shape, factor)
        return True

    def _show_details(
        self,
        shape: tuple[int, int],
        factor: tuple[int, int],
        counts: np.ndarray,
        edges: np.ndarray,
        levels: tuple[int, int],
        top: int,
    ) -> None:
        ui = self.ui
        if self._levels_moved(levels):
            with ui.bar_scale.hold_sync():
                ui.bar_scale.min, ui.bar_scale.max = float(levels[0]), float(levels[1])
            apply_ticks(ui.bar_axis, linear_ticks(levels[0], levels[1]), "counts")
            with ui.bar.hold_sync():
                ui.bar.y = np.array([levels[0], levels[1]], float)
            self._levels = levels
            self._levels_at = self.clock()
            self._levels_forced = False
            if CONTRAST_MODES[ui.contrast_menu.value] is not None:
                ui.widen_levels(slider_top(max(int(edges[-1]) - 1, levels[1]), top))
                with quietly():
                    ui.levels_slider.value = levels
        # Axes that move with every noisy frame make the browser redraw their ticks: the
        # ranges change only when the data leaves them (or fills less than half of them).
        span = stable_range(
            (ui.hist_x.min, ui.hist_x.max), float(edges[0]), float(max(edges[-1], edges[0] + 1))
        )
        if span != (ui.hist_x.min, ui.hist_x.max):
            with ui.hist_x.hold_sync():
                ui.hist_x.min, ui.hist_x.max = span
            apply_ticks(ui.hist_x_axis, linear_ticks(*span, count=4), "pixel value")
        most = max(2, int(counts.max()))
        decade = 10 ** int(np.log10(most))
        ceiling = float(10 ** np.ceil(np.log10(most * 1.2)))
        if ui.hist_y.max != ceiling:
            ui.hist_y.max = ceiling
        if list(ui.hist_y_axis.tick_values) != [1, decade]:
            ui.hist_y_axis.tick_values = np.array([1, decade])
        with ui.hist.hold_sync():
            # A log scale shows a few bright pixels beside a million dark ones; an empty bin
            # sits on the floor of the axis (1) instead of at minus infinity.
            ui.hist.x = np.asarray(edges[:-1], float)
            ui.hist.y = np.maximum(counts, 1).astype(float)
        low, high = levels
        ui.level_lines.x = np.array([[low, low], [high, high]], float)
        ui.counters.value = self.counters_text(shape, factor)

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
        return moved > span / 100 or self.clock() - self._levels_at >= 1.0


def slider_top(observed: int, dtype_top: int) -> int:
    """A levels slider range that fits the camera's bit depth (4095 for 12-bit pixels)."""
    top = (1 << max(8, int(observed).bit_length())) - 1
    return min(top, dtype_top)
