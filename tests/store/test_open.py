"""Reopening runs lazily by id, name or path; live views; export to NetCDF and HDF5."""

from __future__ import annotations

import json
import time

import dask.array
import numpy as np
import pytest
import xarray as xr

import labkit
from labkit.core import ConfigurationError
from labkit.runs import Sweep, TimeSeries
from labkit.store import RunNotFound, export_run, open_run, runs
from tests.simdevices import RESISTANCE


@pytest.fixture
def iv(lab):
    run = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 11),
        read=[lab.dmm.readings.current],
        name="iv",
        metadata={"sample": "R1"},
    )
    run.wait()
    return run


def test_a_run_opens_by_id_name_path_and_catalog_entry(iv, data_root):
    for ref in (iv.id, "iv", iv.path, str(iv.path), runs()[0], iv):
        ds = open_run(ref)
        assert ds.attrs["run_id"] == iv.id
    with pytest.raises(RunNotFound, match="no run named 'nothing'"):
        open_run("nothing")
    with pytest.raises(RunNotFound):
        open_run("20200101T000000.000Z-abcdef")
    with pytest.raises(RunNotFound):
        open_run(data_root / "missing.zarr")


def test_reopening_is_lazy_and_reads_no_data(iv):
    ds = open_run(iv.id)
    assert isinstance(ds.dmm_current.data, dask.array.Array)
    # Remove the data chunk: opening still works (nothing was read), computing does not.
    (chunk,) = (iv.path / "dmm_current" / "c").iterdir()
    saved = chunk.read_bytes()
    chunk.unlink()
    reopened = open_run(iv.id)
    assert reopened.dmm_current.shape == (11,)
    assert np.isnan(reopened.dmm_current.values).all()  # a missing chunk reads as fill value
    chunk.write_bytes(saved)
    np.testing.assert_allclose(
        open_run(iv.id).dmm_current.values, np.linspace(0, 1, 11) / RESISTANCE
    )


def test_a_running_run_is_a_live_view_cut_to_what_was_flushed(slow_lab):
    run = labkit.run(
        TimeSeries([slow_lab.dmm.readings.current], duration="30 s", rate=200),
        flush_interval=0.05,
    )
    deadline = time.monotonic() + 20
    while run.dataset.sizes["sample"] < 10:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    live = run.dataset
    assert live.attrs["status"] == "running"
    assert live.sizes["sample"] == live.attrs["dims_written"]["sample"]
    assert not np.isnat(live.time.values).any()
    run.abort()
    final = run.dataset
    assert final.attrs["status"] == "aborted"
    assert final.sizes["sample"] >= live.sizes["sample"]


@pytest.mark.parametrize("suffix", [".nc", ".h5"])
def test_export_to_netcdf_and_hdf5_round_trips(iv, tmp_path, suffix):
    target = export_run(iv.id, tmp_path / f"iv{suffix}")
    back = xr.open_dataset(target, engine="h5netcdf")
    original = open_run(iv.id)
    np.testing.assert_array_equal(back.dmm_current.values, original.dmm_current.values)
    np.testing.assert_array_equal(back.time.values, original.time.values)
    assert back.dmm_current.attrs["units"] == "A"
    assert back.attrs["run_id"] == iv.id
    snapshot = json.loads(back.attrs["snapshot"])
    assert snapshot["smu"]["settings"]["voltage"]["unit"] == "V"
    back.close()


def test_export_keeps_text_data(lab, tmp_path):
    run = labkit.run(Sweep(lab.dmm.settings.mode, ["dc", "ac"], read=[lab.dmm.readings.current]))
    run.wait()
    back = xr.open_dataset(run.export(tmp_path / "modes.nc"), engine="h5netcdf")
    assert back.dmm_mode.values.tolist() == ["dc", "ac"]
    back.close()


def test_another_process_reads_a_run_while_it_goes(slow_lab):
    import json
    import os
    import subprocess
    import sys

    # Far more points than the reader needs (minutes at 5 ms a point): the run is aborted once the
    # other process has read it, so a loaded machine starting Python slowly cannot let it finish.
    run = labkit.sweep(
        slow_lab.smu.settings.voltage,
        np.linspace(0, 1, 20_000),
        read=[slow_lab.dmm.readings.current],
        flush_interval=0.05,
    )
    deadline = time.monotonic() + 20
    while run.dataset.attrs["points_written"] < 20:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    script = (
        "import json, sys, labkit\n"
        "ds = labkit.open_run(sys.argv[1])\n"
        "n = int(ds.attrs['points_written'])\n"
        "print(json.dumps({'n': n, 'status': ds.attrs['status'],"
        " 'v': ds.smu_voltage.values[:n].tolist(), 'i': ds.dmm_current.values[:n].tolist()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(run.path)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    seen = json.loads(done.stdout)
    run.abort()
    assert seen["status"] == "running"
    assert seen["n"] >= 20
    np.testing.assert_allclose(seen["i"], np.asarray(seen["v"]) / RESISTANCE)


def test_export_to_parquet_and_csv_one_row_per_point(lab, tmp_path):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    run = labkit.grid(
        {lab.dmm.settings.mode: ["dc", "ac"]},
        {lab.smu.settings.voltage: [0.0, 0.5, 1.0]},
        read=[lab.dmm.readings.current],
    )
    run.wait()
    table = pandas.read_parquet(run.export(tmp_path / "grid.parquet"))
    assert list(table.index.names) == ["dmm_mode", "smu_voltage"]
    assert len(table) == 6
    assert set(table.reset_index().dmm_mode) == {"dc", "ac"}
    assert table.time.dtype.kind == "M"
    csv = pandas.read_csv(run.export(tmp_path / "grid.csv"))
    assert list(csv.columns) == ["dmm_mode", "smu_voltage", "dmm_current", "time"]
    np.testing.assert_allclose(csv.dmm_current, table.dmm_current)


def test_export_refuses_a_suffix_it_does_not_write_before_writing(iv, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("iv.xlsx", "iv.json", "iv"):
        with pytest.raises(ConfigurationError, match="names no format"):
            export_run(iv.id, out / name)
    with pytest.raises(ConfigurationError, match="format 'excel'"):
        export_run(iv.id, out / "iv.nc", format="excel")
    assert list(out.iterdir()) == []
