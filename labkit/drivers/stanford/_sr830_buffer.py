"""The SR830's data storage: its two buffers filled at its own sample rate.

From the SR830 manual (Data Storage and Data Transfer commands): ``SRAT`` sets the sample rate
(62.5 mHz × 2^i up to 512 Hz, or one point per rear-panel trigger), ``SEND`` one shot or loop,
``REST`` empties the buffers, ``STRT`` starts, ``PAUS`` pauses, ``SPTS?`` counts the points,
``TRCA? i,j,k`` transfers ``k`` points of buffer ``i`` from bin ``j``. Each buffer holds
16,383 points of its channel display (``DDEF``: X, R, noise or an aux input on CH1; Y, θ...
on CH2), offsets and expands included.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.core import Acquired, InstrumentError, LimitError, RecordedQuantity, ReplyError

__all__ = ["BUFFER_POINTS", "RATES", "LockinBuffer", "read_trace"]

BUFFER_POINTS = 16_383
RATES = {f"{0.0625 * 2.0**i:g} Hz": i for i in range(14)} | {"trigger": 14}
_CH1 = {"X": 0, "R": 1, "X noise": 2, "aux in 1": 3, "aux in 2": 4}
_CH2 = {"Y": 0, "theta": 1, "Y noise": 2, "aux in 3": 3, "aux in 4": 4}
_UNITS = {"X": "V", "R": "V", "X noise": "V", "Y": "V", "Y noise": "V", "theta": "deg"}


def first_field(reply: str) -> str:
    """``DDEF? 1`` → ``"1,0"``: the display's index (the ratio follows)."""
    return reply.strip().split(",")[0]


def read_trace(lockin: Any, channel: int, count: int) -> np.ndarray:
    """``TRCA? channel,0,count`` → the first ``count`` points of a buffer (on the worker)."""
    command = f"TRCA? {channel},0,{count}"
    reply = lockin.query(command)
    try:
        values = np.array([float(p) for p in reply.strip().strip(",").split(",")], dtype=float)
    except ValueError:
        raise ReplyError(f"{command} answered {reply[:60]!r}", command=command) from None
    if values.size != count:
        raise ReplyError(f"{command} gave {values.size} points, not {count}", command=command)
    return values


class LockinBuffer:
    """``points`` samples of both channel displays at the SR830's own rate, as a
    :class:`~labkit.core.TimedAcquisition` (started with ``STRT``)."""

    trigger = "start"
    setpoints = ()

    def __init__(self, lockin: Any, points: int, rate: str) -> None:
        self.instrument = lockin
        self.name = lockin.name
        if not 1 <= int(points) <= BUFFER_POINTS:
            raise LimitError(
                f"{lockin.name}: the SR830's buffers hold 1 to {BUFFER_POINTS:,} points, "
                f"not {points}",
                instrument=lockin.name,
                setting="buffer points",
                value=points,
                limit=(1, BUFFER_POINTS),
                hint="Lower the sample rate or split the acquisition",
            )
        lockin.settings.sample_rate.check(rate)
        if rate == "trigger":
            raise LimitError(
                f"{lockin.name}: a buffer acquisition samples at a rate, not on triggers",
                instrument=lockin.name,
                setting="sample_rate",
                value=rate,
            )
        self.points = int(points)
        self.rate = rate
        self.interval = 1.0 / (0.0625 * 2.0 ** RATES[rate])
        ch1 = lockin.last_value("ch1_display") or "X"
        ch2 = lockin.last_value("ch2_display") or "Y"
        self._names = (_key(ch1), _key(ch2))
        self.quantities = tuple(
            RecordedQuantity(key, _UNITS.get(label, "V"), f"{lockin.name} {label} (buffer)")
            for key, label in zip(self._names, (ch1, ch2), strict=True)
        )
        self.sleep: Callable[[float], None] = time.sleep

    def describe(self) -> dict[str, Any]:
        return {
            "instrument": self.name,
            "kind": "SR830 data storage",
            "points": self.points,
            "sample_rate": self.rate,
            "buffer": BUFFER_POINTS,
            "seconds": self.seconds(),
        }

    def seconds(self) -> float:
        return self.points * self.interval

    def arm(self) -> None:
        lockin = self.instrument
        lockin.set("sample_rate", self.rate)
        lockin.set("buffer_mode", "one shot")
        lockin.run_action("reset_storage")

    def start(self) -> None:
        self.instrument.run_action("start_storage")

    def collect(self, timeout: float) -> Acquired:
        lockin = self.instrument
        deadline = time.monotonic() + self.seconds() + timeout
        while (stored := lockin.read("points_stored")) < self.points:
            if time.monotonic() > deadline:
                raise InstrumentError(
                    f"{self.name}: {stored} of {self.points} points stored before the timeout",
                    hint="Is the lock-in sampling (sample_rate, STRT)?",
                )
            self.sleep(min(0.2, (self.points - stored) * self.interval))
        lockin.run_action("pause_storage")
        first = lockin.run_io(read_trace, lockin, 1, self.points)
        second = lockin.run_io(read_trace, lockin, 2, self.points)
        times = self.interval * np.arange(self.points)
        return Acquired(dict(zip(self._names, (first, second), strict=True)), times)


def _key(label: str) -> str:
    return label.replace(" ", "_").lower()
