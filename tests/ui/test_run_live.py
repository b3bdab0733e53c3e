"""A run's live views, headless: chosen from the plan, fed as points are recorded, labelled
from the declarations, and equal to the saved data at the end."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.core import _hooks
from labkit.runs import CameraStream, Read, Snap, Sweep
from labkit.ui import CameraView, HeatMapPlot, LinePlot, RunWidget, live_view
from tests.simdevices import SyntheticCamera
from tests.ui.live_helpers import Page, wait_for


def acknowledged(live):
    for view in live.views:
        Page(view.channel)
    return live


def test_a_sweep_shows_lines_per_unit_with_names_and_units(lab):
    run = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 21),
        read=[lab.dmm.readings.current, lab.smu.readings.current, lab.smu.settings.voltage],
    )
    live = acknowledged(live_view(run))
    try:
        run.wait()
        currents, readback = live.plots
        assert isinstance(currents, LinePlot)
        assert currents.names == ["dmm_current", "smu_current"]
        assert currents.lines.labels == ["dmm current", "smu current"]
        assert currents.lines.display_legend, "several readings: a legend"
        x_axis, y_axis = currents.figure.axes
        assert x_axis.label == "smu voltage (V)"
        assert y_axis.label == "(A)"
        assert readback.names == ["smu_voltage_readback"]
        assert readback.figure.axes[1].label == "smu voltage (V)"
        assert not readback.lines.display_legend
        ds = run.dataset
        # Points recorded before the view watched the run come from the store.
        wait_for(
            lambda: len(currents.lines.x) == 21 and np.isfinite(currents.lines.y).all(),
            what="every point",
        )
        np.testing.assert_allclose(currents.lines.x, ds.smu_voltage.values)
        np.testing.assert_allclose(currents.lines.y[0], ds.dmm_current.values)
        np.testing.assert_allclose(currents.lines.y[1], ds.smu_current.values)
    finally:
        live.close()


def test_a_line_grows_while_the_sweep_goes(slow_lab):
    run = labkit.sweep(
        slow_lab.smu.settings.voltage, np.linspace(0, 2, 120), read=[slow_lab.dmm.readings.current]
    )
    live = acknowledged(live_view(run))
    try:
        (plot,) = live.plots
        lengths = set()
        while not run.done:
            lengths.add(len(plot.lines.x))
        run.wait()
        wait_for(lambda: len(plot.lines.x) == 120, what="the whole line")
        growing = sorted(n for n in lengths if 0 < n < 120)
        assert len(growing) >= 3, f"the line grew in steps while the run went: {growing}"
        assert plot.channel.sent < 120, "renders are fewer than points (coalesced)"
    finally:
        live.close()


def test_a_grid_fills_a_heat_map_with_nan_where_nothing_was_measured_yet(slow_lab):
    lab = slow_lab
    run = labkit.grid(
        {lab.smu.settings.voltage: np.linspace(0, 1, 6)},
        {lab.stage.settings.heater: np.linspace(0, 2, 5)},
        read=[lab.dmm.readings.current],
    )
    live = acknowledged(live_view(run))
    try:
        (plot,) = live.plots
        assert isinstance(plot, HeatMapPlot)
        x_axis, y_axis, bar = plot.figure.axes
        assert (x_axis.label, y_axis.label) == ("stage heater (W)", "smu voltage (V)")
        assert bar.label == "dmm current (A)"

        # Hold the run part-way (the view shows stored points, after each flush).
        wait_for(lambda: run.recorded >= 7, what="a few points")
        run.pause()
        wait_for(lambda: run.status == "paused", what="the pause")

        def partly_measured():
            color = plot.map.color
            return [color] if np.isfinite(color).sum() == run.recorded else None

        (partial,) = wait_for(partly_measured, what="a partly measured map")
        assert run.recorded < 25
        assert np.isnan(partial[-1]).all(), "the last row is not measured yet"
        run.resume()
        run.wait()
        wait_for(lambda: np.isfinite(plot.map.color).all(), what="the full map")
        np.testing.assert_allclose(plot.map.color, run.dataset.dmm_current.values)
        np.testing.assert_allclose(plot.map.x, np.linspace(0, 2, 5))
        np.testing.assert_allclose(plot.map.y, np.linspace(0, 1, 6))
        assert plot.color_scale.min == pytest.approx(0.0)
        assert plot.color_scale.max == pytest.approx(1e-3)
    finally:
        live.close()


def test_a_time_series_is_plotted_against_the_time_since_the_run_started(lab):
    run = labkit.timeseries([lab.stage.readings.temperature], count=15, rate=50)
    live = acknowledged(live_view(run))
    try:
        run.wait()
        (plot,) = live.plots
        assert plot.figure.axes[0].label == "time since the run started (s)"
        assert plot.figure.axes[1].label == "stage temperature (K)"
        wait_for(lambda: len(plot.lines.x) == 15, what="every sample")
        times = plot.lines.x
        assert (np.diff(times) > 0).all()
        assert 0 <= times[0] < times[-1] < 30
    finally:
        live.close()


def test_a_view_opened_after_the_run_shows_what_was_saved(lab):
    run = labkit.sweep(lab.smu.settings.voltage, [0, 0.5, 1], read=[lab.dmm.readings.current])
    ds = run.wait()
    live = acknowledged(live_view(run))
    try:
        (plot,) = live.plots
        wait_for(lambda: len(plot.lines.x) == 3, what="the saved points")
        np.testing.assert_allclose(plot.lines.y, ds.dmm_current.values)
    finally:
        live.close()


def test_the_run_widget_holds_the_live_views_and_run_live_returns_them(lab):
    run = labkit.sweep(lab.smu.settings.voltage, [0, 1], read=[lab.dmm.readings.current])
    run.wait()
    widget = _hooks.display("run", run)
    assert isinstance(widget, RunWidget)
    assert widget.live is run.live()
    assert widget.live in widget.children
    assert "labkit-live" in widget.live._dom_classes
    run.live().close()
    assert run.live() is not widget.live, "a closed view is made again"
    run.live().close()


def test_a_run_with_nothing_to_plot_shows_only_its_controls(lab):
    run = labkit.run(labkit.runs.Set(lab.smu.settings.voltage, 1.0))
    run.wait()
    widget = RunWidget(run)
    assert widget.live.views == []
    assert widget.live not in widget.children
    widget.live.close()


def test_a_camera_stream_in_a_run_is_shown_live(data_root):
    camera = SyntheticCamera(name="cam", shape=(64, 48), rate=200)
    run = labkit.run(CameraStream(camera, frames=200))
    live = acknowledged(live_view(run))
    try:
        (view,) = live.cameras
        assert isinstance(view, CameraView)
        assert live.plots == [], "frame numbers and times are not plotted as lines"
        run.wait()
        wait_for(lambda: view.source.counters.shown > 0, what="a frame in the view")
        # The camera may number a frame or two past the run's 200 before the run stops it.
        assert 0 < view.source.counters.frames <= camera._count
        wait_for(lambda: not view.source.active, what="the view to let the camera go")
        assert camera._broadcaster.subscribers == 0
    finally:
        live.close()


def test_the_live_view_says_which_frames_the_run_lost_and_where(data_root):
    class LossyCamera(SyntheticCamera):
        def _frame(self):  # its driver loses frames 5 to 7
            frame = super()._frame()
            while 5 <= frame.number <= 7:
                frame = super()._frame()
            return frame

    camera = LossyCamera(name="cam", shape=(64, 48), rate=200)
    run = labkit.run(CameraStream(camera, frames=400))
    live = acknowledged(live_view(run))
    try:
        (view,) = live.cameras
        wait_for(lambda: "lost 3 (driver 3)" in view.counters.value, what="the run's losses")
        assert "run: stored " in view.counters.value
        run.wait()
    finally:
        live.close()


def test_frames_snapped_at_each_point_are_shown_as_they_are_recorded(lab):
    camera = SyntheticCamera(name="imager", shape=(10, 12))
    run = labkit.run(
        Sweep(
            lab.smu.settings.voltage,
            np.linspace(0, 1, 5),
            Read(lab.dmm.readings.current),
            Snap(camera),
        )
    )
    live = acknowledged(live_view(run))
    try:
        run.wait()
        (view,) = live.cameras
        (plot,) = live.plots
        assert plot.names == ["dmm_current"]
        wait_for(lambda: view.picture.picture, what="a snapped frame")
        assert view.roi is None
        assert view.apply_button.disabled
    finally:
        live.close()


def test_a_failing_watcher_never_stops_the_run(lab, caplog):
    def broken(index, values):
        raise RuntimeError("a broken live view")

    run = labkit.sweep(lab.smu.settings.voltage, [0, 1, 2], read=[lab.dmm.readings.current])
    run.watch(broken)
    ds = run.wait()
    assert run.status == "completed"
    assert ds.dmm_current.shape == (3,)
    run.unwatch(broken)
