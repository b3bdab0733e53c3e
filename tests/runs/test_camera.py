"""Camera frames stream into the run store: one frame per chunk, numbers and times alongside."""

from __future__ import annotations

import json

import numpy as np
import pytest

import labkit
from labkit.core import ConfigurationError, ConnectionLost, InstrumentError, NotConnectedError
from labkit.runs import CameraStream, Repeat, Snap, Sweep
from tests.runs.test_engine import wait_for
from tests.simdevices import SyntheticCamera


def test_a_stream_of_frames_lands_in_the_run(data_root):
    camera = SyntheticCamera(shape=(64, 48), rate=300)
    run = labkit.run(CameraStream(camera, frames=40, queue_size=64), name="movie")
    ds = run.wait()
    frames = ds.cam
    assert frames.dims == ("cam_frame", "cam_y", "cam_x")
    assert frames.shape == (40, 64, 48)
    assert frames.dtype == np.uint16
    numbers = ds.cam_frame_number.values
    assert (np.diff(numbers) > 0).all()
    np.testing.assert_array_equal(frames.values[:, 0, 0], numbers % 65536)
    assert ds.cam_frame_exposure.attrs["units"] == "s"
    assert ds.time.dims == ("cam_frame",)
    assert (np.diff(ds.time.values.astype("int64")) >= 0).all()
    meta = json.loads((run.path / "cam" / "zarr.json").read_text())
    assert meta["chunk_grid"]["configuration"]["chunk_shape"][1:] == [64, 48]
    stream = [e for e in ds.attrs["events"] if e["event"] == "camera stream"]
    assert stream[0]["delivered"] >= 40
    assert not camera.acquiring, "the stream stopped the camera it started"


def test_large_frames_are_one_uncompressed_chunk_each(data_root):
    camera = SyntheticCamera(shape=(1024, 512), rate=100)  # 1 MiB: a file each
    run = labkit.run(CameraStream(camera, frames=6))
    ds = run.wait()
    assert ds.cam.shape == (6, 1024, 512)
    np.testing.assert_array_equal(ds.cam.values[:, 0, 0], ds.cam_frame_number.values)
    meta = json.loads((run.path / "cam" / "zarr.json").read_text())
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, 1024, 512]
    assert [c["name"] for c in meta["codecs"]] == ["bytes"]
    assert ds.cam.data.chunks[0] == (1,) * 6


class RatedCamera(SyntheticCamera):
    """A camera that says its frame rate, as labkit's drivers do."""

    @property
    def frame_rate(self) -> float:
        return self.rate


def test_small_frames_share_shards_holding_about_a_second_of_frames(data_root):
    camera = RatedCamera(shape=(256, 256), rate=40)  # 128 KiB frames
    run = labkit.run(CameraStream(camera, frames=50))
    ds = run.wait()
    np.testing.assert_array_equal(ds.cam.values[:, 0, 0], ds.cam_frame_number.values)
    meta = json.loads((run.path / "cam" / "zarr.json").read_text())
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [40, 256, 256]
    assert meta["codecs"][0]["configuration"]["chunk_shape"] == [1, 256, 256]
    assert sorted(p.name for p in (run.path / "cam").glob("c.*")) == ["c.0.0.0", "c.1.0.0"]


def test_a_snapped_frame_is_a_chunk_of_its_own(data_root):
    camera = SyntheticCamera(shape=(128, 256))  # 64 KiB, a snap at each point: no shards
    run = labkit.run(Repeat(3, Snap(camera)))
    ds = run.wait()
    meta = json.loads((run.path / "cam" / "zarr.json").read_text())
    assert [c["name"] for c in meta["codecs"]] == ["bytes"]
    assert ds.cam.shape[-2:] == (128, 256)


def test_a_stream_by_duration_grows_as_frames_arrive(data_root):
    camera = SyntheticCamera(shape=(16, 16), rate=100)
    ds = labkit.run(CameraStream(camera, duration="0.3 s")).wait()
    count = ds.cam.shape[0]
    assert count >= 5
    assert ds.attrs["dims"]["cam_frame"] is None
    assert ds.attrs["dims_written"]["cam_frame"] == count
    assert not np.isnat(ds.time.values).any()


def test_a_camera_failing_mid_stream_fails_the_run_and_keeps_the_frames(data_root):
    camera = SyntheticCamera(shape=(8, 8), rate=200)
    camera.fail_after = 15
    run = labkit.run(CameraStream(camera, frames=100))
    with pytest.raises(ConnectionLost, match="unplugged"):
        run.wait()
    ds = run.dataset
    assert ds.attrs["status"] == "failed"
    assert ds.cam.shape[0] == 100  # the plan's size; frames never recorded read as NaT times
    recorded = ~np.isnat(ds.time.values)
    count = int(recorded.sum())
    assert 1 <= count <= 15
    assert count == ds.attrs["points_written"]
    assert recorded[:count].all()
    np.testing.assert_array_equal(ds.cam.values[:count, 0, 0], ds.cam_frame_number.values[:count])


def test_a_snap_at_each_point_of_a_sweep(lab):
    camera = SyntheticCamera(name="imager", shape=(10, 12))
    ds = labkit.run(
        Sweep(
            lab.smu.settings.voltage,
            [0.0, 0.5, 1.0],
            Snap(camera),
            read=[lab.dmm.readings.current],
        )
    ).wait()
    assert ds.imager.dims == ("smu_voltage", "imager_y", "imager_x")
    assert ds.imager.shape == (3, 10, 12)
    assert ds.imager_frame_number.values.tolist() == [1, 2, 3]


def test_only_cameras_can_stream():
    with pytest.raises(ConfigurationError, match="Camera protocol"):
        CameraStream(object(), frames=3)


def test_a_camera_closed_mid_stream_fails_the_run_and_keeps_the_frames(data_root):
    camera = SyntheticCamera(shape=(8, 8), rate=200)
    run = labkit.run(CameraStream(camera, frames=2000))
    wait_for(lambda: run.points >= 10, what="frames in the run")
    camera.stop()
    camera._broadcaster.close()  # what a driver's close() does: every queue ends
    with pytest.raises(NotConnectedError, match=r"was closed during the stream, after \d+ of 2000"):
        run.wait(30)
    ds = run.dataset
    assert ds.attrs["status"] == "failed"
    assert ds.attrs["error"]["instrument"] == "cam"
    count = int(ds.attrs["points_written"])
    assert count >= 10
    np.testing.assert_array_equal(ds.cam.values[:count, 0, 0], ds.cam_frame_number.values[:count])


def test_a_camera_stopped_by_someone_else_mid_stream_fails_the_run(data_root):
    camera = SyntheticCamera(shape=(8, 8), rate=200)
    run = labkit.run(CameraStream(camera, duration="60 s"))
    wait_for(lambda: run.points >= 10, what="frames in the run")
    camera.stop()  # a live view's stop button, another cell
    with pytest.raises(InstrumentError, match=r"stopped acquiring during the stream"):
        run.wait(30)
    assert run.dataset.attrs["status"] == "failed"


@pytest.mark.slow
def test_a_genicam_camera_closed_during_a_run_fails_it(data_root, unique_name):
    pytest.importorskip("harvesters.core")
    from labkit.drivers.cameras.genicam import GenICamCamera

    camera = GenICamCamera("genicam://VikyTL_DEV_red@viky", name=unique_name)
    run = labkit.run(CameraStream(camera, frames=2000, name="movie"))
    wait_for(lambda: run.points >= 5, what="frames in the run")
    camera.close()
    with pytest.raises(labkit.LabkitError, match="of 2000 frames"):
        run.wait(60)
    ds = run.dataset
    assert ds.attrs["status"] == "failed"
    saved = int(ds.attrs["points_written"])
    assert 5 <= saved < 2000
    np.testing.assert_array_equal(ds.movie_frame_number.values[:saved], np.arange(1, saved + 1))
