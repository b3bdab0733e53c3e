"""Units: turn what a person types ("500 mV", a pint Quantity, 0.5) into a plain number.

Values live as plain numbers in the unit a setting declares; pint is only asked to convert.
pint is imported on first use, so ``import labkit`` stays fast. The number and the unit are
split here rather than by pint's expression parser, which reads "1.2.3" as 0.36 and cannot
parse "25 degC" at all.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
from typing import TYPE_CHECKING, Any

from labkit.core._errors import DeclarationError, SettingTypeError, UnitError

if TYPE_CHECKING:
    import pint

__all__ = [
    "check_unit",
    "format_quantity",
    "is_quantity",
    "si_parts",
    "to_number",
    "unit_symbol",
    "ureg",
]

_NUMBER_AND_UNIT = re.compile(
    r"""^\s*
    (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)
    \s*(?P<unit>(?:[^\d\s.+-].*?)?)\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


@functools.cache
def ureg() -> pint.UnitRegistry:
    """The pint registry labkit converts with: pint's application registry, shared with the user."""
    import pint

    return pint.get_application_registry().get()


def is_quantity(value: Any) -> bool:
    """True for a pint Quantity, without importing pint when nothing could be one."""
    return hasattr(value, "magnitude") and hasattr(value, "units") and hasattr(value, "to")


@functools.cache
def _unit(text: str) -> pint.Unit:
    return ureg().Unit(text)


def check_unit(unit: str | None, *, where: str) -> None:
    """Refuse a declared unit pint does not know, naming the declaration."""
    if not unit:
        return
    try:
        _unit(unit)
    except Exception as error:
        raise DeclarationError(
            f"unit {unit!r} is not a unit pint knows ({error})",
            setting=where,
            hint="Use a pint unit such as 'V', 'mA', 'degC', 'Hz' or 'ohm'",
        ) from None


def _convert(
    magnitude: float, source: Any, unit: str | None, *, original: Any, where: str
) -> float:
    target = unit or ""
    try:
        quantity = ureg().Quantity(magnitude, source)
        return float(quantity.to(_unit(target)).magnitude)
    except Exception as error:
        if type(error).__name__ == "UndefinedUnitError":
            raise UnitError(
                f"{original!r} has a unit pint does not know",
                setting=where,
                value=original,
                limit=unit,
                hint=f"Write the value in {unit or 'plain numbers'}, e.g. '1.5 {unit or ''}'".rstrip(),
            ) from None
        raise UnitError(
            f"{original!r} cannot be converted to {unit or 'a plain number'}",
            setting=where,
            value=original,
            limit=unit,
            hint=f"Give a value in {unit}" if unit else "Give a plain number",
        ) from None


def to_number(value: Any, unit: str | None, *, where: str) -> float:
    """Return ``value`` as a float in ``unit``.

    Accepts plain numbers (already in ``unit``), strings with or without a unit, and pint
    Quantities. Booleans are refused: ``True`` is not a voltage.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise SettingTypeError(
            f"{value!r} is a switch value, not a number",
            setting=where,
            value=value,
            hint=f"Give a number{' in ' + unit if unit else ''}",
        )
    if isinstance(value, numbers.Real):
        return float(value)
    if is_quantity(value):
        return _convert(value.magnitude, value.units, unit, original=value, where=where)
    if isinstance(value, str):
        match = _NUMBER_AND_UNIT.match(value)
        if match is None:
            raise SettingTypeError(
                f"{value!r} is not a number",
                setting=where,
                value=value,
                hint=f"Give a number{', e.g. ' + repr('1.5 ' + unit) if unit else ''}",
            )
        number = float(match["number"])
        text_unit = match["unit"]
        if not text_unit:
            return number
        return _convert(
            number, _safe_unit(text_unit, value, unit, where), unit, original=value, where=where
        )
    raise SettingTypeError(
        f"{value!r} ({type(value).__name__}) is not a number",
        setting=where,
        value=value,
        hint=f"Give a number{' in ' + unit if unit else ''}",
    )


def _safe_unit(text: str, original: str, unit: str | None, where: str) -> Any:
    try:
        return _unit(text)
    except Exception:
        raise UnitError(
            f"{original!r}: {text!r} is not a unit pint knows",
            setting=where,
            value=original,
            limit=unit,
            hint=f"Write the value in {unit}, e.g. '1.5 {unit}'" if unit else "Give a plain number",
        ) from None


# Units that take SI prefixes in what people read: ``105 µA``, ``50 mA``, ``1.5 kV``. Others
# (``degC``, ``nm``, ``%``, ``deg``, compound units) are shown as declared.
_PREFIXED_UNITS = {
    "V": "V",
    "A": "A",
    "W": "W",
    "Hz": "Hz",
    "s": "s",
    "F": "F",
    "H": "H",
    "S": "S",
    "ohm": "Ω",
    "Ω": "Ω",
    "Ohm": "Ω",
}
_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}
_SIGNIFICANT = 6


def unit_symbol(unit: str | None) -> str:
    """A declared unit as people write it (``ohm`` → ``Ω``, ``degC`` → ``°C``, ``uA`` → ``µA``)."""
    if not unit:
        return ""
    if unit in _PREFIXED_UNITS:
        return _PREFIXED_UNITS[unit]
    special = {"degC": "°C", "degF": "°F", "deg": "°", "percent": "%", "kelvin": "K"}
    if unit in special:
        return special[unit]
    if unit.startswith("u") and unit[1:] in _PREFIXED_UNITS:
        return "µ" + _PREFIXED_UNITS[unit[1:]]
    return unit


def si_parts(value: float, unit: str | None) -> tuple[float, str]:
    """The scale and unit symbol ``value`` reads best in: ``(1e-6, "µA")`` for 105e-6 A.

    Engineering prefixes (a mantissa from 1 to 999), except that values from 0.1 to 1 keep
    the bare unit (``0.63 V``, ``0.5 s``), and seconds take no prefix above one.
    """
    symbol = unit_symbol(unit)
    if unit not in _PREFIXED_UNITS or not math.isfinite(value) or value == 0:
        return 1.0, symbol
    magnitude = abs(value)
    exponent = 3 * math.floor(math.log10(magnitude) / 3)
    if exponent == -3 and magnitude >= 0.1 * (1 - 1e-12):
        exponent = 0
    if unit == "s":
        exponent = min(exponent, 0)
    if exponent not in _PREFIXES:  # beyond femto and giga: the bare unit, with an exponent
        return 1.0, symbol
    return 10.0**exponent, _PREFIXES[exponent] + symbol


def _mantissa(number: float, resolution: float | None) -> str:
    """``number`` with six significant digits, or to ``resolution`` (a step), zeros trimmed."""
    if resolution is not None and resolution > 0 and math.isfinite(resolution):
        decimals = max(0, -math.floor(math.log10(resolution) + 1e-9))
        decimals = min(decimals, 15)
        text = f"{number:.{decimals}f}"
    else:
        whole = math.floor(math.log10(abs(number))) + 1 if number else 1
        digits = max(_SIGNIFICANT, whole) if whole <= 12 else _SIGNIFICANT
        text = f"{number:.{digits}g}"
        if "e" in text:
            return text
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def format_quantity(value: Any, unit: str | None = None, *, resolution: float | None = None) -> str:
    """``12 V``, ``105 µA``, ``50 mA``, ``True``: a value as a person would write it.

    Numbers get an SI prefix (see :func:`si_parts`) and six significant digits, or the
    decimals one ``resolution`` step needs (a setting's step, in its declared unit).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        text = "∞" if number > 0 else "−∞" if number < 0 else "NaN"
        return f"{text} {unit_symbol(unit)}".rstrip()
    if isinstance(value, numbers.Integral) and resolution is None and unit not in _PREFIXED_UNITS:
        text = str(int(value))
        return f"{text} {unit_symbol(unit)}".rstrip()
    scale, symbol = si_parts(number, unit)
    step = None if resolution is None else resolution / scale
    text = _mantissa(number / scale, step)
    return f"{text} {symbol}".rstrip()
