"""PVCAM frames stream into a run's store, and a snap at each point of a scan."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.runs import CameraStream, Snap, Sweep


def test_a_live_stream_lands_in_the_run(kinetix_cam: PvcamCamera, data_root) -> None:
    kinetix_cam.metadata = True
    kinetix_cam.set_readout("Speed")
    kinetix_cam.roi = "0,0,320,240; 1000,1000,160,120"
    kinetix_cam.exposure = "2 ms"
    ds = labkit.run(CameraStream(kinetix_cam, frames=25, queue_size=64), name="movie").wait()
    frames = ds.kinetix
    assert frames.shape == (25, 1120, 1160)  # the two ROIs' bounding box
    assert frames.dtype == np.uint8
    numbers = ds.kinetix_frame_number.values
    assert (np.diff(numbers) > 0).all()
    stamps = ds.kinetix_frame_hardware_timestamp.values
    assert (np.diff(stamps) > 0).all()
    np.testing.assert_allclose(ds.kinetix_frame_exposure.values, 2e-3)
    assert not kinetix_cam.acquiring, "the stream stopped the camera it started"


def test_a_snap_at_each_point_of_a_scan(bsi_cam: PvcamCamera, data_root) -> None:
    bsi_cam.roi = "0,0,128,64"
    ds = labkit.run(
        Sweep(bsi_cam.settings.exposure, ["1 ms", "2 ms", "4 ms"], Snap(bsi_cam))
    ).wait()
    assert ds.bsi.shape == (3, 64, 128)
    np.testing.assert_allclose(ds.bsi_frame_exposure.values, [1e-3, 2e-3, 4e-3])  # as taken
    np.testing.assert_allclose(ds.bsi_exposure.values, [1e-3, 2e-3, 4e-3])  # as swept


@pytest.fixture(autouse=True)
def _runs_available() -> None:
    pytest.importorskip("zarr")
