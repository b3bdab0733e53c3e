"""snap, sequences and live acquisition through the driver, against the simulated libpvcam."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from labkit.core import AccessError, Frame, FrameQueue, InstrumentTimeout, Region
from labkit.drivers.cameras.pvcam import Param, PvcamCamera
from labkit.sim import pvcam as pvsim
from labkit.testing import record

STRIP = "0,0,512,64"  # 64 rows: a fraction of a millisecond to read out


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_snap_on_every_kinetix_port(kinetix_cam: PvcamCamera) -> None:
    lib, hcam = kinetix_cam.library, kinetix_cam.handle
    assert lib is not None
    assert hcam is not None
    kinetix_cam.metadata = True
    kinetix_cam.exposure = "3 ms"
    for port in kinetix_cam.settings.readout_port.spec.choices or ():
        kinetix_cam.readout_port = port
        frame = kinetix_cam.snap()
        container = lib.get_param(hcam, Param.IMAGE_FORMAT_HOST)
        assert frame.pixels.dtype == (np.uint8 if container == 2 else np.uint16), port
        assert frame.pixels.shape == kinetix_cam.sensor_shape
        assert frame.number == 1
        assert frame.exposure == pytest.approx(3e-3)
        assert frame.hardware_timestamp is not None
        assert frame.metadata["bit_depth"] == kinetix_cam.bit_depth
        assert int(frame.pixels.max()) < 2**kinetix_cam.bit_depth
        assert int(frame.pixels.max()) > int(frame.pixels.min())  # a scene, not a blank
        assert frame.regions == (Region(0, 0, 3200, 3200),)
    assert kinetix_cam.readout_port == "Sub-Electron"
    assert frame.pixels.dtype == np.uint16


def test_speed_port_is_8_bit(kinetix_cam: PvcamCamera) -> None:
    kinetix_cam.set_readout("Speed")
    frame = kinetix_cam.snap()
    assert frame.pixels.dtype == np.uint8
    assert frame.metadata["image_format"] == "MONO8"


def test_a_sequence_with_metadata(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "2 ms"
    frames = bsi_cam.sequence(6)
    assert [f.number for f in frames] == [1, 2, 3, 4, 5, 6]
    stamps = [f.hardware_timestamp for f in frames]
    assert all(isinstance(s, float) for s in stamps)
    gaps = np.diff(np.array(stamps, dtype=float))
    assert (gaps >= 2e-3 * 0.999).all()  # one frame per exposure at least
    assert all(f.exposure == pytest.approx(2e-3) for f in frames)
    hosts = [f.timestamp for f in frames]
    assert hosts == sorted(hosts)
    assert all(f.pixels.shape == (64, 512) for f in frames)
    eof = [f.metadata["timestamp_eof"] for f in frames]
    assert all(e > s for e, s in zip(eof, stamps, strict=True))


def test_frames_without_metadata_decode_from_the_known_shape(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = False
    bsi_cam.binning = "2x2"
    bsi_cam.roi = "100,50,300,200"
    frames = bsi_cam.sequence(3)
    assert [f.number for f in frames] == [1, 2, 3]
    for frame in frames:
        assert frame.pixels.shape == (100, 150)
        assert frame.hardware_timestamp is None
        assert frame.exposure == pytest.approx(bsi_cam.exposure)
        assert frame.regions == (Region(100, 50, 300, 200, 2, 2),)
        assert frame.metadata["header_version"] == 0
        assert frame.metadata["origin"] == (100, 50)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_header_versions_through_the_driver(
    kinetix_cam: PvcamCamera, controls: pvsim.SimulatedPvcam, version: int
) -> None:
    assert kinetix_cam.handle is not None
    controls.set_header_version(kinetix_cam.handle, version)
    kinetix_cam.metadata = True
    kinetix_cam.set_readout("Speed")  # 8-bit, except that version 1 knows only 16-bit
    kinetix_cam.roi = "0,0,640,480; 1000,1000,320,240"
    kinetix_cam.exposure = "1.5 ms"
    first, second = kinetix_cam.sequence(2)
    assert first.metadata["header_version"] == version
    assert first.pixels.dtype == (np.uint16 if version == 1 else np.uint8)
    assert len(first.regions) == 2
    assert first.exposure == pytest.approx(1.5e-3)
    assert second.hardware_timestamp > first.hardware_timestamp  # type: ignore[operator]
    period = second.hardware_timestamp - first.hardware_timestamp  # type: ignore[operator]
    assert period >= 1.5e-3 * 0.999
    rois = first.metadata["rois"]
    assert [r["region"] for r in rois] == list(first.regions)
    if version < 3:  # ROI timestamps have a documented unit only before version 3
        assert rois[0]["timestamp_eor_s"] >= rois[0]["timestamp_bor_s"]


def test_software_trigger_mode_is_triggered_by_snap(kinetix_cam: PvcamCamera) -> None:
    kinetix_cam.trigger_mode = "Software Trigger Edge"
    kinetix_cam.roi = STRIP
    frames = kinetix_cam.sequence(3, timeout=20)
    assert [f.number for f in frames] == [1, 2, 3]


def test_hardware_trigger_mode_waits_for_the_trigger(
    kinetix_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    kinetix_cam.trigger_mode = "Edge Trigger"
    kinetix_cam.roi = STRIP
    with pytest.raises(InstrumentTimeout, match="Edge Trigger") as caught:
        kinetix_cam.snap(timeout=0.3)
    assert "0 of 1 frames" in str(caught.value)
    hcam = kinetix_cam.handle
    assert hcam is not None
    done = threading.Event()

    def fire() -> None:
        while not done.wait(0.02):
            try:
                controls.hardware_trigger(hcam)
            except Exception:
                pass  # not acquiring yet (or any more)

    trigger = threading.Thread(target=fire)
    trigger.start()
    try:
        frame = kinetix_cam.snap(timeout=20)
    finally:
        done.set()
        trigger.join()
    assert frame.number == 1


def drain(queue: FrameQueue) -> list[Frame]:
    frames = []
    while (frame := queue.get_nowait()) is not None:
        frames.append(frame)
    return frames


def test_live_with_a_fast_and_a_slow_subscriber(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "3 ms"
    fast = bsi_cam.subscribe(maxsize=4096)
    slow = bsi_cam.subscribe(maxsize=1)
    received: list[Frame] = []
    slow_numbers: list[int] = []
    stop = threading.Event()

    def fast_consumer() -> None:
        while not stop.is_set():
            try:
                received.append(fast.get(timeout=0.05))
            except TimeoutError:
                pass

    def slow_consumer() -> None:
        # Slow by construction, whatever the machine's load: ten frames come per frame taken.
        while not stop.is_set():
            target = bsi_cam.broadcaster.published + 10
            while bsi_cam.broadcaster.published < target and not stop.is_set():
                time.sleep(0.002)
            frame = slow.get_nowait()
            if frame is not None:
                slow_numbers.append(frame.number)

    workers = [threading.Thread(target=fast_consumer), threading.Thread(target=slow_consumer)]
    for worker in workers:
        worker.start()
    bsi_cam.start()
    try:
        assert bsi_cam.acquiring
        assert wait_until(lambda: len(slow_numbers) >= 8 and len(received) >= 150)
    finally:
        bsi_cam.stop()
        stop.set()
        for worker in workers:
            worker.join()
    assert not bsi_cam.acquiring
    received += drain(fast)
    published = bsi_cam.broadcaster.published
    stats = bsi_cam.stats
    assert stats is not None
    assert stats["frames"] == published
    # The fast consumer got every published frame it did not drop, in order; every gap in the
    # numbers is a frame it dropped or one the camera lost before publishing.
    numbers = [f.number for f in received]
    assert numbers == sorted(set(numbers))
    assert len(received) + fast.dropped == published
    assert numbers[-1] - numbers[0] + 1 - len(numbers) <= fast.dropped + stats["lost"]
    # The slow one kept the newest frame and counted the ones it never saw.
    assert slow.dropped > 0
    assert slow_numbers == sorted(slow_numbers)
    assert slow.delivered + slow.dropped + len(slow) == published
    assert not fast.closed
    assert not slow.closed


def test_frames_reach_asyncio_consumers(bsi_cam: PvcamCamera) -> None:
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "2 ms"
    queue = bsi_cam.subscribe(maxsize=64)

    async def consume() -> list[int]:
        numbers = []
        async for frame in queue:
            numbers.append(frame.number)
            if len(numbers) == 20:
                break
        return numbers

    bsi_cam.start()
    try:
        numbers = asyncio.run(asyncio.wait_for(consume(), timeout=30))
    finally:
        bsi_cam.stop()
    assert numbers == sorted(numbers)
    assert len(numbers) == 20


def test_snap_and_sequence_while_live_take_the_next_frames(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "2 ms"
    watch = bsi_cam.subscribe(maxsize=1)
    bsi_cam.start()
    try:
        first = watch.get(timeout=30)
        frame = bsi_cam.snap(timeout=30)
        assert frame.number > first.number
        frames = bsi_cam.sequence(5, timeout=30)
        numbers = [f.number for f in frames]
        assert numbers == sorted(set(numbers))
        assert numbers[0] > frame.number
        assert bsi_cam.acquiring
    finally:
        bsi_cam.stop()


def test_a_change_while_live_restarts_with_the_new_setting(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "2 ms"
    queue = bsi_cam.subscribe(maxsize=4096)
    bsi_cam.start()
    try:
        assert queue.get(timeout=30).exposure == pytest.approx(2e-3)
        bsi_cam.exposure = "4 ms"
        bsi_cam.roi = "100,200,512,64"  # moved, same size: the frames stay alike
        bsi_cam.gain = "Sensitivity"  # another gain of the same 16-bit container
        assert bsi_cam.acquiring
        bsi_cam.temperature_setpoint = -10  # the cooler changes without a restart

        def changed() -> bool:
            return any(
                f.exposure == pytest.approx(4e-3) and f.regions[0].x == 100 for f in drain(queue)
            )

        assert wait_until(changed)
    finally:
        bsi_cam.stop()
    assert not queue.closed


def test_a_change_of_frame_shape_or_type_is_refused_while_live(kinetix_cam: PvcamCamera) -> None:
    kinetix_cam.set_readout("Dynamic Range")
    kinetix_cam.roi = STRIP
    queue = kinetix_cam.subscribe(maxsize=8)
    kinetix_cam.start()
    try:
        queue.get(timeout=30)
        refusals = {
            "roi": "0,0,256,64",
            "binning": "2x2",
            "readout_port": "Speed",  # 8-bit frames
            "roi_coordinates": "sensor",
        }
        for name, value in refusals.items():
            before = getattr(kinetix_cam, name)
            with (
                record(kinetix_cam) as log,
                pytest.raises(AccessError, match=r"stop\(\)") as caught,
            ):
                kinetix_cam.set(name, value)
            assert log.sent == [], name
            assert caught.value.setting == name
            assert getattr(kinetix_cam, name) == before
        with pytest.raises(AccessError):
            kinetix_cam.set_rois([Region(0, 0, 512, 128)])
        assert kinetix_cam.acquiring
        queue.get(timeout=30)  # still streaming
    finally:
        kinetix_cam.stop()
    kinetix_cam.readout_port = "Speed"  # stopped: fine
    assert kinetix_cam.snap().pixels.dtype == np.uint8


def test_a_sequence_too_large_for_one_buffer_streams_instead(
    kinetix_cam: PvcamCamera, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = kinetix_cam._fits_sequence
    assert not kinetix_cam._worker.call(fits, 220)  # 220 full frames: more than 4 GiB
    kinetix_cam.roi = STRIP
    assert kinetix_cam._worker.call(fits, 220)
    assert not kinetix_cam._worker.call(fits, 70000)  # more frames than PVCAM counts
    monkeypatch.setattr(type(kinetix_cam), "_fits_sequence", lambda self, frames: False)
    kinetix_cam.exposure = "1 ms"
    frames = kinetix_cam.sequence(5, timeout=30)
    numbers = [f.number for f in frames]
    assert len(numbers) == 5
    assert numbers == sorted(set(numbers))
    assert not kinetix_cam.acquiring


def test_live_frames_never_change_under_a_consumer(bsi_cam: PvcamCamera) -> None:
    # Far more frames pass than the ring (4 slots) and the output pool hold: frames and views a
    # consumer keeps must still show the pixels they arrived with.
    bsi_cam.metadata = True
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "1 ms"
    bsi_cam.buffer_frames = 4
    kept = bsi_cam.subscribe(maxsize=3)
    flow = bsi_cam.subscribe(maxsize=1)
    bsi_cam.start()
    try:
        frames = [kept.get(timeout=30) for _ in range(3)]
        view = frames[1].pixels[8:16, 100:200]  # a view keeps its array out of reuse too
        copies = [f.pixels.copy() for f in frames]
        view_copy = view.copy()
        del frames[1]
        assert wait_until(lambda: bsi_cam.broadcaster.published > 60)
    finally:
        bsi_cam.stop()
    assert flow.dropped > 0
    np.testing.assert_array_equal(frames[0].pixels, copies[0])
    np.testing.assert_array_equal(frames[1].pixels, copies[2])
    np.testing.assert_array_equal(view, view_copy)
    assert not np.shares_memory(frames[0].pixels, frames[1].pixels)
