"""``Timeline``: the points an instrument takes by itself, at known times on the bench clock.

An instrument that keeps time (an SMU stepping through its sweep, a DMM sampling on its timer,
a lock-in filling its buffer) takes point ``k`` at ``start + k × period``. A twin does not run a
thread for that: it asks the timeline how many points are due whenever it is asked anything
(:meth:`due`) and computes those points then, from the bench's state at that moment. The
timeline also says how long a query must wait for the whole acquisition (:meth:`remaining`),
which a twin turns into a reply delay with ``busy_for`` — on a running clock the client waits
exactly as long as on the real instrument; on a frozen (test) clock it waits nothing.
"""

from __future__ import annotations

import math

__all__ = ["Timeline"]


class Timeline:
    """``count`` points (``None``: until stopped), ``period`` seconds apart, from ``start``."""

    def __init__(self, start: float, period: float, count: int | None, *, first: float = 0.0):
        if period <= 0 or not math.isfinite(period):
            raise ValueError(f"a timeline needs a positive period, not {period!r}")
        self.start = float(start)
        self.period = float(period)
        self.count = count
        self.first = float(first)  # the delay before the first point (a trigger delay)
        self.taken = 0  # points handed out so far
        self.stopped_at: int | None = None

    @property
    def total(self) -> int | None:
        """How many points the acquisition makes in all (None: endless until stopped)."""
        return self.stopped_at if self.stopped_at is not None else self.count

    def time(self, index: int) -> float:
        """The bench time of point ``index`` (0-based)."""
        return self.start + self.first + index * self.period

    def due(self, now: float) -> int:
        """How many points exist by ``now`` (whether handed out or not)."""
        if now < self.start + self.first:
            return 0
        made = math.floor((now - self.start - self.first) / self.period + 1e-9) + 1
        total = self.total
        return made if total is None else min(made, total)

    def take(self, now: float) -> range:
        """The indices of the points that became due since the last call."""
        due = self.due(now)
        new = range(self.taken, max(self.taken, due))
        self.taken = max(self.taken, due)
        return new

    def take_all(self) -> range:
        """Every point not handed out yet (the acquisition runs to its end)."""
        total = self.total
        if total is None:
            raise ValueError("an endless acquisition has no end to wait for")
        new = range(self.taken, total)
        self.taken = total
        return new

    @property
    def end(self) -> float:
        """The bench time of the last point (``inf`` if endless)."""
        total = self.total
        return math.inf if total is None else self.time(max(total - 1, 0))

    def done(self, now: float) -> bool:
        total = self.total
        return total is not None and self.due(now) >= total

    def remaining(self, now: float) -> float:
        """Seconds of bench time until the last point is taken (0 when done)."""
        return max(0.0, self.end - now)

    def stop(self, now: float) -> None:
        """``ABORt``: the points due by now are the last ones."""
        self.stopped_at = self.due(now)
