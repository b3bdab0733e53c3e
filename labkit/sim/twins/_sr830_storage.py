"""The SR830's data storage, displays, offsets and expands, for :class:`SR830Twin`.

From the SR830 manual, remote programming, "Display and Output", "Data Storage" and
"Data Transfer" commands:

- ``DDEF i,j,k``: what channel display ``i`` shows — CH1 ``j`` = 0 X, 1 R, 2 X noise,
  3 Aux In 1, 4 Aux In 2; CH2 ``j`` = 0 Y, 1 θ, 2 Y noise, 3 Aux In 3, 4 Aux In 4 (``k``, the
  ratio, is kept; ratios are not simulated). The buffers store the two displays.
- ``OEXP i,x,j``: offset ``x`` (±105.00 % of full scale) and expand ``j`` (0 ×1, 1 ×10,
  2 ×100) of X (1), Y (2) or R (3); they act on the displays, hence on stored data (OUTP?,
  SNAP? read the outputs without them, in this twin). ``AOFF i`` auto-offsets.
- ``SRAT i``: sample rate 62.5 mHz × 2^i (0…13, up to 512 Hz), 14 = on each rear-panel
  trigger. ``SEND i``: 0 one shot (storage stops when the buffer is full), 1 loop (the oldest
  points are overwritten). ``TSTR i``: a trigger starts the scan. ``STRT`` starts or resumes,
  ``PAUS`` pauses, ``REST`` resets and empties. Each buffer holds 16,383 points.
- ``SPTS?``: points stored. ``TRCA? i,j,k``: ``k`` points of buffer ``i`` from bin ``j``
  (0-based), each number followed by a comma; bins beyond those stored are refused.

The sampling runs on the bench's clock (a :class:`~labkit.sim._timeline.Timeline`): the
points due are taken whenever the lock-in is asked anything.
"""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING, Any

from labkit.sim._timeline import Timeline
from labkit.sim.twins._sr830_common import _CMD, _EXE, _format, _integer, _real, _Refused

__all__ = ["BUFFER_POINTS", "DataStorage", "sample_rate"]

BUFFER_POINTS = 16_383
_EXPAND = (1.0, 10.0, 100.0)


def sample_rate(index: int) -> float:
    """``SRAT`` index → samples per second (0 … 13)."""
    return 0.0625 * 2.0**index


class DataStorage:
    """Storage handlers; the twin provides ``bench``, ``_xy()``, ``sens`` and sensitivities."""

    bench: Any
    sens: int

    if TYPE_CHECKING:

        def _xy(self) -> tuple[float, float]: ...

        def _full_scale(self) -> float: ...

    def reset_storage(self) -> None:
        self.srat, self.send, self.tstr = 4, 1, 0  # 1 Hz, loop, no trigger start
        self.displays = [[0, 0], [0, 0]]  # DDEF j, k of CH1 and CH2
        # X, Y, R: [percent, expand index]
        self.offsets: list[list[Any]] = [[0.0, 0], [0.0, 0], [0.0, 0]]
        self.stored: list[collections.deque[float]] = [
            collections.deque(maxlen=BUFFER_POINTS) for _ in range(2)
        ]
        self.scan: Timeline | None = None
        self.overwritten = 0

    # -- displays -----------------------------------------------------------------------

    def _shown(self, channel: int, x: float, y: float) -> float:
        """What display ``channel`` (0 or 1) shows for outputs X, Y: offset and expanded."""
        choice = self.displays[channel][0]
        if choice == 0:
            value, which = (x, 0) if channel == 0 else (y, 1)
        elif choice == 1:
            if channel == 1:
                return math.degrees(math.atan2(y, x))
            value, which = math.hypot(x, y), 2
        else:
            return 0.0  # noise and aux inputs: nothing to show on the bench
        percent, expand = self.offsets[which]
        full_scale = self._full_scale()
        return (value - percent / 100.0 * full_scale) * _EXPAND[int(expand)]

    def _cmd_ddef(self, query: bool, parameters: list[str]) -> str | None:
        if not parameters:
            raise _Refused(_EXE)
        channel = _integer(parameters[0], 3) - 1
        if channel < 0:
            raise _Refused(_EXE)
        if query:
            return ",".join(str(v) for v in self.displays[channel])
        if len(parameters) != 3:
            raise _Refused(_EXE)
        self._bring_up_to_date()
        self.displays[channel] = [_integer(parameters[1], 5), _integer(parameters[2], 3)]
        return None

    def _cmd_oexp(self, query: bool, parameters: list[str]) -> str | None:
        if not parameters:
            raise _Refused(_EXE)
        which = _integer(parameters[0], 4) - 1
        if which < 0:
            raise _Refused(_EXE)
        if query:
            percent, expand = self.offsets[which]
            return f"{percent:.2f},{expand}"
        if len(parameters) != 3:
            raise _Refused(_EXE)
        self._bring_up_to_date()
        self.offsets[which] = [
            round(_real(parameters[1], -105.0, 105.0), 2),
            _integer(parameters[2], 3),
        ]
        return None

    def _cmd_aoff(self, query: bool, parameters: list[str]) -> None:
        if query or len(parameters) != 1:
            raise _Refused(_CMD if query else _EXE)
        which = _integer(parameters[0], 4) - 1
        if which < 0:
            raise _Refused(_EXE)
        x, y = self._xy()
        value = (x, y, math.hypot(x, y))[which]
        percent = max(-105.0, min(105.0, 100.0 * value / self._full_scale()))
        self.offsets[which][0] = round(percent, 2)

    # -- storage ------------------------------------------------------------------------

    def _bring_up_to_date(self) -> None:
        scan = self.scan
        if scan is None:
            return
        for _ in scan.take(self.bench.now()):
            if self.send == 0 and len(self.stored[0]) >= BUFFER_POINTS:
                scan.stopped_at = scan.taken  # one shot: full, storage stops
                break
            x, y = self._xy()
            if len(self.stored[0]) == BUFFER_POINTS:
                self.overwritten += 1
            for channel in (0, 1):
                self.stored[channel].append(self._shown(channel, x, y))

    def _cmd_srat(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return str(self.srat)
        if len(parameters) != 1:
            raise _Refused(_EXE)
        self._bring_up_to_date()
        self.srat = _integer(parameters[0], 15)
        return None

    def _cmd_send(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return str(self.send)
        if len(parameters) != 1:
            raise _Refused(_EXE)
        self.send = _integer(parameters[0], 2)
        return None

    def _cmd_tstr(self, query: bool, parameters: list[str]) -> str | None:
        if query:
            return str(self.tstr)
        if len(parameters) != 1:
            raise _Refused(_EXE)
        self.tstr = _integer(parameters[0], 2)
        return None

    def _cmd_strt(self, query: bool, parameters: list[str]) -> None:
        if query:
            raise _Refused(_CMD)
        self._bring_up_to_date()
        if self.srat == 14:
            raise _Refused(_EXE)  # triggered sampling: not simulated on the bench
        if self.scan is None or self.scan.stopped_at is not None:
            self.scan = Timeline(self.bench.now(), 1.0 / sample_rate(self.srat), None)

    def _cmd_paus(self, query: bool, parameters: list[str]) -> None:
        if query:
            raise _Refused(_CMD)
        self._bring_up_to_date()
        if self.scan is not None:
            self.scan.stop(self.bench.now())

    def _cmd_rest(self, query: bool, parameters: list[str]) -> None:
        if query:
            raise _Refused(_CMD)
        self.scan = None
        for buffer in self.stored:
            buffer.clear()
        self.overwritten = 0

    def _cmd_spts(self, query: bool, parameters: list[str]) -> str:
        if not query:
            raise _Refused(_CMD)
        self._bring_up_to_date()
        return str(len(self.stored[0]))

    def _cmd_trca(self, query: bool, parameters: list[str]) -> str:
        if not query or len(parameters) != 3:
            raise _Refused(_CMD if not query else _EXE)
        self._bring_up_to_date()
        channel = _integer(parameters[0], 3) - 1
        stored = len(self.stored[0])
        first = _integer(parameters[1], max(stored, 1))
        count = _integer(parameters[2], BUFFER_POINTS + 1)
        if channel < 0 or count == 0 or first + count > stored:
            raise _Refused(_EXE)
        points = list(self.stored[channel])[first : first + count]
        return "".join(f"{_format(value)}," for value in points)
