"""The bench's clock: simulated seconds that follow real time, scaled, and can jump.

Teaching notebooks run in real time (``scale=1``); a slow thermal experiment may run faster
(``scale=60``: a minute per second); tests freeze the clock (``scale=0``) and move it with
:meth:`Clock.advance`, so that every reading is reproducible.
"""

from __future__ import annotations

import threading
import time

__all__ = ["Clock"]


class Clock:
    """Simulated time in seconds since the bench started."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError(f"a clock cannot run backwards (scale={scale})")
        self._lock = threading.Lock()
        self._scale = float(scale)
        self._real_origin = time.monotonic()
        self._origin = 0.0
        self._anchor = (0.0, self._real_origin)  # (bench, real) where a frozen jump is laid out

    def now(self) -> float:
        with self._lock:
            return self._now()

    def _now(self) -> float:
        return self._origin + (time.monotonic() - self._real_origin) * self._scale

    @property
    def scale(self) -> float:
        """Simulated seconds per real second (0: frozen)."""
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"a clock cannot run backwards (scale={value})")
        with self._lock:
            self._origin = self._now()
            self._real_origin = time.monotonic()
            self._scale = float(value)
            self._anchor = (self._origin, self._real_origin)

    def freeze(self) -> None:
        """Stop the clock; only :meth:`advance` moves it."""
        self.scale = 0.0

    def advance(self, seconds: float) -> float:
        """Jump ``seconds`` ahead; returns the new time."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {seconds} s")
        with self._lock:
            if self._scale == 0:  # lay the jump out in real time from now (see monotonic)
                self._anchor = (self._origin, max(time.monotonic(), self._monotonic(self._origin)))
            self._origin += float(seconds)
            return self._now()

    def monotonic(self, at: float) -> float:
        """The ``time.monotonic()`` moment of bench time ``at``: where an instrument on its own
        clock (a camera's) puts an edge the bench timed.

        Running, it is exact. Frozen, a jump made by :meth:`advance` is laid out in real time
        from the moment it was made (or from where the last jump ends, if that is later): the
        edges of one jump keep their spacing, and no edge ever maps before an earlier one.
        """
        with self._lock:
            return self._monotonic(at)

    def _monotonic(self, at: float) -> float:
        if self._scale > 0:
            return self._real_origin + (at - self._origin) / self._scale
        bench, real = self._anchor
        return real + (at - bench)

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of simulated time take in real time (0 while frozen)."""
        return seconds / self._scale if self._scale > 0 else 0.0

    def __repr__(self) -> str:
        return f"<Clock t={self.now():.3f} s, scale {self._scale:g}>"
