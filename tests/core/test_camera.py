"""Frame queues: a camera never waits for its consumers; slow ones lose their oldest frames."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from labkit.core import Frame, FrameBroadcaster, FrameQueue, StreamClosed


def frame(number: int) -> Frame:
    return Frame(pixels=None, number=number, timestamp=time.time())


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    queue = FrameQueue(maxsize=3)
    for number in range(1, 8):
        queue.put(frame(number))
    assert queue.dropped == 4
    assert [queue.get().number for _ in range(3)] == [5, 6, 7]
    assert queue.delivered == 3


def test_a_queue_says_the_number_of_its_newest_frame() -> None:
    queue = FrameQueue(maxsize=3)
    assert queue.newest() is None
    for number in range(1, 6):
        queue.put(frame(number))
    assert queue.newest() == 5
    assert [queue.get().number for _ in range(3)] == [3, 4, 5]
    assert queue.newest() is None


def test_a_resized_queue_holds_more_or_drops_down_to_its_new_size() -> None:
    queue = FrameQueue(maxsize=2)
    queue.resize(4)
    for number in range(1, 5):
        queue.put(frame(number))
    assert queue.dropped == 0
    queue.resize(2)  # smaller: the oldest go as the next frame arrives
    queue.put(frame(5))
    assert queue.dropped == 3
    assert [queue.get().number for _ in range(2)] == [4, 5]


def test_latest_takes_the_newest_and_counts_what_it_skipped() -> None:
    queue = FrameQueue(maxsize=10)
    for number in range(1, 5):
        queue.put(frame(number))
    assert queue.latest().number == 4
    assert queue.dropped == 3
    assert queue.latest() is None


def test_each_subscriber_has_its_own_queue() -> None:
    broadcaster = FrameBroadcaster()
    slow, fast = broadcaster.subscribe(1), broadcaster.subscribe(100)
    for number in range(1, 51):
        broadcaster.publish(frame(number))
    assert len(fast) == 50
    assert slow.get().number == 50
    assert slow.dropped == 49
    assert broadcaster.published == 50


def test_a_failure_reaches_consumers_after_the_frames_already_queued() -> None:
    broadcaster = FrameBroadcaster()
    queue = broadcaster.subscribe(10)
    broadcaster.publish(frame(1))
    broadcaster.fail(ConnectionError("camera unplugged"))
    assert queue.get().number == 1
    with pytest.raises(ConnectionError, match="unplugged"):
        queue.get()
    assert broadcaster.subscribers == 0


def test_async_consumers_are_woken_from_the_camera_thread() -> None:
    broadcaster = FrameBroadcaster()
    queue = broadcaster.subscribe(100)

    def camera() -> None:
        for number in range(1, 21):
            broadcaster.publish(frame(number))
            time.sleep(0.002)
        broadcaster.close()

    async def consume() -> list[int]:
        threading.Thread(target=camera).start()
        return [f.number async for f in queue]

    assert asyncio.run(consume()) == list(range(1, 21))


def test_get_times_out_and_closed_queues_end_iteration() -> None:
    queue = FrameQueue(2)
    with pytest.raises(TimeoutError):
        queue.get(timeout=0.05)
    queue.put(frame(1))
    queue.close()
    assert [f.number for f in queue] == [1]
    with pytest.raises(StreamClosed):
        queue.get()
