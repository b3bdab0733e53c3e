"""Live line plots on a log y axis: what spans decades (a diode's current) is readable while
the run goes, with SI-prefixed decades on the axis, and points a log axis cannot show are
counted on the figure rather than silently dropped."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.ui import LinePlot, live_view
from labkit.ui._plots import Axis, decade_range
from labkit.ui._ticks import js_number
from tests.ui.live_helpers import Page, wait_for


def _diode_like_plot() -> LinePlot:
    x = Axis("v", "smu voltage", np.linspace(0, 0.8, 9), unit="V")
    plot = LinePlot(x, ["i"], ["smu current"], "smu current", "A", y_scale="log")
    Page(plot.channel)
    return plot


def test_a_current_over_ten_decades_gets_a_log_axis_with_prefixed_decades():
    plot = _diode_like_plot()
    currents = [-2e-12, 0.0, 3e-11, 4e-10, 5e-9, 6e-8, 7e-7, 8e-6, 9e-5]
    for position, current in enumerate(currents):
        plot.record(position, {"i": current})
    wait_for(lambda: len(plot.lines.x) == 9, what="every point drawn")
    wait_for(lambda: plot.hidden == 2, what="the non-positive points counted")
    y_axis = plot.figure.axes[1]
    assert type(plot.y_scale).__name__ == "LogScale"
    assert (plot.y_scale.min, plot.y_scale.max) == (1e-11, 1e-4)
    assert y_axis.label == "smu current (A)"
    labels = [y_axis.tick_labels[js_number(value)] for value in y_axis.tick_values]
    assert labels[0] == "10p"
    assert "1µ" in labels
    assert len(labels) >= 4
    # The two points a log axis cannot place are gaps, and the title says so.
    assert plot.figure.title == "2 points ≤ 0 not drawn (log axis)"
    drawn = np.asarray(plot.lines.y, float)
    assert np.isnan(drawn[:2]).all()
    np.testing.assert_allclose(drawn[2:], currents[2:])
    # Not a flat line: the drawn points spread over the axis's decades.
    spread = np.ptp(np.log10(drawn[2:])) / np.log10(plot.y_scale.max / plot.y_scale.min)
    assert spread > 0.8
    plot.close()


def test_the_title_note_goes_once_every_point_is_positive():
    plot = _diode_like_plot()
    plot.record(0, {"i": -1e-9})
    wait_for(lambda: plot.hidden == 1, what="one hidden point")
    assert plot.figure.title == "1 point ≤ 0 not drawn (log axis)"
    plot.record(0, {"i": 1e-9})  # a point measured again
    plot.record(1, {"i": 1e-6})
    wait_for(lambda: plot.hidden == 0 and len(plot.lines.x) == 2, what="no hidden points")
    assert plot.figure.title == ""
    plot.close()


def test_a_log_range_is_whole_decades_and_holds_still_while_the_data_stays_inside():
    assert decade_range((None, None), 3e-9, 2e-3) == (1e-9, 1e-2)
    assert decade_range((None, None), 2e-3, 5e-3) == (1e-3, 1e-2)
    assert decade_range((1e-9, 1e-2), 1e-8, 1e-3) == (1e-9, 1e-2)
    assert decade_range((1e-9, 1e-2), 1e-8, 5e-2) == (1e-8, 1e-1)


def test_an_unknown_scale_is_refused():
    x = Axis("v", "v", np.arange(3.0))
    with pytest.raises(ValueError, match="y_scale must be one of linear, log, not 'semilog'"):
        LinePlot(x, ["i"], ["i"], "i", "A", y_scale="semilog")


def test_run_live_takes_a_log_scale_per_reading_and_refuses_a_name_it_does_not_record(lab):
    run = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0.1, 1, 10),
        read=[lab.smu.readings.current, lab.smu.settings.voltage],
    )
    try:
        live = run.live(y_scale={"smu_current": "log"})
        current, readback = live.plots
        assert current.log_y
        assert not readback.log_y
        assert run.live(y_scale={"smu_current": "log"}) is live, "the same view again"
        assert live_view(run) is not live, "the default view is linear"
        with pytest.raises(ValueError, match="did you mean 'smu_current'"):
            run.live(y_scale={"smu_curent": "log"})
        everything = run.live(y_scale="log")
        assert all(plot.log_y for plot in everything.plots)
    finally:
        run.wait()
