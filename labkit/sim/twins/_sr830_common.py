"""What every part of the SR830 twin shares: its refusals and its number formats."""

from __future__ import annotations

import math

_EXE, _CMD = 0x10, 0x20  # execution and command error bits of *ESR


class _Refused(Exception):
    """A command the SR830 rejects: sets ``bit`` in the standard event status."""

    def __init__(self, bit: int) -> None:
        self.bit = bit


def _format(value: float) -> str:
    """Numbers as the SR830 prints them: six significant digits, three-digit exponents."""
    text = f"{value:.6g}"
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        text = f"{mantissa}e{exponent[0]}{int(exponent[1:]):03d}"
    return text


def _integer(parameter: str, count: int) -> int:
    try:
        value = float(parameter)
    except ValueError:
        raise _Refused(_EXE) from None
    if value != int(value) or not 0 <= value < count:
        raise _Refused(_EXE)
    return int(value)


def _real(parameter: str, low: float, high: float) -> float:
    try:
        value = float(parameter)
    except ValueError:
        raise _Refused(_EXE) from None
    if not (math.isfinite(value) and low <= value <= high):
        raise _Refused(_EXE)
    return value
