"""Live camera views on a real simulated camera: viky.cti through harvesters (GenICam).

Frames come from the genicam wheel's bouncing ball through the same driver code as a camera in
the lab; renders run on the real ``labkit-live`` thread; a ``Page`` stands in for the browser's
acknowledgements (or, to play a closed tab, acknowledges nothing).
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import numpy as np
import pytest

import labkit
from labkit.core import ConfigurationError, ConnectionLost, Region
from labkit.runs import CameraStream
from labkit.ui import CameraRoi, CameraView, live_view, roi_control
from tests.ui.live_helpers import Page, read_picture, wait_for

pytest.importorskip("harvesters.core")

from labkit.drivers.cameras.genicam import GenICamCamera

RED = "genicam://VikyTL_DEV_red@viky"


@pytest.fixture
def viky(unique_name: str) -> Iterator[GenICamCamera]:
    camera = GenICamCamera(RED, name=unique_name)
    camera.pixel_format = "Mono8"
    camera.acquisition_frame_rate = 100
    yield camera
    camera.close()


def unplug(camera: GenICamCamera) -> None:
    """Pull the plug: the GenTL device handle goes away under the stream (as the driver's
    own tests do)."""
    link = camera.link
    with link.lock:
        link.acquirer.device.module.close()


def test_viky_streams_into_a_live_view_and_the_picture_moves(viky):
    view = CameraView(viky, size=256, start=True)
    Page(view.channel)
    try:
        pictures: list[bytes] = []

        def new_picture() -> bool:
            data = view.picture.pixels
            if data and (not pictures or data != pictures[-1]):
                pictures.append(data)
            return len(pictures) >= 5

        wait_for(new_picture, what="five different pictures")
        pixels, _ = read_picture(view)
        assert pixels.shape == (200, 200), "400 × 400 frames shrunk to fit 256"
        assert view.status.value == "live"
        assert view.live_button.value
        counters = view.source.counters
        wait_for(lambda: counters.rate() > 50, what="the camera's frame rate")
        assert counters.dropped == 0
        assert view.source.skipped > 0, "the camera runs faster than the view draws"
        view.live_button.value = False  # the Live button stops the camera
        view.pending.wait()
        assert not viky.acquiring
    finally:
        view.close()


def test_a_region_selected_on_the_image_is_applied_through_the_roi_adapter(viky):
    control = roi_control(viky)
    assert isinstance(control, CameraRoi)
    view = CameraView(viky, size=256, start=True)
    Page(view.channel)
    try:
        wait_for(lambda: view.picture.picture, what="a first picture")
        view.brush.selected_x = np.array([30.4, 250.6])  # dragged on the image, sensor px
        view.brush.selected_y = np.array([12.0, 180.0])
        assert view.selection() == Region(30, 12, 221, 168)
        applied = view.apply_roi()
        # viky has Width and Height but no OffsetX/OffsetY: it crops from its corner, so the
        # region read is the smallest from the corner that holds the selection.
        assert applied == Region(0, 0, 251, 180)
        assert (viky.width, viky.height) == (251, 180)
        assert viky.acquiring, "the camera was stopped for the change and started again"
        assert "corner" in view.roi_status.value
        assert view.brush.selected_x is None
        wait_for(
            lambda: (
                [view.x_scale.min, view.x_scale.max] == [0, 251]
                and [view.y_scale.max, view.y_scale.min] == [180, 0]
            )
        )
        assert read_picture(view)[0].shape == (180, 251)

        assert view.full_frame() == Region(0, 0, 800, 800)
        assert (viky.width, viky.height) == (800, 800)
        wait_for(lambda: read_picture(view)[0].shape == (200, 200))
        # Limits are the camera's: a region smaller than its minimum width is rounded up.
        assert control.apply(Region(0, 0, 20, 20)) == Region(0, 0, 100, 100)
    finally:
        view.close()


def test_a_camera_unplugged_mid_stream_shows_the_error_and_the_view_stops(viky):
    view = CameraView(viky, size=256, start=True)
    Page(view.channel)
    try:
        wait_for(lambda: view.picture.picture, what="a first picture")
        unplug(viky)
        wait_for(lambda: view.error.layout.display is None, what="the error")
        text = html.unescape(view.error.value)
        assert "ConnectionLost" in text
        assert viky.name in text
        assert f"{viky.name}.reconnect()" in text
        assert "stopped" in view.status.value
        assert not view.live_button.value
        assert viky.broadcaster.subscribers == 0
    finally:
        view.close()


def test_a_run_streaming_viky_shows_it_live_and_fails_cleanly_when_it_is_unplugged(viky, data_root):
    run = labkit.run(CameraStream(viky, duration="30 s", name="movie"))
    live = live_view(run)
    try:
        (view,) = live.cameras
        Page(view.channel)
        assert view.apply_button.disabled, "a run records this camera: no ROI changes"
        assert "records this camera" in view.apply_button.tooltip
        wait_for(lambda: run.points >= 20, what="frames in the run")
        wait_for(lambda: view.picture.picture, what="a picture")
        unplug(viky)
        with pytest.raises(ConnectionLost):
            run.wait(30)
        assert run.status == "failed"
        wait_for(lambda: "ConnectionLost" in view.error.value, what="the view's error")
        wait_for(lambda: not view.source.active, what="the view to let the camera go")
        assert "the camera failed" in view.status.value, "the run's end keeps why it stopped"
        ds = run.dataset
        assert ds.attrs["status"] == "failed"
        saved = ds.attrs["points_written"]
        assert saved >= 20
        assert ds.movie.shape[0] == saved
        numbers = ds.movie_frame_number.values
        assert (np.diff(numbers) > 0).all()
        # On a loaded machine viky may skip a frame; a skipped frame is counted, never hidden.
        (stream,) = [e for e in ds.attrs["events"] if e["event"] == "camera stream"]
        assert stream["stored"] == saved
        missing = set(range(1, int(numbers[-1]) + 1)) - {int(n) for n in numbers}
        assert len(missing) <= stream["lost"]
        assert ds.movie.values[-1].any(), "the last frame saved is a picture"
    finally:
        live.close()


def test_a_closed_page_costs_the_run_nothing(viky, data_root):
    run = labkit.run(CameraStream(viky, frames=150, name="movie"))
    live = live_view(run)  # shown, but nothing acknowledges: the tab was closed
    try:
        (view,) = live.cameras
        ds = run.wait(60)
        assert ds.movie.shape[0] == 150
        (stream,) = [e for e in ds.attrs["events"] if e["event"] == "camera stream"]
        assert stream["dropped"] == 0, "the run got every frame"
        assert view.channel.sent <= view.channel.max_in_flight + 2  # renders, then only pings
        queue_seen = view.source.counters.shown
        assert queue_seen <= view.channel.max_in_flight + 2
    finally:
        live.close()


def test_roi_changes_are_refused_while_the_view_belongs_to_a_recording_run(viky, data_root):
    run = labkit.run(CameraStream(viky, frames=5, name="movie"))
    live = live_view(run)
    try:
        with pytest.raises(ConfigurationError, match="records this camera"):
            live.cameras[0].apply_roi(Region(0, 0, 200, 200))
        run.wait(30)
    finally:
        live.close()
