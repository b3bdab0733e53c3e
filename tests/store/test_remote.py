"""Runs on object storage (a real S3 server on loopback) and on ``memory://``: written there
as they go, listed, searched, reopened, exported and analysed; a reader sees a running run
grow; a URL labkit cannot use is refused at once."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import labkit
from labkit.core import Condition, ConfigurationError
from labkit.runs import CameraStream, Sweep, TimeSeries
from labkit.store import Location, RunNotFound, _scan, open_runs, validate_store
from tests.simdevices import RESISTANCE, SyntheticCamera
from tests.ui.live_helpers import wait_for


def _runs_there(lab, root):
    """A sweep (with a text reading), a time series, and a camera stream, written to ``root``."""
    options = {"data_root": root.url, **root.kwargs()}
    sweep = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 40),
        read=[lab.dmm.readings.current, lab.dmm.settings.mode],
        name="iv",
        metadata={"sample": "A1"},
        **options,
    )
    sweep.wait()
    series = labkit.timeseries(
        [lab.dmm.readings.current], count=25, name="drift", metadata={"sample": "B2"}, **options
    )
    series.wait()
    camera = SyntheticCamera(shape=(600, 500), rate=500)  # 600 kB frames: written directly
    movie = labkit.run(CameraStream(camera, frames=6), name="movie", **options)
    movie.wait()
    return sweep, series, movie


def test_runs_stream_to_the_root_and_come_back_listed_searched_reopened(lab, remote_root):
    sweep, series, movie = _runs_there(lab, remote_root)
    assert isinstance(sweep.path, Location)
    assert sweep.url.startswith(remote_root.url + "/")
    assert not Path(remote_root.url.split("://")[0] + ":").exists(), "no local folder 's3:'"
    found = labkit.runs(root=remote_root.url, **remote_root.kwargs())
    assert [r.name for r in found] == ["iv", "drift", "movie"]
    assert [r.status for r in found] == ["completed"] * 3
    assert [r.points for r in found] == [40, 25, 6]
    assert [
        r.name for r in labkit.runs(root=remote_root.url, sample="B2", **remote_root.kwargs())
    ] == ["drift"]
    assert labkit.runs("mov*", root=remote_root.url, **remote_root.kwargs()).latest.id == movie.id

    by_id = labkit.open_run(sweep.id, root=remote_root.url, **remote_root.kwargs())
    by_url = labkit.open_run(sweep.url, **remote_root.kwargs())
    by_name = labkit.open_run("iv", root=remote_root.url, **remote_root.kwargs())
    for ds in (by_id, by_url, by_name, found[0].open(), sweep.dataset):
        np.testing.assert_allclose(ds.dmm_current.values, ds.smu_voltage.values / RESISTANCE)
        assert list(np.unique(ds.dmm_mode.values)) == ["dc"]  # text comes back as text
    frames = labkit.open_run(movie.url, **remote_root.kwargs()).cam
    assert frames.shape == (6, 600, 500)
    assert [int(f[0, 0]) for f in frames.values] == list(
        labkit.open_run(movie.url, **remote_root.kwargs()).cam_frame_number.values % 65536
    )
    for run in (sweep, series, movie):
        assert validate_store(run.url, remote_root.options or None) == []


def test_plain_xarray_opens_a_remote_run_with_its_default_arguments(lab, remote_root):
    sweep, _, _ = _runs_there(lab, remote_root)
    with warnings_as_errors():
        ds = xr.open_zarr(sweep.url, storage_options=remote_root.options or None)
    assert ds.sizes["smu_voltage"] == 40
    assert ds.dmm_mode.attrs["labels"] == ["dc", "ac"]


def test_exports_of_a_remote_run(lab, remote_root, tmp_path):
    sweep, _, movie = _runs_there(lab, remote_root)
    kwargs = remote_root.kwargs()
    for name in ("iv.nc", "iv.h5", "iv.parquet", "iv.csv"):
        labkit.export_run(sweep.url, tmp_path / name, **kwargs)
    table = pd.read_parquet(tmp_path / "iv.parquet")
    assert list(table.index.names) == ["smu_voltage"]
    np.testing.assert_allclose(table.dmm_current, table.index / RESISTANCE)
    assert set(table.dmm_mode) == {"dc"}
    schema = pytest.importorskip("pyarrow.parquet").read_schema(tmp_path / "iv.parquet")
    assert json.loads(schema.metadata[b"labkit"])["name"] == "iv"
    assert schema.field("dmm_current").metadata[b"units"] == b"A"
    csv = pd.read_csv(tmp_path / "iv.csv")
    assert list(csv.columns) == ["smu_voltage", "dmm_current", "dmm_mode", "time"]
    assert len(csv) == 40
    nc = xr.open_dataset(tmp_path / "iv.nc", engine="h5netcdf")
    np.testing.assert_allclose(nc.dmm_current, table.dmm_current)
    with pytest.raises(ConfigurationError, match="several"):
        labkit.export_run(movie.url, tmp_path / "movie.csv", **kwargs)
    labkit.export_run(movie.url, tmp_path / "frames.csv", variables=["cam_frame_number"], **kwargs)
    assert len(pd.read_csv(tmp_path / "frames.csv")) == 6


def test_a_reader_sees_a_running_run_grow_whole_points_only(lab, remote_root):
    stop = threading.Event()
    run = labkit.run(
        TimeSeries([lab.dmm.readings.current], until=Condition.from_callable(stop.is_set)),
        data_root=remote_root.url,
        flush_interval=0.05,
        **remote_root.kwargs(),
    )
    try:
        seen = []
        for _ in range(3):
            wait_for(lambda: run.points > (seen[-1] if seen else 0) + 5, what="more points stored")
            ds = labkit.open_run(run.url, **remote_root.kwargs())
            assert ds.attrs["status"] == "running"
            length = ds.sizes["sample"]
            assert length >= (seen[-1] if seen else 0)
            current = ds.dmm_current.values
            assert np.isfinite(current).all(), "a published point has its data"
            assert not np.isnat(ds.time.values).any()
            seen.append(length)
        assert seen == sorted(seen)
        assert seen[-1] > seen[0]
    finally:
        stop.set()
        run.wait()
    assert labkit.open_run(run.url, **remote_root.kwargs()).sizes["sample"] == run.points


def test_a_selection_of_runs_opens_as_one_dataset_and_computes_on_a_cluster(lab, remote_root):
    distributed = pytest.importorskip("distributed")
    kwargs = {"data_root": remote_root.url, **remote_root.kwargs()}
    for heater in (0.0, 1.0, 2.0):
        lab.stage.heater = heater
        labkit.sweep(
            lab.smu.settings.voltage,
            np.linspace(0, 1, 21),
            read=[lab.dmm.readings.current],
            name="iv",
            metadata={"heater": heater},
            **kwargs,
        ).wait()
    selection = labkit.runs("iv", root=remote_root.url, **remote_root.kwargs())
    combined = open_runs(selection)
    assert combined.sizes == {"run": 3, "smu_voltage": 21}
    assert list(combined.run.values) == [r.id for r in selection]
    assert list(combined.run_name.values) == ["iv"] * 3
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        biased = combined.isel(smu_voltage=slice(1, None))
        conductance = (biased.dmm_current / biased.smu_voltage).mean("smu_voltage").compute()
    np.testing.assert_allclose(conductance.values, [1 / RESISTANCE] * 3)


def test_the_s3_catalog_keeps_an_index_beside_the_runs_and_rebuilds_it(lab, s3_root, monkeypatch):
    _runs_there(lab, s3_root)
    listed = labkit.runs(root=s3_root.url, **s3_root.kwargs())
    calls: list[str] = []
    original = _scan._get_json
    monkeypatch.setattr(
        _scan, "_get_json", lambda s, key, limit: calls.append(key) or original(s, key, limit)
    )
    again = labkit.runs(root=s3_root.url, **s3_root.kwargs())
    assert [r.id for r in again] == [r.id for r in listed]
    assert calls
    assert all(k.endswith(".labkit-index.json") for k in calls), calls
    # A new run makes the index stale: only the new run is read, then the index is rewritten.
    labkit.sweep(
        lab.smu.settings.voltage,
        [0.0, 0.5],
        read=[lab.dmm.readings.current],
        name="late",
        data_root=s3_root.url,
        **s3_root.kwargs(),
    ).wait()
    calls.clear()
    assert [r.name for r in labkit.runs(root=s3_root.url, **s3_root.kwargs())][-1] == "late"
    assert len([k for k in calls if k.endswith("/zarr.json")]) == 1
    # The runs are the truth: without the index, the same answer.
    fresh = labkit.runs(root=s3_root.url, index=False, **s3_root.kwargs())
    assert [r.id for r in fresh] == [
        r.id for r in labkit.runs(root=s3_root.url, **s3_root.kwargs())
    ]


def test_a_url_labkit_cannot_use_is_refused_at_once_naming_what_is_missing(
    lab, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    step = Sweep(lab.smu.settings.voltage, [0.0], read=[lab.dmm.readings.current])
    with pytest.raises(ConfigurationError, match="gcsfs"):
        labkit.run(step, data_root="gs://lab-data/runs")
    with pytest.raises(ConfigurationError, match="adlfs"):
        labkit.runs(root="az://lab-data/runs")
    with pytest.raises(ConfigurationError, match="protocol 'nosuch'"):
        labkit.open_run("nosuch://lab-data/runs/x.zarr")
    monkeypatch.setenv("LABKIT_DATA", "gs://lab-data/runs")
    with pytest.raises(ConfigurationError, match="gcsfs"):
        labkit.run(step)
    assert list(tmp_path.iterdir()) == [], "nothing written locally"
    with pytest.raises(RunNotFound):
        labkit.open_run(f"memory://nothing-{id(tmp_path)}/x.zarr")


def test_a_file_url_is_a_local_folder(lab, tmp_path):
    run = labkit.sweep(
        lab.smu.settings.voltage,
        [0.0, 1.0],
        read=[lab.dmm.readings.current],
        data_root=(tmp_path / "data").as_uri(),
    )
    run.wait()
    assert isinstance(run.path, Path)
    assert run.path.parent.parent == tmp_path / "data"
    assert [r.id for r in labkit.runs(root=(tmp_path / "data").as_uri())] == [run.id]


def test_storage_options_from_the_environment_for_the_default_root(lab, s3, s3_root, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA", s3_root.url)
    monkeypatch.setenv("LABKIT_STORAGE_OPTIONS", json.dumps(s3.storage_options))
    run = labkit.sweep(lab.smu.settings.voltage, [0.0, 1.0], read=[lab.dmm.readings.current])
    run.wait()
    assert run.url.startswith(s3_root.url)
    assert [r.id for r in labkit.runs()] == [run.id]
    assert labkit.open_run(run.id).sizes["smu_voltage"] == 2
    assert labkit.open_run(run.url).sizes["smu_voltage"] == 2  # a URL under LABKIT_DATA


class warnings_as_errors:
    def __enter__(self):
        import warnings

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._context.__exit__(*exc)
