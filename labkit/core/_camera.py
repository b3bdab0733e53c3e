"""The camera interface every camera driver follows, and the queues frames travel through.

A camera's acquisition runs on its own thread and never waits for anyone: each consumer (a run
writing frames to disk, a live view) gets its own bounded :class:`FrameQueue`. When a consumer
falls behind, its oldest frames are dropped and counted — the camera and the other consumers
carry on. A live view asks for a queue of one (the newest frame wins); a run asks for a deeper
one. When acquisition ends or fails, every queue is closed with the reason, so a consumer sees
the camera's error instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from labkit.core._numbers import FrameNumbers

__all__ = [
    "Camera",
    "Frame",
    "FrameBroadcaster",
    "FrameQueue",
    "FrameSource",
    "Region",
    "StreamClosed",
    "fit_span",
]


@dataclasses.dataclass(frozen=True)
class Region:
    """A region of the sensor, in unbinned sensor pixels; binning divides it into image pixels."""

    x: int
    y: int
    width: int
    height: int
    bin_x: int = 1
    bin_y: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image this region gives after binning."""
        return self.height // self.bin_y, self.width // self.bin_x


def fit_span(
    start: float, size: float, *, extent: int, step: int = 1, size_step: int = 1, minimum: int = 1
) -> tuple[int, int]:
    """``(start, size)`` of the smallest span a sensor axis can read that holds
    ``[start, start + size)``: the start rounded down to a multiple of ``step``, the size up to
    ``minimum`` plus a multiple of ``size_step``, within ``[0, extent)`` (in one unit: sensor
    pixels, or binned pixels for a camera counting in those)."""
    begin = min(max(0, math.floor(start / step) * step), max(0, extent - minimum))
    end = min(start + size, extent)
    length = minimum + max(0, math.ceil((end - begin - minimum) / size_step)) * size_step
    room = extent - begin
    if length > room:
        length = minimum + max(0, (room - minimum) // size_step) * size_step
    return int(begin), int(length)


@dataclasses.dataclass(frozen=True)
class Frame:
    """One image and what the camera said about it.

    ``pixels`` is a NumPy array (rows, columns[, channels]). ``number`` counts frames from 1 at
    the start of an acquisition. ``timestamp`` is the host's ``time.time()`` when the frame
    arrived; ``hardware_timestamp`` and ``exposure`` are in seconds from the camera's own clock
    where it has one. ``regions`` are where the pixels come from on the sensor.

    A camera sending several images per frame (a 3D camera's intensity and coordinate planes,
    a GenICam multi-part payload) gives each as a named entry of ``parts``, in the camera's
    order, each with its own dtype and shape; ``pixels`` is then the first part (the image a
    view shows by default). ``parts`` is empty for a single image.
    """

    pixels: Any
    number: int
    timestamp: float
    hardware_timestamp: float | None = None
    exposure: float | None = None
    regions: tuple[Region, ...] = ()
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    parts: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def part(self, name: str | None = None) -> Any:
        """The image of part ``name`` (``pixels`` for None or a single-image frame's only
        part); a name the frame lacks is a ``KeyError`` listing the parts it has."""
        if name is None or (not self.parts and name == "pixels"):
            return self.pixels
        try:
            return self.parts[name]
        except KeyError:
            have = ", ".join(map(repr, self.parts)) or "none (a single image)"
            raise KeyError(f"the frame has no part {name!r}; its parts: {have}") from None


class StreamClosed(Exception):
    """The camera stopped delivering to this queue (acquisition ended, or the queue was closed)."""


class FrameQueue:
    """A bounded queue from a camera's thread to one consumer; full means the oldest is dropped.

    Usable from threads (``get(timeout)``, ``for frame in queue``) and from asyncio
    (``await get_async()``, ``async for frame in queue``). ``dropped`` counts frames this
    consumer lost; after :meth:`track_dropped`, ``dropped_numbers`` also says which (by the
    camera's frame numbers: a run's accounting needs them, a live view does not).
    ``delivered`` counts the frames it received.
    """

    def __init__(self, maxsize: int = 8) -> None:
        if maxsize < 1:
            raise ValueError("a frame queue holds at least one frame")
        self.maxsize = maxsize
        self._frames: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closed = False
        self._error: BaseException | None = None
        self.dropped = 0
        self.dropped_numbers: FrameNumbers | None = None
        self.delivered = 0

    # -- producer side (the camera's thread) ------------------------------------------------

    def put(self, frame: Frame) -> None:
        """Add a frame without ever blocking; drop the oldest if the queue is full."""
        with self._cond:
            if self._closed:
                return
            while len(self._frames) >= self.maxsize:  # more than one after a resize
                self._drop(self._frames.popleft())
            self._frames.append(frame)
            self._cond.notify_all()
            self._wake_async()

    def resize(self, maxsize: int) -> None:
        """Hold up to ``maxsize`` frames from now on (at least one): a consumer whose own
        buffers share one memory budget with this queue grows it as they empty. Frames over a
        smaller size are dropped, oldest first, when the next frame arrives."""
        with self._cond:
            self.maxsize = max(1, int(maxsize))

    def track_dropped(self) -> FrameNumbers:
        """Keep the numbers of the frames dropped from now on (``dropped_numbers``)."""
        with self._cond:
            if self.dropped_numbers is None:
                self.dropped_numbers = FrameNumbers()
            return self.dropped_numbers

    def dropped_between(self, first: int, last: int) -> list[int]:
        """Which of the frame numbers ``first..last`` this queue dropped (once tracked)."""
        with self._cond:
            numbers = self.dropped_numbers
            return [] if numbers is None else numbers.between(first, last)

    def _drop(self, frame: Frame) -> None:
        self.dropped += 1
        if self.dropped_numbers is not None:
            self.dropped_numbers.add(int(frame.number))

    def close(self, error: BaseException | None = None) -> None:
        """No more frames; consumers get what is queued, then ``error`` or ``StreamClosed``."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._error = error
            self._cond.notify_all()
            self._wake_async()

    def _wake_async(self) -> None:
        waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)

    # -- consumer side ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def error(self) -> BaseException | None:
        return self._error

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    def newest(self) -> int | None:
        """The number of the newest frame waiting (None if none): a consumer whose recording
        ends takes the frames up to it, those the camera delivered before the end."""
        with self._cond:
            return int(self._frames[-1].number) if self._frames else None

    def _take(self) -> Frame:
        frame = self._frames.popleft()
        self.delivered += 1
        return frame

    def _end(self) -> BaseException:
        return self._error if self._error is not None else StreamClosed("the stream ended")

    def get(self, timeout: float | None = None) -> Frame:
        """The oldest queued frame; waits up to ``timeout`` s (``TimeoutError`` after)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._frames:
                if self._closed:
                    raise self._end()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no frame within {timeout} s")
                self._cond.wait(remaining)
            return self._take()

    def get_nowait(self) -> Frame | None:
        """The oldest queued frame, or None; raises once the stream ended and is empty."""
        with self._cond:
            if self._frames:
                return self._take()
            if self._closed:
                raise self._end()
            return None

    def latest(self) -> Frame | None:
        """The newest frame, discarding older ones (counted as dropped): for live views."""
        with self._cond:
            if not self._frames:
                if self._closed:
                    raise self._end()
                return None
            frame = self._frames.pop()
            while self._frames:
                self._drop(self._frames.popleft())
            self.delivered += 1
            return frame

    async def get_async(self) -> Frame:
        """Await the oldest queued frame without blocking the event loop."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._frames:
                    return self._take()
                if self._closed:
                    raise self._end()
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            await future

    def __iter__(self) -> Iterator[Frame]:
        while True:
            try:
                yield self.get()
            except StreamClosed:
                return

    async def __aiter__(self) -> AsyncIterator[Frame]:
        while True:
            try:
                yield await self.get_async()
            except StreamClosed:
                return


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class FrameBroadcaster:
    """Hands every frame from a camera's thread to every subscribed queue.

    A driver owns one; :meth:`publish` is called from its acquisition thread and :meth:`fail`
    when acquisition breaks (a camera unplugged mid-stream): every consumer then sees the error.
    A normal stop leaves queues open for the next start. Counts frames for status displays.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[FrameQueue] = []
        self.published = 0
        self.started_at: float | None = None
        self.error: BaseException | None = None

    def subscribe(self, maxsize: int = 8) -> FrameQueue:
        queue = FrameQueue(maxsize)
        with self._lock:
            self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: FrameQueue) -> None:
        with self._lock:
            if queue in self._queues:
                self._queues.remove(queue)
        queue.close()

    def start(self) -> None:
        """Reset counters at the start of an acquisition."""
        with self._lock:
            self.published = 0
            self.started_at = time.monotonic()
            self.error = None

    def publish(self, frame: Frame) -> None:
        with self._lock:
            queues = list(self._queues)
            self.published += 1
        for queue in queues:
            queue.put(frame)

    def fail(self, error: BaseException) -> None:
        """Acquisition broke: close every queue with ``error`` and forget them."""
        with self._lock:
            queues, self._queues = self._queues, []
            self.error = error
        for queue in queues:
            queue.close(error)

    def close(self) -> None:
        """The camera is going away: end every queue normally."""
        with self._lock:
            queues, self._queues = self._queues, []
        for queue in queues:
            queue.close()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._queues)

    @property
    def rate(self) -> float:
        """Frames per second published since :meth:`start`."""
        if self.started_at is None:
            return 0.0
        elapsed = time.monotonic() - self.started_at
        return self.published / elapsed if elapsed > 0 else 0.0


@runtime_checkable
class FrameSource(Protocol):
    """What a run needs to record a camera's frames (a camera, or any source of frames)."""

    name: str

    @property
    def sensor_shape(self) -> tuple[int, int]:
        """(rows, columns) of the full sensor."""

    @property
    def acquiring(self) -> bool: ...

    def snap(self, timeout: float | None = None) -> Frame:
        """Acquire one frame and return it."""

    def start(self) -> None:
        """Start live acquisition; frames go to every subscribed queue."""

    def stop(self) -> None:
        """Stop live acquisition; subscribed queues stay open for the next start."""

    def subscribe(self, maxsize: int = 8) -> FrameQueue:
        """A new queue receiving every frame from now on (oldest dropped when full)."""

    def unsubscribe(self, queue: FrameQueue) -> None: ...


@runtime_checkable
class Camera(FrameSource, Protocol):
    """What runs, live views and users need from any camera (PVCAM, GenICam, simulated):
    frames, and the region of interest — validated and rounded by the camera itself, so a
    view only draws the rectangle."""

    region_note: str
    """What the camera's cropping cannot do ("crops from its corner only"), or ''."""

    @property
    def region(self) -> Region:
        """The part of the sensor read now, in unbinned sensor pixels, with the binning."""

    def set_region(self, region: Region) -> Region:
        """Read at least ``region`` from now on (rounded outwards to what the camera can read,
        acquisition paused around the change); returns the region read."""

    def full_sensor(self) -> Region:
        """Read the whole sensor again; returns the region."""
