"""Another Zarr implementation (Google's tensorstore) reads every array labkit writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

import labkit
from labkit.runs import CameraStream, Grid, Read, Repeat, Snap, Sweep, TimeSeries
from tests.simdevices import SyntheticCamera

ts = pytest.importorskip("tensorstore", reason="tensorstore has no wheel for this platform")


def _read(path):
    store = ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}, open=True
    ).result()
    return store.read().result()


def test_tensorstore_reads_the_same_values_as_xarray(lab):
    camera = SyntheticCamera(shape=(300, 256))
    run = labkit.run(
        Sweep(lab.smu.settings.voltage, np.linspace(0, 1, 30), read=[lab.dmm.readings.current]),
        CameraStream(camera, frames=4),
    )
    ds = run.wait()
    for name in ("smu_voltage", "dmm_current", "time_read", "cam", "cam_frame_number"):
        theirs = _read(run.path / name)
        ours = ds[name].values
        if ours.dtype.kind == "M":
            ours = ours.astype(np.int64)
        np.testing.assert_array_equal(theirs, ours, err_msg=name)
    spec = ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(run.path / "cam")}}
    ).result()
    assert list(spec.domain.labels) == ["cam_frame", "cam_y", "cam_x"]


def test_tensorstore_reads_every_array_of_typical_runs(lab):
    """Choices swept and recorded, 0-d readings, grids, repeats, series, snaps and streams."""
    camera = SyntheticCamera(shape=(64, 48))
    # One after the other: several of them set dmm.mode, and a setting belongs to one run.
    plans = [
        lambda: labkit.run(
            Read(
                {
                    "stage_temperature": lab.stage.readings.temperature,
                    "mode_before": lab.dmm.settings.mode,
                }
            ),
            Repeat(2, Sweep(lab.dmm.settings.mode, ["dc", "ac"], read=[lab.dmm.readings.current])),
        ),
        lambda: labkit.run(
            Grid(
                (lab.dmm.settings.mode, ["ac", "dc"]),
                (lab.smu.settings.voltage, [0.0, 0.5]),
                read=[lab.dmm.readings.current, lab.smu.settings.output],
            )
        ),
        lambda: labkit.run(TimeSeries([lab.dmm.readings.current, lab.dmm.settings.mode], count=5)),
        lambda: labkit.run(Sweep(lab.smu.settings.voltage, [0.0, 1.0], Snap(camera))),
        lambda: labkit.run(CameraStream(SyntheticCamera(shape=(600, 500)), frames=3)),
    ]
    checked = 0
    for start in plans:
        run = start()
        run.wait()
        for document in sorted(run.path.glob("*/zarr.json")):
            meta = json.loads(document.read_text())
            theirs = _read(document.parent)
            ours = zarr.open_array(str(document.parent), mode="r")[...]
            np.testing.assert_array_equal(theirs, ours, err_msg=str(document.parent))
            labels = (
                ts.open(
                    {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(document.parent)}}
                )
                .result()
                .domain.labels
            )
            assert list(labels) == meta["dimension_names"]
            checked += 1
    assert checked >= 25
