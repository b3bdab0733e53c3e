"""Two-dimensional array readings live, headless: the scope's trace per channel shows its
latest value as a heat map over time and channel, with a colour bar in volts that follows
the colormap; a view opened after the run fills in from the store."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.ui import live_view
from labkit.ui._array_image import ImagePlot, bin_image
from labkit.ui._image import colormap_colors
from labkit.ui._plots import Axis
from labkit.ui._traces import bin_columns
from tests.runs.test_arrays import scope_bench  # noqa: F401 (a fixture)
from tests.ui.live_helpers import Page, wait_for


def acknowledged(live):
    for view in live.views:
        Page(view.channel)
    return live


def test_a_trace_per_channel_shows_live_as_an_image_over_time_and_channel(scope_bench):  # noqa: F811
    fg, scope, _ = scope_bench
    scope.ch2.display = True
    run = labkit.sweep(fg.ch1.settings.frequency, [1e3, 2e3, 3e3], read=[scope.readings.traces])
    live = acknowledged(live_view(run))
    try:
        ds = run.wait()
        (image,) = [plot for plot in live.plots if isinstance(plot, ImagePlot)]
        assert "labkit-arrayimage" in image.figure._dom_classes
        last = ds.scope_traces.values[-1]
        # The newest item, averaged into 400 columns (1200 points), one row per channel.
        wait_for(
            lambda: np.array_equal(image.map.color, bin_image(last), equal_nan=True),
            what="the last traces",
        )
        assert image.map.color.shape == (2, 400)
        np.testing.assert_allclose(image.map.x, bin_columns(ds.scope_time.values))
        x_axis, y_axis, color_axis = image.figure.axes
        assert x_axis.label == "time from the trigger (ms)"  # ticks in ms: the unit's prefix
        assert y_axis.label == "channel"
        # Channel numbers label their rows, one tick each.
        assert list(y_axis.tick_values) == [0.0, 1.0]
        assert sorted(y_axis.tick_labels.values()) == ["1", "2"]
        assert color_axis.label.startswith("scope traces (")
        assert color_axis.scale is image.color_scale
        # The colour bar spans the values drawn.
        assert image.color_scale.min == pytest.approx(float(np.nanmin(bin_image(last))))
        assert image.color_scale.max == pytest.approx(float(np.nanmax(bin_image(last))))
        # The colour bar shares the map's scale: a new colormap repaints both.
        assert image.color_scale.colors == list(colormap_colors("viridis"))
        image.colormap = "hot"
        assert image.color_scale.colors == list(colormap_colors("hot"))
        with pytest.raises(ValueError, match="unknown colormap 'nope'"):
            image.colormap = "nope"
        assert image.colormap == "hot"
    finally:
        live.close()


def test_a_view_opened_after_the_run_shows_the_last_item_saved(scope_bench):  # noqa: F811
    fg, scope, _ = scope_bench
    scope.ch2.display = True
    run = labkit.sweep(fg.ch1.settings.frequency, [1e3, 2e3], read=[scope.readings.traces])
    ds = run.wait()
    live = acknowledged(live_view(run))
    try:
        (image,) = [plot for plot in live.plots if isinstance(plot, ImagePlot)]
        wait_for(
            lambda: np.array_equal(
                image.map.color, bin_image(ds.scope_traces.values[-1]), equal_nan=True
            ),
            what="the last item saved",
        )
    finally:
        live.close()


def test_bin_image_averages_rows_and_columns_and_keeps_small_images():
    small = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(bin_image(small), small)
    big = np.ones((1000, 3000))
    big[:500] = 3.0
    binned = bin_image(big)
    assert binned.shape == (400, 400)
    assert binned[0, 0] == 3.0
    assert binned[-1, -1] == 1.0


def test_an_item_of_the_wrong_shape_is_not_drawn():
    plot = ImagePlot(
        Axis("t", "time", np.arange(5.0), unit="s"),
        Axis("c", "channel", np.arange(1, 3)),
        "traces",
        "traces",
        unit="V",
    )
    try:
        plot.record_item(np.arange(5.0))
        assert plot.items == 0
    finally:
        plot.close()


def test_a_panel_shows_a_two_dimensional_readings_shape_not_its_numbers(scope_bench):  # noqa: F811
    from labkit.ui._format import format_value

    _, scope, _ = scope_bench
    scope.ch2.display = True
    spec = scope.readings.traces.spec
    assert format_value(scope.read("traces"), spec) == "2 channel × 1200 time"
