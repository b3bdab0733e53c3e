"""A third camera family built from the camera base alone (``toy_camera.py``, under 150 lines):
its settings come from its SDK at connect through the one declaration path, it streams into a
run, it shows in a camera view (headless), it crops through the Camera protocol, and it keeps
the camera contract every family keeps."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import numpy as np
import pytest
import toy_camera
from toy_camera import ToyCamera, ToyLink

import labkit
from labkit.core import ConfigurationError, LimitError, Region
from labkit.runs import CameraStream, FrameStep
from labkit.testing import CameraConformance, record
from labkit.ui import CameraRoi, CameraView, live_view, roi_control
from tests.ui.live_helpers import Page, read_picture, wait_for


@pytest.fixture
def toy(unique_name: str) -> Iterator[ToyCamera]:
    camera = ToyCamera("toy://one", name=unique_name)
    yield camera
    camera.close()


def test_a_camera_family_is_a_link_a_mapping_and_a_stream_in_under_150_lines() -> None:
    lines = inspect.getsource(toy_camera).splitlines()
    assert len(lines) < 150
    assert ToyCamera.declarations() == {}  # nothing declared before the device says


def test_its_settings_come_from_the_device_when_it_connects(toy: ToyCamera) -> None:
    assert toy.settings.names() == ["exposure", "gain"]
    assert toy.readings.names() == ["temperature"]
    assert type(toy).declarations()["exposure"].unit == "s"
    assert toy.driver_class is ToyCamera
    toy.exposure = "5 ms"
    assert toy.link.values["exposure"] == pytest.approx(5e-3)
    assert toy.read("temperature") == 21.5
    with record(toy) as log, pytest.raises(LimitError, match="above the upper hard limit 16"):
        toy.gain = 40
    assert log.sent == []
    assert toy.snapshot()["settings"]["gain"]["max"] == 16


def test_rerunning_the_cell_returns_the_camera_before_opening_anything(toy: ToyCamera) -> None:
    opened = ToyLink.opened
    again = ToyCamera("toy://one", name=toy.name)
    assert again is toy
    assert ToyLink.opened == opened
    with pytest.raises(ConfigurationError, match="already open"):
        ToyCamera("toy://two", name=toy.name)
    assert ToyLink.opened == opened


def test_it_streams_into_a_run(toy: ToyCamera, tmp_path) -> None:
    step = CameraStream(toy, frames=25, name="toy")
    assert isinstance(step, FrameStep)
    assert step.continuous
    data = labkit.run(step, data_root=tmp_path, progress=False).wait(timeout=60)
    numbers = data["toy_frame_number"].values
    assert len(numbers) == 25
    assert (np.diff(numbers) >= 1).all()
    assert data["toy"].shape == (25, 96, 128)
    assert data["toy"].values[0, 0, 0] == numbers[0]
    assert not toy.acquiring


def test_it_shows_in_a_camera_view_and_crops_through_the_camera(toy: ToyCamera) -> None:
    assert isinstance(roi_control(toy), CameraRoi)
    view = CameraView(toy, size=128, start=True)
    Page(view.channel)
    try:
        wait_for(lambda: view.picture.picture, what="a first picture")
        assert read_picture(view)[0].shape == (96, 128)
        applied = view.apply_roi(Region(10, 5, 31, 20))
        assert applied == Region(8, 4, 36, 24)  # whole 4-pixel steps holding the selection
        assert toy.acquiring, "stopped for the change and started again"
        wait_for(lambda: read_picture(view)[0].shape == (24, 36))
        assert view.full_frame() == Region(0, 0, 128, 96)
    finally:
        view.close()


def test_a_run_of_it_shows_in_the_runs_live_view(toy: ToyCamera, tmp_path) -> None:
    run = labkit.run(CameraStream(toy, duration=0.3, name="toy"), data_root=tmp_path)
    live = live_view(run)
    try:
        assert len(live.cameras) == 1
        assert live.cameras[0].camera is toy
        run.wait(timeout=60)
    finally:
        live.close()


def test_a_region_outside_the_sensor_is_refused(toy: ToyCamera) -> None:
    with pytest.raises(ConfigurationError, match="outside"):
        toy.set_region(Region(500, 500, 10, 10))
    # Reaching past one edge is refused too, never cut to fit: the message says where.
    with pytest.raises(ConfigurationError, match=r"x 100…163.*x 0…127"):
        toy.set_region(Region(100, 0, 64, 10))
    with pytest.raises(ConfigurationError, match="empty"):
        toy.set_region(Region(0, 0, 0, 10))
    assert toy.region == Region(0, 0, 128, 96)


class TestToyConformance(CameraConformance):
    def open_camera(self) -> ToyCamera:
        return ToyCamera("toy://conformance", name="toy_conformance")
