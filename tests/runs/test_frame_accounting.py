"""Every frame number a camera produced is either stored or listed as lost, with where.

The disk and the stream's own thread are slowed by holding them on an event (never by timing):
frames the camera delivers meanwhile are lost at the disk or in the queue, and the run says
exactly which ones, in its attributes and its ``camera stream`` event.
"""

from __future__ import annotations

import labkit
from labkit.runs import CameraStream
from tests.frame_stalls import check_accounting, stall_consumer, stall_disk, wait_until
from tests.simdevices import SyntheticCamera


class GappyCamera(SyntheticCamera):
    """Its driver loses the frames numbered in ``gone`` (numbered, never published)."""

    gone = frozenset({5, 6, 7, 30})

    def _frame(self):
        frame = super()._frame()
        while frame.number in self.gone:
            frame = super()._frame()
        return frame


def test_a_run_says_which_frames_the_driver_lost(data_root):
    camera = GappyCamera(shape=(600, 256), rate=300)
    step = CameraStream(camera, frames=40)
    ds = labkit.run(step).wait()
    accounting = check_accounting(ds, "cam")
    assert accounting["first"] == 1
    assert accounting["numbers"]["driver"] == [5, 6, 7, 30]
    assert accounting["lost_ranges"]["driver"] == [[5, 7], [30, 30]]
    assert accounting["lost_in"] == {"driver": 4, "queue": 0, "disk": 0}
    assert accounting["stored"] == 40
    event = next(e for e in ds.attrs["events"] if e["event"] == "camera stream")
    assert event["summary"] == f"stored 40 of {accounting['last']} · lost 4 (driver 4)"


def test_a_disk_too_slow_loses_frames_at_the_disk_and_says_which(data_root, monkeypatch):
    camera = SyntheticCamera(shape=(600, 256), rate=100)  # 300 kB frames: one file each
    disk = stall_disk(monkeypatch, "cam")
    step = CameraStream(camera, frames=30, backlog=3, queue_size=4)
    disk.close()
    run = labkit.run(step)
    wait_until(lambda: step.ledger is not None and step.ledger.counts()["disk"] >= 10)
    disk.open()
    ds = run.wait()
    accounting = check_accounting(ds, "cam")
    numbers = accounting["numbers"]
    assert accounting["lost_in"]["disk"] >= 10
    assert accounting["stored"] == 30
    # Three frames waited at the stalled disk (the backlog) and one in the stream's hand; the
    # queue kept the newest four and dropped the older ones, at the disk's door: lost there.
    assert numbers["stored"][:4] == [1, 2, 3, 4]
    assert numbers["disk"] == list(range(5, numbers["disk"][-1] + 1))
    assert numbers["stored"][4] > numbers["disk"][-1]
    assert (ds.cam.values[:, 0, 0] == ds.cam_frame_number.values).all()


def test_a_stream_too_slow_to_take_frames_loses_them_in_the_queue(data_root, monkeypatch):
    camera = SyntheticCamera(shape=(32, 32), rate=100)
    consumer = stall_consumer(monkeypatch, maxsize=5)
    step = CameraStream(camera, frames=20, queue_size=5)
    consumer.close()
    run = labkit.run(step)
    wait_until(lambda: consumer.reached.is_set() and camera._broadcaster.published >= 40)
    consumer.open()
    ds = run.wait()
    accounting = check_accounting(ds, "cam")
    assert accounting["lost_in"]["queue"] >= 30
    assert accounting["lost_in"]["disk"] == 0
    assert accounting["stored"] == 20


def test_a_running_run_shows_its_accounting_so_far(data_root, monkeypatch):
    camera = SyntheticCamera(shape=(600, 256), rate=100)
    disk = stall_disk(monkeypatch, "cam")
    step = CameraStream(camera, frames=10, backlog=2, queue_size=2)
    disk.close()
    run = labkit.run(step)
    try:
        wait_until(lambda: step.ledger is not None and step.ledger.counts()["disk"] >= 5)
        wait_until(lambda: _disk_losses(run) >= 5)  # written while the disk still stalls
    finally:
        disk.open()
    check_accounting(run.wait(), "cam")


def _disk_losses(run) -> int:
    stream = (run.attrs.get("frames") or {}).get("cam") or {}
    return int(stream.get("lost_in", {}).get("disk", 0))
