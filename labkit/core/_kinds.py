"""What kind of value a declaration holds, and its choices, from what a factory was given.

``Setting(float)``, ``Setting(MyEnum)``, ``Setting(choices={"fast": "F"})`` or a data table's
``"kind": "int"``: one reading of all of them, shared by the trait factories and
:meth:`TraitSpec.from_jsonable <labkit.core._spec.TraitSpec.from_jsonable>`.
"""

from __future__ import annotations

import enum
import numbers
from collections.abc import Mapping
from typing import Any, Literal

from labkit.core._errors import DeclarationError
from labkit.core._units import is_quantity

__all__ = ["KINDS", "Kind", "kind_of", "split_choices"]

Kind = Literal["float", "int", "bool", "str", "enum", "array"]
KINDS: tuple[Kind, ...] = ("float", "int", "bool", "str", "enum", "array")
_PYTHON_KINDS: dict[type, Kind] = {float: "float", int: "int", bool: "bool", str: "str"}
_NAMED_KINDS: dict[str, Kind] = {name: name for name in KINDS}


def kind_of(kind: Any, choices: Any) -> tuple[Kind, type[enum.Enum] | None]:
    """Resolve the ``kind`` a factory was given (a Python type, an Enum, a name or nothing)."""
    if kind is None:
        if choices is not None and not _all_numbers(choices):
            return "enum", None
        return "float", None
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "enum", kind
    if kind in _PYTHON_KINDS:
        return _PYTHON_KINDS[kind], None
    if isinstance(kind, str) and kind in _NAMED_KINDS:
        return _NAMED_KINDS[kind], None
    raise DeclarationError(
        f"kind {kind!r} is not one of float, int, bool, str, 'array' or an Enum class",
        hint="Write e.g. Setting(float, unit='V'), Setting(bool) or Reading(axes=[...])",
    )


def _all_numbers(choices: Any) -> bool:
    values = choices.keys() if isinstance(choices, Mapping) else choices
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)


def split_choices(
    choices: Any, enum_type: type[enum.Enum] | None
) -> tuple[tuple[Any, ...] | None, tuple[str, ...] | None]:
    """Choices and tokens from a list, a ``{choice: token}`` mapping or an Enum class."""
    if enum_type is not None and choices is None:
        members = list(enum_type)
        return tuple(m.name for m in members), tuple(str(m.value) for m in members)
    if choices is None:
        return None, None
    if isinstance(choices, Mapping):
        return tuple(choices.keys()), tuple(str(t) for t in choices.values())
    if is_quantity(choices) or isinstance(choices, (str, bytes)):
        raise DeclarationError("choices must be a list, a mapping or an Enum class")
    values = tuple(choices)
    return values, None
