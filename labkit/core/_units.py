"""Units: turn what a person types ("500 mV", a pint Quantity, 0.5) into a plain number.

Values live as plain numbers in the unit a setting declares; pint is only asked to convert.
pint is imported on first use, so ``import labkit`` stays fast. The number and the unit are
split here rather than by pint's expression parser, which reads "1.2.3" as 0.36 and cannot
parse "25 degC" at all.

Hygiene, because what reaches here may come from a typo, a station file or a fuzzer:

- only finite numbers come out (``inf``, NaN and integers beyond a float are refused);
- text is refused at once, before any parsing, if it is longer than :data:`MAX_TEXT`
  characters or holds a control character (``"1\\x00V"``); a unit is at most
  :data:`MAX_UNIT` characters, so pint never parses anything long. Splitting number from unit
  takes one linear pass (no backtracking);
- units that pint calls dimensionless but that mean different things never convert into each
  other or into plain numbers: an angle is not a ratio ("50 %" is no phase), a ratio not a
  level ("1 dB" is no phase either, nor a count), and a setting without a unit takes plain
  numbers only ("1 %" is not 0.01 cycles). ``rad/s`` is not ``Hz`` for the same reason;
- messages show at most :data:`SHOWN` characters of what was given.
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
    "MAX_TEXT",
    "MAX_UNIT",
    "SHOWN",
    "check_text",
    "check_unit",
    "format_quantity",
    "is_quantity",
    "shorten",
    "si_parts",
    "to_number",
    "unit_symbol",
    "ureg",
]

MAX_TEXT = 4096
"""Longest text accepted as a value (characters); longer is refused before it is looked at."""

MAX_UNIT = 64
"""Longest unit accepted after a number ("mV/s", "degC" ... need far fewer)."""

SHOWN = 60
"""At most this much of a value is quoted in an error message."""

# ASCII digits only (``float`` would take other scripts' digits), one anchored pass.
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf(?:inity)?|nan)",
    re.IGNORECASE,
)
# C0 and C1 controls (NUL, newline, escape, DEL...) and the Unicode line separators: none is
# part of a value, and in a message-based protocol some would end or inject a command.
_NUMBER_CHARS = frozenset("+-.0123456789")  # "1.2.3", "1-2": not a number and a unit
_DIMENSIONLESS_BASES = {"radian", "count", "bit", "steradian"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shorten(value: Any, limit: int = SHOWN) -> str:
    """``repr(value)``, cut to ``limit`` characters with its length said (for messages)."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[: limit - 10]!r}… ({len(value):,} characters)"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return _integer(int(value))
    try:
        text = repr(value)
    except Exception:  # a repr that fails must not hide the error being reported
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        return f"{text[: limit - 1]}…"
    return text


def _integer(value: int) -> str:
    """An integer as a message can show it: ``2**70`` in full, a 5,000-digit one by size."""
    if value.bit_length() <= 128:
        return str(value)
    if value.bit_length() <= 1000:
        return f"{float(value):.6g}"
    return f"an integer of {value.bit_length():,} bits"


def check_text(text: str, *, where: str, limit: Any = None) -> None:
    """Refuse text that is too long or holds control characters, in time linear in its size.

    ``limit`` is what the value is checked against (for the error's ``limit``).
    """
    if len(text) > MAX_TEXT:
        raise SettingTypeError(
            f"{shorten(text)} is too long to be a value (over {MAX_TEXT:,} characters)",
            setting=where,
            value=text,
            limit=limit if limit is not None else f"at most {MAX_TEXT} characters",
            hint="Check what was pasted or generated",
        )
    found = _CONTROL.search(text)
    if found is not None:
        raise SettingTypeError(
            f"{shorten(text)} holds the control character {found.group()!r} at position "
            f"{found.start()}",
            setting=where,
            value=text,
            limit=limit if limit is not None else "printable text",
            hint="Remove it; values are printable text",
        )


@functools.cache
def ureg() -> pint.UnitRegistry:
    """The pint registry labkit converts with: pint's application registry, shared with the user."""
    import pint

    return pint.get_application_registry().get()


def is_quantity(value: Any) -> bool:
    """True for a pint Quantity, without importing pint when nothing could be one."""
    return hasattr(value, "magnitude") and hasattr(value, "units") and hasattr(value, "to")


@functools.lru_cache(maxsize=512)
def _unit(text: str) -> pint.Unit:
    return ureg().Unit(text)


@functools.lru_cache(maxsize=512)
def _kind(unit: Any) -> tuple[Any, bool, bool]:
    """What a unit measures beyond its dimension: its root units (``radian``, ``count``...),
    whether it is a level (dB, neper, dBm: equal steps in it are not equal steps of what it
    measures) and whether it is dimensionless."""
    registry = ureg()
    _, root = registry.get_root_units(unit)

    def measured(x: float) -> float:
        return float(registry.Quantity(x, unit).to_root_units().magnitude)

    first, second = measured(2.0) - measured(1.0), measured(3.0) - measured(2.0)
    logarithmic = not math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-300)
    return root, logarithmic, unit.dimensionless


def _root_names(root: Any) -> list[str]:
    return sorted(set(re.findall(r"[A-Za-z_]+", str(root))) - {"dimensionless"})


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


def _describe(unit: Any) -> str:
    """ "an angle", "a ratio", "a level", or the dimension with its dimensionless base units."""
    root, logarithmic, dimensionless = _kind(unit)
    named = _root_names(root)
    if logarithmic:
        return "a level"
    if dimensionless:
        if "radian" in named:
            return "an angle"
        return f"a {'·'.join(named)} quantity" if named else "a ratio"
    extra = [name for name in named if name in _DIMENSIONLESS_BASES]
    return f"{unit.dimensionality}" + (f" × {'·'.join(extra)}" if extra else "")


def _compatible(source: Any, target: Any) -> bool:
    """Same dimension *and* the same kind of thing (see the module's docstring)."""
    s_root, s_log, s_dimensionless = _kind(source)
    t_root, t_log, t_dimensionless = _kind(target)
    if s_root != t_root:
        return False
    return not ((s_dimensionless or t_dimensionless) and s_log != t_log)


def _convert(
    magnitude: float, source: Any, unit: str | None, *, original: Any, where: str
) -> float:
    shown = shorten(original)
    if not unit:
        raise UnitError(
            f"{shown} has a unit, and {where} takes a plain number",
            setting=where,
            value=original,
            limit="a plain number",
            hint="Give the number alone (no %, dB, count or angle)",
        )
    target = _unit(unit)
    if source.dimensionality != target.dimensionality:
        raise UnitError(
            f"{shown} cannot be converted to {unit}",
            setting=where,
            value=original,
            limit=unit,
            hint=f"Give a value in {unit}",
        )
    if not _compatible(source, target):
        raise UnitError(
            f"{shown} is {_describe(source)}, and {where} is {_describe(target)} in {unit}",
            setting=where,
            value=original,
            limit=unit,
            hint=f"Give a value in {unit}",
        )
    try:
        number = float(ureg().Quantity(magnitude, source).to(target).magnitude)
    except Exception:
        raise UnitError(
            f"{shown} cannot be converted to {unit}",
            setting=where,
            value=original,
            limit=unit,
            hint=f"Give a value in {unit}",
        ) from None
    return _finite(number, original, where, unit)


def _finite(number: float, original: Any, where: str, unit: str | None) -> float:
    if math.isfinite(number):
        return number
    what = "not a number (NaN)" if math.isnan(number) else "not finite"
    raise SettingTypeError(
        f"{shorten(original)} is {what}",
        setting=where,
        value=original,
        limit="a finite number",
        hint=f"Give a finite number{' in ' + unit if unit else ''}",
    )


def to_number(value: Any, unit: str | None, *, where: str) -> float:
    """Return ``value`` as a finite float in ``unit``.

    Accepts plain numbers (already in ``unit``), strings with or without a unit, and pint
    Quantities. Booleans are refused: ``True`` is not a voltage. So are ``inf`` and NaN,
    control characters, text over :data:`MAX_TEXT` characters and units of another kind.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise SettingTypeError(
            f"{value!r} is a switch value, not a number",
            setting=where,
            value=value,
            limit="a number",
            hint=f"Give a number{' in ' + unit if unit else ''}",
        )
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float
            raise SettingTypeError(
                f"{shorten(value)} is beyond the range of floating-point numbers",
                setting=where,
                value=value,
                limit="a finite number",
                hint=f"Give a finite number{' in ' + unit if unit else ''}",
            ) from None
        return _finite(number, value, where, unit)
    if is_quantity(value):
        return _from_quantity(value, unit, where)
    if isinstance(value, str):
        return _from_text(value, unit, where)
    raise SettingTypeError(
        f"{shorten(value)} ({type(value).__name__}) is not a number",
        setting=where,
        value=value,
        limit="a number",
        hint=f"Give a number{' in ' + unit if unit else ''}",
    )


def _from_quantity(value: Any, unit: str | None, where: str) -> float:
    magnitude = value.magnitude
    if not isinstance(magnitude, numbers.Real) or isinstance(magnitude, bool):
        raise SettingTypeError(
            f"{shorten(value)} is not one number",
            setting=where,
            value=value,
            limit="a number",
            hint="Give a single value",
        )
    try:
        magnitude = float(magnitude)
    except OverflowError:
        magnitude = math.inf if magnitude > 0 else -math.inf
    _finite(magnitude, value, where, unit)
    if str(value.units) in ("", "dimensionless"):  # a bare pint number: like a float
        return magnitude
    return _convert(magnitude, value.units, unit, original=value, where=where)


def _from_text(value: str, unit: str | None, where: str) -> float:
    check_text(value, where=where, limit=unit or "a number")
    text = value.strip()
    match = _NUMBER.match(text)
    if match is None or text[match.end() : match.end() + 1] in _NUMBER_CHARS:
        raise SettingTypeError(
            f"{shorten(value)} is not a number",
            setting=where,
            value=value,
            limit=unit or "a number",
            hint=f"Give a number{', e.g. ' + repr('1.5 ' + unit) if unit else ''}",
        )
    number = _finite(float(match.group()), value, where, unit)
    text_unit = text[match.end() :].strip()
    if not text_unit:
        return number
    if len(text_unit) > MAX_UNIT or text_unit[0] in _NUMBER_CHARS:
        raise UnitError(
            f"{shorten(value)}: {shorten(text_unit, 30)} is not a unit",
            setting=where,
            value=value,
            limit=unit or "a plain number",
            hint=f"Write the value in {unit}, e.g. '1.5 {unit}'" if unit else "Give a plain number",
        )
    return _convert(
        number, _safe_unit(text_unit, value, unit, where), unit, original=value, where=where
    )


def _safe_unit(text: str, original: str, unit: str | None, where: str) -> Any:
    try:
        return _unit(text)
    except Exception:
        raise UnitError(
            f"{shorten(original)}: {shorten(text, 30)} is not a unit pint knows",
            setting=where,
            value=original,
            limit=unit or "a plain number",
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
    if isinstance(value, bool):
        return str(value)
    if not isinstance(value, numbers.Real):
        text = value if isinstance(value, str) else str(value)
        return text if len(text) <= SHOWN else shorten(value)  # never a whole megabyte
    if isinstance(value, numbers.Integral) and int(value).bit_length() > 128:
        return f"{_integer(int(value))} {unit_symbol(unit)}".rstrip()  # 10**400 is no float
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
