"""Faults through the driver: an unplugged camera, a failed readout, the cooler; and recovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from labkit.core import ConnectionLost, FrameQueue, NotConnectedError
from labkit.drivers.cameras.pvcam import CameraRemoved, PvcamCamera, ReadoutFailed
from labkit.sim import pvcam as pvsim

STRIP = "0,0,512,64"


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def end_of(queue: FrameQueue) -> BaseException:
    """Read a queue until the stream ends; the error it ended with."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            queue.get(timeout=1)
        except TimeoutError:
            continue
        except BaseException as error:
            return error
    raise AssertionError("the stream did not end")


def live_threads(name: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == f"labkit-{name}-live"]


def streaming(cam: PvcamCamera) -> tuple[FrameQueue, FrameQueue]:
    cam.metadata = True
    cam.roi = STRIP
    cam.exposure = "2 ms"
    fast, slow = cam.subscribe(maxsize=256), cam.subscribe(maxsize=1)
    cam.start()
    fast.get(timeout=30)
    return fast, slow


def test_an_unplugged_camera_fails_every_consumer_then_reconnects(
    bsi_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    hcam = bsi_cam.handle
    assert hcam is not None
    bsi_cam.set_readout("Normal", "200 MHz", "Balanced")  # to be restored after reconnecting
    fast, slow = streaming(bsi_cam)
    controls.inject_fault(hcam, pvsim.Fault.CAM_REMOVED)
    for queue in (fast, slow):
        error = end_of(queue)
        assert isinstance(error, CameraRemoved)
        assert isinstance(error, ConnectionLost)
        assert error.instrument == "bsi"
        assert "reconnect()" in str(error)
    assert wait_until(lambda: not bsi_cam.acquiring and not live_threads("bsi"))
    assert not bsi_cam.connected
    with pytest.raises(NotConnectedError):
        bsi_cam.snap()

    controls.inject_fault(hcam, pvsim.Fault.NONE)  # plugged back in
    bsi_cam.reconnect()
    assert bsi_cam.connected
    assert (bsi_cam.speed, bsi_cam.gain) == ("200 MHz", "Balanced")  # written again
    assert bsi_cam.roi == STRIP
    queue = bsi_cam.subscribe(maxsize=8)
    bsi_cam.start()
    try:
        assert queue.get(timeout=30).number >= 1
    finally:
        bsi_cam.stop()


def test_an_unplugged_camera_fails_a_snap(
    bsi_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    hcam = bsi_cam.handle
    assert hcam is not None
    bsi_cam.roi = STRIP
    controls.inject_fault(hcam, pvsim.Fault.CAM_REMOVED)
    with pytest.raises(CameraRemoved) as caught:
        bsi_cam.snap(timeout=10)
    assert caught.value.code is not None  # PVCAM's own code for the refused call
    assert not bsi_cam.connected
    with pytest.raises(NotConnectedError, match="reconnect"):
        bsi_cam.read("temperature")
    controls.inject_fault(hcam, pvsim.Fault.NONE)
    bsi_cam.reconnect()
    assert bsi_cam.snap(timeout=30).pixels.shape == (64, 512)
    controls.inject_fault(hcam, pvsim.Fault.CAM_REMOVED)
    with pytest.raises(CameraRemoved):
        bsi_cam.read("temperature")  # settings and readings find out the same way
    assert not bsi_cam.connected


def test_a_failed_readout_ends_the_stream_with_a_typed_error(
    bsi_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    hcam = bsi_cam.handle
    assert hcam is not None
    fast, slow = streaming(bsi_cam)
    controls.inject_fault(hcam, pvsim.Fault.READOUT_FAILED)
    for queue in (fast, slow):
        assert isinstance(end_of(queue), ReadoutFailed)
    assert wait_until(lambda: not bsi_cam.acquiring and not live_threads("bsi"))
    assert bsi_cam.connected  # the camera is still there: start again, no reconnect
    queue = bsi_cam.subscribe(maxsize=8)
    bsi_cam.start()
    try:
        assert queue.get(timeout=30).number >= 1
    finally:
        bsi_cam.stop()


def test_a_failed_readout_fails_a_snap(
    bsi_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    hcam = bsi_cam.handle
    assert hcam is not None
    bsi_cam.roi = STRIP
    controls.inject_fault(hcam, pvsim.Fault.READOUT_FAILED)
    with pytest.raises(ReadoutFailed, match="failed readout"):
        bsi_cam.snap(timeout=30)
    assert bsi_cam.snap(timeout=30).number == 1


def test_slow_frames_are_waited_for(bsi_cam: PvcamCamera, controls: pvsim.SimulatedPvcam) -> None:
    hcam = bsi_cam.handle
    assert hcam is not None
    bsi_cam.roi = STRIP
    controls.inject_fault(hcam, pvsim.Fault.SLOW_FRAMES, 300)
    frames = bsi_cam.sequence(2, timeout=30)
    assert [f.number for f in frames] == [1, 2]


def test_the_sensor_approaches_its_setpoint(
    kinetix_cam: PvcamCamera, controls: pvsim.SimulatedPvcam
) -> None:
    hcam = kinetix_cam.handle
    assert hcam is not None
    controls.set_thermal(hcam, ambient_c=25.0, time_constant_s=0.2)
    kinetix_cam.temperature_setpoint = -10
    assert wait_until(lambda: abs(kinetix_cam.read("temperature") + 10) < 0.1)
    kinetix_cam.fan_speed = "Off"  # the cooler can then only reach 15 °C (ambient − 10)
    assert wait_until(lambda: abs(kinetix_cam.read("temperature") - 15) < 0.1)
    assert kinetix_cam.temperature_setpoint == -10
