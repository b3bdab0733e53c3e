"""Axis ticks labkit computes for bqplot: round values, exact labels, the prefix in the label."""

from __future__ import annotations

import bqplot
import numpy as np
import pytest

from labkit.ui._plots import Axis, HeatMapPlot, LinePlot
from labkit.ui._ticks import TICK_FORMAT, apply_ticks, js_number, linear_ticks, log_ticks
from tests.ui.live_helpers import ManualScheduler, Page


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (0.005, "0.005"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (5e-10, "5e-10"),
        (2.5e-9, "2.5e-9"),
        (123456.0, "123456"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (-0.3, "-0.3"),
        (0.30000000000000004, "0.30000000000000004"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(value: float, text: str) -> None:
    # bqplot looks a tick's label up by String(value); these are node's answers.
    assert js_number(value) == text


@pytest.mark.parametrize(
    ("low", "high", "unit", "values", "labels", "shown_unit"),
    [
        (0, 0.8, "V", [0, 0.2, 0.4, 0.6, 0.8], ["0", "0.2", "0.4", "0.6", "0.8"], "V"),
        (-0.0058, 0.016, "A", [-0.005, 0, 0.005, 0.01, 0.015], ["-5", "0", "5", "10", "15"], "mA"),
        (1e-10, 2e-9, "A", [5e-10, 1e-9, 1.5e-9, 2e-9], ["0.5", "1", "1.5", "2"], "nA"),
        (27.2, 40.1, "degC", [30, 35, 40], ["30", "35", "40"], "°C"),
        (0, 2048, None, [0, 500, 1000, 1500, 2000], ["0", "500", "1000", "1500", "2000"], ""),
    ],
)
def test_linear_ticks_are_round_and_labelled_in_one_prefix(
    low: float,
    high: float,
    unit: str | None,
    values: list[float],
    labels: list[str],
    shown_unit: str,
) -> None:
    ticks = linear_ticks(low, high, unit)
    assert ticks.values == pytest.approx(values)
    assert ticks.labels == labels
    assert ticks.unit == shown_unit
    assert all(low <= v <= high for v in ticks.values), "every tick inside the range shown"


def test_log_ticks_are_decades_labelled_with_their_prefix() -> None:
    ticks = log_ticks(100, 1e5, "Hz")
    assert ticks.values == [100.0, 1000.0, 10000.0, 100000.0]
    assert ticks.labels == ["100", "1k", "10k", "100k"]
    wide = log_ticks(1e-10, 2e-2, "A")
    assert len(wide.values) <= 8
    assert wide.labels[0] == "100p"


def test_an_axis_gets_its_labels_before_its_values_and_keeps_the_old_ones_meanwhile() -> None:
    scale = bqplot.LinearScale()
    axis = bqplot.Axis(scale=scale)
    sent: list[set[str]] = []
    original = axis.send_state

    def recording(key=None):
        sent.append(set([key] if isinstance(key, str) else key or []))
        return original(key)

    axis.send_state = recording
    apply_ticks(axis, linear_ticks(0, 2e-9, "A"), "current")
    assert axis.label == "current (nA)"
    assert axis.tick_format == TICK_FORMAT
    sent.clear()
    apply_ticks(axis, linear_ticks(0, 0.015, "A"), "current")
    assert axis.label == "current (mA)"
    assert list(axis.tick_values) == pytest.approx([0, 0.005, 0.01, 0.015])
    labels_first = [i for i, keys in enumerate(sent) if "tick_labels" in keys]
    values_after = [i for i, keys in enumerate(sent) if "tick_values" in keys]
    assert labels_first
    assert values_after
    assert labels_first[0] < values_after[0], "labels in a message before the values"
    assert "tick_values" not in sent[labels_first[0]]
    # The labels of the ticks shown until now stay (no raw number in between), no others.
    assert axis.tick_labels["5e-10"] == "0.5"
    assert axis.tick_labels["0.005"] == "5"
    apply_ticks(axis, linear_ticks(0, 0.3, "A"), "current")
    assert "5e-10" not in axis.tick_labels


def test_a_line_plots_axes_carry_numbers_and_units_from_the_first_point() -> None:
    scheduler = ManualScheduler()
    plot = LinePlot(
        Axis("v", "smu voltage", np.linspace(0, 0.8, 41), unit="V"),
        ["i"],
        ["smu current"],
        "smu current",
        "A",
        scheduler=scheduler,
    )
    Page(plot.channel)
    assert plot.x_axis.label == "smu voltage (V)"
    assert list(plot.x_axis.tick_values) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    plot.record(0, {"i": 1e-12})
    scheduler.advance(0.1)
    assert plot.y_axis.tick_values is not None
    assert len(plot.y_axis.tick_values) >= 2
    for step, current in enumerate(np.logspace(-12, -2, 40), start=1):
        plot.record(step, {"i": current})
    scheduler.advance(0.1)
    assert plot.y_axis.label == "smu current (mA)"
    low, high = plot.y_scale.min, plot.y_scale.max
    assert low <= 1e-12
    assert high >= 1e-2
    assert low == 0.0, "non-negative data: no empty band below zero"
    plot.close()


def test_a_heat_map_puts_text_and_logspace_set_points_on_even_cells() -> None:
    scheduler = ManualScheduler()
    plot = HeatMapPlot(
        Axis("f", "frequency", np.logspace(2, 5, 16), unit="Hz"),
        Axis("w", "function", ["sine", "square"]),
        "r",
        "lockin r",
        unit="V",
        scheduler=scheduler,
    )
    Page(plot.channel)
    assert np.allclose(np.diff(plot.map.x), 0.2), "log positions: even cells"
    assert list(plot.map.y) == [0, 1]
    assert plot.y_axis.tick_labels == {"0": "sine", "1": "square"}
    assert [plot.x_axis.tick_labels[js_number(v)] for v in plot.x_axis.tick_values] == [
        "100",
        "1k",
        "10k",
        "100k",
    ]
    plot.record((0, 3), 0.05)
    plot.record((1, 3), 0.2)
    scheduler.advance(0.1)
    assert (plot.color_scale.min, plot.color_scale.max) == (0.05, 0.2)
    assert plot.color_axis.label in ("lockin r (V)", "lockin r (mV)")
    assert len(plot.color_axis.tick_values) >= 2
    plot.close()
