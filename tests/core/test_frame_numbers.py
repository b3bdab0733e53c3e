"""FrameNumbers keeps frame numbers as ranges; a queue records the numbers it drops."""

from __future__ import annotations

import random
import time

from labkit.core import Frame, FrameNumbers, FrameQueue


def test_ranges_merge_and_count_each_number_once() -> None:
    numbers = FrameNumbers([1, 2, 3, 7, 9, 8, 5])
    assert numbers.ranges() == [[1, 3], [5, 5], [7, 9]]
    assert len(numbers) == 7
    numbers.add_range(2, 6)
    assert numbers.ranges() == [[1, 9]]
    assert len(numbers) == 9
    numbers.add(9)
    assert len(numbers) == 9
    assert 4 in numbers
    assert 10 not in numbers
    assert numbers.between(3, 5) == [3, 4, 5]


def test_ranges_agree_with_a_plain_set() -> None:
    rng = random.Random(4)
    numbers, plain = FrameNumbers(), set()
    for _ in range(2000):
        first = rng.randrange(500)
        last = first + rng.randrange(5)
        numbers.add_range(first, last)
        plain.update(range(first, last + 1))
        assert len(numbers) == len(plain)
    assert list(numbers) == sorted(plain)
    assert numbers.between(100, 200) == sorted(n for n in plain if 100 <= n <= 200)


def test_a_queue_keeps_the_numbers_it_drops_once_asked() -> None:
    queue = FrameQueue(2)
    for number in (1, 2, 3):  # 1 is dropped before tracking: counted, not listed
        queue.put(Frame(None, number, time.time()))
    queue.track_dropped()
    for number in (4, 5, 6):
        queue.put(Frame(None, number, time.time()))
    assert queue.dropped == 4
    assert queue.dropped_numbers is not None
    assert queue.dropped_numbers.ranges() == [[2, 4]]
    assert queue.dropped_between(1, 10) == [2, 3, 4]
    assert queue.get_nowait().number == 5
    queue.put(Frame(None, 7, time.time()))
    assert queue.latest().number == 7  # the view's newest-wins drops are listed too
    assert queue.dropped_between(1, 10) == [2, 3, 4, 6]
