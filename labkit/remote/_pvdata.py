"""A declaration and its state as the fields of a pvAccess normative type, and back.

Pure data, no p4p: the server turns these dicts into PV values, the client turns PV values
(as dicts) back into declarations. The standard fields carry what every EPICS client
understands — ``display.units``, ``display.description``, the hard limits as display limits,
the limits in force (soft, locked) as control limits, ``control.minStep`` for a step, the
alarm and the time stamp — and a ``labkit`` sub-structure carries the rest of the
declaration (kind, ramp, lock, read-back, safe value...) for labkit's own clients.
A missing limit is NaN, as EPICS clients (ophyd-async among them) read it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping
from typing import Any

from labkit.core import TraitSpec
from labkit.remote._arrays import array_code, array_from_wire, array_meta, wire_array

__all__ = [
    "LABKIT_FIELDS",
    "Alarm",
    "SettingView",
    "declaration_from_fields",
    "meta_fields",
    "put_value",
    "stamp",
    "state_from_fields",
    "value_code",
    "value_from_wire",
    "wire_value",
]

# EPICS alarm severities and statuses (menuAlarmSevr, menuAlarmStat).
NO_ALARM, MINOR, MAJOR, INVALID = 0, 1, 2, 3
STATUS_NONE, STATUS_DEVICE, STATUS_UNDEFINED, STATUS_CLIENT = 0, 1, 6, 7

# The labkit sub-structure: (field, p4p type code). Text fields hold "" for nothing.
LABKIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("role", "s"),
    ("kind", "s"),
    ("label", "s"),
    ("access", "s"),
    ("min", "d"),
    ("max", "d"),
    ("soft_min", "d"),
    ("soft_max", "d"),
    ("step", "d"),
    ("ramp", "d"),
    ("ramp_step", "d"),
    ("choices", "as"),
    ("number_choices", "ad"),
    ("readback", "s"),
    ("safe", "s"),
    ("lock", "s"),
    ("confirm", "s"),
    ("busy", "?"),
    ("claim", "s"),
    ("side_effect", "s"),
)

NAN = math.nan


@dataclasses.dataclass(frozen=True)
class Alarm:
    """An EPICS alarm: severity 0–3, status (why) and a message for people."""

    severity: int = NO_ALARM
    status: int = STATUS_NONE
    message: str = ""

    @classmethod
    def refused(cls, message: str) -> Alarm:
        """A value was refused (limits, lock, interlock): the PV keeps its value."""
        return cls(MINOR, STATUS_CLIENT, message)

    @classmethod
    def fault(cls, message: str) -> Alarm:
        """The instrument failed (timeout, lost link, an error it reported)."""
        return cls(MAJOR, STATUS_DEVICE, message)

    @classmethod
    def unknown(cls, message: str) -> Alarm:
        """There is no value (never read, or the instrument is gone)."""
        return cls(INVALID, STATUS_UNDEFINED, message)

    def fields(self) -> dict[str, Any]:
        return {"severity": self.severity, "status": self.status, "message": self.message}


@dataclasses.dataclass(frozen=True)
class SettingView:
    """What the server knows of a setting now, beyond its declaration."""

    soft_min: float | None = None
    soft_max: float | None = None
    limits: tuple[float, float] = (-math.inf, math.inf)  # in force: hard, soft and locked
    ramp: float | None = None
    lock: Mapping[str, Any] | None = None
    busy: bool = False
    claim: str = ""


def value_code(spec: TraitSpec) -> str:
    """The p4p type code of the PV's value: ``d``, ``l``, ``?``, ``s``, ``enum`` (NTEnum), or
    an array's (``ad``, ``aH``...: an NTScalarArray)."""
    if spec.is_array:
        return array_code(spec)
    if spec.role == "action":
        return "l"  # a put of any number runs it; the value counts the runs
    if spec.kind == "enum" or (spec.kind == "str" and spec.choices is not None):
        return "enum"
    return {"float": "d", "int": "l", "bool": "?", "str": "s"}[spec.kind]


def stamp(seconds: float | None = None) -> dict[str, int]:
    """An EPICS time stamp (seconds and nanoseconds past 1970) for ``seconds`` or now."""
    now = time.time() if seconds is None else seconds
    whole = math.floor(now)
    return {"secondsPastEpoch": int(whole), "nanoseconds": int((now - whole) * 1e9), "userTag": 0}


def _number(value: float | None) -> float:
    return NAN if value is None or not math.isfinite(value) else float(value)


def _optional(value: float | None) -> float | None:
    # NaN, and the integer bounds an int PV uses for an open side, mean "no limit"
    if value is None or math.isnan(value) or abs(value) >= 2**63 - 1:
        return None
    return float(value)


def wire_value(spec: TraitSpec, value: Any) -> Any:
    """The PV's ``value`` field for a labkit value (None: nothing known yet)."""
    if spec.is_array:
        return wire_array(spec, value)
    code = value_code(spec)
    if code == "enum":
        choices = list(spec.choices or ())
        return {"index": choices.index(value) if value in choices else -1, "choices": choices}
    if value is None:
        return {"d": NAN, "l": 0, "?": False, "s": ""}[code]
    if code == "d":
        return float(value)
    if code == "l":
        return int(value)
    if code == "?":
        return bool(value)
    return str(value)


def put_value(declaration: Mapping[str, Any], value: Any) -> Any:
    """What a client puts for ``value``: the choice's index for an enumeration, else the value."""
    choices = declaration.get("choices")
    if choices is not None and declaration.get("kind") in ("enum", "str"):
        return {"value.index": list(choices).index(value)}
    return value


def value_from_wire(declaration: Mapping[str, Any], wire: Any) -> Any:
    """The labkit value for a PV's ``value`` field, given the declaration it came from.

    An enumeration arrives as its index (or a mapping with ``index``); an index that names no
    choice raises ``ValueError`` with the choices.
    """
    kind = declaration.get("kind", "float")
    if kind == "array":
        return array_from_wire(declaration, wire)
    choices = declaration.get("choices")
    if choices is not None and kind in ("enum", "str"):
        if hasattr(wire, "todict"):  # a p4p sub-structure
            wire = wire.todict()
        index = wire.get("index") if isinstance(wire, Mapping) else wire
        if isinstance(index, str):
            return index  # a client that sent the label itself
        if not isinstance(index, int) or not 0 <= index < len(choices):
            raise ValueError(f"choice number {index!r} is none of 0…{len(choices) - 1}")
        return choices[index]
    if kind == "float":
        return float(wire)
    if kind == "int":
        number = float(wire)
        if number != round(number):
            raise ValueError(f"{wire!r} is not a whole number")
        return round(number)
    if kind == "bool":
        return bool(wire)
    return str(wire)


def meta_fields(
    spec: TraitSpec,
    *,
    readable: bool,
    writable: bool,
    view: SettingView | None = None,
    side_effect: str = "",
) -> dict[str, Any]:
    """The ``display``, ``control`` and ``labkit`` fields of the PV serving ``spec``
    (``side_effect``: what reading it would change on the instrument now, "" nothing)."""
    view = view or SettingView()
    code = value_code(spec)
    access = ("r" if readable else "") + ("w" if writable else "")
    labkit: dict[str, Any] = {
        "role": spec.role,
        "kind": spec.kind,
        "label": spec.label or "",
        "access": access or "-",
        "min": _number(spec.min),
        "max": _number(spec.max),
        "soft_min": _number(view.soft_min),
        "soft_max": _number(view.soft_max),
        "step": _number(spec.step),
        "ramp": _number(view.ramp),
        "ramp_step": _number(spec.ramp_step),
        "choices": [str(c) for c in spec.choices or ()] if not spec.numeric else [],
        "number_choices": [float(c) for c in spec.choices or ()] if spec.numeric else [],
        "readback": spec.readback or "",
        "safe": "" if spec.safe is None else json.dumps(spec.safe),
        "lock": "" if view.lock is None else json.dumps(dict(view.lock)),
        "confirm": spec.confirm or "",
        "busy": bool(view.busy),
        "claim": view.claim,
        "side_effect": side_effect,
    }
    if spec.is_array:
        labkit.update(array_meta(spec))
    display: dict[str, Any] = {"description": spec.doc or spec.title, "units": spec.unit or ""}
    fields: dict[str, Any] = {"display": display, "labkit": labkit}
    if code in ("d", "l"):
        display["limitLow"], display["limitHigh"] = _number(spec.min), _number(spec.max)
        low, high = view.limits
        fields["control"] = {
            "limitLow": _number(low),
            "limitHigh": _number(high),
            "minStep": 0.0 if spec.step is None else float(spec.step),
        }
        if code == "l":
            # integer fields cannot hold NaN: an open side is the type's own bound
            for part in (display, fields["control"]):
                for key, bound in (("limitLow", -(2**63)), ("limitHigh", 2**63 - 1)):
                    if math.isnan(part[key]):
                        part[key] = bound
    return fields


def declaration_from_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The declaration (``TraitSpec`` field names) a PV's fields describe: for remote instruments.

    ``fields`` is the PV's structure as nested dicts (``value``, ``display``, ``labkit``...).
    """
    labkit = dict(fields.get("labkit") or {})
    display = dict(fields.get("display") or {})
    role = labkit.get("role") or "reading"
    kind = labkit.get("kind") or _kind_of_wire(fields.get("value"))
    declaration: dict[str, Any] = {"role": role, "kind": kind}
    unit = display.get("units") or None
    if unit:
        declaration["unit"] = unit
    doc = display.get("description") or ""
    label = labkit.get("label") or ""
    if doc:
        declaration["doc"] = doc
    if label:
        declaration["label"] = label
    for key in ("min", "max", "step", "ramp_step"):
        number = _optional(labkit.get(key, NAN))
        if number is not None:
            declaration[key] = number
    if "min" not in declaration and "max" not in declaration and kind in ("float", "int"):
        # a foreign server: its display limits are the best hard limits there are
        for key, field in (("min", "limitLow"), ("max", "limitHigh")):
            number = _optional(display.get(field, NAN))
            if number is not None and display.get("limitLow") != display.get("limitHigh"):
                declaration[key] = number
    choices = _listed(labkit.get("choices"))
    numbers = [float(n) for n in _listed(labkit.get("number_choices"))]
    value = fields.get("value")
    if not choices and isinstance(value, Mapping) and "choices" in value:
        choices = _listed(value["choices"])
    if numbers:
        declaration["choices"] = numbers
    elif choices:
        declaration["choices"] = choices
    access = labkit.get("access")
    if access:
        declaration["access"] = {"rw": "rw", "r": "r", "w": "w", "-": "r"}.get(access, "rw")
    for key in ("readback", "confirm"):
        if labkit.get(key):
            declaration[key] = labkit[key]
    if labkit.get("safe"):
        declaration["safe"] = json.loads(labkit["safe"])
    if kind == "array":
        declaration["axes"] = json.loads(labkit.get("axes") or "[]")
        declaration["dtype"] = labkit.get("dtype") or "float64"
    return declaration


def state_from_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The member's state now (soft limits, ramp rate, lock, busy, claim; what reading it
    would change on the instrument) from its PV."""
    labkit = dict(fields.get("labkit") or {})
    state: dict[str, Any] = {
        "side_effect": labkit.get("side_effect") or None,
        "soft_min": _optional(labkit.get("soft_min", NAN)),
        "soft_max": _optional(labkit.get("soft_max", NAN)),
        "ramp": _optional(labkit.get("ramp", NAN)),
        "lock": json.loads(labkit["lock"]) if labkit.get("lock") else None,
        "busy": bool(labkit.get("busy", False)),
        "claim": labkit.get("claim", ""),
    }
    control = fields.get("control") or {}
    if control:
        state["limits"] = (
            _optional(control.get("limitLow", NAN)),
            _optional(control.get("limitHigh", NAN)),
        )
    return state


def _listed(values: Any) -> list[Any]:
    """A list from what p4p gives for an array field (a list, a NumPy array or None)."""
    return [] if values is None else list(values)


def _kind_of_wire(value: Any) -> str:
    if isinstance(value, Mapping) and "choices" in value:
        return "enum"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    return "float"
