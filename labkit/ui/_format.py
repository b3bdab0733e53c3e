"""How values, units and ranges read in a panel.

Kept apart from the widgets so the wording is the same everywhere (read-backs, dropdown
labels, tooltips, status lines) and can be tested without a browser.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from typing import Any

from labkit.core import TraitSpec
from labkit.core._units import format_quantity as _si_quantity
from labkit.core._units import unit_symbol, ureg

__all__ = [
    "choice_label",
    "display_quantity",
    "escape",
    "format_number",
    "format_value",
    "nice_step",
    "plain_text",
    "readout_format",
    "title_of",
    "unit_label",
]

_TAG = re.compile(r"<[^>]*>")


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def plain_text(markup: str) -> str:
    """What a person sees of an HTML snippet: tags dropped, entities decoded, spaces joined."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def title_of(spec: TraitSpec) -> str:
    """``measured_voltage`` → ``Measured voltage`` (a declared label is kept as written)."""
    title = spec.title
    return title if spec.label else title[:1].upper() + title[1:]


def unit_label(unit: str | None) -> str:
    """A declared unit as people write it: ``degC`` → ``°C``, ``uA`` → ``µA``."""
    if not unit:
        return ""
    symbol = unit_symbol(unit)
    if symbol != unit:
        return symbol
    try:
        return f"{ureg().Unit(unit):~P}" or unit
    except Exception:
        return unit


def format_number(value: float) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        return "∞" if number > 0 else ("−∞" if number < 0 else "NaN")
    return f"{number:.6g}"


def display_quantity(value: Any, unit: str | None, *, resolution: float | None = None) -> str:
    """A value as a panel shows it: ``3 V``, ``105 µA``, ``2.5 MHz``, ``—`` when unknown: an
    SI prefix, at ``resolution`` (a step) when one is given, in the wording of labkit's error
    messages (:func:`labkit.core._units.format_quantity`), with units pint spells better."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    label = unit_label(unit)
    if unit and label != unit_symbol(unit):  # a unit pint spells better (V/s, kelvin)
        return f"{_si_quantity(value, None, resolution=resolution)} {label}"
    return _si_quantity(value, unit, resolution=resolution)


def format_value(value: Any, spec: TraitSpec) -> str:
    """A value as a read-back or reading shows it, with its unit (``105 µA``, ``on``)."""
    if value is None:
        return "—"
    if spec.is_array:  # ``2 channel × 1200 time``: its shape, never thousands of numbers
        sizes = zip(getattr(value, "shape", ()), spec.axes or (), strict=False)
        return " × ".join(f"{n} {axis.name}" for n, axis in sizes)
    if spec.kind == "bool":
        return "on" if value else "off"
    if isinstance(value, numbers.Real):
        return display_quantity(value, spec.unit)
    return str(value)


def choice_label(choice: Any, spec: TraitSpec) -> str:
    """A dropdown entry: ``1 ms`` for a discrete time constant, the label itself for an enum."""
    if spec.numeric:
        return display_quantity(choice, spec.unit)
    return str(choice)


def nice_step(low: float, high: float, kind: str) -> float:
    """A slider step of about a thousandth of the range, rounded to 1, 2 or 5 × 10ⁿ."""
    if kind == "int":
        return 1
    span = high - low
    if not span > 0 or not math.isfinite(span):
        return 0.1
    raw = span / 1000
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    for factor in (1, 2, 5, 10):
        if raw <= factor * base * (1 + 1e-9):
            return factor * base
    return 10 * base  # pragma: no cover - the loop always returns


def readout_format(step: float, kind: str) -> str:
    """Enough decimals to show one step, and no more."""
    if kind == "int":
        return "d"
    if not step > 0 or not math.isfinite(step):
        return ".6g"
    for decimals in range(10):
        if math.isclose(round(step, decimals), step, rel_tol=1e-9):
            return f".{decimals}f"
    return ".6g"
