"""The DS1000Z's acquisition types and automatic measurements, for its twin.

From the DS1000Z Programming Guide: ``:ACQuire:TYPE NORMal|AVERages|PEAK|HRESolution`` and
``:ACQuire:AVERages <count>`` (2^n, 2 … 1024; 2 at power-on); ``:MEASure:SOURce`` (CHANnel1
… 4) and ``:MEASure:ITEM? <item>[,<source>]`` answering the measurement of the screen
waveform, ``9.9E37`` when it cannot be made (no edge for a period, a channel off).

Averaging over N acquisitions keeps the signal and divides uncorrelated noise by √N (the
twin averages at once: the N triggers an average needs are not timed). The measurements are
computed from the 1200 screen points: maximum, minimum, peak-to-peak, mean, RMS; top and base
as the 95th and 5th percentiles (the scope's histogram method is not published), amplitude =
top − base; period and frequency from successive rising crossings of the mid level, positive
and negative widths and duties; rise and fall times between 10 % and 90 % of the amplitude.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import mnemonic, number, scpi

__all__ = ["ITEMS", "ScopeMeasurements", "measure"]

_TYPES = {"NORMal": "NORM", "AVERages": "AVER", "PEAK": "PEAK", "HRESolution": "HRES"}
_SOURCES = {f"CHANnel{n}": n for n in (1, 2, 3, 4)}
ITEMS = {
    "VMAX": "VMAX", "VMIN": "VMIN", "VPP": "VPP", "VTOP": "VTOP", "VBASe": "VBAS",
    "VAMP": "VAMP", "VAVG": "VAVG", "VRMS": "VRMS", "PERiod": "PER", "FREQuency": "FREQ",
    "RTIMe": "RTIM", "FTIMe": "FTIM", "PWIDth": "PWID", "NWIDth": "NWID", "PDUTy": "PDUT",
    "NDUTy": "NDUT",
}  # fmt: skip
INVALID = 9.9e37


def _crossings(v: np.ndarray, level: float, rising: bool) -> np.ndarray:
    """Fractional indices where ``v`` crosses ``level`` upwards (or downwards)."""
    a, b = v[:-1] - level, v[1:] - level
    found = np.flatnonzero((a < 0) & (b >= 0) if rising else (a > 0) & (b <= 0))
    return found + a[found] / (a[found] - b[found])


def measure(item: str, v: np.ndarray, step: float) -> float:
    """One automatic measurement of the screen waveform ``v`` (``step`` s per point)."""
    simple = {
        "VMAX": lambda: v.max(),
        "VMIN": lambda: v.min(),
        "VPP": lambda: v.max() - v.min(),
        "VAVG": lambda: v.mean(),
        "VRMS": lambda: math.sqrt(float(np.mean(v * v))),
        "VTOP": lambda: np.percentile(v, 95),
        "VBAS": lambda: np.percentile(v, 5),
        "VAMP": lambda: np.percentile(v, 95) - np.percentile(v, 5),
    }
    if item in simple:
        return float(simple[item]())
    top, base = np.percentile(v, 95), np.percentile(v, 5)
    if top - base <= 0:
        return INVALID
    middle = (top + base) / 2
    ups, downs = _crossings(v, middle, True), _crossings(v, middle, False)
    if item in ("RTIM", "FTIM"):
        low, high = base + 0.1 * (top - base), base + 0.9 * (top - base)
        rising = item == "RTIM"
        starts = _crossings(v, low if rising else high, rising)
        ends = _crossings(v, high if rising else low, rising)
        if not len(starts) or not len(ends[ends > starts[0]]):
            return INVALID
        return float((ends[ends > starts[0]][0] - starts[0]) * step)
    if len(ups) < 2:
        return INVALID
    period = float(np.mean(np.diff(ups))) * step
    if item == "PER":
        return period
    if item == "FREQ":
        return 1.0 / period
    later = downs[downs > ups[0]]
    if not len(later):
        return INVALID
    high = float(later[0] - ups[0]) * step
    return {"PWID": high, "NWID": period - high, "PDUT": high / period, "NDUT": 1 - high / period}[
        item
    ]


class ScopeMeasurements:
    """Acquisition type and measurement handlers; the twin provides the screen waveform."""

    channels: dict[int, Any]

    if TYPE_CHECKING:

        def _acquire(self) -> None: ...

        def screen_volts(self, channel: int) -> tuple[np.ndarray, float] | None: ...

    def reset_measurements(self) -> None:
        self.acquire_type = "NORM"
        self.averages = 2
        self.measure_source = 1

    def noise_factor(self) -> float:
        """How much of the noise an acquisition keeps (1/√N when averaging N)."""
        return 1.0 / math.sqrt(self.averages) if self.acquire_type == "AVER" else 1.0

    @scpi(":ACQuire:TYPE")
    def _set_type(self, value: str | None = None) -> None:
        self.acquire_type = mnemonic(value, _TYPES)

    @scpi(":ACQuire:TYPE?")
    def _get_type(self) -> str:
        return self.acquire_type

    @scpi(":ACQuire:AVERages")
    def _set_averages(self, value: str | None = None) -> None:
        count = int(number(value, low=2, high=1024, integer=True))
        if count & (count - 1):
            raise ScpiError(-224, "Illegal parameter value")
        self.averages = count

    @scpi(":ACQuire:AVERages?")
    def _get_averages(self) -> str:
        return str(self.averages)

    @scpi(":MEASure:SOURce")
    def _set_source(self, value: str | None = None) -> None:
        self.measure_source = mnemonic(value, _SOURCES)

    @scpi(":MEASure:SOURce?")
    def _get_source(self) -> str:
        return f"CHAN{self.measure_source}"

    @scpi(":MEASure:ITEM")
    def _show_item(self, item: str | None = None, source: str | None = None) -> None:
        mnemonic(item, ITEMS)
        if source is not None:
            self.measure_source = mnemonic(source, _SOURCES)

    @scpi(":MEASure:ITEM?")
    def _item(self, item: str | None = None, source: str | None = None) -> str:
        key = mnemonic(item, ITEMS)
        channel = self.measure_source if source is None else mnemonic(source, _SOURCES)
        self._acquire()
        screen = self.screen_volts(channel)
        value = INVALID if screen is None else measure(key, *screen)
        return f"{value:.6E}"
