"""Every frame number a camera produced is either stored or listed as lost, with where.

The disk and the stream's own thread are slowed by holding them on an event (never by timing):
frames the camera delivers meanwhile are lost at the disk or in the queue, and the run says
exactly which ones, in its attributes and its ``camera stream`` event.
"""

from __future__ import annotations

import labkit
from labkit.core import FrameQueue
from labkit.runs import CameraStream
from tests.frame_stalls import (
    Gate,
    check_accounting,
    stall_consumer,
    stall_disk,
    wait_until,
)
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


class PushedCamera(SyntheticCamera):
    """Publishes frames only when the test pushes them; acquiring from start() to stop()."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._running = False

    @property
    def acquiring(self) -> bool:
        return self._running

    def start(self) -> None:
        self._count = 0
        self._broadcaster.start()
        self._running = True

    def stop(self) -> None:
        self._running = False

    def push(self, count: int = 1) -> None:
        for _ in range(count):
            self._broadcaster.publish(self._frame())

    @property
    def queue(self):
        return self._broadcaster._queues[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _blocked_stream(monkeypatch, **options):
    """A run of a stream of 300 kB frames (a file each) whose disk is stalled on its first
    frame, with frames 2 and 3 taken (2 waiting for the disk, 3 in the stream's hand) and
    4…12 pushed meanwhile: its queue of four dropped 4…8 and holds 9…12."""
    camera = PushedCamera(shape=(600, 256))
    disk = stall_disk(monkeypatch, "cam")
    step = CameraStream(camera, backlog=2, queue_size=4, no_frame_timeout=1e9, **options)
    disk.close()
    run = labkit.run(step)
    wait_until(lambda: camera.acquiring and camera._broadcaster.subscribers)
    camera.push()
    wait_until(disk.reached.is_set)
    for _ in range(2):
        camera.push()
        wait_until(lambda: len(camera.queue) == 0)
    camera.push(9)
    assert [f.number for f in camera.queue._frames] == [9, 10, 11, 12]
    return disk, step, run


def test_frames_queued_when_the_time_is_up_are_stored(data_root, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("labkit.runs._camera.clock", clock)
    disk, step, run = _blocked_stream(monkeypatch, duration=10)
    wait_until(lambda: step.ledger.counts()["disk"] == 5)  # 4…8, noted while waiting
    clock.now = 11.0  # the stream's time is up while the disk still holds it
    disk.open()
    ds = run.wait()
    accounting = check_accounting(ds, "cam")
    # Every frame the camera delivered before the end is stored or lost, none unaccounted.
    assert (accounting["first"], accounting["last"]) == (1, 12)
    assert accounting["numbers"]["stored"] == [1, 2, 3, 9, 10, 11, 12]
    assert accounting["numbers"]["disk"] == [4, 5, 6, 7, 8]
    assert accounting["lost_in"] == {"driver": 0, "queue": 0, "disk": 5}


def test_an_aborted_stream_lists_the_frames_left_in_its_queue(data_root, monkeypatch):
    disk, step, run = _blocked_stream(monkeypatch, duration=1e6)
    wait_until(lambda: step.ledger.counts()["disk"] == 5)
    run.abort(wait=False)
    # The abort reaches the stream while the disk still stalls: the frame in its hand is lost
    # at the disk, those still queued in the queue (the ones taken earlier get written).
    wait_until(lambda: step.ledger.counts()["queue"] == 4)
    disk.open()
    ds = run.wait()
    accounting = check_accounting(ds, "cam")
    assert (accounting["first"], accounting["last"]) == (1, 12)
    assert accounting["numbers"]["stored"] == [1, 2]
    assert accounting["numbers"]["disk"] == [3, 4, 5, 6, 7, 8]
    assert accounting["numbers"]["queue"] == [9, 10, 11, 12]


def test_a_late_stream_has_the_whole_budget_while_the_disk_keeps_up(data_root, monkeypatch):
    # queue_size + backlog frames of memory: while no frame waits for the disk, the queue may
    # hold them all (a single writer thread on a queue that deep would lose nothing either).
    camera = PushedCamera(shape=(32, 32))
    step = CameraStream(camera, frames=13, queue_size=4, backlog=8, no_frame_timeout=1e9)
    run = labkit.run(step)
    wait_until(lambda: camera.acquiring and camera._broadcaster.subscribers)
    camera.push()
    queue = camera.queue
    wait_until(lambda: step.ledger.counts()["stored"] == 1 and queue.maxsize == 12)
    gate = Gate()
    get = FrameQueue.get

    def late_get(self, timeout=None):
        if self is queue:
            gate.pass_()
        return get(self, timeout)

    monkeypatch.setattr(FrameQueue, "get", late_get)
    gate.close()
    wait_until(gate.reached.is_set)  # the stream's thread is held before its next frame
    camera.push(12)
    gate.open()
    ds = run.wait()
    accounting = check_accounting(ds, "cam")
    assert accounting["numbers"]["stored"] == list(range(1, 14))
    assert accounting["lost"] == 0


def test_the_summary_line_is_read_from_the_attributes_a_restarted_stream_keeps():
    from labkit.runs._ledger import STAGES, frames_summary

    accounting = {
        "stored": 5,
        "lost": 2,
        "lost_in": dict.fromkeys(STAGES, 0) | {"driver": 1, "disk": 1},
        "segments": [{"first": 1, "last": 4}, {"first": 1, "last": 3}],
    }
    assert frames_summary(accounting) == "stored 5 of 7 · lost 2 (driver 1, disk 1)"
    assert frames_summary({"stored": 0, "lost": 0, "lost_in": {}}) == "stored 0 of 0 · lost 0"
