"""Helpers for headless live-view tests: a clock the test moves, a stand-in for the page's
acknowledgements, and a reader for the BMP images a camera view sends."""

from __future__ import annotations

import heapq
import itertools
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np


class ManualScheduler:
    """The live views' scheduler on a clock the test moves: nothing runs until ``advance``.
    Calls may be scheduled from any thread (a run's live view schedules from its own)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def call_at(self, when: float, function: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._order), function))

    def in_thread(self) -> bool:
        return True

    def run_due(self) -> None:
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > self.now:
                    return
                _, _, function = heapq.heappop(self._heap)
            function()

    def advance(self, seconds: float, step: float = 0.001, each: Callable[[], Any] | None = None):
        """Move the clock by ``seconds`` in ``step``\\ s, running what falls due (and calling
        ``each`` before every step: data arriving meanwhile)."""
        end = self.now + seconds
        while self.now < end - 1e-12:
            if each is not None:
                each()
            self.now = min(end, self.now + step)
            self.run_due()


class Page:
    """What the page's ``jslink`` does: copy each update number back as an acknowledgement.

    With ``auto`` every update is acknowledged as soon as it is sent (a fast page); otherwise
    the test calls :meth:`ack` (a slow page), or never (a closed tab).
    """

    def __init__(self, channel: Any, auto: bool = True) -> None:
        self.channel = channel
        self.auto = auto
        self.seen: list[int] = []
        channel.seq_widget.observe(self._on_seq, names="value")

    def _on_seq(self, change: dict[str, Any]) -> None:
        self.seen.append(change["new"])
        if self.auto:
            self.ack()

    def ack(self) -> None:
        self.channel.ack_widget.value = self.channel.seq_widget.value


def read_bmp(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(pixels as rows × columns uint8, palette as 256 × RGB) of an 8-bit top-down BMP."""
    assert data[:2] == b"BM"
    size, _, _, offset = struct.unpack_from("<IHHI", data, 2)
    assert size == len(data)
    (header, width, height, planes, bits, compression) = struct.unpack_from("<IiiHHI", data, 14)
    assert (header, planes, bits, compression) == (40, 1, 8, 0)
    assert height < 0, "rows stored top-down"
    rows, stride = -height, (width + 3) & ~3
    palette = np.frombuffer(data, np.uint8, 1024, 54).reshape(256, 4)[:, 2::-1]
    pixels = np.frombuffer(data, np.uint8, rows * stride, offset).reshape(rows, stride)
    return pixels[:, :width], palette


def read_picture(view: Any) -> tuple[np.ndarray, np.ndarray]:
    """(pixels as rows × columns uint8, palette as 256 × RGB) of the picture a camera view
    last sent to its canvas."""
    palette = np.frombuffer(view.picture.palette, np.uint8).reshape(256, 4)[:, 2::-1]
    return view.picture.array(), palette


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll until ``predicate()`` is truthy (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.01)


class ManualCamera:
    """A camera following labkit's Camera protocol whose frames the test publishes itself."""

    def __init__(self, name: str = "manual", shape: tuple[int, int] = (64, 64)) -> None:
        from labkit.core import FrameBroadcaster

        self.name = name
        self.sensor_shape = shape
        self.broadcaster = FrameBroadcaster()
        self.acquiring = False
        self.number = 0

    def publish(self, pixels: Any, number: int | None = None, timestamp: float | None = None):
        from labkit.core import Frame

        self.number = self.number + 1 if number is None else number
        when = time.time() if timestamp is None else timestamp
        self.broadcaster.publish(Frame(np.asarray(pixels), self.number, when))

    def snap(self, timeout: float | None = None) -> Any:
        from labkit.core import Frame

        return Frame(np.zeros(self.sensor_shape, np.uint16), 1, time.time())

    def start(self) -> None:
        self.acquiring = True
        self.broadcaster.start()

    def stop(self) -> None:
        self.acquiring = False

    def subscribe(self, maxsize: int = 8) -> Any:
        return self.broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue: Any) -> None:
        self.broadcaster.unsubscribe(queue)
