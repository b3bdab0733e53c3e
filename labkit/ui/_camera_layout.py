"""The camera view's widgets and how they are laid out: the picture in sensor-pixel axes with
its brush, the colour bar, the histogram, the menus, the buttons and the counters.

:class:`CameraLayout` builds and holds them, and knows what its controls ask for (the
contrast); it reacts to nothing. Whoever shows it (:class:`labkit.ui._camera_view.CameraView`)
wires the handlers and puts :attr:`CameraLayout.rows` in its box.
"""

from __future__ import annotations

import html
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from labkit.core import Region
from labkit.ui._canvas_image import CanvasImage
from labkit.ui._image import COLORMAPS
from labkit.ui._sync import quietly
from labkit.ui._ticks import TICK_FORMAT, apply_ticks, linear_ticks

WIDTH = 460
"""The picture's figure width in pixels (its height follows the sensor's aspect)."""
MARGIN = {"top": 10, "bottom": 45, "left": 70, "right": 20}

SHRINK_MODES = {"mean of each bin": "mean", "max of each bin": "max"}
"""How a large frame is shrunk to the view: the mean is faithful, the maximum keeps single
bright pixels (spots, centroids) visible at 1:4."""

CONTRAST_MODES = {
    "min–max": "minmax",
    "1–99.5 %": ("percentile", 1, 99.5),
    "0.1–99.9 %": ("percentile", 0.1, 99.9),
    "manual": None,
}


class CameraLayout:
    """The camera view's widgets, laid out in :attr:`rows` (handlers are wired by the owner).

    ``extra_menu`` goes above the colormap menu (a multi-part camera's part chooser);
    ``live_button`` says whether the *Live* button (start and stop the camera) is shown.
    """

    def __init__(self, name: str, *, extra_menu: widgets.Widget, live_button: bool) -> None:
        self.title = widgets.HTML(f"<b>{html.escape(name)}</b>")
        self.status = widgets.HTML("waiting for frames")
        self.status.add_class("labkit-camera-status")
        self.error = widgets.HTML()
        self.error.add_class("labkit-live-error")
        self.error.layout.display = "none"

        self.x_scale = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self.y_scale = bqplot.LinearScale(min=0.0, max=1.0, reverse=True, allow_padding=False)
        # The picture is drawn into a canvas under the figure, which is transparent and
        # carries the axes and the ROI brush (an SVG <image> costs Chromium ~100 ms a picture).
        self.picture = CanvasImage(
            layout=widgets.Layout(
                grid_area="picture",
                margin=f"{MARGIN['top']}px 0 0 {MARGIN['left']}px",
                width=f"{WIDTH - MARGIN['left'] - MARGIN['right']}px",
                height=f"{WIDTH - MARGIN['left'] - MARGIN['right']}px",
            )
        )
        self.picture.add_class("labkit-camera-picture")
        self.x_axis = bqplot.Axis(
            scale=self.x_scale, label="x (sensor px)", tick_format=TICK_FORMAT, grid_lines="none"
        )
        self.y_axis = bqplot.Axis(
            scale=self.y_scale,
            label="y (sensor px)",
            side="left",
            label_offset="50px",
            tick_format=TICK_FORMAT,
            grid_lines="none",  # the figure lies over the picture: no lines across it
        )
        axes = [self.x_axis, self.y_axis]
        self.brush = bqplot.interacts.BrushSelector(
            x_scale=self.x_scale, y_scale=self.y_scale, color="orange"
        )
        self.figure = bqplot.Figure(
            marks=[],
            axes=axes,
            interaction=self.brush,
            padding_x=0.0,
            padding_y=0.0,
            fig_margin=dict(MARGIN),
            animation_duration=0,
            layout=widgets.Layout(width=f"{WIDTH}px", height=f"{WIDTH}px", flex="0 0 auto"),
        )
        self.figure.layout.grid_area = "picture"
        self.figure.add_class("labkit-camera-figure")
        self.picture_box = widgets.GridBox(
            [self.picture, self.figure],
            layout=widgets.Layout(grid_template_areas='"picture"', flex="0 0 auto"),
        )
        self.picture_box.add_class("labkit-camera-picture-box")

        # The colour bar: the colormap's palette as a 1-pixel-wide image, on the levels' axis
        # (bqplot's ColorAxis draws a bar 200 px shorter than its figure).
        self.bar_scale = bqplot.LinearScale(min=0.0, max=255.0, allow_padding=False)
        # Two palette images, alternated as for the picture: bqplot redraws an Image mark when
        # it is given another image widget, not when its bytes change (a colormap change).
        self.bar_images = [widgets.Image(format="bmp"), widgets.Image(format="bmp")]
        self.bar = bqplot.Image(
            image=self.bar_images[0],
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
            fig_margin={"top": MARGIN["top"], "bottom": MARGIN["bottom"], "left": 4, "right": 60},
            padding_x=0.0,
            padding_y=0.0,
            animation_duration=0,
            layout=widgets.Layout(width="84px", height=f"{WIDTH}px", flex="0 0 auto"),
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

        small = widgets.Layout(width="auto")
        self.live_button = widgets.ToggleButton(
            description="Live",
            icon="video-camera",
            tooltip="Start or stop the camera",
            layout=small,
        )
        self.apply_button = widgets.Button(
            description="Apply ROI",
            icon="crop",
            tooltip="Read only the selected region",
            layout=small,
        )
        self.full_button = widgets.Button(
            description="Full frame", icon="expand", tooltip="Read the whole sensor", layout=small
        )
        self.roi_status = widgets.HTML()
        self.roi_status.add_class("labkit-roi-status")
        self.counters = widgets.HTML()
        self.counters.add_class("labkit-camera-counters")

        camera_buttons: list[Any] = [self.live_button] if live_button else []
        camera_buttons += [self.apply_button, self.full_button]
        side = widgets.VBox(
            [
                self.hist_figure,
                extra_menu,
                self.colormap_menu,
                self.contrast_menu,
                self.levels_slider,
                self.shrink_menu,
                widgets.HBox(camera_buttons),
                self.roi_status,
            ]
        )
        self.rows: list[widgets.Widget] = [
            widgets.HBox([self.title, self.status]),
            self.error,
            widgets.HBox([self.picture_box, self.bar_figure, side]),
            self.counters,
        ]
        """The view's rows, top to bottom: title and status, error, picture and controls,
        counters."""

    @property
    def contrast(self) -> Any:
        """What the controls ask ``preview`` for: a mode, or manual levels (low, high)."""
        mode = CONTRAST_MODES[self.contrast_menu.value]
        return tuple(self.levels_slider.value) if mode is None else mode

    def widen_levels(self, top: int) -> None:
        """Let the levels slider reach ``top`` (a 12-bit camera's 4095), never narrowing it."""
        if int(top) > self.levels_slider.max:
            with quietly():
                self.levels_slider.max = int(top)

    def fit(self, region: Region) -> None:
        """Size the figure so the image has square pixels and fills it."""
        aspect = region.width / region.height if region.height else 1.0
        plot_width = WIDTH - MARGIN["left"] - MARGIN["right"]
        plot_height = max(60, min(2 * plot_width, round(plot_width / aspect)))
        height = f"{plot_height + MARGIN['top'] + MARGIN['bottom']}px"
        self.figure.layout.height = height
        self.bar_figure.layout.height = height
        self.picture.layout.height = f"{plot_height}px"

    def close(self) -> None:
        """Close the widgets whose models the page would otherwise keep (the marks and the
        images; the boxes go with the view)."""
        marks = (self.picture, *self.bar_images, self.bar, self.brush, self.hist, self.level_lines)
        for widget in marks:
            widget.close()
