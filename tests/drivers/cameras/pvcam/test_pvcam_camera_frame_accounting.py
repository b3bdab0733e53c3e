"""A run streaming a simulated PVCAM camera says which frame numbers it lost, and where.

The disk and the stream's thread are held on events (no timing); the driver's losses come from
frames the simulated camera damages (counted by the driver as bad frames, never published).
"""

from __future__ import annotations

import pytest

import labkit
from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.runs import CameraStream
from labkit.sim import pvcam as pvsim
from tests.frame_stalls import check_accounting, stall_consumer, stall_disk, wait_until

STRIP = "0,0,512,64"

pytest.importorskip("zarr")


def test_a_disk_too_slow_loses_pvcam_frames_at_the_disk(
    bsi_cam: PvcamCamera, data_root, monkeypatch: pytest.MonkeyPatch
) -> None:
    bsi_cam.roi = STRIP
    bsi_cam.exposure = "10 ms"
    disk = stall_disk(monkeypatch, "bsi")
    step = CameraStream(bsi_cam, frames=20, backlog=3, queue_size=4)
    disk.close()
    run = labkit.run(step)
    wait_until(lambda: step.ledger is not None and step.ledger.counts()["disk"] >= 15)
    disk.open()
    ds = run.wait()
    accounting = check_accounting(ds, "bsi")
    stats = bsi_cam.stats
    assert stats is not None
    assert accounting["first"] == 1
    assert accounting["stored"] == 20
    assert accounting["lost_in"]["disk"] >= 15
    assert accounting["lost_in"]["driver"] == stats["lost"] + stats["bad_frames"]
    numbers = accounting["numbers"]
    # Three frames waited at the stalled disk (the backlog), one in the stream's hand; the
    # queue kept the newest and dropped older ones while the stream waited: lost at the disk.
    assert len([n for n in numbers["stored"] if n < numbers["disk"][0]]) == 4
    assert (ds.bsi_frame_number.values == numbers["stored"]).all()


def test_a_slow_stream_loses_pvcam_frames_in_the_queue_and_the_driver_its_bad_ones(
    bsi_cam: PvcamCamera,
    controls: pvsim.SimulatedPvcam,
    data_root,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bsi_cam.roi = STRIP
    bsi_cam.metadata = True
    bsi_cam.exposure = "2 ms"
    consumer = stall_consumer(monkeypatch, maxsize=4)
    step = CameraStream(bsi_cam, frames=15, queue_size=4)
    consumer.close()
    run = labkit.run(step)
    wait_until(lambda: consumer.reached.is_set() and bsi_cam.acquiring)
    hcam = bsi_cam.handle
    assert hcam is not None
    controls.inject_fault(hcam, pvsim.Fault.CORRUPT_FRAMES, 2)  # two frames damaged
    wait_until(lambda: (bsi_cam.stats or {}).get("bad_frames") == 2)
    wait_until(lambda: bsi_cam.broadcaster.published >= 30)
    consumer.open()
    ds = run.wait()
    accounting = check_accounting(ds, "bsi")
    stats = bsi_cam.stats
    assert stats is not None
    assert stats["bad_frames"] == 2
    assert accounting["lost_in"]["driver"] == stats["lost"] + 2
    assert accounting["lost_in"]["queue"] >= 30 - 4 - 1
    assert accounting["lost_in"]["disk"] == 0
    assert accounting["stored"] == 15
