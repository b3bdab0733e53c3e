"""Live views of array readings and of adaptive sampling, headless: the latest trace against
its coordinate, a waterfall of the history, the points a learner chose; and an array
reading's small plot in the panel, which only looks."""

from __future__ import annotations

import numpy as np

import labkit
from labkit.runs import Adaptive, Read, Repeat
from labkit.ui import live_view
from labkit.ui._heat_mark import masked_to_json
from labkit.ui._plots import Axis
from labkit.ui._samples import SamplesPlot
from labkit.ui._traces import TracePlot, WaterfallPlot, bin_columns
from tests.runs.test_arrays import optics  # noqa: F401 (a fixture)
from tests.runs.test_coordination import Resonator, _peak
from tests.ui.live_helpers import Page, wait_for


def acknowledged(live):
    for view in live.views:
        Page(view.channel)
    return live


def test_a_spectrum_sweep_shows_the_latest_spectrum_and_a_waterfall(optics):  # noqa: F811
    psu, spec, _ = optics
    volts = [0.0, 4.0, 8.0, 12.0]
    run = labkit.sweep(psu.p25v.settings.voltage, volts, read=[spec.readings.spectrum])
    live = acknowledged(live_view(run))
    try:
        ds = run.wait()
        trace, waterfall = live.plots
        assert isinstance(trace, TracePlot)
        assert isinstance(waterfall, WaterfallPlot)
        x_axis, y_axis = trace.figure.axes
        assert x_axis.label == "wavelength (nm)"
        assert y_axis.label == "spec spectrum (counts)"
        final = ds.spec_spectrum.values[-1]
        # The last spectrum, its peaks kept when thinned for the page (2048 points fit whole).
        wait_for(lambda: np.array_equal(trace.lines.y, final), what="the last spectrum")
        np.testing.assert_allclose(trace.lines.x, ds.spec_wavelength.values)
        # The waterfall: one row per set-point, the spectrum averaged into 400 columns.
        wait_for(lambda: np.isfinite(waterfall.map.color).all(), what="every row")
        np.testing.assert_allclose(waterfall.map.color, bin_columns(ds.spec_spectrum.values))
        np.testing.assert_allclose(waterfall.map.y, volts)
        assert waterfall.color_axis.label == "spec spectrum (counts)"
    finally:
        live.close()


def test_bin_columns_averages_buckets_and_keeps_short_rows():
    row = np.arange(10.0)
    np.testing.assert_array_equal(bin_columns(row, 20), row)
    np.testing.assert_allclose(bin_columns(row, 5), [0.5, 2.5, 4.5, 6.5, 8.5])
    with_nan = np.array([[np.nan, 1.0, np.nan, np.nan]])
    np.testing.assert_allclose(bin_columns(with_nan, 2), [[1.0, np.nan]])


def test_a_trace_view_thins_a_long_trace_keeping_its_peak():
    from labkit.ui._plots import Axis

    x = Axis("t", "time", np.linspace(0, 1, 100_000), unit="s")
    plot = TracePlot(x, "v", "v", "V")
    Page(plot.channel)
    values = np.zeros(100_000)
    values[77_777] = 5.0
    plot.record(values)
    wait_for(lambda: len(plot.lines.y) > 0, what="a render")
    assert len(plot.lines.y) <= 4000
    assert plot.lines.y.max() == 5.0
    plot.close()


def test_adaptive_sampling_shows_its_points_where_they_were_taken(unique_name, data_root):
    resonator = Resonator(name=unique_name)
    try:
        step = Adaptive(
            resonator.settings.position, (-1, 1), value=resonator.readings.response, npoints=25
        )
        run = labkit.run(step)
        live = acknowledged(live_view(run))
        try:
            ds = run.wait()
            (plot,) = live.plots
            assert isinstance(plot, SamplesPlot)
            wait_for(lambda: len(plot.mark.x) == 25, what="every point")
            x = ds[f"{unique_name}_position"].values
            np.testing.assert_allclose(plot.mark.x, np.sort(x))
            np.testing.assert_allclose(plot.mark.y, _peak(np.sort(x)))
            assert plot.figure.axes[0].label == f"{unique_name} position (V)"
        finally:
            live.close()
    finally:
        resonator.close()


def test_a_repeat_of_traces_shows_the_waterfall_growing(optics):  # noqa: F811
    _, spec, _ = optics
    run = labkit.run(Repeat(3, Read(spec.readings.spectrum)))
    live = acknowledged(live_view(run))
    try:
        run.wait()
        _, waterfall = live.plots
        wait_for(lambda: np.isfinite(waterfall.map.color).all(), what="every row")
        assert waterfall.map.color.shape == (3, 400)
    finally:
        live.close()


def test_the_panel_shows_a_small_plot_of_an_array_reading(optics):  # noqa: F811
    from labkit.ui._traces import SmallTrace

    _, spec, _ = optics
    panel = spec.panel()
    row = panel.rows["spectrum"]
    assert isinstance(row.plot, SmallTrace)
    wait_for(lambda: spec.readings.spectrum.value is not None, what="the panel's read")
    Page(row.plot.plot.channel)
    row.render()
    wait_for(lambda: len(row.plot.plot.lines.y) == 2048, what="the small plot")
    assert "2048 wavelength" in row.value.value
    np.testing.assert_allclose(row.plot.plot.lines.x, spec.wavelengths)
    panel.close()


def test_a_sweep_that_may_stop_early_is_plotted_against_its_set_points(lab):
    volts = np.linspace(0, 1, 11)
    run = labkit.sweep(
        lab.smu.settings.voltage,
        volts,
        read=[lab.dmm.readings.current],
        until=lambda point: point["dmm_current"] > 0.45e-3,
    )
    live = acknowledged(live_view(run))
    try:
        ds = run.wait()
        (plot,) = live.plots
        assert not plot.timed  # against the set-points, not the time
        wait_for(lambda: len(plot.lines.x) == ds.sizes["smu_voltage"], what="every point")
        np.testing.assert_allclose(plot.lines.x, ds.smu_voltage.values)
        assert ds.sizes["smu_voltage"] == 6  # stopped after 0.5 V
    finally:
        live.close()


def test_adaptive_sampling_in_two_dimensions_shows_dots_coloured_by_value(unique_name, data_root):
    resonator = Resonator(name=unique_name)
    try:
        step = Adaptive(
            {resonator.settings.position: (-1, 1), resonator.settings.y: (-1, 1)},
            value=resonator.readings.response,
            npoints=20,
        )
        run = labkit.run(step)
        live = acknowledged(live_view(run))
        try:
            ds = run.wait()
            (plot,) = live.plots
            assert plot.two_d
            wait_for(lambda: len(plot.mark.x) == 20, what="every point")
            np.testing.assert_allclose(plot.mark.x, ds[f"{unique_name}_position"].values)
            np.testing.assert_allclose(plot.mark.y, ds[f"{unique_name}_y"].values)
            np.testing.assert_allclose(plot.mark.color, ds[f"{unique_name}_response"].values)
            assert plot.axes[2].label.startswith(f"{unique_name} response (")
        finally:
            live.close()
    finally:
        resonator.close()


def test_a_waterfalls_unmeasured_rows_go_to_the_page_as_empty_cells_not_numbers():
    """bqplot paints only ``null`` cells in the map's null colour: a NaN row sent as numbers
    was drawn black, like data. Rows not measured yet are sent as nulls, measured ones whole."""
    x = Axis("wavelength", "wavelength", np.linspace(400.0, 700.0, 50), unit="nm")
    plot = WaterfallPlot(x, Axis("v", "voltage", np.arange(4.0), unit="V"), "s", "spectrum")
    try:
        plot.record_trace((1,), np.linspace(0.0, 1.0, 50))
        plot._render()
        sent = plot.map.get_state()["color"]
        assert len(sent) == 4
        assert sent[0] == [None] * 50  # not measured: empty cells
        assert sent[2] == sent[3] == [None] * 50
        assert sent[1]["shape"] == (50,)  # measured: the numbers, binary
        assert np.array_equal(np.frombuffer(sent[1]["value"]), np.linspace(0.0, 1.0, 50))
        assert plot.map.null_color == "#e8e8e8"
        # A row measured in part (an all-NaN bucket) keeps its numbers and masks the rest.
        plot.record_trace((2,), np.r_[np.full(10, np.nan), np.ones(40)])
        plot._render()
        assert plot.map.get_state()["color"][2] == [None] * 10 + [1.0] * 40
    finally:
        plot.close()


def test_a_map_without_gaps_is_sent_as_one_binary_array():
    z = np.arange(6.0).reshape(2, 3)
    sent = masked_to_json(z)
    assert sent["shape"] == (2, 3)
    assert np.array_equal(np.frombuffer(sent["value"]).reshape(2, 3), z)
