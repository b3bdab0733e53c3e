"""``FrameNumbers``: a set of frame numbers kept as sorted ranges.

Losses come in runs (a stalled disk loses hundreds of consecutive frames), so a run's
accounting stores ``[[first, last], ...]`` rather than one entry per frame; adding the next
number of a range costs O(1).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

__all__ = ["FrameNumbers"]


class FrameNumbers:
    """Frame numbers as sorted, disjoint, inclusive ``[first, last]`` ranges."""

    __slots__ = ("_firsts", "_lasts", "count")

    def __init__(self, numbers: Iterable[int] = ()) -> None:
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self.count = 0
        for number in numbers:
            self.add(number)

    def add(self, number: int) -> None:
        self.add_range(number, number)

    def add_range(self, first: int, last: int) -> None:
        """Add ``first..last`` (inclusive); numbers already present are not counted twice."""
        if last < first:
            return
        firsts, lasts = self._firsts, self._lasts
        if not firsts or first > lasts[-1] + 1:  # the common case: past the end
            firsts.append(first)
            lasts.append(last)
            self.count += last - first + 1
            return
        if first == lasts[-1] + 1:
            lasts[-1] = last
            self.count += last - first + 1
            return
        # General case: merge every range touching [first - 1, last + 1].
        lo = bisect.bisect_left(lasts, first - 1)
        hi = bisect.bisect_right(firsts, last + 1)
        if lo < hi:
            new_first, new_last = min(first, firsts[lo]), max(last, lasts[hi - 1])
            covered = sum(lasts[i] - firsts[i] + 1 for i in range(lo, hi))
        else:
            new_first, new_last, covered = first, last, 0
        firsts[lo:hi] = [new_first]
        lasts[lo:hi] = [new_last]
        self.count += (new_last - new_first + 1) - covered

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        i = bisect.bisect_right(self._firsts, number) - 1
        return i >= 0 and number <= self._lasts[i]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[int]:
        for first, last in zip(self._firsts, self._lasts, strict=True):
            yield from range(first, last + 1)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrameNumbers):
            return self.ranges() == other.ranges()
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrameNumbers({self.ranges()})"

    def ranges(self) -> list[list[int]]:
        """``[[first, last], ...]``, as stored in a run's attributes."""
        return [[f, last] for f, last in zip(self._firsts, self._lasts, strict=True)]

    def between(self, first: int, last: int) -> list[int]:
        """The numbers of this set within ``first..last``."""
        found: list[int] = []
        i = max(0, bisect.bisect_right(self._firsts, first) - 1)
        while i < len(self._firsts) and self._firsts[i] <= last:
            found.extend(range(max(first, self._firsts[i]), min(last, self._lasts[i]) + 1))
            i += 1
        return found

    def copy(self) -> FrameNumbers:
        other = FrameNumbers()
        other._firsts, other._lasts, other.count = list(self._firsts), list(self._lasts), self.count
        return other
