"""A run streaming viky (harvesters + the genicam wheel's GenTL producer) says which frame
numbers it lost, and where: the disk and the stream's thread are held on events, no timing."""

from __future__ import annotations

import pytest

import labkit
from labkit.drivers.cameras.genicam import GenICamCamera
from labkit.drivers.cameras.genicam._camera import _Numbering
from labkit.runs import CameraStream
from tests.frame_stalls import check_accounting, stall_consumer, stall_disk, wait_until


@pytest.fixture(autouse=True)
def _runs_available() -> None:
    pytest.importorskip("zarr")


def test_a_disk_too_slow_loses_viky_frames_at_the_disk(
    camera: GenICamCamera, data_root, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera.acquisition_frame_rate = 100
    disk = stall_disk(monkeypatch, "viky")
    step = CameraStream(camera, frames=12, backlog=2, queue_size=3, name="viky")
    disk.close()
    run = labkit.run(step)
    wait_until(lambda: step.ledger is not None and step.ledger.counts()["disk"] >= 10)
    disk.open()
    ds = run.wait()
    accounting = check_accounting(ds, "viky")
    assert accounting["first"] == 1
    assert accounting["stored"] == 12
    assert accounting["lost_in"]["disk"] >= 10
    numbers = accounting["numbers"]
    # Two frames waited at the stalled disk, one in the stream's hand; the queue dropped older
    # frames while the stream waited for the disk: lost at the disk.
    assert len([n for n in numbers["stored"] if n < numbers["disk"][0]]) == 3


def test_a_slow_stream_loses_viky_frames_in_the_queue(
    camera: GenICamCamera, data_root, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera.acquisition_frame_rate = 100
    consumer = stall_consumer(monkeypatch, maxsize=3)
    step = CameraStream(camera, frames=8, queue_size=3, name="viky")
    consumer.close()
    run = labkit.run(step)
    wait_until(lambda: consumer.reached.is_set() and camera.broadcaster.published >= 15)
    consumer.open()
    ds = run.wait()
    accounting = check_accounting(ds, "viky")
    assert accounting["lost_in"]["queue"] >= 15 - 3 - 1
    assert accounting["lost_in"]["disk"] == 0
    assert accounting["stored"] == 8


def test_frame_numbers_follow_the_block_ids_so_a_lost_buffer_leaves_a_gap() -> None:
    numbering = _Numbering()
    assert [numbering.next(i) for i in (7, 8, 9, 12, 13)] == [1, 2, 3, 6, 7]
    assert numbering.next(None) == 8  # a producer without ids: one more per frame
    assert numbering.next(3) == 9  # ids that go back (a wrap): one more, never backwards
    assert numbering.next(4) == 10
