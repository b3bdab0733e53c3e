"""Reported means stored: a point is counted and shown only once the store publishes it, and the
store never publishes a point it does not wholly hold — even when a flush dies half-way."""

from __future__ import annotations

import json
import threading
import warnings

import numpy as np
import pytest
import xarray as xr

import labkit
from labkit.core import Condition
from labkit.runs import TimeSeries
from labkit.store import RunWriter, StorageError, Variable, _arrays, new_run_id, store_path
from tests.ui.live_helpers import wait_for


def _published(path) -> dict:
    return json.loads((path / "zarr.json").read_text())["attributes"]


def test_watchers_hear_of_a_point_only_once_the_store_publishes_it(lab):
    stop = threading.Event()
    run = labkit.run(
        TimeSeries([lab.dmm.readings.current], until=Condition.from_callable(stop.is_set)),
        flush_interval=0.05,
    )
    seen: list[tuple[int, int]] = []  # (index, points published when we heard of it)
    early: list[int] = []

    def stored(index, values):
        seen.append((index[0], _published(run.path)["points_written"]))

    run.watch(stored)
    run.watch(lambda index, values: early.append(index[0]), durable=False)
    try:
        wait_for(lambda: len(seen) >= 30, what="thirty stored points")
    finally:
        stop.set()
        run.wait()
    assert all(index < published for index, published in seen), "heard of before published"
    assert [i for i, _ in seen] == sorted(i for i, _ in seen)
    assert run.points == run.recorded == _published(run.path)["points_written"]
    assert len(early) >= len(seen)


def test_points_count_what_is_stored_and_recorded_what_was_acquired(lab):
    run = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 20),
        read=[lab.dmm.readings.current],
        flush_interval=3600,  # no flush until the end
    )
    wait_for(lambda: run.recorded == 20 or run.done, what="the points acquired")
    if not run.done:
        assert run.points == 0, "nothing is stored before the first flush"
    run.wait()
    assert run.points == run.recorded == 20


def _writer(tmp_path, variables):
    run_id = new_run_id()
    attrs = {"run_id": run_id, "name": "unit", "start_time": "2026-01-01T00:00:00+00:00"}
    return RunWriter(store_path(tmp_path, run_id, "unit"), variables, attrs, flush_interval=3600)


def test_a_flush_that_dies_after_the_data_publishes_no_point(tmp_path, monkeypatch):
    writer = _writer(
        tmp_path,
        [
            Variable("v", ("sample",), (None,), "float64", {"coordinates": "time"}),
            Variable("t", ("sample",), (None,), "float64", {"coordinates": "time"}),
            Variable("time", ("sample",), (None,), "time"),
        ],
    ).create()
    for i in range(10):
        writer.record((i,), {"v": float(i), "t": -float(i), "time": 10**18 + i})
    writer.flush()
    for i in range(10, 25):
        writer.record((i,), {"v": float(i), "t": -float(i), "time": 10**18 + i})
    original = _arrays.ArrayWriter.write_chunks

    def dies_at_the_times(self, dirty):
        if self.variable.dtype == "time":
            raise OSError("the process dies here")
        original(self, dirty)

    monkeypatch.setattr(_arrays.ArrayWriter, "write_chunks", dies_at_the_times)
    with pytest.raises(StorageError):
        writer.flush()
    # What a reader finds now (and what a killed writer leaves): 10 points, whole.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(writer.path)
    assert ds.sizes["sample"] == 10
    assert _published(writer.path)["points_written"] == 10
    np.testing.assert_array_equal(ds.v.values, np.arange(10.0))
    np.testing.assert_array_equal(ds.t.values, -np.arange(10.0))
    assert writer.durable_points == 10
    monkeypatch.setattr(_arrays.ArrayWriter, "write_chunks", original)
    writer.finish("failed")


def test_fixed_dimensions_publish_a_time_only_with_its_data(tmp_path, monkeypatch):
    """A sweep's arrays are full-size from the start: the time stamp is the commit mark."""
    writer = _writer(
        tmp_path,
        [
            Variable("x", ("x",), (100,), "float64", data=np.arange(100.0)),
            Variable("y", ("x",), (100,), "float64", {"coordinates": "time"}),
            Variable("time", ("x",), (100,), "time"),
        ],
    ).create()
    order: list[str] = []
    original = _arrays.ArrayWriter.write_chunks

    def noting(self, dirty):
        if dirty:
            order.append(self.variable.name)
        original(self, dirty)

    monkeypatch.setattr(_arrays.ArrayWriter, "write_chunks", noting)
    for i in range(40):
        writer.record((i,), {"y": 2.0 * i, "time": 10**18 + i})
    writer.flush()
    assert order == ["y", "time"], "time stamps are written after the data"
    writer.finish("completed")


def test_a_live_reader_never_sees_a_time_without_its_data(lab):
    run = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 3000),
        read=[lab.dmm.readings.current, lab.stage.readings.temperature],
        flush_interval=0.01,
    )
    looks = 0
    while not run.done or looks == 0:
        ds = run.dataset
        present = ~np.isnat(ds.time.values)
        assert np.isfinite(ds.dmm_current.values[present]).all()
        assert np.isfinite(ds.stage_temperature.values[present]).all()
        assert np.isnan(ds.dmm_current.values[~present]).all(), "no data shown without its time"
        looks += 1
    run.wait()


def test_a_store_killed_while_it_is_made_is_not_a_run(tmp_path, monkeypatch):
    """Arrays first, the group's document last: before it, nothing passes for a run (zarr
    itself would write an empty root group while making arrays, if let)."""

    def killed(self, attributes, extents):
        raise KeyboardInterrupt("killed before the group's document")

    monkeypatch.setattr(RunWriter, "_publish", killed)
    writer = _writer(
        tmp_path,
        [
            Variable("x", ("x",), (5,), "float64", data=np.arange(5.0)),
            Variable("s", (), (), "float64"),
            Variable("v", ("sample",), (None,), "float64"),
        ],
    )
    with pytest.raises(KeyboardInterrupt):
        writer.create()
    assert (writer.path / "x" / "zarr.json").exists()
    assert not (writer.path / "zarr.json").exists()
    assert list(labkit.runs(root=tmp_path)) == []
