"""The live thread decides by PVCAM's status calls and error codes (issue 19).

With the vendor's codes, "no frame yet" is ``PL_ERR_DATA_NOT_AVAILABLE_YET`` (169), never a name
invented by a simulator; the live thread does not even ask for a frame it has not been told of
(by an EOF callback, or by ``pl_exp_check_cont_status_ex``), so frame periods longer than its
0.25 s quiet poll are quiet waits, not failures. A frame that cannot be decoded is counted and
reported, and the stream goes on.

No wall-clock margins: the tests wait on events (frames in a queue, counters reaching a value)
with generous deadlines that only bound a failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.sim import pvcam as pvsim

STRIP = "0,0,512,64"


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_long_exposure_streams_through_the_quiet_polls(bsi_cam: PvcamCamera) -> None:
    """0.6 s frames: the thread polls the status twice a frame and takes every frame."""
    bsi_cam.roi = STRIP
    bsi_cam.metadata = True
    bsi_cam.exposure = "600 ms"
    queue = bsi_cam.subscribe(maxsize=16)
    bsi_cam.start()
    try:
        frames = [queue.get(timeout=60) for _ in range(3)]
        stats = bsi_cam.stats
    finally:
        bsi_cam.stop()
    assert [f.number for f in frames] == [1, 2, 3]
    assert frames[0].exposure == pytest.approx(0.6)
    assert stats is not None
    assert stats["quiet_polls"] >= 2  # the 0.25 s poll fired between frames, harmlessly
    assert stats["lost"] == 0
    assert stats["bad_frames"] == 0


def test_the_quiet_poll_waits_for_a_frame_that_is_not_there_yet(
    kinetix_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    """Ordered by events, not by time: frames come only on an external trigger, sent once the
    thread has polled the status several times without a frame."""
    kinetix_cam.trigger_mode = "Edge Trigger"
    kinetix_cam.roi = STRIP
    hcam = kinetix_cam.handle
    assert hcam is not None
    queue = kinetix_cam.subscribe(maxsize=16)
    kinetix_cam.start()
    try:
        for number in (1, 2):
            polls = kinetix_cam.stats["quiet_polls"]  # type: ignore[index]
            assert wait_until(lambda p=polls: kinetix_cam.stats["quiet_polls"] >= p + 3)
            assert queue.get_nowait() is None  # nothing before the trigger
            controls.hardware_trigger(hcam)
            frame = queue.get(timeout=60)
            assert frame.number == number
        assert kinetix_cam.acquiring  # the quiet polls never ended the acquisition
    finally:
        kinetix_cam.stop()


def test_an_undecodable_frame_is_counted_and_the_stream_goes_on(
    bsi_cam: PvcamCamera, controls: pvsim.SimulatedPvcam, caplog: pytest.LogCaptureFixture
) -> None:
    bsi_cam.roi = STRIP
    bsi_cam.metadata = True
    bsi_cam.exposure = "5 ms"
    hcam = bsi_cam.handle
    assert hcam is not None
    queue = bsi_cam.subscribe(maxsize=256)
    caplog.set_level(logging.WARNING)
    bsi_cam.start()
    try:
        assert queue.get(timeout=60).number >= 1
        controls.inject_fault(hcam, pvsim.Fault.CORRUPT_FRAMES, 2)  # two frames damaged
        assert wait_until(lambda: bsi_cam.stats["bad_frames"] == 2)  # type: ignore[index]
        seen = [queue.get(timeout=60).number for _ in range(20)]
        stats = bsi_cam.stats
        assert bsi_cam.acquiring
    finally:
        bsi_cam.stop()
    assert stats is not None
    assert "bad frame signature" in stats["last_bad_frame"]
    assert seen == sorted(seen)
    assert any("could not be decoded and was skipped" in r.message for r in caplog.records)
    assert stats["lost"] == 0  # skipped frames are counted as bad, not as lost
