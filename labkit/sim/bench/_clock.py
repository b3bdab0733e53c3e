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

    def freeze(self) -> None:
        """Stop the clock; only :meth:`advance` moves it."""
        self.scale = 0.0

    def advance(self, seconds: float) -> float:
        """Jump ``seconds`` ahead; returns the new time."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {seconds} s")
        with self._lock:
            self._origin += float(seconds)
            return self._now()

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of simulated time take in real time (0 while frozen)."""
        return seconds / self._scale if self._scale > 0 else 0.0

    def __repr__(self) -> str:
        return f"<Clock t={self.now():.3f} s, scale {self._scale:g}>"
