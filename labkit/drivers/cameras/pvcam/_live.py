"""Live acquisition: PVCAM's ring buffer → decoded frames → every subscriber's queue.

Design. The camera writes into a NO_OVERWRITE circular buffer of ``slots`` frames. PVCAM's EOF
callback (on PVCAM's own thread) only records the frame number and the host time and wakes the
acquisition thread; it takes no lock, so it can never wait behind a PVCAM call. The acquisition
thread takes every frame that arrived, oldest first (``pl_exp_get_oldest_frame``), decodes it,
copies its pixels into a new array, gives the slot back (``pl_exp_unlock_oldest_frame``) and
publishes the frame to the :class:`~labkit.core.FrameBroadcaster`, whose bounded queues drop the
oldest frames of a slow consumer without ever making the camera wait.

Why NO_OVERWRITE with get-oldest rather than OVERWRITE with get-latest: a run streaming to disk
needs every frame the camera took, in order; get-latest silently skips frames whenever the thread
is late by one frame period. With get-oldest, the thread only loses frames if it falls a whole
ring behind (it copies at memory speed, so the ring absorbs the hiccups of a loaded machine).
PVCAM then reports a buffer overrun on the next call and carries on from the oldest intact
frame; the frames lost show as a gap in the frame numbers and are counted in ``lost``. Consumers
that want only the newest frame (live views) ask for a queue of one.

Why copy: a frame's pixels must outlive its ring slot, which the camera rewrites ``slots``
frames later; a copy runs at memcpy speed and frees the slot at once, so no consumer can ever see
pixels change under it.

When no frame comes for a while (``poll`` seconds, 0.25 by default) the thread asks PVCAM how the
acquisition stands (``pl_exp_check_cont_status_ex``, or ``pl_exp_check_cont_status`` on a library
without it): a failed readout ends the acquisition, and frames whose EOF callback went missing
are taken. The thread only asks for a frame it knows has arrived (from a callback or the
status), so a frame period longer than the poll (a 0.6 s exposure) is just a quiet wait; should
PVCAM still say ``PL_ERR_DATA_NOT_AVAILABLE_YET`` (169), that means "none yet". Every decision
is taken by PVCAM's error code or status, never by a name in a message.

Failures end the thread cleanly: a removed camera (CAM_REMOVED callback, or a call refused with
``PL_ERR_DEVICE_REMOVED``) or a failed readout (status READOUT_FAILED) are handed to
``on_failure`` as typed errors; the camera then fails every subscriber's queue with it. A frame
that cannot be decoded is not a failure of the acquisition: it is counted (``bad_frames``), the
last reason kept (``last_bad_frame``), logged, and the stream goes on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from labkit.core import FrameBroadcaster, LabkitError
from labkit.drivers.cameras.pvcam._errors import CameraRemoved, ErrorCode, PvcamError
from labkit.drivers.cameras.pvcam._frames import Coordinates, FrameDecoder
from labkit.drivers.cameras.pvcam._link import PvcamLink
from labkit.drivers.cameras.pvcam._params import ImageStatus
from labkit.drivers.cameras.pvcam._types import FrameInfo

__all__ = ["LiveAcquisition", "LiveStats", "Signals"]

log = logging.getLogger(__name__)

_STOP = -1
_REMOVED = -2
_POLL = 0.25
"""Seconds without a frame after which the thread asks PVCAM how the acquisition stands (a failed
readout, a frame whose EOF callback it missed)."""

_OVERRUN_RETRIES = 4


class Signals:
    """What PVCAM's callbacks tell the thread waiting for frames (lock-free on the callback side).

    ``times`` maps frame numbers to the host time their EOF arrived.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.arrived = 0
        self.removed = False
        self.times: dict[int, float] = {}

    def eof(self, info: FrameInfo) -> None:
        number = int(info.FrameNr)
        self.times[number] = time.time()
        if number > self.arrived:
            self.arrived = number
        self.queue.put(number)

    def camera_removed(self) -> None:
        self.removed = True
        self.queue.put(_REMOVED)

    def stop(self) -> None:
        self.queue.put(_STOP)

    def wait(self, timeout: float) -> int | None:
        """The next signal, or None after ``timeout`` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def arrival(self, number: int) -> float:
        """The host time frame ``number`` arrived (now if unknown); forgets older frames."""
        when = self.times.pop(number, None)
        if len(self.times) > 64:
            for old in [n for n in list(self.times) if n < number]:
                self.times.pop(old, None)
        return time.time() if when is None else when


class LiveStats:
    """Counters of one live acquisition, for status displays and benchmarks.

    ``quiet_polls`` counts the status checks made when no frame came for a poll interval;
    ``bad_frames`` the frames that could not be decoded (skipped, the stream went on), with the
    reason for the last one in ``last_bad_frame``.
    """

    def __init__(self, slots: int, frame_bytes: int) -> None:
        self.slots = slots
        self.frame_bytes = frame_bytes
        self.frames = 0
        self.lost = 0
        self.overruns = 0
        self.quiet_polls = 0
        self.bad_frames = 0
        self.last_bad_frame: str | None = None
        self.cpu_seconds = 0.0
        self.started = time.monotonic()

    def as_dict(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        return {
            "frames": self.frames,
            "lost": self.lost,
            "overruns": self.overruns,
            "quiet_polls": self.quiet_polls,
            "bad_frames": self.bad_frames,
            "last_bad_frame": self.last_bad_frame,
            "slots": self.slots,
            "frame_bytes": self.frame_bytes,
            "seconds": elapsed,
            "cpu_seconds": self.cpu_seconds,
        }


class LiveAcquisition:
    """The acquisition thread of one live acquisition (see the module doc).

    ``coordinates`` is read for every frame, so a change applies from the next frame on.
    ``poll`` is the quiet interval after which the thread checks the status.
    """

    def __init__(
        self,
        *,
        name: str,
        link: PvcamLink,
        decoder: FrameDecoder,
        signals: Signals,
        broadcaster: FrameBroadcaster,
        slots: int,
        coordinates: Callable[[], Coordinates],
        on_failure: Callable[[BaseException], None],
        poll: float = _POLL,
    ) -> None:
        self.link = link
        self.decoder = decoder
        self.signals = signals
        self.broadcaster = broadcaster
        self.coordinates = coordinates
        self.on_failure = on_failure
        self.stats = LiveStats(slots, decoder.frame_bytes)
        self.error: BaseException | None = None
        self.poll = poll
        self._reported = 0  # the newest frame number PVCAM's status reported
        self._arrived_taken = 0  # FRAME_INFO number of the last frame taken
        self._last = 0  # frame number (the header's when there is metadata) of the last frame
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"labkit-{name}-live", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to end after the frame in hand, and wait for it."""
        self._stopping.set()
        self.signals.stop()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                signal = self.signals.wait(self.poll)
                if self._stopping.is_set() or signal == _STOP:
                    break
                if signal == _REMOVED or self.signals.removed:
                    raise self._removed()
                if signal is None:  # quiet: how does the acquisition stand?
                    self.stats.quiet_polls += 1
                    self._check_status()
                while self._arrived_taken < self._arrived() and not self._stopping.is_set():
                    if not self._take_one():
                        break
        except BaseException as error:
            if self._stopping.is_set() and not isinstance(error, CameraRemoved):
                return  # a call raced with stop(): not a failure
            self.error = error
            self.on_failure(error)

    def _arrived(self) -> int:
        """The newest frame known to have arrived, by callback or by status."""
        return max(self.signals.arrived, self._reported)

    def _removed(self) -> CameraRemoved:
        return CameraRemoved(
            f"{self.link.name} was disconnected during acquisition",
            function="CAM_REMOVED callback",
            resource=self.link.resource,
            hint="Check the camera's cable and power, then call reconnect()",
        )

    def _check_status(self) -> None:
        """Ask PVCAM: a failed readout ends the acquisition; arrived frames are noted."""
        status = self.link.cont_status()
        if status.status == ImageStatus.READOUT_FAILED:
            raise self.link.readout_failed("pl_exp_check_cont_status")
        if status.latest is not None:  # _ex: the newest frame's number
            self._reported = max(self._reported, status.latest)
        elif status.status == ImageStatus.FRAME_AVAILABLE:  # at least one more frame
            self._reported = max(self._reported, self._arrived_taken + 1)

    def _oldest(self) -> Any | None:
        """The oldest unread frame; None when PVCAM has none yet; through overruns."""
        for _ in range(_OVERRUN_RETRIES):
            try:
                return self.link.get_oldest_frame()
            except PvcamError as error:
                if error.has_code(ErrorCode.BUFFER_OVERRUN):
                    self.stats.overruns += 1
                    continue  # PVCAM resynchronised on the oldest intact frame: ask again
                if error.has_code(ErrorCode.DATA_NOT_AVAILABLE_YET):
                    return None
                if self.link.cont_status().status == ImageStatus.READOUT_FAILED:
                    raise self.link.readout_failed("pl_exp_get_oldest_frame") from error
                raise
        return self.link.get_oldest_frame()

    def _take_one(self) -> bool:
        raw = self._oldest()
        if raw is None:
            return False
        started = time.thread_time()
        arrived = raw.number if raw.number is not None else self._arrived_taken + 1
        frame = None
        try:
            fallback = arrived if raw.number is not None else self._last + 1
            frame = self.decoder.frame(
                raw.data,
                number=fallback,
                timestamp=self.signals.arrival(arrived),
                coordinates=self.coordinates(),
                copy=True,
            )
        except ValueError as error:  # FrameFormatError and placement errors: this frame only
            self._bad_frame(fallback, error)
        finally:
            try:
                self.link.unlock_oldest_frame()
            except PvcamError:
                if not self._stopping.is_set():
                    raise
        self._arrived_taken = max(self._arrived_taken, arrived)
        number = frame.number if frame is not None else fallback
        if number > self._last + 1:
            self.stats.lost += number - self._last - 1
        self._last = max(self._last, number)
        if frame is not None:
            self.stats.frames += 1
            self.broadcaster.publish(frame)
        self.stats.cpu_seconds += time.thread_time() - started
        return True

    def _bad_frame(self, number: int, error: ValueError) -> None:
        """Count and report a frame that cannot be decoded; the stream goes on."""
        self.stats.bad_frames += 1
        self.stats.last_bad_frame = f"frame {number}: {error}"
        count = self.stats.bad_frames
        if count == 1 or count % 100 == 0:
            log.warning(
                "%s: frame %d could not be decoded and was skipped (%d so far): %s",
                self.link.name,
                number,
                count,
                error,
            )


def describe_failure(error: BaseException, camera: str) -> LabkitError:
    """A typed labkit error for whatever ended an acquisition."""
    if isinstance(error, LabkitError):
        return error
    return PvcamError(
        f"{camera}: live acquisition failed: {error!r}",
        hint="See the traceback; start() again, or reconnect()",
    )
