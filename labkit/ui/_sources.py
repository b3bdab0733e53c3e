"""Where a camera view's frames come from: a camera's live stream, or a run's recorded frames.

Both hand the view the newest frame and forget older ones; neither ever makes the camera or the
run wait. :class:`QueueSource` subscribes a one-frame queue to the camera (a full queue drops
its oldest frame, so the newest always wins); :class:`RecordedSource` keeps a reference to the
last frame a run recorded (a ``Snap`` at each point of a scan).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from labkit.core import Frame, StreamClosed

__all__ = ["FrameCounters", "QueueSource", "RecordedSource"]


class FrameCounters:
    """Frames seen, the camera's frame rate, and frames lost before they reached the view.

    ``dropped`` counts frames the camera numbered that never reached this view's queue (gaps
    in the numbering); ``skipped`` those that reached it but were replaced by a newer one
    before the view drew (newest wins, by design).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.frames = 0  # the camera's count in this acquisition (the newest frame's number)
        self.shown = 0
        self.dropped = 0
        self._recent: collections.deque[tuple[float, int]] = collections.deque(maxlen=256)
        self._first: int | None = None
        self._received_before = 0  # frames the queue had received when this acquisition began
        self._last_number = 0

    def saw(self, frame: Frame, received: int) -> None:
        """``frame`` is about to be drawn; the queue has received ``received`` frames so far."""
        number = int(frame.number)
        if self._first is None or number < self._last_number:  # a new acquisition
            self._first = number
            self._received_before = received - 1
            self._recent.clear()
            self.dropped = 0
        self._last_number = number
        self.frames = number
        self.shown += 1
        numbered = number - self._first + 1
        self.dropped = max(self.dropped, numbered - (received - self._received_before))
        self._recent.append((float(frame.timestamp), number))

    def rate(self, window: float = 2.0) -> float:
        """The camera's frames per second over the last ``window`` seconds of frames drawn."""
        if len(self._recent) < 2:
            return 0.0
        last_time, last_number = self._recent[-1]
        first_time, first_number = self._recent[0]
        for when, number in self._recent:
            if last_time - when <= window:
                first_time, first_number = when, number
                break
        span = last_time - first_time
        return (last_number - first_number) / span if span > 0 else 0.0


class QueueSource:
    """The newest frame of a camera's live stream, through a one-frame queue of our own."""

    def __init__(self, camera: Any) -> None:
        self.camera = camera
        self.queue: Any = None
        self.error: BaseException | None = None
        self.ended = False
        self.counters = FrameCounters()

    def open(self) -> None:
        """Subscribe (again, after an error or the end of the stream)."""
        self.close()
        self.queue = self.camera.subscribe(1)
        self.error = None
        self.ended = False
        self.counters.reset()

    def close(self) -> None:
        queue, self.queue = self.queue, None
        if queue is not None:
            try:
                self.camera.unsubscribe(queue)
            except Exception:
                queue.close()

    @property
    def skipped(self) -> int:
        return 0 if self.queue is None else int(self.queue.dropped)

    @property
    def active(self) -> bool:
        return self.queue is not None and not self.ended

    def latest(self) -> Frame | None:
        """The newest frame since the last call, or None; records the stream's end or error."""
        queue = self.queue
        if queue is None or self.ended:
            return None
        try:
            frame = queue.latest()
        except StreamClosed:
            self.ended = True
            return None
        except BaseException as error:  # the camera's own error (ConnectionLost...)
            self.ended = True
            self.error = error
            return None
        if frame is not None:
            self.counters.saw(frame, queue.delivered + queue.dropped)
        return frame


class RecordedSource:
    """The newest frame a run recorded (fed from the run's record hook, on the run's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._received = 0
        self._taken = 0
        self.error: BaseException | None = None
        self.ended = False
        self.counters = FrameCounters()
        self.active = True

    def offer(self, pixels: Any, number: Any = None, timestamp: float | None = None) -> None:
        with self._lock:
            self._received += 1
            number = self._received if number is None else int(number)
            self._frame = Frame(pixels, number, time.time() if timestamp is None else timestamp)

    @property
    def skipped(self) -> int:
        with self._lock:
            return max(0, self._received - self._taken - (self._frame is not None))

    def latest(self) -> Frame | None:
        with self._lock:
            frame, self._frame = self._frame, None
            if frame is not None:
                self._taken += 1
            received = self._received
        if frame is not None:
            self.counters.saw(frame, received)
        return frame

    def open(self) -> None:
        pass

    def close(self) -> None:
        self.active = False
