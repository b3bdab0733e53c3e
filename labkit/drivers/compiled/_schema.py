"""A compiled plugin's declarations: its JSON document checked and turned into plain data.

The schema is the one ``labkit_plugin.h`` documents (schema version 1). Everything is checked
here, with the JSON path of the offending key in the message, before labkit builds anything
from it: a typo in a plugin's limits must fail when the plugin is loaded, not in front of an
instrument. The checks that need the instrument model (limits against each other, a safe value
inside them, units that pint knows) follow when the declarations become labkit traits.
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import math
import re
from collections.abc import Mapping
from typing import Any

from labkit.core import DeclarationError

__all__ = ["SCHEMA_VERSION", "Declaration", "Declarations", "parse_declarations"]

SCHEMA_VERSION = 1

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_KINDS = ("float", "int", "bool", "str", "enum")
_COMMON = {"role", "name", "doc", "label"}
_KEYS = {
    "setting": _COMMON
    | {
        "kind",
        "unit",
        "min",
        "max",
        "soft_min",
        "soft_max",
        "step",
        "ramp",
        "ramp_step",
        "choices",
        "safe",
        "access",
        "readback",
        "lockable",
        "delay",
    },
    "reading": _COMMON | {"kind", "unit", "choices"},
    "action": _COMMON | {"confirm"},
}
_NUMBERS = ("min", "max", "soft_min", "soft_max", "step", "ramp", "ramp_step", "delay")
_TEXTS = ("unit", "label", "readback", "confirm")


@dataclasses.dataclass(frozen=True)
class Declaration:
    """One setting, reading or action: its role, name and the options of labkit's factory
    (``Setting(**options)``, ``Reading(**options)``, ``Action(**options)``)."""

    role: str
    name: str
    options: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.options.get("kind", "float"))


@dataclasses.dataclass(frozen=True)
class Declarations:
    """Everything a plugin declares, in panel order."""

    items: tuple[Declaration, ...]
    test_resource: str | None = None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def named(self, name: str) -> Declaration:
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)


class _Checker:
    def __init__(self, plugin: str) -> None:
        self.plugin = plugin

    def fail(self, path: str, message: str, hint: str | None = None) -> DeclarationError:
        where = f"the {self.plugin} plugin's declarations" + (f", {path}" if path else "")
        return DeclarationError(
            f"{where}: {message}",
            hint=hint or "Fix the JSON document the plugin's table points to (labkit_plugin.h)",
        )


def parse_declarations(text: str | bytes, *, plugin: str) -> Declarations:
    """Check a plugin's declarations document and return it as plain data.

    Raises ``DeclarationError`` naming the plugin, the JSON path and what is wrong.
    """
    check = _Checker(plugin)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise check.fail("", f"not UTF-8 text ({error})") from None
    try:
        document = json.loads(text, parse_constant=_no_constants)
    except ValueError as error:
        raise check.fail("", f"not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise check.fail("", f"the document must be a JSON object, not {_json_type(document)}")
    version = document.get("labkit_declarations")
    if version is None:
        raise check.fail("", "'labkit_declarations' (the schema version, 1) is missing")
    if not _is_int(version) or version < 1:
        raise check.fail("labkit_declarations", f"must be the schema version 1, not {version!r}")
    if version > SCHEMA_VERSION:
        raise check.fail(
            "labkit_declarations",
            f"schema version {version} is newer than this labkit understands ({SCHEMA_VERSION})",
            hint="Upgrade labkit, or build the plugin for declarations schema 1",
        )
    _refuse_unknown(check, document, {"labkit_declarations", "declarations", "test_resource"}, "")
    test_resource = document.get("test_resource")
    if test_resource is not None and (not isinstance(test_resource, str) or not test_resource):
        raise check.fail("test_resource", "must be a non-empty resource string")
    raw = document.get("declarations")
    if not isinstance(raw, list):
        raise check.fail("declarations", f"must be a list, not {_json_type(raw)}")
    if not raw:
        raise check.fail("declarations", "is empty: declare at least one setting or reading")
    items = tuple(_declaration(check, entry, index) for index, entry in enumerate(raw))
    _check_names_and_references(check, items)
    return Declarations(items, test_resource)


def _declaration(check: _Checker, entry: Any, index: int) -> Declaration:
    path = f"declarations[{index}]"
    if not isinstance(entry, dict):
        raise check.fail(path, f"must be an object, not {_json_type(entry)}")
    name = entry.get("name")
    if isinstance(name, str):
        path = f"{path} ({name!r})"
    role = entry.get("role")
    if role not in _KEYS:
        raise check.fail(f"{path}.role", f"must be 'setting', 'reading' or 'action', not {role!r}")
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise check.fail(
            f"{path}.name",
            f"{name!r} is not a usable name",
            hint="Use letters, digits and underscores, starting with a letter (e.g. 'voltage')",
        )
    _refuse_unknown(check, entry, _KEYS[role], path)
    doc = entry.get("doc")
    if not isinstance(doc, str) or not doc.strip():
        raise check.fail(f"{path}.doc", "every declaration needs a doc: one line for people")
    options: dict[str, Any] = {"doc": doc.strip()}
    for key in _TEXTS:
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key]:
                raise check.fail(f"{path}.{key}", f"must be non-empty text, not {entry[key]!r}")
            options[key] = entry[key]
    if role == "action":
        return Declaration(role, name, options)
    kind = entry.get("kind", "float")
    if kind not in _KINDS:
        raise check.fail(f"{path}.kind", f"must be one of {', '.join(_KINDS)}, not {kind!r}")
    options["kind"] = kind
    for key in _NUMBERS:
        if key in entry:
            value = entry[key]
            if not _is_number(value):
                raise check.fail(f"{path}.{key}", f"must be a finite number, not {value!r}")
            options[key] = value
    if "choices" in entry:
        options["choices"] = _choices(check, entry["choices"], kind, f"{path}.choices")
    elif kind == "enum":
        raise check.fail(f"{path}.choices", "an enum needs its choices (a list of texts)")
    if "access" in entry:
        if entry["access"] not in ("rw", "r", "w"):
            raise check.fail(f"{path}.access", f"must be 'rw', 'r' or 'w', not {entry['access']!r}")
        options["access"] = entry["access"]
    if "lockable" in entry:
        if not isinstance(entry["lockable"], bool):
            raise check.fail(
                f"{path}.lockable", f"must be true or false, not {entry['lockable']!r}"
            )
        options["lockable"] = entry["lockable"]
    if "safe" in entry:
        options["safe"] = _value_of_kind(check, entry["safe"], kind, f"{path}.safe")
    return Declaration(role, name, options)


def _choices(check: _Checker, choices: Any, kind: str, path: str) -> tuple[Any, ...]:
    if not isinstance(choices, list) or not choices:
        raise check.fail(path, f"must be a non-empty list, not {choices!r}")
    if kind == "bool":
        raise check.fail(path, "a bool has no choices")
    values = tuple(_value_of_kind(check, c, kind, f"{path}[{i}]") for i, c in enumerate(choices))
    if len(set(values)) != len(values):
        raise check.fail(path, f"lists a choice twice: {choices!r}")
    return values


def _value_of_kind(check: _Checker, value: Any, kind: str, path: str) -> Any:
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind in ("str", "enum") and isinstance(value, str):
        if "\x00" in value:
            raise check.fail(path, f"{value!r} contains a NUL character")
        return value
    if kind == "int" and _is_int(value):
        return value
    if kind == "float" and _is_number(value):
        return float(value)
    raise check.fail(path, f"{value!r} is not a {kind} value")


def _check_names_and_references(check: _Checker, items: tuple[Declaration, ...]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            raise check.fail(f"declarations[{index}].name", f"{item.name!r} is declared twice")
        seen.add(item.name)
    roles = {item.name: item.role for item in items}
    for index, item in enumerate(items):
        target = item.options.get("readback")
        if target is not None and roles.get(target) != "reading":
            raise check.fail(
                f"declarations[{index}] ({item.name!r}).readback",
                f"{target!r} is not a reading declared by this plugin",
            )


def _refuse_unknown(check: _Checker, entry: dict[str, Any], known: set[str], path: str) -> None:
    for key in entry:
        if key in known or (isinstance(key, str) and key.startswith("x-")):
            continue
        place = f"{path}.{key}" if path else key
        raise check.fail(
            place,
            f"{key!r} is not a key labkit knows here ({', '.join(sorted(known))})",
            hint="Check the spelling; a plugin's own keys start with 'x-'. A key from a newer "
            "declarations schema needs a newer labkit",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond any double
        return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        type(None): "null",
    }.get(type(value), "a number")
