"""A captured oscilloscope trace: the preamble that scales it and the arrays it becomes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from labkit.core import ReplyError

__all__ = ["FORMATS", "MODES", "Preamble", "Waveform"]

FORMATS = ("BYTE", "WORD", "ASCii")
MODES = ("NORMal", "MAXimum", "RAW")


@dataclasses.dataclass(frozen=True)
class Preamble:
    """``:WAVeform:PREamble?``: ten numbers that say how the transferred points scale.

    ``format`` 0 BYTE, 1 WORD, 2 ASCii; ``type`` 0 NORMal, 1 MAXimum, 2 RAW; ``points`` in the
    record; ``count`` averages; ``x_increment`` s between points; ``x_origin`` the time of the
    first point relative to the trigger; ``x_reference`` the point ``x_origin`` refers to;
    volts = (code − ``y_origin`` − ``y_reference``) × ``y_increment``.
    """

    format: int
    type: int
    points: int
    count: int
    x_increment: float
    x_origin: float
    x_reference: float
    y_increment: float
    y_origin: float
    y_reference: float

    @classmethod
    def parse(cls, reply: str) -> Preamble:
        """Parse the comma-separated reply; anything else is a :class:`labkit.ReplyError`."""
        parts = reply.strip().split(",")
        if len(parts) != 10:
            raise ReplyError(
                f"the preamble has {len(parts)} fields, not 10: {reply[:80]!r}", reply=reply
            )
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise ReplyError(
                f"the preamble {reply[:80]!r} is not ten numbers", reply=reply
            ) from None
        if not all(math.isfinite(n) for n in numbers):
            raise ReplyError(f"the preamble {reply[:80]!r} is not finite", reply=reply)
        integers = numbers[:4]
        if any(n != round(n) for n in integers) or numbers[2] < 0:
            raise ReplyError(
                f"the preamble's format, type, points and count must be whole numbers: "
                f"{reply[:80]!r}",
                reply=reply,
            )
        if numbers[4] <= 0 or numbers[7] <= 0:
            raise ReplyError(
                f"the preamble's increments must be positive: {reply[:80]!r}", reply=reply
            )
        return cls(
            int(numbers[0]),
            int(numbers[1]),
            int(numbers[2]),
            int(numbers[3]),
            *numbers[4:],
        )

    def volts(self, codes: np.ndarray) -> np.ndarray:
        """Raw codes → volts (probe ratio included, as the scope shows them)."""
        return (codes.astype(float) - self.y_origin - self.y_reference) * self.y_increment

    def times(self, first: int, count: int) -> np.ndarray:
        """Times (s, relative to the trigger) of ``count`` points from the 1-based ``first``."""
        index = np.arange(first - 1, first - 1 + count, dtype=float)
        return self.x_origin + (index - self.x_reference) * self.x_increment


@dataclasses.dataclass(frozen=True, eq=False)
class Waveform:
    """One channel's trace: ``time`` (s, relative to the trigger) and ``volts`` arrays."""

    time: np.ndarray
    volts: np.ndarray
    channel: int
    preamble: Preamble

    @property
    def sample_rate(self) -> float:
        """Points per second."""
        return 1.0 / self.preamble.x_increment

    def __len__(self) -> int:
        return len(self.volts)

    def __repr__(self) -> str:
        span = self.time[-1] - self.time[0] if len(self.time) else 0.0
        return (
            f"<Waveform CH{self.channel}: {len(self)} points over {span:.6g} s, "
            f"{self.volts.min() if len(self) else 0:.4g} … "
            f"{self.volts.max() if len(self) else 0:.4g} V>"
        )
