"""The DS1000Z's tables and reply parsers, from the MSO1000Z/DS1000Z Programming Guide:
timebase scales, memory depths, trigger types and edge sources; and how a time
axis follows a preamble."""

from __future__ import annotations

import dataclasses
import math

from labkit.core import Axis

__all__ = [
    "EDGE_SOURCES",
    "MEMORY_DEPTHS",
    "TIMEBASE_SCALES",
    "TRIGGER_TYPES",
    "moved_time",
    "parse_memory_depth",
    "parse_trigger_status",
]

TIMEBASE_SCALES = tuple(
    round(mantissa * 10.0**exponent, 12)
    for exponent in range(-9, 2)
    for mantissa in (1, 2, 5)
    if 5e-9 <= mantissa * 10.0**exponent <= 50.0
)
MEMORY_DEPTHS = {
    "auto": "AUTO",
    "3k": "3000",
    "6k": "6000",
    "12k": "12000",
    "30k": "30000",
    "60k": "60000",
    "120k": "120000",
    "300k": "300000",
    "600k": "600000",
    "1.2M": "1200000",
    "3M": "3000000",
    "6M": "6000000",
    "12M": "12000000",
    "24M": "24000000",
}
TRIGGER_TYPES = {
    "edge": "EDGE",
    "pulse": "PULS",
    "runt": "RUNT",
    "window": "WIND",
    "slope": "SLOP",
    "nth edge": "NEDG",
    "pattern": "PATT",
    "delay": "DEL",
    "timeout": "TIM",
    "duration": "DUR",
    "setup/hold": "SHOL",
    "RS232": "RS232",
    "I2C": "IIC",
    "SPI": "SPI",
}
EDGE_SOURCES = {
    **{f"ch{n}": f"CHAN{n}" for n in (1, 2, 3, 4)},
    "ac line": "AC",
    **{f"d{n}": f"D{n}" for n in range(16)},
}
"""``:TRIGger:EDGe:SOURce``: CHAN1-4, AC, and D0-D15 on the MSO1000Z (programming guide)."""


def parse_memory_depth(reply: str) -> str:
    """``AUTO`` or a number of points (``12000``, ``1.200000e+04``) → a depth label."""
    text = reply.strip().upper()
    if text == "AUTO":
        return "auto"
    try:
        points = round(float(text))
    except ValueError:
        raise ValueError(f"{reply!r} is neither AUTO nor a number of points") from None
    for label, token in MEMORY_DEPTHS.items():
        if token == str(points):
            return label
    raise ValueError(f"{points} points is not a DS1000Z memory depth")


def moved_time(axis: Axis, start: float, step: float, points: int) -> Axis | None:
    """``axis`` moved to ``start + step × i`` over ``points`` (None: it is there already)."""
    if (
        axis.size == points
        and axis.step is not None
        and math.isclose(axis.step, step, rel_tol=1e-6)
        and math.isclose(axis.start, start, rel_tol=1e-6, abs_tol=step * 1e-3)
    ):
        return None
    return dataclasses.replace(axis, size=points, start=start, step=step)


def parse_trigger_status(reply: str) -> str:
    states = {"TD": "triggered", "WAIT": "waiting", "RUN": "running", "AUTO": "auto"}
    states["STOP"] = "stopped"
    return states[reply.strip().upper()]
