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

__all__ = ["check_unit", "format_quantity", "is_quantity", "to_number", "ureg"]

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


def format_quantity(value: Any, unit: str | None = None) -> str:
    """``12 V``, ``0.5 mA``, ``True``: a value as a person would write it in a message."""
    if isinstance(value, float):
        text = f"{value:.6g}" if math.isfinite(value) else str(value)
    else:
        text = str(value)
    if unit and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{text} {unit}"
    return text
