"""The contract every labkit camera keeps, as a test suite a camera driver inherits.

Runs and live views rely on :class:`labkit.core.Camera` and on how frames travel: every
subscriber gets its own bounded queue, a slow one drops its oldest frames and counts them, a stop
leaves queues open for the next start, unsubscribing or closing ends a stream. ::

    class TestMyCamera(CameraConformance):
        def open_camera(self):
            cam = MyCamera("mycam://simulated", name="cam")
            cam.exposure = "1 ms"     # keep the suite fast
            return cam

Every check counts frames rather than timing them, with generous timeouts, so it holds on a
loaded machine.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from labkit.core import Camera, ConfigurationError, Frame, FrameQueue, Region, StreamClosed

__all__ = ["CameraConformance"]


def _frames(queue: FrameQueue, count: int, timeout: float) -> list[Frame]:
    deadline = time.monotonic() + timeout
    frames: list[Frame] = []
    while len(frames) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{len(frames)} of {count} frames arrived within {timeout} s")
        try:
            frames.append(queue.get(timeout=remaining))
        except TimeoutError:
            continue
    return frames


def _end_of(queue: FrameQueue, timeout: float) -> BaseException:
    """Read past the frames still queued (they stay readable) to how the stream ended."""
    try:
        while True:
            queue.get(timeout=timeout)
    except (StreamClosed, TimeoutError) as end:
        return end


class CameraConformance:
    """Subclass and implement ``open_camera()``; pytest checks the camera contract.

    ``timeout`` bounds every wait for frames (seconds).
    """

    timeout: float = 30.0

    def open_camera(self) -> Any:
        """Open the camera on its simulator, set up to deliver frames quickly."""
        raise NotImplementedError("implement open_camera() to open the camera on a simulator")

    @pytest.fixture
    def camera(self) -> Iterator[Any]:
        camera = self.open_camera()
        try:
            yield camera
        finally:
            try:
                if camera.acquiring:
                    camera.stop()
            finally:
                camera.close()

    def check_frame(self, frame: Any) -> None:
        """What every frame must be; extend it for what a driver promises beyond."""
        assert isinstance(frame, Frame), f"{type(frame).__name__} is not a labkit Frame"
        pixels = np.asarray(frame.pixels)
        assert pixels.ndim in (2, 3), f"pixels have {pixels.ndim} dimensions"
        assert pixels.size > 0
        assert isinstance(frame.number, int)
        assert frame.number >= 1
        assert isinstance(frame.timestamp, float)
        assert abs(frame.timestamp - time.time()) < 3600, "timestamp is not the host's time"
        for value in (frame.hardware_timestamp, frame.exposure):
            assert value is None or isinstance(value, float)
        assert frame.exposure is None or frame.exposure >= 0
        assert isinstance(frame.regions, tuple)
        assert all(isinstance(r, Region) for r in frame.regions)
        assert isinstance(frame.metadata, Mapping)

    # -- the protocol --------------------------------------------------------------------

    def test_follows_the_camera_protocol(self, camera: Any) -> None:
        assert isinstance(camera, Camera)
        assert isinstance(camera.name, str)
        assert camera.name
        rows, columns = camera.sensor_shape
        assert isinstance(rows, int)
        assert isinstance(columns, int)
        assert rows > 0
        assert columns > 0
        assert camera.acquiring is False
        assert "timeout" in inspect.signature(camera.snap).parameters
        assert "maxsize" in inspect.signature(camera.subscribe).parameters

    def test_snap_returns_a_frame(self, camera: Any) -> None:
        frame = camera.snap(self.timeout)
        self.check_frame(frame)
        rows, columns = camera.sensor_shape
        assert frame.pixels.shape[0] <= rows
        assert frame.pixels.shape[1] <= columns
        if len(frame.regions) == 1:
            assert frame.pixels.shape[:2] == frame.regions[0].shape
        assert not camera.acquiring

    def test_snapped_pixels_stay_put(self, camera: Any) -> None:
        first = camera.snap(self.timeout)
        kept = np.array(first.pixels, copy=True)
        camera.snap(self.timeout)
        np.testing.assert_array_equal(first.pixels, kept)

    # -- live acquisition ----------------------------------------------------------------

    def test_every_subscriber_gets_the_frames_in_order(self, camera: Any) -> None:
        one, two = camera.subscribe(maxsize=256), camera.subscribe(maxsize=256)
        camera.start()
        try:
            assert camera.acquiring
            got = [_frames(q, 5, self.timeout) for q in (one, two)]
        finally:
            camera.stop()
        assert not camera.acquiring
        for frames in got:
            numbers = [f.number for f in frames]
            assert numbers == sorted(set(numbers))
            self.check_frame(frames[0])
        assert got[0][0].number == got[1][0].number  # both subscribed before the start
        assert not one.closed  # a stop leaves queues open for the next start
        assert not two.closed

    def test_a_slow_subscriber_drops_its_oldest_frames_and_counts_them(self, camera: Any) -> None:
        fast, slow = camera.subscribe(maxsize=256), camera.subscribe(maxsize=1)
        camera.start()
        try:
            frames = _frames(fast, 6, self.timeout)
        finally:
            camera.stop()
        newest = slow.get_nowait()
        assert newest is not None
        assert newest.number >= frames[-1].number  # it kept the newest
        assert slow.dropped >= len(frames) - 1
        assert slow.delivered == 1

    def test_frames_reach_asyncio(self, camera: Any) -> None:
        queue = camera.subscribe(maxsize=64)

        async def take(count: int) -> list[int]:
            numbers = []
            async for frame in queue:
                numbers.append(frame.number)
                if len(numbers) == count:
                    break
            return numbers

        camera.start()
        try:
            numbers = asyncio.run(asyncio.wait_for(take(3), self.timeout))
        finally:
            camera.stop()
        assert numbers == sorted(set(numbers))

    def test_start_again_after_stop(self, camera: Any) -> None:
        queue = camera.subscribe(maxsize=256)
        for _ in range(2):
            camera.start()
            try:
                _frames(queue, 2, self.timeout)
            finally:
                camera.stop()
            while queue.get_nowait() is not None:
                pass
        assert not camera.acquiring

    def test_snap_while_live(self, camera: Any) -> None:
        camera.start()
        try:
            self.check_frame(camera.snap(self.timeout))
            assert camera.acquiring
        finally:
            camera.stop()

    def test_unsubscribing_ends_that_stream_only(self, camera: Any) -> None:
        kept, dropped = camera.subscribe(maxsize=64), camera.subscribe(maxsize=64)
        camera.unsubscribe(dropped)
        assert dropped.closed
        camera.start()
        try:
            _frames(kept, 2, self.timeout)
        finally:
            camera.stop()
        with pytest.raises(StreamClosed):
            dropped.get(timeout=1)

    # -- the region of interest ----------------------------------------------------------

    def test_the_region_read_holds_the_region_asked_for(self, camera: Any) -> None:
        rows, columns = camera.sensor_shape
        before = camera.region
        assert before.x >= 0
        assert before.y >= 0
        assert before.x + before.width <= columns
        assert before.y + before.height <= rows
        wanted = Region(columns // 4, rows // 4, max(1, columns // 3), max(1, rows // 3))
        try:
            got = camera.set_region(wanted)
        except ConfigurationError:
            assert camera.region == before, "a camera that cannot crop says so, changing nothing"
            return
        assert got == camera.region
        assert got.x <= wanted.x
        assert got.y <= wanted.y
        assert got.x + got.width >= wanted.x + wanted.width
        assert got.y + got.height >= wanted.y + wanted.height
        assert got.x + got.width <= columns
        assert got.y + got.height <= rows
        frame = camera.snap(self.timeout)
        assert frame.pixels.shape[:2] == got.shape
        again = camera.full_sensor()
        assert (again.x, again.y, again.width, again.height) == (0, 0, columns, rows)

    def test_closing_ends_every_stream(self, camera: Any) -> None:
        queue = camera.subscribe(maxsize=64)
        camera.start()
        _frames(queue, 1, self.timeout)
        camera.close()
        assert not camera.acquiring
        assert isinstance(_end_of(queue, self.timeout), StreamClosed)
