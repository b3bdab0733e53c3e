"""A GenICam camera as a labkit instrument: devices, node-map settings, snaps, streams, faults.

Expected values come from the camera's node map (read with genicam directly), not from
numbers written here.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from labkit import (
    AccessError,
    ChoiceError,
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    NotConnectedError,
)
from labkit.core import Camera, Frame, FrameQueue
from labkit.drivers.cameras.genicam import GenICamCamera, list_cameras
from labkit.testing import record

RED = "genicam://VikyTL_DEV_red@viky"
Opener = Callable[..., GenICamCamera]


def node(camera: GenICamCamera, name: str) -> Any:
    return camera.node_map.get_node(name)


def acquisition_threads(camera: GenICamCamera) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"labkit-{camera.name}-acquisition"]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def drain(queue: FrameQueue, timeout: float = 10.0) -> None:
    """Read until the stream ends, raising what ended it (TimeoutError if a frame is late)."""
    while True:
        queue.get(timeout=timeout)


def take(queue: FrameQueue, count: int, timeout: float = 10.0) -> list[Frame]:
    return [queue.get(timeout=timeout) for _ in range(count)]


# ----------------------------------------------------------------------------- devices


def test_list_cameras_reports_each_device_of_the_producer(viky: Any) -> None:
    cameras = list_cameras("viky")
    assert [c.id for c in cameras] == ["VikyTL_DEV_red", "VikyTL_DEV_green", "VikyTL_DEV_blue"]
    for info in cameras:
        assert info.vendor
        assert info.model
        assert info.serial != ""
        assert info.producer.path == viky
        assert info.address == f"genicam://{info.id}@viky"
    assert len({c.serial for c in cameras}) == 3


def test_a_camera_opens_by_serial_and_is_a_labkit_camera(open_camera: Opener) -> None:
    green = next(c for c in list_cameras("viky") if c.id == "VikyTL_DEV_green")
    camera = open_camera(f"genicam://{green.serial}@viky")
    assert isinstance(camera, Camera)
    assert camera.connected
    assert camera.identity is not None
    assert camera.identity["id"] == green.id
    assert camera.identity["vendor"] == green.vendor
    assert camera.identity["model"] == green.model
    height, width = camera.sensor_shape
    assert (height, width) == (node(camera, "Height").max, node(camera, "Width").max)


def test_opening_a_camera_keeps_the_interpreters_ctrl_c_handler(open_camera: Opener) -> None:
    # harvesters replaces it (and then swallows Ctrl-C) when an acquirer is made on the main thread
    before = signal.getsignal(signal.SIGINT)
    camera = open_camera()
    camera.reconnect()
    assert signal.getsignal(signal.SIGINT) is before


def test_unknown_and_ambiguous_devices_are_refused_with_the_list(open_camera: Opener) -> None:
    with pytest.raises(InstrumentError, match="no camera 'nope'") as caught:
        open_camera("genicam://nope@viky")
    assert "genicam://VikyTL_DEV_red@viky" in str(caught.value)
    with pytest.raises(ConfigurationError, match="matches 3 cameras"):
        open_camera("genicam://@viky")


def test_rerunning_the_cell_returns_the_open_camera(open_camera: Opener) -> None:
    camera = open_camera(RED, name="cam")
    assert GenICamCamera(RED, name="cam") is camera
    with pytest.raises(ConfigurationError, match="already open"):
        GenICamCamera("genicam://VikyTL_DEV_blue@viky", name="cam")


def test_cameras_of_one_producer_work_side_by_side_and_listing_spares_them(
    open_camera: Opener,
) -> None:
    red = open_camera(RED, name="red")
    green = open_camera("genicam://VikyTL_DEV_green@viky", name="green")
    red.start()
    try:
        queue = red.subscribe(4)
        # Refreshing harvesters' device list would destroy open acquirers: listing must not.
        assert len(list_cameras("viky")) == 3
        assert green.snap().number == 1
        assert queue.get(timeout=10).pixels.size > 0
    finally:
        red.stop()
    with pytest.raises(ConfigurationError, match="already open in this process"):
        open_camera("genicam://0@viky", name="red_again")  # red's serial number


def test_a_camera_is_not_message_based(camera: GenICamCamera) -> None:
    with pytest.raises(ConfigurationError, match="not message-based"):
        camera.write("Width 100")


# ----------------------------------------------------------------------------- node-map settings

_KINDS = {2: "int", 3: "bool", 5: "float", 6: "str", 9: "enum"}


def test_settings_carry_the_node_maps_kinds_limits_units_and_choices(
    camera: GenICamCamera,
) -> None:
    checked = 0
    for handle in camera.settings:
        spec = handle.spec
        gen = node(camera, camera.features[handle.name].node)
        kind = _KINDS[gen.node.principal_interface_type]
        assert spec.kind == kind or (kind == "enum" and spec.kind == "str"), handle.name
        assert gen.node.name in spec.doc
        writable = spec.writable
        if writable and kind in ("int", "float"):
            assert (spec.min, spec.max) == (gen.min, gen.max), handle.name
            if kind == "int":
                assert spec.step == gen.inc, handle.name
                assert all(type(v) is int for v in (spec.min, spec.max, spec.step)), handle.name
            elif gen.has_inc():
                assert spec.step == gen.inc, handle.name
            assert spec.unit == (gen.unit or None), handle.name
            checked += 1
        if writable and spec.kind == "enum":
            assert set(spec.choices) == set(gen.symbolics), handle.name
            checked += 1
        if gen.node.get_access_mode() in (3, 4):
            assert handle.value == gen.value, handle.name
    assert checked >= 4  # width, height, frame rate, pixel format at least


def test_features_the_camera_lacks_are_simply_absent(camera: GenICamCamera) -> None:
    for missing in ("ExposureTime", "DeviceModelName", "TestPattern"):
        assert not hasattr(camera.node_map, missing)
        with pytest.raises(AttributeError):
            camera.feature(missing)
    assert "exposure_time" not in camera.settings
    assert camera.feature("Width") is camera.settings.width
    assert camera.feature("AcquisitionFrameRate").spec.unit == "Hz"


def test_driver_owned_and_invisible_nodes_are_not_settings(camera: GenICamCamera) -> None:
    names = {h.name for h in camera.settings} | {h.name for h in camera.actions}
    assert "acquisition_start" not in names
    assert "acquisition_stop" not in names
    assert "tl_params_locked" not in names  # harvesters locks it around acquisition
    assert "fancy_ball_operation" in camera.actions  # a Command becomes an Action
    assert camera.actions.fancy_ball_operation.spec.doc


def test_guru_visibility_exposes_more_features(open_camera: Opener) -> None:
    beginner = open_camera(RED, visibility="beginner")
    names = {h.name for h in beginner.settings}
    beginner.close()
    guru = open_camera(RED, visibility="guru", name="guru_camera")
    more = {h.name for h in guru.settings}
    assert names < more
    assert {"width", "height", "pixel_format", "acquisition_frame_rate"} <= names


def test_settings_take_effect_in_snapped_frames(camera: GenICamCamera) -> None:
    width_node, height_node = node(camera, "Width"), node(camera, "Height")
    camera.width = width_node.min + 2 * width_node.inc
    camera.height = height_node.min + height_node.inc
    camera.pixel_format = "Mono8"
    frame = camera.snap()
    assert frame.pixels.shape == (camera.height, camera.width)
    assert frame.pixels.dtype == np.uint8
    assert (width_node.value, height_node.value) == (camera.width, camera.height)
    camera.pixel_format = "RGBa8"
    frame = camera.snap()
    assert frame.pixels.shape == (camera.height, camera.width, 4)
    assert frame.metadata["pixel_format"] == "RGBa8"
    (region,) = frame.regions
    assert region.shape == (camera.height, camera.width)
    assert frame.exposure is None  # viky has no ExposureTime


def test_the_frame_rate_is_set_on_the_node_and_shown_as_a_quantity(
    camera: GenICamCamera,
) -> None:
    rate = node(camera, "AcquisitionFrameRate")
    target = rate.min + rate.inc * math.floor((rate.max - rate.min) / rate.inc / 3)
    camera.acquisition_frame_rate = f"{target * 1000} mHz"
    assert rate.value == pytest.approx(target)
    assert camera.acquisition_frame_rate == pytest.approx(target)


def test_out_of_range_and_off_grid_values_are_refused_before_any_node_write(
    camera: GenICamCamera,
) -> None:
    width, rate = node(camera, "Width"), node(camera, "AcquisitionFrameRate")
    before = (width.value, rate.value, node(camera, "PixelFormat").value)
    with record(camera) as log:
        with pytest.raises(LimitError, match=str(width.max)):
            camera.width = width.max + width.inc
        with pytest.raises(LimitError):
            camera.width = width.min - width.inc
        with pytest.raises(LimitError, match="steps of"):
            camera.acquisition_frame_rate = rate.min + rate.inc / 2
        with pytest.raises(ChoiceError):
            camera.pixel_format = "Mono17"
    assert log.sent == []
    assert (width.value, rate.value, node(camera, "PixelFormat").value) == before
    assert camera.settings.width.state.error  # the refusal is visible on the setting


def test_limits_and_choices_follow_the_features_they_depend_on(camera: GenICamCamera) -> None:
    intensity = set(camera.settings.pixel_format.spec.choices)
    camera.component_selector = "Range"  # PixelFormat now describes the 3D component
    assert set(camera.settings.pixel_format.spec.choices) == set(
        node(camera, "PixelFormat").symbolics
    )
    assert set(camera.settings.pixel_format.spec.choices) != intensity
    assert camera.pixel_format == node(camera, "PixelFormat").value
    camera.component_selector = "Intensity"
    assert set(camera.settings.pixel_format.spec.choices) == intensity


def test_a_locked_feature_is_refused_with_the_reason(camera: GenICamCamera) -> None:
    assert node(camera, "ComponentEnable").node.get_access_mode() == 3  # locked by viky
    with pytest.raises(AccessError, match="locked"):
        camera.component_enable = False


def test_the_snapshot_is_plain_json(camera: GenICamCamera) -> None:
    snapshot = json.loads(json.dumps(camera.snapshot(), allow_nan=False))
    assert snapshot["settings"]["width"]["max"] == node(camera, "Width").max
    assert snapshot["identity"]["id"] == "VikyTL_DEV_red"


# ----------------------------------------------------------------------------- frames


def test_snap_gives_numbered_host_timestamped_frames(camera: GenICamCamera) -> None:
    before = time.time()
    frame = camera.snap(timeout=5)
    assert frame.number == 1
    assert before <= frame.timestamp <= time.time()
    assert frame.pixels.flags.owndata  # copied out of the camera's buffer
    assert frame.metadata["frame_id"] is not None
    assert "ChunkNrBounces" in frame.metadata.get("chunks", {})


def test_a_snap_without_a_frame_in_time_is_a_timeout_not_a_hang(camera: GenICamCamera) -> None:
    rate = node(camera, "AcquisitionFrameRate")
    usual = camera.acquisition_frame_rate
    camera.acquisition_frame_rate = rate.min  # viky's first frame comes one period after start
    with pytest.raises(InstrumentTimeout, match="no frame arrived") as caught:
        camera.snap(timeout=0.05 / rate.min)
    assert caught.value.instrument == camera.name
    camera.acquisition_frame_rate = usual
    assert camera.snap(timeout=30).number == 1  # and the camera is fine afterwards


def test_device_timestamps_become_seconds() -> None:
    from labkit.drivers.cameras.genicam._link import GenICamLink

    class Buffer:
        def __init__(self, **fields: int) -> None:
            self.fields = fields

        def __getattr__(self, name: str) -> int:
            if name in self.fields:
                return self.fields[name]
            raise RuntimeError("GenTL: not available")  # what a producer without it does

    link = GenICamLink(RED)
    assert link._device_time(Buffer(timestamp_ns=2_500_000_000)) == pytest.approx(2.5)
    link._tick_seconds = 1e-6  # a 1 MHz device clock
    assert link._device_time(Buffer(timestamp=3_000_000)) == pytest.approx(3.0)
    assert link._device_time(Buffer()) is None


def test_the_ball_moves_between_frames(camera: GenICamCamera) -> None:
    camera.pixel_format = "Mono8"
    queue = camera.subscribe(8)
    camera.start()
    try:
        first, *rest = take(queue, 4)
    finally:
        camera.stop()
    assert any(np.any(first.pixels != later.pixels) for later in rest)


def test_streaming_feeds_a_fast_and_a_slow_subscriber(camera: GenICamCamera) -> None:
    camera.acquisition_frame_rate = 50
    fast = camera.subscribe(maxsize=1000)
    slow = camera.subscribe(maxsize=1)
    camera.start()
    try:
        assert camera.acquiring
        assert wait_until(lambda: camera.broadcaster.published >= 25)
    finally:
        camera.stop()
    assert not camera.acquiring
    published = camera.broadcaster.published
    frames = [fast.get_nowait() for _ in range(len(fast))]
    assert len(frames) == published  # the fast one got every frame
    assert fast.dropped == 0
    numbers = [f.number for f in frames]
    ids = [f.metadata["frame_id"] for f in frames]
    # Numbers follow the camera's block ids, so a frame the producer itself skipped (a loaded
    # machine) shows as a gap in both, never as a renumbering.
    assert numbers[0] == 1
    assert [n - 1 for n in numbers] == [i - ids[0] for i in ids]
    assert len(slow) == 1
    assert slow.dropped == published - 1
    assert slow.get_nowait().number == numbers[-1]
    assert not acquisition_threads(camera)


def test_stop_then_start_again_restarts_the_numbering(camera: GenICamCamera) -> None:
    queue = camera.subscribe(64)
    for _ in range(2):
        camera.start()
        try:
            frames = take(queue, 3)
        finally:
            camera.stop()
        assert [f.number for f in frames] == [1, 2, 3]
        while queue.get_nowait() is not None:
            pass
    assert not queue.closed  # stop() leaves subscribers subscribed


def test_settings_that_change_the_buffers_wait_for_stop(camera: GenICamCamera) -> None:
    width = camera.width
    camera.start()
    try:
        with pytest.raises(AccessError, match="stop"):
            camera.width = width + node(camera, "Width").inc
        camera.bouncing_ball_size = node(camera, "BouncingBallSize").min  # others change live
        frame = camera.snap()  # while acquiring, snap takes the next streamed frame
    finally:
        camera.stop()
    assert frame.pixels.shape[1] == width == node(camera, "Width").value


def test_close_releases_the_camera_and_its_producer(open_camera: Opener) -> None:
    from harvesters.core import Harvester

    from labkit.drivers.cameras.genicam import simulated_producer

    camera = open_camera(RED)
    camera.start()
    camera.close()
    assert not camera.connected
    assert not acquisition_threads(camera)
    assert camera.link is not None
    assert not camera.link.is_open
    # The producer was released: a Harvester of its own can load it and see every camera.
    with Harvester() as harvester:
        harvester.add_file(str(simulated_producer()))
        harvester.update()
        assert len(harvester.device_info_list) == 3
    again = open_camera(RED, name="reopened")
    assert again.snap().pixels.size > 0


def test_an_unplugged_camera_fails_every_consumer_and_ends_the_thread(
    camera: GenICamCamera,
) -> None:
    first, second = camera.subscribe(64), camera.subscribe(1)
    camera.start()
    take(first, 2)
    link = camera.link
    with link.lock:  # pull the plug: the GenTL device handle goes away under the stream
        link.acquirer.device.module.close()
    for queue in (first, second):
        with pytest.raises(ConnectionLost) as caught:
            drain(queue)
        assert caught.value.instrument == camera.name
        assert caught.value.resource == RED
        assert "reconnect" in str(caught.value)
    assert wait_until(lambda: not acquisition_threads(camera))
    assert not camera.acquiring
    assert not camera.connected
    with pytest.raises(NotConnectedError):
        camera.snap()
    camera.reconnect()
    assert camera.connected
    assert camera.snap().number == 1
