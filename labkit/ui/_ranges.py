"""Axis ranges that hold still: a browser re-lays out an axis (ticks, labels) whenever its
scale's range changes, which at 25 updates a second costs more than drawing the data. A range
changes only when the data leaves it, or fills less than half of it."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["stable_range"]


def stable_range(
    current: tuple[Any, Any], low: float, high: float, *, headroom: float = 0.0
) -> tuple[float, float]:
    """``current`` if [low, high] fits in it and fills at least half of it; else a range
    rounded outwards to a step of about a tenth of the data's span, widened by ``headroom``
    (a fraction of the span) on each side, so growing data does not leave it at once."""
    if current[0] is not None and current[1] is not None:
        start, end = float(current[0]), float(current[1])
        if start <= low and high <= end and (high - low) >= 0.5 * (end - start):
            return start, end
    span = high - low
    if not span > 0:  # one value (or all equal): a range around it
        span = abs(low) or 1.0
        low, high = low - span / 2, high + span / 2
    padded_low, padded_high = low - headroom * span, high + headroom * span
    step = 10.0 ** math.floor(math.log10(padded_high - padded_low)) / 2
    start, end = math.floor(padded_low / step) * step, math.ceil(padded_high / step) * step
    # Data on one side of zero keeps the range there: no empty negative band under a current.
    if low >= 0 > start:
        start = 0.0
    if high <= 0 < end:
        end = 0.0
    return float(start), float(end)
