"""Coordination steps: several settings set at once (each still checked and ramped), sweeps
and grids that stop on a condition, and adaptive sampling with python-adaptive's learners."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import zarr

import labkit
from labkit import LimitError, Reading, Setting
from labkit.runs import Adaptive, Set


class Source(labkit.Instrument):
    """An in-process source whose writes meet a shared barrier: two ramps can only get past
    their steps if they run at the same time (a test of concurrency by events, not timing)."""

    voltage = Setting(unit="V", min=-5, max=5, ramp=10.0, ramp_step=0.1, safe=0)
    level = Reading(unit="V")

    def __init__(self, *args: Any, barrier: threading.Barrier | None, **kwargs: Any) -> None:
        self.barrier = barrier
        self.value = 0.0
        self.writes: list[float] = []
        self.fail_at: float | None = None
        super().__init__(*args, **kwargs)

    def make_link(self) -> Any:
        return _Link()

    def _get_voltage(self) -> float:
        return self.value

    def _set_voltage(self, value: float) -> None:
        if self.fail_at is not None and value >= self.fail_at:
            raise labkit.InstrumentError(f"refused {value} V", instrument=self.name)
        if self.barrier is not None:
            self.barrier.wait()
        self.writes.append(value)
        self.value = value

    def _get_level(self) -> float:
        return self.value


class _Link:
    resource = "inproc://source"
    is_open = False

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False


@pytest.fixture
def sources(unique_name: str, data_root) -> Iterator[tuple[Source, Source]]:
    barrier = threading.Barrier(2, timeout=10)
    first = Source(name=f"{unique_name}_a", barrier=None)
    second = Source(name=f"{unique_name}_b", barrier=None)
    first.barrier = second.barrier = barrier
    yield first, second
    first.close()
    second.close()


def test_two_ramps_set_together_run_side_by_side(sources):
    a, b = sources
    run = labkit.run(Set({a.settings.voltage: 1.0, b.settings.voltage: "1000 mV"}), name="both")
    run.wait()
    assert run.status == "completed"
    # Each ramp's ten steps met the other's at the barrier: they ran at the same time (one
    # after the other, the first ramp would have waited at its first step for ever).
    assert a.writes == pytest.approx(np.linspace(0.1, 1.0, 10))
    assert b.writes == pytest.approx(np.linspace(0.1, 1.0, 10))
    assert (a.voltage, b.voltage) == (1.0, 1.0)
    step = run.dataset.attrs["plan"]["steps"][0]
    assert [t["setting"] for t in step["together"]] == [
        a.settings.voltage.full_name,
        b.settings.voltage.full_name,
    ]


def test_nothing_moves_when_one_value_is_refused(sources):
    a, b = sources
    a.barrier = b.barrier = None
    with pytest.raises(LimitError, match="9 V is above"):
        labkit.dry_run(Set({a.settings.voltage: 1.0, b.settings.voltage: 9.0}))
    b.settings.voltage.limit(max=0.5)
    with pytest.raises(LimitError, match=r"above the upper soft limit 0\.5 V"):
        labkit.run(Set({a.settings.voltage: 2.0, b.settings.voltage: 2.0}))
    assert a.writes == []
    assert b.writes == []


def test_when_one_ramp_fails_the_other_stops_and_the_run_fails(sources):
    a, b = sources
    a.barrier = b.barrier = None
    b.fail_at = 0.45
    a.settings.voltage.ramp_rate = 1.0  # slow: still ramping when b fails
    run = labkit.run(Set({a.settings.voltage: 1.0, b.settings.voltage: 1.0}))
    with pytest.raises(labkit.InstrumentError):
        run.wait()
    assert run.status == "failed"
    assert a.voltage < 1.0  # stopped where it was (then brought to its safe value)
    assert run.dataset.attrs["made_safe"]


def test_a_sweep_until_a_condition_completes_with_the_points_taken(sources):
    a, _ = sources
    a.barrier = None
    a.settings.voltage.ramp_rate = None
    volts = np.linspace(0, 2, 21)
    run = labkit.sweep(
        a.settings.voltage,
        volts,
        read=[a.readings.level],
        until=lambda point: point[f"{a.name}_level"] >= 0.75,
    )
    ds = run.wait()
    assert run.status == "completed"
    name = f"{a.name}_voltage"
    np.testing.assert_allclose(ds[name].values, volts[:9])  # 0 … 0.8 V: stopped after 0.8
    np.testing.assert_allclose(ds[f"{a.name}_level"].values, volts[:9])
    stopped = ds.attrs["stopped"]
    assert stopped["points"] == 9
    assert stopped["of"] == 21
    assert "condition" in stopped["reason"]
    assert any(e["event"] == "stopped" for e in ds.attrs["events"])
    assert zarr.open_group(run.path, mode="r")[name].shape == (9,)


def test_a_sweep_until_a_condition_on_an_instrument(sources):
    a, _ = sources
    a.barrier = None
    a.settings.voltage.ramp_rate = None
    run = labkit.sweep(
        a.settings.voltage, [0, 1, 2, 3], read=[a.readings.level], until=a.readings.level > 1.5
    )
    ds = run.wait()
    assert list(ds[f"{a.name}_voltage"].values) == [0, 1, 2]
    assert f"{a.name}.level > 1.5" in ds.attrs["stopped"]["reason"]


def test_a_grid_until_keeps_its_shape_with_the_rest_empty(sources):
    a, b = sources
    a.barrier = b.barrier = None
    a.settings.voltage.ramp_rate = b.settings.voltage.ramp_rate = None
    run = labkit.grid(
        {a.settings.voltage: [0, 1, 2], b.settings.voltage: [0, 1]},
        read=[b.readings.level],
        until=lambda point: point[f"{b.name}_level"] >= 1 and a.voltage >= 1,
    )
    ds = run.wait()
    assert run.status == "completed"
    levels = ds[f"{b.name}_level"].values
    assert levels.shape == (3, 2)
    np.testing.assert_array_equal(levels[:2], [[0, 1], [0, 1]])
    assert np.isnan(levels[2]).all()
    assert ds.attrs["stopped"]["points"] == 4
    assert ds.attrs["stopped"]["at"] == [1, 1]


def _peak(x: float) -> float:
    return 1.0 / (1.0 + ((x - 0.3) / 0.01) ** 2)


class Resonator(labkit.Instrument):
    """A sharp peak over a setting (an in-process stand-in for a resonance)."""

    position = Setting(unit="V", min=-1, max=1, safe=0)
    response = Reading(unit="V")
    y = Setting(unit="V", min=-1, max=1)

    def make_link(self) -> Any:
        return _Link()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.at = {"position": 0.0, "y": 0.0}
        super().__init__(*args, **kwargs)

    def _get_position(self) -> float:
        return self.at["position"]

    def _set_position(self, value: float) -> None:
        self.at["position"] = value

    def _get_y(self) -> float:
        return self.at["y"]

    def _set_y(self, value: float) -> None:
        self.at["y"] = value

    def _get_response(self) -> float:
        return _peak(self.at["position"]) * (1 + self.at["y"] ** 2)


@pytest.fixture
def resonator(unique_name, data_root) -> Iterator[Resonator]:
    made = Resonator(name=unique_name)
    yield made
    made.close()


def test_adaptive_sampling_crowds_points_at_the_peak(resonator):
    step = Adaptive(
        resonator.settings.position, (-1, 1), value=resonator.readings.response, npoints=40
    )
    run = labkit.run(step, name="adaptive")
    ds = run.wait()
    assert run.status == "completed"
    dim = "adaptive"
    x = ds[f"{resonator.name}_position"]
    assert ds.sizes[dim] == 40
    assert x.dims == (dim,)
    assert f"{resonator.name}_position" in ds.coords  # a coordinate of the sample order
    np.testing.assert_array_equal(ds[dim].values, np.arange(40))
    # The learner went where the curve bends: far more points near the peak than a grid.
    near = np.abs(x.values - 0.3) < 0.1
    assert near.sum() >= 12  # a uniform grid would put 2 of 40 there
    np.testing.assert_allclose(ds[f"{resonator.name}_response"].values, _peak(x.values))
    assert ds.attrs["stopped"]["reason"] == "40 points taken"
    loss = ds[f"{dim}_loss"].values
    assert np.isfinite(loss[1:]).all()
    # The same order as the learner's own record of what it was told.
    assert set(np.round(x.values, 12)) == set(np.round(list(step.learner.data), 12))


def test_adaptive_stops_at_the_loss_goal_and_checks_its_bounds(resonator):
    with pytest.raises(LimitError):
        labkit.dry_run(
            Adaptive(
                resonator.settings.position, (0, 2), value=resonator.readings.response, npoints=5
            )
        )
    step = Adaptive(
        resonator.settings.position,
        (-1, 1),
        value=resonator.readings.response,
        npoints=500,
        loss_goal=0.05,
    )
    ds = labkit.run(step).wait()
    assert 5 < ds.sizes["adaptive"] < 500
    assert "reached the goal" in ds.attrs["stopped"]["reason"]


def test_adaptive_in_two_dimensions(resonator):
    step = Adaptive(
        {resonator.settings.position: (-1, 1), resonator.settings.y: (-1, 1)},
        value=resonator.readings.response,
        npoints=30,
    )
    report = labkit.dry_run(step)
    assert "store size" in repr(report)
    ds = labkit.run(step).wait()
    assert ds.sizes["adaptive"] == 30
    xs, ys = ds[f"{resonator.name}_position"].values, ds[f"{resonator.name}_y"].values
    assert ((xs >= -1) & (xs <= 1) & (ys >= -1) & (ys <= 1)).all()
    assert {"adaptive", "adaptive_loss"} <= set(ds.variables)
