"""Live camera views on a PVCAM camera: labkit's simulated libpvcam, loaded by path like the
vendor's, through the real driver. The same view as for GenICam; only the ROI adapter differs.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import numpy as np
import pytest

import labkit
from labkit.core import ConnectionLost, MissingVendorLibrary, Region
from labkit.runs import CameraStream
from labkit.ui import CameraRoi, CameraView, live_view, roi_control
from tests.ui.live_helpers import Page, read_picture, wait_for

try:
    from labkit.sim import pvcam as pvsim

    SIM_PATH = pvsim.library_path()
except MissingVendorLibrary:  # built without a C compiler
    SIM_PATH = None

pytestmark = pytest.mark.skipif(
    SIM_PATH is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)


@pytest.fixture
def bsi(unique_name: str) -> Iterator[labkit.PvcamCamera]:
    """The simulated Prime BSI (2048 × 2048), 10 ms exposures."""
    camera = labkit.PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name=unique_name, library=SIM_PATH)
    yield camera
    camera.close()


def unplug(camera: labkit.PvcamCamera) -> None:
    pvsim.controls(SIM_PATH).inject_fault(camera.handle, pvsim.Fault.CAM_REMOVED)


def test_a_pvcam_stream_shows_in_the_live_view_shrunk_in_the_kernel(bsi):
    view = CameraView(bsi, size=512, start=True)
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
        assert pixels.shape == (512, 512), "2048 × 2048 frames shrunk 1:4 before sending"
        assert "2048×2048 px shown 1:4" in html.unescape(view.counters.value)
        counters = view.source.counters
        # The rate the camera reaches depends on the machine's load; that it is measured and
        # shown does not.
        wait_for(lambda: counters.rate() > 0, what="the camera's frame rate")
        assert counters.frames >= 5
    finally:
        view.close()


def test_a_region_is_applied_through_set_rois_in_sensor_pixels_and_whole_bins(bsi):
    control = roi_control(bsi)
    assert isinstance(control, CameraRoi)
    view = CameraView(bsi, size=512, start=True)
    Page(view.channel)
    try:
        wait_for(lambda: view.picture.picture, what="a first picture")
        assert view.apply_roi(Region(101, 203, 500, 300)) == Region(101, 203, 500, 300)
        assert bsi.roi == "101,203,500,300"
        assert bsi.acquiring, "stopped around the change, then started again"
        wait_for(
            lambda: [view.x_scale.min, view.x_scale.max] == [101, 601],
            what="frames of the new region",
        )
        assert [view.y_scale.max, view.y_scale.min] == [503, 203]
        assert read_picture(view)[0].shape == (300, 500)

        bsi.stop()
        bsi.binning = "2x2"
        # 2 × 2 binning: the region is widened to whole binned pixels.
        assert control.apply(Region(101, 203, 500, 301)) == Region(100, 202, 502, 302, 2, 2)
        bsi.start()
        wait_for(lambda: read_picture(view)[0].shape == (151, 251))
        assert view.full_frame() == Region(0, 0, 2048, 2048, 2, 2)
    finally:
        view.close()


def test_an_unplugged_pvcam_camera_shows_its_error_in_the_view(bsi):
    view = CameraView(bsi, size=256, start=True)
    Page(view.channel)
    try:
        wait_for(lambda: view.picture.picture, what="a first picture")
        unplug(bsi)
        wait_for(lambda: view.error.layout.display is None, what="the error")
        text = html.unescape(view.error.value)
        assert "CameraRemoved" in text
        assert "reconnect()" in text
        assert "stopped" in view.status.value
    finally:
        view.close()


def test_a_run_streaming_pvcam_fails_cleanly_when_unplugged_and_keeps_its_frames(bsi, data_root):
    bsi.roi = "0,0,512,256"
    run = labkit.run(CameraStream(bsi, duration="30 s", name="movie"))
    live = live_view(run)
    try:
        (view,) = live.cameras
        Page(view.channel)
        wait_for(lambda: run.points >= 20, what="frames in the run")
        wait_for(lambda: view.picture.picture, what="a picture")
        unplug(bsi)
        with pytest.raises(ConnectionLost):
            run.wait(30)
        assert run.status == "failed"
        wait_for(lambda: "CameraRemoved" in view.error.value, what="the view's error")
        ds = run.dataset
        saved = ds.attrs["points_written"]
        assert saved >= 20
        assert ds.movie.shape == (saved, 256, 512)
        assert (np.diff(ds.movie_frame_number.values) > 0).all()
        assert ds.movie.values[-1].any()
    finally:
        live.close()
