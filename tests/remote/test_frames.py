"""A camera served over pvAccess: NTNDArray frames with their number, time stamps and region,
throttled for viewers; a slow viewer loses frames, the camera and its other consumers none."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from p4p.client.thread import Context

from labkit.core import Region
from labkit.remote import Server, serve_config
from labkit.sim import pvcam as pvsim
from tests.remote.conftest import ACCOUNT, Updates, python_env
from tests.remote.serving import SIM_PATH, needs_simulated_libpvcam

pytestmark = needs_simulated_libpvcam


@pytest.fixture
def camera():
    from labkit.drivers.cameras.pvcam import PvcamCamera

    made = PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="cam", library=SIM_PATH)
    yield made
    made.close()


@pytest.fixture
def served_camera(camera):
    config = serve_config(
        {
            "prefix": "T:",
            "frame_rate": 4,
            "access": {"write": [{"account": ACCOUNT, "host": "127.0.0.1"}]},
        },
        port=0,
        broadcast_port=0,
    )
    server = Server({"cam": camera}, config).start()
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
        yield camera, server, client
    server.stop()


def test_frames_carry_number_time_stamps_and_region(served_camera):
    camera, _, client = served_camera
    camera.exposure = 0.005
    camera.metadata = True  # embedded frame metadata: the camera's own time stamps
    camera.set_rois([Region(16, 8, 64, 32, 2, 2)])
    images = Updates()
    subscription = client.monitor("T:cam:_image", images)
    try:
        images.wait_for(lambda v: True)  # subscribed (the empty image: no frame yet)
        client.put("T:cam:_acquire", True, wait=True)
        assert camera.acquiring
        frames = [images.wait_for(lambda v: v["uniqueId"] > 0) for _ in range(3)]
    finally:
        client.put("T:cam:_acquire", False, wait=True)
        subscription.close()
    assert not camera.acquiring
    numbers = [f["uniqueId"] for f in frames]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    frame = frames[-1]
    x, y = frame["dimension"]
    assert (x["size"], x["offset"], x["binning"]) == (32, 16, 2)
    assert (y["size"], y["offset"], y["binning"]) == (16, 8, 2)
    rows, columns = camera.sensor_shape
    assert (x["fullSize"], y["fullSize"]) == (columns, rows)
    attributes = {a["name"]: a["value"] for a in frame["attribute"]}
    assert attributes["FrameNumber"] == frame["uniqueId"]
    assert attributes["Exposure"] == pytest.approx(0.005, rel=0.01)
    assert "HardwareTimestamp" in attributes
    pixels = np.asarray(frame["value"]).reshape(y["size"], x["size"])
    assert pixels.dtype == np.uint16
    assert frame["dataTimeStamp"]["secondsPastEpoch"] > 1_600_000_000


def test_a_slow_viewer_loses_frames_and_the_camera_none(served_camera):
    camera, server, client = served_camera
    camera.exposure = 0.005
    camera.set_rois([Region(0, 0, 256, 256)])
    recorder = camera.subscribe(100_000)  # a run's queue: it must get every frame
    release = threading.Event()
    got: list[int] = []
    blocked = threading.Event()

    def slow_viewer(value):
        if isinstance(value, Exception):
            return
        got.append(value["uniqueId"])
        if len(got) == 2:
            blocked.set()
            release.wait(60)  # a viewer stuck drawing

    subscription = client.monitor("T:cam:_image", slow_viewer, request="record[queueSize=2]")
    client.put("T:cam:_acquire", True, wait=True)
    try:
        assert blocked.wait(60)
        numbers = [recorder.get(timeout=30).number for _ in range(200)]
    finally:
        release.set()
        client.put("T:cam:_acquire", False, wait=True)
        subscription.close()
    # The recorder got every frame the camera delivered, in order: its only gaps are frames
    # the camera itself lost (its ring outrun on a busy machine), which it counts.
    assert numbers == sorted(numbers)
    gaps = sum(b - a - 1 for a, b in itertools.pairwise(numbers))
    assert gaps <= camera.stats["lost"]
    assert recorder.dropped == 0
    publisher = server.publishers[0]
    assert publisher.skipped > 0  # made while the viewers' rate (4/s) left no room
    assert publisher.posted < numbers[-1]
    camera.unsubscribe(recorder)


KILLED_VIEWER = textwrap.dedent(
    """
    import os, threading
    from p4p.client.thread import Context
    context = Context("pva")
    seen = []
    enough = threading.Event()
    context.monitor("T:cam:_image", lambda v: (seen.append(v), len(seen) > 2 and enough.set()))
    enough.wait(60)
    print("viewing", flush=True)
    os.kill(os.getpid(), 9)
    """
)


def test_a_viewer_killed_mid_stream_leaves_the_server_serving(served_camera):
    camera, server, client = served_camera
    camera.exposure = 0.005
    client.put("T:cam:_acquire", True, wait=True)
    try:
        viewer = subprocess.run(
            [sys.executable, "-c", KILLED_VIEWER],
            capture_output=True,
            text=True,
            env=python_env(server),
            timeout=120,
        )
        assert viewer.stdout.strip() == "viewing", viewer.stderr[-2000:]
        assert viewer.returncode == -9
        images = Updates()
        subscription = client.monitor("T:cam:_image", images)
        try:
            first = images.wait_for(lambda v: v["uniqueId"] > 0)
            images.wait_for(lambda v: v["uniqueId"] > first["uniqueId"])  # still streaming
        finally:
            subscription.close()
        assert camera.acquiring
    finally:
        client.put("T:cam:_acquire", False, wait=True)
    client.put("T:cam:exposure", 0.007, wait=True)  # and still taking commands
    assert camera.exposure == pytest.approx(0.007)
