"""A served camera used from another labkit: frames, runs and the live view, as with a local one.

The frames a remote ``CameraStream`` records are compared, by frame number, with what the
served camera itself produced (a queue of its own on the server's side); a slow client loses
frames on its side only; the server's grants decide who starts the camera; and a server
killed mid-stream fails the client's run with the frames it recorded saved.
"""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.core import ConnectionLost, InstrumentError, Region
from labkit.remote import RemoteCamera, RemoteRefused, Server, ServerProcess, serve_config
from labkit.runs import CameraStream
from labkit.sim import pvcam as pvsim
from tests.remote.conftest import ACCOUNT
from tests.remote.serving import SIM_PATH, WRITERS, needs_simulated_libpvcam
from tests.runs.test_engine import wait_for

pytestmark = needs_simulated_libpvcam


@pytest.fixture
def camera():
    from labkit.drivers.cameras.pvcam import PvcamCamera

    made = PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="cam", library=SIM_PATH)
    made.exposure = 0.005
    made.set_rois([Region(64, 32, 256, 128)])
    yield made
    made.close()


def serve(camera, *, access=WRITERS, frame_rate=50):
    config = serve_config(
        {"prefix": "T:", "frame_rate": frame_rate, "access": access}, port=0, broadcast_port=0
    )
    return Server({"cam": camera}, config).start()


@pytest.fixture
def remote(camera):
    server = serve(camera)
    rcam = labkit.connect(server.address("cam"), name="rcam")
    yield camera, rcam
    rcam.close()
    server.stop()


def drain(queue) -> dict[int, object]:
    frames = {}
    while (frame := queue.get_nowait()) is not None:
        frames[frame.number] = frame
    return frames


def test_a_served_camera_connects_as_a_camera_with_the_sensors_shape(remote):
    camera, rcam = remote
    assert isinstance(rcam, RemoteCamera)
    assert isinstance(rcam, labkit.core.Camera)
    assert rcam.sensor_shape == camera.sensor_shape
    assert not rcam.acquiring
    assert rcam.exposure == pytest.approx(0.005)  # its settings come from the server too


def test_a_station_file_naming_a_served_camera_gives_a_remote_camera(camera, tmp_path):
    server = serve(camera)
    path = tmp_path / "client.yaml"
    path.write_text(f"instruments:\n  scope_cam:\n    remote: {server.address('cam')}\n")
    try:
        with labkit.load_station(path) as client:
            rcam = client["scope_cam"]
            assert isinstance(rcam, RemoteCamera)
            frame = rcam.snap(20)
            assert frame.pixels.shape == (128, 256)
    finally:
        server.stop()


def test_a_remote_stream_records_the_frames_the_served_camera_made(remote, data_root):
    camera, rcam = remote
    made = camera.subscribe(10_000)  # everything the camera produced, on the server's side
    run = labkit.run(CameraStream(rcam, frames=8, name="movie"), name="remote movie")
    ds = run.wait(60)
    assert run.status == "completed"
    assert not camera.acquiring, "the stream stopped the camera it started, on the server"
    assert not rcam.acquiring
    produced = drain(made)
    numbers = ds.movie_frame_number.values
    assert len(numbers) == 8
    assert (np.diff(numbers) > 0).all()
    assert set(numbers) <= set(produced)
    for index, number in enumerate(numbers):
        original = produced[int(number)]
        np.testing.assert_array_equal(ds.movie.values[index], original.pixels)
        assert ds.movie.dtype == original.pixels.dtype
    last = produced[int(numbers[-1])]
    assert ds.movie.shape[1:] == (128, 256)
    assert ds.time.values[-1].astype("int64") / 1e9 == pytest.approx(last.timestamp, abs=1e-6)
    assert rcam.region == Region(64, 32, 256, 128)
    missed = numbers[-1] - numbers[0] + 1 - len(numbers)
    assert rcam.frames_missed >= missed  # frames the server did not send here, counted
    accounting = ds.attrs["frames"]["movie"]
    assert accounting["stored"] == 8
    assert accounting["last"] == numbers[-1]
    # Frames the server did not send here are lost before the stream got them ("driver").
    span = accounting["last"] - accounting["first"] + 1
    assert accounting["lost_in"]["driver"] == span - 8
    assert accounting["lost_in"]["driver"] >= missed
    assert accounting["lost_in"]["queue"] == 0
    remote_info = ds.attrs["snapshot"]["rcam"]["remote"]
    assert remote_info["url"] == rcam.resource


def test_snap_on_a_remote_camera_is_a_frame_the_camera_made(remote):
    camera, rcam = remote
    made = camera.subscribe(10_000)
    frame = rcam.snap(20)
    assert not camera.acquiring, "snap stopped the acquisition it started"
    original = drain(made)[frame.number]
    np.testing.assert_array_equal(frame.pixels, original.pixels)
    assert frame.regions == (Region(64, 32, 256, 128),)


def test_a_slow_client_loses_frames_on_its_side_never_the_cameras(remote):
    camera, rcam = remote
    made = camera.subscribe(10_000)
    slow = rcam.subscribe(1)  # never read while frames arrive
    rcam.start()
    try:
        assert camera.acquiring, "start() went through the server"
        wait_for(lambda: slow.dropped >= 3, timeout=60)
    finally:
        rcam.stop()
    assert not camera.acquiring
    assert made.dropped == 0, "the camera's own consumers lost nothing"
    assert len(drain(made)) > slow.dropped + slow.delivered


def test_a_camera_stopped_on_the_server_fails_the_clients_run_saying_so(remote, data_root):
    camera, rcam = remote
    run = labkit.run(CameraStream(rcam, duration="120 s", name="movie"))
    wait_for(lambda: run.points >= 3, timeout=60)
    camera.stop()  # the serving side (or another client) stops it
    with pytest.raises(InstrumentError, match=r"stopped on the server 127\.0\.0\.1"):
        run.wait(60)
    assert run.status == "failed"
    assert run.dataset.attrs["points_written"] >= 3


def test_a_camera_failing_on_the_server_fails_the_clients_run_with_its_words(remote, data_root):
    camera, rcam = remote
    run = labkit.run(CameraStream(rcam, duration="120 s", name="movie"))
    wait_for(lambda: run.points >= 3, timeout=60)
    pvsim.controls(SIM_PATH).inject_fault(camera.handle, pvsim.Fault.CAM_REMOVED)  # unplugged
    with pytest.raises(InstrumentError, match="on the server: acquisition of cam failed"):
        run.wait(60)
    assert run.status == "failed"
    assert run.dataset.attrs["points_written"] >= 3


def test_a_client_the_server_does_not_grant_cannot_start_its_camera(camera):
    server = serve(camera, access={})  # read-only for everyone
    rcam = labkit.connect(server.address("cam"), name="rcam")
    try:
        with pytest.raises(RemoteRefused, match=r"write to cam\._acquire refused for account"):
            rcam.start()
        assert not camera.acquiring
        assert not rcam.acquiring
    finally:
        rcam.close()
        server.stop()


def test_the_headless_camera_view_shows_a_remote_cameras_frames(remote):
    from labkit.ui import CameraView
    from tests.ui.live_helpers import Page, read_picture
    from tests.ui.live_helpers import wait_for as wait_on_page

    camera, rcam = remote
    view = CameraView(rcam, size=128, start=True)
    Page(view.channel)
    try:
        wait_on_page(lambda: view.picture.array().size, what="a first picture")
        assert camera.acquiring, "the view's start went through the server"
        pixels, _ = read_picture(view)
        assert pixels.shape == (64, 128)  # 256×128 shrunk to the view's size
    finally:
        view.close()
        rcam.stop()
    assert not camera.acquiring


@pytest.mark.slow
def test_a_server_killed_mid_stream_fails_the_clients_run_with_its_frames(tmp_path, data_root):
    station = tmp_path / "station.yaml"
    station.write_text(
        f"""\
serve:
  frame_rate: 20
  access:
    write:
      - {{account: {ACCOUNT}, host: 127.0.0.1}}
instruments:
  cam:
    driver: pvcam
    resource: pvcam://{pvsim.PRIME_BSI}@{SIM_PATH}
    settings:
      exposure: 5 ms
      roi: 0,0,128,64
"""
    )
    server = ServerProcess(station, prefix="K:").start()
    try:
        rcam = labkit.connect(server.address("cam"), name="kcam", timeout=3)
        run = labkit.run(CameraStream(rcam, duration="120 s", name="movie"))
        wait_for(lambda: run.points >= 3, timeout=60)
        server.kill()
        with pytest.raises(ConnectionLost) as failed:
            run.wait(60)
        assert f"127.0.0.1:{server.port}" in str(failed.value)
        assert run.status == "failed"
        ds = run.dataset
        saved = ds.attrs["points_written"]
        assert saved >= 3
        assert ds.movie.shape == (saved, 64, 128)
        assert (np.diff(ds.movie_frame_number.values) > 0).all()
        assert not rcam.acquiring
        rcam.close()
    finally:
        if server.running:
            server.stop()
