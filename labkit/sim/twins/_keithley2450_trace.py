"""The 2450's reading buffers (``:TRACe``), for :class:`Keithley2450Twin`.

From the 2450 Reference Manual (2450-901-01 B), section 6, ``:TRACe`` subsystem:

- ``defbuffer1`` and ``defbuffer2`` always exist; each holds 10,000 readings at power-on
  (``:TRACe:POINts``, p. 6-115). ``:TRACe:MAKE "name", size[, style]`` makes a user buffer
  (``STANdard`` or ``FULL``; at least 10 readings), ``:TRACe:DELete "name"`` removes one; a
  buffer that does not exist is error -285 ("Buffer not found"). All buffers together hold at
  most 6,875,000 standard readings.
- A buffer fills continuously, the newest overwriting the oldest (``:TRACe:FILL:MODE CONT``,
  p. 6-112), or ``ONCE``: a full buffer keeps its readings and discards new ones. Resizing
  clears it; the fill mode of a buffer holding readings cannot change.
- ``:TRACe:DATA? start, end[, "name"[, elements...]]`` returns readings ``start``…``end``
  (1-based, among those present) with the elements asked for (``READing`` by default),
  comma-separated; ``:TRACe:ACTual?`` counts them, ``:TRACe:ACTual:STARt?``/``END?`` give
  the first and last index, ``:TRACe:CLEar`` empties the buffer.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import mnemonic, number, scpi, text

__all__ = ["BUFFER_DEFAULT", "BUFFER_MAX", "ReadingBuffer", "TraceCommands"]

BUFFER_DEFAULT = 10_000  # readings defbuffer1 and defbuffer2 hold at power-on
BUFFER_MAX = 6_875_000  # standard readings of all buffers together
BUFFER_MIN = 10
DEFAULT_BUFFERS = ("defbuffer1", "defbuffer2")
_FILL_MODES = {"CONTinuous": "CONT", "ONCE": "ONCE"}
_STYLES = {"STANdard": "STAN", "FULL": "FULL", "COMPact": "COMP"}
_ELEMENTS = {
    "READing": "READ",
    "SOURce": "SOUR",
    "RELative": "REL",
    "SEConds": "SEC",
    "UNIT": "UNIT",
    "SOURUNIT": "SOURUNIT",
}
_UNITS = {"VOLT": "Volt DC", "CURR": "Amp DC", "RES": "Ohm"}
_SOURCE_UNITS = {"VOLT": "Volt DC", "CURR": "Amp DC"}

Reading = tuple[float, float, float, str, str]  # reading, source, time, function, source fn


class ReadingBuffer:
    """One reading buffer: bounded, filling continuously or once."""

    def __init__(self, capacity: int = BUFFER_DEFAULT, style: str = "STAN") -> None:
        self.readings: collections.deque[Reading] = collections.deque(maxlen=capacity)
        self.fill_mode = "CONT"
        self.style = style
        self.discarded = 0  # readings a full ONCE buffer did not keep
        self.overwritten = 0  # readings a full CONT buffer lost to newer ones

    @property
    def capacity(self) -> int:
        return self.readings.maxlen or 0

    def __eq__(self, other: object) -> bool:
        """Buffers are alike when configured alike (what they hold is measured data)."""
        if not isinstance(other, ReadingBuffer):
            return NotImplemented
        return (self.capacity, self.fill_mode, self.style) == (
            other.capacity,
            other.fill_mode,
            other.style,
        )

    __hash__ = None  # type: ignore[assignment]

    def store(self, reading: Reading) -> None:
        if len(self.readings) == self.capacity:
            if self.fill_mode == "ONCE":
                self.discarded += 1
                return
            self.overwritten += 1
        self.readings.append(reading)

    def clear(self) -> None:
        self.readings.clear()
        self.discarded = self.overwritten = 0


def format_elements(reading: Reading, elements: list[str], first_time: float) -> list[str]:
    value, source, seconds, function, source_function = reading
    out = []
    for element in elements or ["READ"]:
        key = mnemonic(element, _ELEMENTS)
        if key == "READ":
            out.append(f"{value:.6E}")
        elif key == "SOUR":
            out.append(f"{source:.6E}")
        elif key == "REL":
            out.append(f"{seconds - first_time:.6f}")
        elif key == "SEC":
            out.append(f"{seconds:.6f}")
        elif key == "UNIT":
            out.append(_UNITS[function])
        else:
            out.append(_SOURCE_UNITS[source_function])
    return out


class TraceCommands:
    """``:TRACe`` handlers; the twin provides ``buffers`` and ``bring_up_to_date()``."""

    buffers: dict[str, ReadingBuffer]

    if TYPE_CHECKING:  # the twin's: take the readings an acquisition made by now

        def bring_up_to_date(self) -> None: ...

    def reset_buffers(self) -> None:
        self.buffers = {name: ReadingBuffer() for name in DEFAULT_BUFFERS}

    def buffer_named(self, name: str | None) -> ReadingBuffer:
        key = "defbuffer1" if name is None else text(name)
        try:
            return self.buffers[key]
        except KeyError:
            raise ScpiError(-285, "Buffer not found") from None

    def _total_capacity(self, leaving_out: str | None = None) -> int:
        return sum(b.capacity for name, b in self.buffers.items() if name != leaving_out)

    @scpi(":TRACe:MAKE")
    def _make(self, name: str | None = None, size: str | None = None, *style: str) -> None:
        key = text(name)
        if key in self.buffers:
            raise ScpiError(-221, "Settings conflict;buffer exists")
        points = int(number(size, low=BUFFER_MIN, high=BUFFER_MAX, integer=True))
        chosen = mnemonic(style[0], _STYLES) if style else "STAN"
        if self._total_capacity() + points > BUFFER_MAX:
            raise ScpiError(-225, "Out of memory")
        self.buffers[key] = ReadingBuffer(points, chosen)

    @scpi(":TRACe:DELete")
    def _delete(self, name: str | None = None) -> None:
        key = text(name)
        if key in DEFAULT_BUFFERS:
            raise ScpiError(-221, "Settings conflict;default buffers cannot be deleted")
        self.buffer_named(key)
        del self.buffers[key]

    @scpi(":TRACe:ACTual?")
    def _actual(self, name: str | None = None) -> str:
        self.bring_up_to_date()
        return str(len(self.buffer_named(name).readings))

    @scpi(":TRACe:ACTual:STARt?")
    def _actual_start(self, name: str | None = None) -> str:
        self.bring_up_to_date()
        return "1" if self.buffer_named(name).readings else "0"

    @scpi(":TRACe:ACTual:END?")
    def _actual_end(self, name: str | None = None) -> str:
        self.bring_up_to_date()
        return str(len(self.buffer_named(name).readings))

    @scpi(":TRACe:CLEar")
    def _clear(self, name: str | None = None) -> None:
        self.bring_up_to_date()
        self.buffer_named(name).clear()

    @scpi(":TRACe:POINts")
    def _set_points(self, size: str | None = None, name: str | None = None) -> None:
        key = "defbuffer1" if name is None else text(name)
        self.buffer_named(key)
        points = int(number(size, low=BUFFER_MIN, high=BUFFER_MAX, integer=True))
        if self._total_capacity(leaving_out=key) + points > BUFFER_MAX:
            raise ScpiError(-225, "Out of memory")
        old = self.buffers[key]
        self.buffers[key] = ReadingBuffer(points, old.style)  # resizing loses the readings
        self.buffers[key].fill_mode = old.fill_mode

    @scpi(":TRACe:POINts?")
    def _get_points(self, name: str | None = None) -> str:
        return str(self.buffer_named(name).capacity)

    @scpi(":TRACe:FILL:MODE")
    def _set_fill_mode(self, mode: str | None = None, name: str | None = None) -> None:
        buffer = self.buffer_named(name)
        fill_mode = mnemonic(mode, _FILL_MODES)
        if buffer.readings and fill_mode != buffer.fill_mode:
            # "You can only change the fill mode of an empty reading buffer" (p. 6-112)
            raise ScpiError(
                -221, "Settings conflict;clear the buffer before changing its fill mode"
            )
        buffer.fill_mode = fill_mode

    @scpi(":TRACe:FILL:MODE?")
    def _get_fill_mode(self, name: str | None = None) -> str:
        return self.buffer_named(name).fill_mode

    @scpi(":TRACe:DATA?")
    def _data(self, start: str | None = None, end: str | None = None, *rest: str) -> str:
        self.bring_up_to_date()
        buffer = self.buffer_named(rest[0] if rest else None)
        count = len(buffer.readings)
        first = int(number(start, low=1, high=max(count, 1), integer=True))
        last = int(number(end, low=first, high=max(count, 1), integer=True))
        if count == 0:
            raise ScpiError(-230, "Data corrupt or stale;buffer is empty")
        readings = list(buffer.readings)
        origin = readings[0][2]
        out: list[str] = []
        for reading in readings[first - 1 : last]:
            out.extend(format_elements(reading, list(rest[1:]), origin))
        return ",".join(out)
