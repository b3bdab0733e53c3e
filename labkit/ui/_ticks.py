"""Axis ticks that never lie: round values, labelled exactly, with the unit's SI prefix.

bqplot left alone draws ``num_ticks`` evenly spaced ticks from the scale's (padded) ends,
such as 0.155, and labels them with one digit (``0.2``); and an axis whose scale has no range
yet fails in the browser (``invalid format: .undefinedg``), which leaves it without numbers.
So labkit computes every axis's ticks in the kernel: round values (1, 2 or 5 × 10ⁿ apart)
inside the range shown, labels written out (``tick_labels``), and the prefix moved into the
axis label: ``smu current (mA)`` over ``0 2 4 6 8 10``. A log axis gets its decades, each
labelled with its own prefix (``1n 10n 100n 1µ``).
"""

from __future__ import annotations

import decimal
import math
from typing import Any

from labkit.core._units import si_parts, unit_symbol

__all__ = ["TICK_FORMAT", "Ticks", "apply_ticks", "js_number", "linear_ticks", "log_ticks"]

TICK_FORMAT = ".6~g"
"""The d3 format of a tick without a written label (never used for labkit's own ticks; a
valid format keeps bqplot from guessing one it cannot build)."""

_LOG_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}


class Ticks:
    """Tick values, their labels, and the unit to write in the axis label (``mA``)."""

    def __init__(self, values: list[float], labels: list[str], unit: str) -> None:
        self.values = values
        self.labels = labels
        self.unit = unit

    def __repr__(self) -> str:
        return f"Ticks({list(zip(self.values, self.labels, strict=True))}, unit={self.unit!r})"


def _step(span: float, count: int) -> float:
    raw = span / max(1, count)
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    for factor in (1, 2, 5, 10):
        if raw <= factor * base * (1 + 1e-9):
            return factor * base
    return 10 * base  # pragma: no cover - the loop always returns


def linear_ticks(low: float, high: float, unit: str | None = None, count: int = 5) -> Ticks:
    """About ``count`` round ticks in [low, high], labelled in one SI prefix of ``unit``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return Ticks([], [], unit_symbol(unit))
    if high < low:
        low, high = high, low
    if high == low:
        scale, symbol = si_parts(low, unit)
        return Ticks([float(low)], [_number(low / scale, None)], symbol)
    step = _step(high - low, count)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    values = [_clean(i * step, decimals) for i in range(first, last + 1)]
    scale, symbol = si_parts(max(abs(low), abs(high)), unit)
    labels = [_number(value / scale, step / scale) for value in values]
    return Ticks(values, labels, symbol)


def log_ticks(low: float, high: float, unit: str | None = None) -> Ticks:
    """The decades in [low, high] (every other one, or fewer, over a wide range), each
    labelled with its prefix: ``1n``, ``10n``, ``100n``, ``1µ``; the unit goes in the label."""
    if not (low > 0 and high > 0 and math.isfinite(low) and math.isfinite(high)):
        return Ticks([], [], unit_symbol(unit))
    low, high = min(low, high), max(low, high)
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    every = max(1, math.ceil((last - first + 1) / 8))
    values, labels = [], []
    for exponent in range(first, last + 1):
        if (exponent - first) % every:
            continue
        values.append(float(f"1e{exponent}"))
        engineering = 3 * math.floor(exponent / 3)
        if engineering in _LOG_PREFIXES:
            labels.append(f"{10 ** (exponent - engineering)}{_LOG_PREFIXES[engineering]}")
        else:
            labels.append(f"1e{exponent}")
    return Ticks(values, labels, unit_symbol(unit))


def apply_ticks(axis: Any, ticks: Ticks, name: str = "") -> None:
    """Give a bqplot ``Axis`` these ticks, and the label ``name (unit)``.

    The labels go in a message of their own, before the values: bqplot (0.13) redraws an
    axis whose labels and values change together with the labels it had before. They also
    keep the labels of the ticks shown until then, so no redraw in between shows a raw value.
    """
    label = f"{name} ({ticks.unit})" if name and ticks.unit else name
    labels = {js_number(v): text for v, text in zip(ticks.values, ticks.labels, strict=True)}
    current = axis.tick_values
    shown = [] if current is None else [float(v) for v in current]
    old = dict(axis.tick_labels or {})
    kept = {key: old[key] for key in map(js_number, shown) if key in old}
    with axis.hold_sync():
        if axis.tick_format != TICK_FORMAT:
            axis.tick_format = TICK_FORMAT
        merged = {**kept, **labels}
        if old != merged:
            axis.tick_labels = merged
    with axis.hold_sync():
        if shown != ticks.values:
            axis.tick_values = ticks.values
        if label and axis.label != label:
            axis.label = label


def js_number(value: float) -> str:
    """How JavaScript writes ``value`` (``String(x)``): the key bqplot looks a label up by."""
    number = float(value)
    if number == 0:
        return "0"
    if not math.isfinite(number):
        return "Infinity" if number > 0 else "-Infinity" if number < 0 else "NaN"
    sign = "-" if number < 0 else ""
    digits_tuple = decimal.Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple.digits))
    k = len(digits)
    n = k + int(digits_tuple.exponent)  # the value is 0.digits × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exponent = n - 1
        mark = "+" if exponent > 0 else "-"
        head = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{head}e{mark}{abs(exponent)}"
    return sign + text


def _clean(value: float, decimals: int) -> float:
    """``0.30000000000000004`` → ``0.3``: tick values are what their labels say."""
    cleaned = round(value, min(decimals, 15))
    return 0.0 if cleaned == 0 else cleaned


def _number(value: float, step: float | None) -> str:
    """A tick label: enough decimals to tell neighbours apart, no trailing zeros."""
    if step is None or step <= 0:
        text = f"{value:.6g}"
    else:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        text = f"{value:.{min(decimals, 12)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
