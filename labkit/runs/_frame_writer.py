"""The thread that writes a camera stream's frames to the run's store, behind a bounded backlog.

The stream's thread only takes frames off the camera's queue and hands them here (no copy: a
frame's pixels are already the driver's own array, and stay untouched until written). At most
``slots`` frames wait for the disk; when all are taken the stream's thread waits for a slot
while the camera's queue holds what arrives, and what that queue drops meanwhile is counted as
lost *at the disk* (see :class:`~labkit.runs._ledger.FrameLedger`). ``slots`` is sized from the
frame's size and the camera's rate (see :func:`backlog_slots`), so the memory held is bounded
whatever the disk does.

Frames are written in the order they were offered, each through the run writer's ``record``
(its chunk first, then its numbers and time stamp under the writer's record lock), so the
durability rules of :mod:`labkit.store._writer` hold unchanged: a frame is published only
after its data is stored.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Callable

from labkit.core import Frame

__all__ = ["FrameWriter", "backlog_slots"]

BACKLOG_SECONDS = 0.5
"""Seconds of frames, at the camera's rate, that may wait for the disk."""
BACKLOG_BYTES = 512 * 1024 * 1024
"""... but never more bytes than this (a slow disk must not eat the machine's memory)."""
MIN_SLOTS = 4


def backlog_slots(frame_bytes: int, rate: float, *, max_bytes: int = BACKLOG_BYTES) -> int:
    """How many frames may wait for the disk: ``BACKLOG_SECONDS`` of them at ``rate`` frames/s,
    within ``max_bytes`` (at least ``MIN_SLOTS``)."""
    by_bytes = max(MIN_SLOTS, max_bytes // max(1, frame_bytes))
    if rate <= 0 or not math.isfinite(rate):
        return by_bytes
    return max(MIN_SLOTS, min(by_bytes, math.ceil(rate * BACKLOG_SECONDS)))


class FrameWriter:
    """Writes offered frames in order with ``store(frame, index)`` on a thread of its own."""

    def __init__(
        self,
        store: Callable[[Frame, int], None],
        slots: int,
        name: str,
        on_waiting: Callable[[int], None] | None = None,
    ) -> None:
        self.slots = max(1, int(slots))
        self._store = store
        self._on_waiting = on_waiting  # told how many frames wait, whenever that changes
        self._cond = threading.Condition()
        self._pending: collections.deque[tuple[Frame, int]] = collections.deque()
        self._busy = 0  # frames offered and not yet written (or failed)
        self._closing = False
        self.error: BaseException | None = None
        self.unwritten: list[Frame] = []  # frames never stored because the store failed
        self._thread = threading.Thread(target=self._run, name=f"labkit-frames-{name}", daemon=True)
        self._thread.start()

    def offer(self, frame: Frame, index: int) -> bool:
        """Queue ``frame`` for writing at ``index``; False if every slot is taken (the frame
        is lost at the disk). Raises the store's error once writing failed."""
        with self._cond:
            if self.error is not None:
                raise self.error
            if self._busy >= self.slots:
                return False
            self._busy += 1
            self._pending.append((frame, index))
            self._changed()
            return True

    def wait_for_slot(self, timeout: float) -> None:
        """Wait until a slot is free (or ``timeout`` s); raises the store's error."""
        with self._cond:
            if self.error is None and self._busy >= self.slots:
                self._cond.wait(timeout)
            if self.error is not None:
                raise self.error

    @property
    def waiting(self) -> int:
        """Frames offered and not yet written."""
        return self._busy

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                frame, index = self._pending[0]
            try:
                self._store(frame, index)
            except BaseException as error:
                with self._cond:
                    self.error = error
                    self.unwritten = [f for f, _ in self._pending]
                    self._pending.clear()
                    self._busy = 0
                    self._changed()
                return
            with self._cond:
                self._pending.popleft()
                self._busy -= 1
                self._changed()

    def _changed(self) -> None:
        """(With the lock held.) Wake waiters; tell ``on_waiting`` how many frames wait."""
        self._cond.notify_all()
        if self._on_waiting is not None:
            self._on_waiting(self._busy)

    def close(self) -> None:
        """Write every frame offered, then end the thread; raises the store's error if any."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if self.error is not None:
            raise self.error
