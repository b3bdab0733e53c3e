"""A live camera view: the image with a colormap and colour bar, contrast, histogram, ROI.

``labkit.ui.camera_view(camera)`` shows any camera that follows :class:`labkit.core.Camera`
(GenICam, PVCAM, a plugin's): it subscribes a one-frame queue, so the camera never waits for
it and the newest frame always wins. A run with a ``CameraStream`` shows the same view.

Each render (on the ``labkit-live`` thread, see :mod:`labkit.ui._live`) takes the newest frame,
shrinks it to the view's size with ``labkit.native.preview`` (C, GIL released), maps it through
the contrast levels to 8 bits and sends it as a paletted BMP (:mod:`labkit.ui._image`) in a
binary buffer. The picture is a bqplot ``Image`` mark in sensor-pixel axes, so a rectangle
brushed on it is a sensor region, which the *Apply ROI* button hands to the camera through its
:class:`~labkit.ui.RoiControl` adapter.

bqplot's ``Image`` mark redraws when it is given another image widget (not when the widget's
bytes change), so the view alternates between two image widgets: each update sends the new
bytes to the idle one, then points the mark at it.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Callable
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from labkit.core import Region
from labkit.native import preview
from labkit.ui._image import COLORMAPS, as_mono, bmp, colormap_colors, histogram
from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, LiveChannel, Scheduler
from labkit.ui._parts import PartChooser
from labkit.ui._ranges import stable_range
from labkit.ui._roi import RoiControl, roi_control
from labkit.ui._sources import QueueSource, RecordedSource
from labkit.ui._sync import Pending, guarded, is_quiet, log, quietly
from labkit.ui._ticks import TICK_FORMAT, apply_ticks, linear_ticks

__all__ = ["CONTRAST_MODES", "CameraView", "camera_view"]

_WIDTH = 460
DETAILS_INTERVAL = 0.25
"""Seconds between updates of the colour bar, levels, histogram and counters (the image goes
at full rate)."""
_MARGIN = {"top": 10, "bottom": 45, "left": 70, "right": 20}

SHRINK_MODES = {"mean of each bin": "mean", "max of each bin": "max"}
"""How a large frame is shrunk to the view: the mean is faithful, the maximum keeps single
bright pixels (spots, centroids) visible at 1:4."""

CONTRAST_MODES = {
    "min–max": "minmax",
    "1–99.5 %": ("percentile", 1, 99.5),
    "0.1–99.9 %": ("percentile", 0.1, 99.9),
    "manual": None,
}

_views: dict[int, CameraView] = {}
_views_lock = threading.Lock()


def camera_view(camera: Any, **options: Any) -> CameraView:
    """The live view of ``camera`` (the same one each time until it is closed).

    Options: ``size`` (the preview's longest side in pixels, 512), ``rate`` (updates per
    second at most, 25), ``colormap`` (``"gray"``, ``"viridis"``, ``"magma"``, ``"inferno"``,
    ``"hot"``), ``contrast`` (``"minmax"``, ``("percentile", 1, 99.5)`` or levels ``(lo, hi)``),
    ``gamma``, ``binning`` (``"mean"`` or ``"max"``: how a large frame is shrunk), ``part``
    (the image of a multi-part frame shown, e.g. a 3D camera's ``"coord3d_c"``; by default
    ``"intensity"``, see :mod:`labkit.ui._parts`), ``start`` (start the camera now),
    ``max_in_flight`` (updates the page may be behind by, 3).
    """
    with _views_lock:
        view = _views.get(id(camera))
        if view is not None and view.camera is camera and not view.closed:
            view.configure(**options)
            return view
    view = CameraView(camera, **options)
    with _views_lock:
        _views[id(camera)] = view
    return view


def _contrast_label(contrast: Any) -> str:
    for label, value in CONTRAST_MODES.items():
        if value == contrast:
            return label
    if isinstance(contrast, str) or (
        isinstance(contrast, tuple) and contrast[:1] == ("percentile",)
    ):
        raise ValueError(
            f"contrast {contrast!r} is not one the view offers; use 'minmax', "
            "('percentile', 1, 99.5), ('percentile', 0.1, 99.9) or levels (low, high)"
        )
    return "manual"


class CameraView(widgets.VBox):
    """The live image of one camera, its controls and its counters."""

    def __init__(
        self,
        camera: Any = None,
        *,
        source: Any = None,
        title: str | None = None,
        size: int = 512,
        rate: float = DEFAULT_RATE,
        colormap: str = "gray",
        contrast: Any = "minmax",
        gamma: float | None = None,
        binning: str = "mean",
        part: str | None = None,
        roi: RoiControl | bool | None = True,
        start: bool = False,
        controls_camera: bool = True,
        recording: str | None = None,
        accounting: Callable[[], str] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        if camera is None and source is None:
            raise ValueError("a camera view needs a camera (or a frame source)")
        self.camera = camera
        self.source = source if source is not None else QueueSource(camera)
        self.pending = Pending()
        self.size = int(size)
        self.gamma = gamma
        self.colormap = "gray"
        self.binning = "mean"
        self.parts = PartChooser(part, self._redraw_last)
        self.recording = recording  # why the ROI may not change now (a run records)
        self.accounting = accounting  # a run's frames stored and lost, where (one line)
        self._lock = threading.Lock()
        self._last_frame: Any = None
        self._redraw = False
        self._region: Region | None = None
        self._levels: tuple[int, int] | None = None
        self._levels_at = -1e9
        self._levels_forced = False
        self._top = 255
        self._image_index = 0
        self._error_shown = False
        self._closed = False
        self._details_at = -1e9
        self._stale_details: tuple[Any, ...] | None = None
        if roi is True:
            self.roi: RoiControl | None = roi_control(camera) if camera is not None else None
        else:
            self.roi = roi or None
        name = title or getattr(camera, "name", None) or "camera"
        self.channel = LiveChannel(
            self._render,
            rate=rate,
            max_in_flight=max_in_flight,
            poll=True,
            scheduler=scheduler,
        )
        self._build(name, controls_camera)
        self.configure(colormap=colormap, contrast=contrast, binning=binning)
        self.source.open()
        self.channel.start()
        if start and camera is not None and not camera.acquiring:
            self._in_background(self._start_camera)

    # -- widgets ------------------------------------------------------------------------------

    def _build(self, name: str, controls_camera: bool) -> None:
        self.title = widgets.HTML(f"<b>{html.escape(name)}</b>")
        self.status = widgets.HTML("waiting for frames")
        self.status.add_class("labkit-camera-status")
        self.error = widgets.HTML()
        self.error.add_class("labkit-live-error")
        self.error.layout.display = "none"

        self.x_scale = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self.y_scale = bqplot.LinearScale(min=0.0, max=1.0, reverse=True, allow_padding=False)
        self._images = [widgets.Image(format="bmp"), widgets.Image(format="bmp")]
        self.image = bqplot.Image(
            image=self._images[0],
            x=[0.0, 1.0],
            y=[1.0, 0.0],
            scales={"x": self.x_scale, "y": self.y_scale},
        )
        self.x_axis = bqplot.Axis(
            scale=self.x_scale, label="x (sensor px)", tick_format=TICK_FORMAT
        )
        self.y_axis = bqplot.Axis(
            scale=self.y_scale,
            label="y (sensor px)",
            side="left",
            label_offset="50px",
            tick_format=TICK_FORMAT,
        )
        axes = [self.x_axis, self.y_axis]
        self.brush = bqplot.interacts.BrushSelector(
            x_scale=self.x_scale, y_scale=self.y_scale, color="orange"
        )
        self.figure = bqplot.Figure(
            marks=[self.image],
            axes=axes,
            interaction=self.brush,
            padding_x=0.0,
            padding_y=0.0,
            fig_margin=dict(_MARGIN),
            animation_duration=0,
            layout=widgets.Layout(width=f"{_WIDTH}px", height=f"{_WIDTH}px", flex="0 0 auto"),
        )
        self.figure.add_class("labkit-camera-figure")

        # The colour bar: the colormap's palette as a 1-pixel-wide image, on the levels' axis
        # (bqplot's ColorAxis draws a bar 200 px shorter than its figure).
        self.bar_scale = bqplot.LinearScale(min=0.0, max=255.0, allow_padding=False)
        # Two palette images, alternated as for the picture: bqplot redraws an Image mark when
        # it is given another image widget, not when its bytes change (a colormap change).
        self._bar_images = [widgets.Image(format="bmp"), widgets.Image(format="bmp")]
        self._bar_index = 0
        self.bar = bqplot.Image(
            image=self._bar_images[0],
            x=[0.0, 1.0],
            y=[0.0, 255.0],
            scales={"x": bqplot.LinearScale(min=0.0, max=1.0), "y": self.bar_scale},
        )
        self.bar_axis = bqplot.Axis(
            scale=self.bar_scale, side="right", label="counts", tick_format=TICK_FORMAT
        )
        apply_ticks(self.bar_axis, linear_ticks(0, 255), "counts")
        self.bar_figure = bqplot.Figure(
            marks=[self.bar],
            axes=[self.bar_axis],
            fig_margin={"top": _MARGIN["top"], "bottom": _MARGIN["bottom"], "left": 4, "right": 60},
            padding_x=0.0,
            padding_y=0.0,
            animation_duration=0,
            layout=widgets.Layout(width="84px", height=f"{_WIDTH}px", flex="0 0 auto"),
        )
        self.bar_figure.add_class("labkit-camera-colorbar")

        self.hist_x = bqplot.LinearScale(min=0.0, max=255.0, allow_padding=False)
        self.hist_y = bqplot.LogScale(min=1.0, max=10.0, allow_padding=False)
        self.hist = bqplot.Lines(
            x=np.zeros(1),
            y=np.ones(1),
            scales={"x": self.hist_x, "y": self.hist_y},
            interpolation="step-after",
            fill="bottom",
            colors=["#4c72b0"],
            fill_colors=["#4c72b0"],
            fill_opacities=[0.4],
        )
        self.level_lines = bqplot.Lines(
            x=np.zeros((2, 2)),
            y=np.array([[0.0, 1.0], [0.0, 1.0]]),
            scales={"x": self.hist_x, "y": bqplot.LinearScale(min=0.0, max=1.0)},
            colors=["#d62728"],
            line_style="dashed",
        )
        self.hist_y_axis = bqplot.Axis(
            scale=self.hist_y, side="left", label="pixels", tick_format=".0s", tick_values=[1, 10]
        )
        self.hist_x_axis = bqplot.Axis(
            scale=self.hist_x, label="pixel value", tick_format=TICK_FORMAT
        )
        apply_ticks(self.hist_x_axis, linear_ticks(0, 255, count=4), "pixel value")
        self.hist_figure = bqplot.Figure(
            marks=[self.hist, self.level_lines],
            axes=[self.hist_x_axis, self.hist_y_axis],
            fig_margin={"top": 10, "bottom": 40, "left": 50, "right": 25},
            animation_duration=0,
            layout=widgets.Layout(width="290px", height="180px", flex="0 0 auto"),
        )
        self.hist_figure.add_class("labkit-camera-histogram")

        self.colormap_menu = widgets.Dropdown(
            options=list(COLORMAPS), description="colormap", layout=widgets.Layout(width="220px")
        )
        self.contrast_menu = widgets.Dropdown(
            options=list(CONTRAST_MODES),
            description="contrast",
            layout=widgets.Layout(width="200px"),
        )
        self.levels_slider = widgets.IntRangeSlider(
            value=(0, 255),
            min=0,
            max=255,
            description="levels",
            continuous_update=False,
            layout=widgets.Layout(width="250px"),
        )
        self.shrink_menu = widgets.Dropdown(
            options=list(SHRINK_MODES), description="shrink", layout=widgets.Layout(width="220px")
        )
        self.shrink_menu.observe(self._on_shrink, names="value")
        self.colormap_menu.observe(self._on_colormap, names="value")
        self.contrast_menu.observe(self._on_contrast, names="value")
        self.levels_slider.observe(self._on_levels, names="value")

        small = widgets.Layout(width="auto")
        self.live_button = widgets.ToggleButton(
            description="Live",
            icon="video-camera",
            tooltip="Start or stop the camera",
            layout=small,
        )
        self.live_button.observe(self._on_live, names="value")
        self.apply_button = widgets.Button(
            description="Apply ROI",
            icon="crop",
            tooltip="Read only the selected region",
            layout=small,
        )
        self.full_button = widgets.Button(
            description="Full frame", icon="expand", tooltip="Read the whole sensor", layout=small
        )
        self.apply_button.on_click(lambda _: self._in_background(self._apply_roi))
        self.full_button.on_click(lambda _: self._in_background(self._full_frame))
        self.roi_status = widgets.HTML()
        self.roi_status.add_class("labkit-roi-status")
        self.counters = widgets.HTML()
        self.counters.add_class("labkit-camera-counters")

        camera_buttons: list[Any] = []
        if controls_camera and self.camera is not None:
            camera_buttons.append(self.live_button)
        camera_buttons += [self.apply_button, self.full_button]
        self._roi_buttons_state()
        side = widgets.VBox(
            [
                self.hist_figure,
                self.parts.menu,
                self.colormap_menu,
                self.contrast_menu,
                self.levels_slider,
                self.shrink_menu,
                widgets.HBox(camera_buttons),
                self.roi_status,
            ]
        )
        super().__init__(
            [
                widgets.HBox([self.title, self.status]),
                self.error,
                widgets.HBox([self.figure, self.bar_figure, side]),
                self.counters,
            ]
        )
        self.add_class("labkit-camera-view")

    # -- options ------------------------------------------------------------------------------

    def configure(
        self,
        *,
        colormap: str | None = None,
        contrast: Any = None,
        size: int | None = None,
        rate: float | None = None,
        gamma: float | None = None,
        binning: str | None = None,
        part: str | None = None,
        start: bool | None = None,
        **unknown: Any,
    ) -> None:
        """Change the view's options (the same names as :func:`camera_view`)."""
        unknown.pop("max_in_flight", None)
        if unknown:
            raise TypeError(f"unknown camera view option(s): {', '.join(unknown)}")
        if colormap is not None:
            self._set_colormap(colormap)
        if contrast is not None:
            label = _contrast_label(contrast if isinstance(contrast, str) else tuple(contrast))
            with quietly():
                self.contrast_menu.value = label
                if label == "manual":
                    low, high = (int(v) for v in contrast)
                    self._set_slider_range(max(high, 255))
                    self.levels_slider.value = (low, high)
            self.levels_slider.disabled = label != "manual"
        if size is not None:
            if int(size) < 8:
                raise ValueError(f"a camera view's size must be at least 8 pixels, not {size}")
            self.size = int(size)
        if rate is not None:
            self.channel.rate = rate
        if gamma is not None:
            self.gamma = gamma
        if binning is not None:
            if binning not in SHRINK_MODES.values():
                raise ValueError(f"binning must be 'mean' or 'max', not {binning!r}")
            self.binning = binning
            with quietly():
                self.shrink_menu.value = next(k for k, v in SHRINK_MODES.items() if v == binning)
        if part is not None:
            self.parts.choose(part)
        if start and self.camera is not None and not self.camera.acquiring:
            self._in_background(self._start_camera)
        self._redraw_last()

    @property
    def contrast(self) -> Any:
        """What ``preview`` is asked for: a mode, or manual levels (low, high)."""
        mode = CONTRAST_MODES[self.contrast_menu.value]
        return tuple(self.levels_slider.value) if mode is None else mode

    @property
    def closed(self) -> bool:
        return self._closed

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
        with quietly():
            self.colormap_menu.value = name

    @guarded
    def _on_colormap(self, change: dict[str, Any]) -> None:
        if not is_quiet():
            self._set_colormap(change["new"])
            self._redraw_last()

    @guarded
    def _on_shrink(self, change: dict[str, Any]) -> None:
        if not is_quiet():
            self.binning = SHRINK_MODES[change["new"]]
            self._redraw_last()

    @guarded
    def _on_contrast(self, change: dict[str, Any]) -> None:
        self.levels_slider.disabled = CONTRAST_MODES[change["new"]] is not None
        if not is_quiet():
            self._redraw_last()

    @guarded
    def _on_levels(self, change: dict[str, Any]) -> None:
        if is_quiet():
            return
        low, high = change["new"]
        if low >= high:
            with quietly():
                self.levels_slider.value = (low, low + 1)
        self.contrast_menu.value = "manual"
        self._redraw_last()

    def _redraw_last(self) -> None:
        with self._lock:
            self._redraw = self._last_frame is not None
            self._levels_forced = True  # a control changed: show the levels exactly
        self.channel.touch()

    # -- rendering (on the labkit-live thread) -----------------------------------------------

    def _render(self) -> bool:
        source = self.source
        frame = source.latest()
        with self._lock:
            requested = self._redraw
            if frame is None and requested:
                frame = self._last_frame
            self._redraw = False
            if frame is not None:
                self._last_frame = frame
        if frame is None:
            if source.error is not None and not self._error_shown:
                self._show_error(source.error)
                return True
            if source.ended and not self._error_shown:
                self._stopped("the camera's stream ended (the camera was closed)")
                return True
            stale = self._stale_details
            if stale is not None and self.channel.clock() - self._details_at >= DETAILS_INTERVAL:
                self._stale_details = None  # the camera paused: bring the counters up to date
                self._details_at = self.channel.clock()
                self._show_details(*stale)
                return True
            return False
        self._draw(frame, details=requested)
        return True

    def _draw(self, frame: Any, details: bool = True) -> None:
        mono = as_mono(self.parts.image_of(frame))
        top = int(np.iinfo(mono.dtype).max)
        contrast = self.contrast
        if not isinstance(contrast, str) and len(contrast) == 2:
            contrast = (min(int(contrast[0]), top - 1), min(int(contrast[1]), top))
        shown = preview(
            mono, max_size=self.size, binning=self.binning, contrast=contrast, gamma=self.gamma
        )
        data = bmp(shown.image, self.colormap)
        counts, edges = histogram(mono)
        height, width = mono.shape
        region = frame.regions[0] if getattr(frame, "regions", ()) else None
        if region is None or region.shape != (height, width):
            region = Region(0, 0, width, height)

        target = self._images[self._image_index]
        self._image_index ^= 1
        target.value = data
        with self.image.hold_sync():
            if region != self._region:
                self.image.x = np.array([region.x, region.x + region.width], float)
                self.image.y = np.array([region.y + region.height, region.y], float)
            self.image.image = target
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
        levels = tuple(int(v) for v in shown.levels)
        # The colour bar, the levels, the histogram and the counters change a few times a
        # second at most: automatic levels jitter with every noisy frame, and axes and text
        # re-laid out at video rate cost the browser more than the image itself.
        now = self.channel.clock()
        shown_details = (frame, mono.shape, shown.factor, counts, edges, levels, top)
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
                self._set_slider_range(_slider_top(max(int(edges[-1]) - 1, levels[1]), top))
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
        plot_width = _WIDTH - _MARGIN["left"] - _MARGIN["right"]
        plot_height = max(60, min(2 * plot_width, round(plot_width / aspect)))
        height = f"{plot_height + _MARGIN['top'] + _MARGIN['bottom']}px"
        self.figure.layout.height = height
        self.bar_figure.layout.height = height

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

    def _acquiring(self) -> bool | None:
        if self.camera is None:
            return None
        try:
            return bool(self.camera.acquiring)
        except Exception:
            return None

    def _show_error(self, error: BaseException) -> None:
        self._error_shown = True
        hint = getattr(error, "hint", None)
        text = f"<b>{html.escape(type(error).__name__)}</b>: {html.escape(str(error))}"
        if hint and hint not in str(error):
            text += f"<br><i>{html.escape(hint)}</i>"
        self.error.value = f'<div style="color: var(--jp-error-color1, #d32f2f)">{text}</div>'
        self.error.layout.display = None
        self._stopped("stopped: the camera failed")

    def _stopped(self, why: str) -> None:
        self._error_shown = True
        self.status.value = html.escape(why)
        self.channel.poll = False
        with quietly():
            self.live_button.value = False
        self.source.close()

    # -- camera control (off the kernel's thread: a camera may take a while) -------------------

    def _in_background(self, function: Any) -> None:
        self.pending.begin()

        def run() -> None:
            try:
                function()
            except Exception as error:
                log.debug("camera view: %s failed", function, exc_info=True)
                self._report(error)
            finally:
                self.pending.end()

        threading.Thread(target=run, name="labkit-camera-view", daemon=True).start()

    def _report(self, error: BaseException) -> None:
        hint = getattr(error, "hint", None)
        text = f"{type(error).__name__}: {error}" + (f" — {hint}" if hint else "")
        self.roi_status.value = (
            f'<span style="color: var(--jp-error-color1, #d32f2f)">{html.escape(text)}</span>'
        )

    @guarded
    def _on_live(self, change: dict[str, Any]) -> None:
        if is_quiet():
            return
        self._in_background(self._start_camera if change["new"] else self._stop_camera)

    def _start_camera(self) -> None:
        if self.source.queue is None or not self.source.active:
            self.source.open()  # after an error or the end of the stream: subscribe again
            self._error_shown = False
            self.error.layout.display = "none"
            self.channel.poll = True
            self.channel.start()
        if not self.camera.acquiring:
            self.camera.start()
        self.status.value = "live"

    def _stop_camera(self) -> None:
        if self.camera.acquiring:
            self.camera.stop()
        self.status.value = "stopped"

    def selection(self) -> Region | None:
        """The rectangle brushed on the image, in sensor pixels (None if there is none)."""
        xs, ys = self.brush.selected_x, self.brush.selected_y
        if xs is None or ys is None or len(xs) != 2 or len(ys) != 2:
            return None
        x0, x1 = sorted(float(v) for v in xs)
        y0, y1 = sorted(float(v) for v in ys)
        x, y = math.floor(x0), math.floor(y0)
        width, height = math.ceil(x1) - x, math.ceil(y1) - y
        if width < 1 or height < 1:
            return None
        return Region(max(0, x), max(0, y), width, height)

    def _roi_buttons_state(self) -> None:
        why = None
        if self.roi is None:
            why = "labkit knows no way to set this camera's region of interest"
        elif self.recording:
            why = self.recording
        for button in (self.apply_button, self.full_button):
            button.disabled = why is not None
            if why:
                button.tooltip = why
        if why and self.roi is None:
            self.roi_status.value = f"<small>{html.escape(why)}</small>"

    def apply_roi(self, region: Region | None = None) -> Region:
        """Make the camera read ``region`` (by default the brushed rectangle); returns the
        region it reads, after rounding to what the camera can do."""
        if self.roi is None or self.recording:
            from labkit.core import ConfigurationError

            raise ConfigurationError(
                "the region of interest cannot be changed here: "
                + (self.recording or "labkit knows no way to set this camera's ROI"),
                instrument=getattr(self.camera, "name", None),
            )
        region = region or self.selection()
        if region is None:
            from labkit.core import ConfigurationError

            raise ConfigurationError(
                "no region is selected", hint="Drag a rectangle on the image first"
            )
        applied = self.roi.apply(region)
        self._roi_applied(applied)
        return applied

    def full_frame(self) -> Region:
        """Make the camera read its whole sensor again."""
        if self.roi is None or self.recording:
            return self.apply_roi(Region(0, 0, 1, 1))  # raises the explanation
        applied = self.roi.full()
        self._roi_applied(applied)
        return applied

    def _apply_roi(self) -> None:
        self.apply_roi()

    def _full_frame(self) -> None:
        self.full_frame()

    def _roi_applied(self, region: Region) -> None:
        with self.brush.hold_sync():
            self.brush.selected_x = None
            self.brush.selected_y = None
        note = f" ({self.roi.note})" if self.roi is not None and self.roi.note else ""
        self.roi_status.value = html.escape(
            f"reading {region.width}×{region.height} at x={region.x}, y={region.y}{note}"
        )

    # -- life ---------------------------------------------------------------------------------

    def detach(self) -> None:
        """Stop following the camera (the last picture stays)."""
        self.channel.poll = False
        self.source.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.detach()
        self.channel.close()
        for widget in (
            *self._images,
            *self._bar_images,
            self.image,
            self.bar,
            self.brush,
            self.hist,
            self.level_lines,
        ):
            widget.close()
        with _views_lock:
            if _views.get(id(self.camera)) is self:
                del _views[id(self.camera)]
        super().close()


def _slider_top(observed: int, dtype_top: int) -> int:
    """A levels slider range that fits the camera's bit depth (4095 for 12-bit pixels)."""
    top = (1 << max(8, int(observed).bit_length())) - 1
    return min(top, dtype_top)


def recorded_view(**options: Any) -> tuple[CameraView, RecordedSource]:
    """A view of frames a run records (``Snap``), and the source the run's hook feeds."""
    source = RecordedSource()
    return CameraView(source=source, controls_camera=False, roi=None, **options), source
