"""Where every frame of a camera stream went: stored, or lost — and where it was lost.

A camera numbers its frames (1, 2, 3... from the start of an acquisition). Between the camera
and the disk a frame can be lost at three stages, and the run says which frames, by number:

- ``driver``: the camera numbered it but its driver never handed it on (a PVCAM ring-buffer
  overrun, a frame that could not be decoded, a GenICam buffer the producer discarded or
  delivered incomplete). Seen as a gap in the numbers that no later stage explains.
- ``queue``: the stream's bounded queue dropped it because the stream's own thread was late
  taking frames (the queue keeps the numbers it drops), or it was still waiting in the queue
  when the run was aborted.
- ``disk``: the store wrote slower than the camera delivered: the queue dropped it while the
  stream's thread waited for a buffer waiting for the disk to come free (see
  :meth:`FrameLedger.waiting_for_disk`), or the store failed before it was written.

A numbering that starts again (the camera was restarted) opens a new *segment*.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from labkit.core import FrameNumbers

__all__ = ["STAGES", "FrameLedger", "frames_summary"]

STAGES = ("driver", "queue", "disk")
_HORIZON = 1 << 40  # frame numbers looked at after the newest taken: all of them


class _Segment:
    def __init__(self, first: int) -> None:
        self.first = first
        self.last = first - 1  # the newest number taken off the queue
        self.stored = FrameNumbers()
        self.lost = {stage: FrameNumbers() for stage in STAGES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "stored": self.stored.count,
            "lost": {
                stage: {"count": numbers.count, "ranges": numbers.ranges()}
                for stage, numbers in self.lost.items()
            },
        }


class FrameLedger:
    """The accounting of one stream. ``took`` runs on the stream's thread for each frame taken
    off ``queue`` (in order), ``stored``/``lost_at_disk`` wherever that is decided."""

    def __init__(self, queue: Any, *, first: int | None = None) -> None:
        self.queue = queue
        self._expected_first = first
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._disk_dropped: set[int] = set()  # dropped by the queue while the disk was behind

    def took(self, number: int) -> None:
        """Frame ``number`` came off the queue: frames skipped since the last one were lost
        in the queue (if it dropped them) or else in the driver."""
        number = int(number)
        with self._lock:
            segment = self._segments[-1] if self._segments else None
            if segment is None or number <= segment.last:  # the first frame, or a restart
                first = 1 if segment is not None else (self._expected_first or number)
                segment = _Segment(min(first, number))
                self._segments.append(segment)
            start = segment.last + 1
            if number > start:
                self._skipped(segment, start, number - 1)
            segment.last = number

    def _skipped(self, segment: _Segment, start: int, end: int) -> None:
        dropped = self.queue.dropped_between(start, end) if self.queue is not None else []
        cursor = start
        for n in dropped:  # sorted
            if n > cursor:
                segment.lost["driver"].add_range(cursor, n - 1)
            if n in self._disk_dropped:
                self._disk_dropped.discard(n)
                segment.lost["disk"].add(n)
            else:
                segment.lost["queue"].add(n)
            cursor = n + 1
        if cursor <= end:
            segment.lost["driver"].add_range(cursor, end)

    @contextlib.contextmanager
    def waiting_for_disk(self) -> Iterator[Callable[[], None]]:
        """Around the stream's wait for the disk: frames its queue drops meanwhile were lost
        because of the disk, not because the stream's thread was late. Yields a function that
        takes note of the drops so far (so that counts are current during a long wait)."""
        newest = self._segments[-1].last if self._segments else 0
        before = set(self._dropped_after(newest))

        def note() -> None:
            after = self._dropped_after(newest)
            with self._lock:
                self._disk_dropped.update(n for n in after if n not in before)

        try:
            yield note
        finally:
            note()

    def finish(self, end: int | None = None) -> None:
        """The stream took its last frame. ``end``: the newest frame number the stream covers
        (the camera delivered it before the stream's time was up), if beyond the last taken:
        frames up to it that were not taken were dropped (at the disk or in the queue). Drops
        after ``end`` are beyond the stream's end."""
        with self._lock:
            segment = self._segments[-1] if self._segments else None
            if end is not None and segment is not None and end > segment.last:
                self._skipped(segment, segment.last + 1, end)
                segment.last = end
            self._disk_dropped.clear()

    def _dropped_after(self, newest: int) -> list[int]:
        if self.queue is None:
            return []
        return self.queue.dropped_between(newest + 1, newest + 1 + _HORIZON)

    def stored(self, number: int) -> None:
        with self._lock:
            self._segment_of(number).stored.add(int(number))

    def lost_at_disk(self, number: int) -> None:
        with self._lock:
            self._segment_of(number).lost["disk"].add(int(number))

    def lost_in_queue(self, number: int) -> None:
        """Frame ``number`` (taken) was still in the queue when the run was aborted."""
        with self._lock:
            self._segment_of(number).lost["queue"].add(int(number))

    def _segment_of(self, number: int) -> _Segment:
        # Frames are stored in order: a number belongs to the newest segment that holds it.
        for segment in reversed(self._segments):
            if segment.first <= number <= segment.last:
                return segment
        return self._segments[-1]

    # -- reading ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Frames stored and lost per stage, over every segment."""
        with self._lock:
            totals = {"stored": sum(s.stored.count for s in self._segments)}
            for stage in STAGES:
                totals[stage] = sum(s.lost[stage].count for s in self._segments)
            totals["disk"] += len(self._disk_dropped)  # dropped while waiting, not yet placed
            return totals

    def lost_numbers(self, stage: str) -> list[int]:
        """The numbers lost at ``stage`` (of the newest segment)."""
        with self._lock:
            return list(self._segments[-1].lost[stage]) if self._segments else []

    def stored_numbers(self) -> list[int]:
        with self._lock:
            return list(self._segments[-1].stored) if self._segments else []

    def as_attrs(self) -> dict[str, Any]:
        """What the run's attributes keep: counts per stage and ranges of the lost numbers
        (``first``/``last``: the numbers the stream covered; ``segments`` after a restart)."""
        with self._lock:
            segments = [s.as_dict() for s in self._segments]
        totals = self.counts()
        attrs: dict[str, Any] = {
            "stored": totals["stored"],
            "lost": sum(totals[s] for s in STAGES),
            "lost_in": {stage: totals[stage] for stage in STAGES},
        }
        if len(segments) == 1:
            only = segments[0]
            attrs["first"], attrs["last"] = only["first"], only["last"]
            attrs["lost_ranges"] = {s: only["lost"][s]["ranges"] for s in STAGES}
        elif segments:
            attrs["segments"] = segments
        return attrs

    def summary(self) -> str:
        """One line for people: ``stored 17 of 87 · lost 70 (driver 70)``."""
        return frames_summary(self.as_attrs())


def frames_summary(accounting: Mapping[str, Any]) -> str:
    """One line for people from a stream's accounting as the run's attributes keep it
    (``run.attrs["frames"][name]``): ``stored 17 of 87 · lost 70 (driver 70)``, where 87 is
    how many numbers the stream covered."""
    if "segments" in accounting:
        spans = [(s["first"], s["last"]) for s in accounting["segments"]]
    elif "first" in accounting:
        spans = [(accounting["first"], accounting["last"])]
    else:
        spans = []
    numbered = sum(max(0, last - first + 1) for first, last in spans)
    lost_in = accounting.get("lost_in") or {}
    lost = sum(int(lost_in.get(stage, 0)) for stage in STAGES)
    text = f"stored {accounting.get('stored', 0)} of {numbered}"
    if lost:
        parts = ", ".join(f"{s} {lost_in[s]}" for s in STAGES if lost_in.get(s))
        return f"{text} · lost {lost} ({parts})"
    return f"{text} · lost 0"
