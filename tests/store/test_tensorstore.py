"""Another Zarr implementation (Google's tensorstore) reads labkit's stores."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.runs import CameraStream, Sweep
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
