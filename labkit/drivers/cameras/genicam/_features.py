"""A camera's node map as labkit declarations: its features, their types, limits and choices.

GenICam cameras describe themselves: every feature is a node with a type (Integer, Float,
Enumeration, Boolean, String, Command), limits, an increment, a unit, enumeration entries, a
visibility level and an access mode. :func:`describe` walks the node map from its ``Root``
category and keeps the features a user sets or reads; :func:`declare` turns each into a
``Setting``, ``Reading`` or ``Action`` with the node's own kind, limits, unit and choices, so
validation, panels and snapshots come from what the camera says about itself.

Limits in GenICam move: ``Width``'s maximum shrinks when ``OffsetX`` grows, an enumeration's
entries depend on a selector. :func:`live_limits` reads them as they are now; the camera keeps
its declarations up to date with it, and :func:`check_write` checks a value against the node
itself just before writing, so nothing is clipped or rounded behind the user's back.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from labkit.core import (
    AccessError,
    Action,
    ChoiceError,
    LimitError,
    Reading,
    Setting,
    SettingTypeError,
)

__all__ = [
    "ALWAYS_INCLUDED",
    "Feature",
    "Limits",
    "check_write",
    "declare",
    "describe",
    "live_limits",
    "read_value",
]

# GenApi's enumerations, as plain numbers (genicam.genapi is imported only when a camera opens).
_NI, _NA, _WO, _RO, _RW = 0, 1, 2, 3, 4
_INTERFACES = {2: "int", 3: "bool", 4: "command", 5: "float", 6: "str", 8: "category", 9: "enum"}
_VISIBILITY = {"beginner": 0, "expert": 1, "guru": 2}
_NO_CACHE = 0

#: Standard (SFNC) features kept whatever the visibility asked for, when the camera has them.
ALWAYS_INCLUDED = frozenset(
    [
        "Width",
        "Height",
        "OffsetX",
        "OffsetY",
        "PixelFormat",
        "BinningHorizontal",
        "BinningVertical",
        "ReverseX",
        "ReverseY",
        "ExposureTime",
        "ExposureAuto",
        "ExposureMode",
        "Gain",
        "GainAuto",
        "GainSelector",
        "BlackLevel",
        "Gamma",
        "AcquisitionFrameRate",
        "AcquisitionFrameRateEnable",
        "TriggerSelector",
        "TriggerMode",
        "TriggerSource",
        "TriggerActivation",
        "TriggerDelay",
        "TriggerSoftware",
        "DeviceTemperature",
        "DeviceVendorName",
        "DeviceModelName",
        "DeviceSerialNumber",
        "DeviceFirmwareVersion",
        "SensorWidth",
        "SensorHeight",
    ]
)

#: Features the driver owns: acquisition is started and stopped by ``start()``/``stop()``,
#: which also announce buffers and lock transport parameters around it.
DRIVER_OWNED = frozenset(
    ["AcquisitionStart", "AcquisitionStop", "AcquisitionAbort", "AcquisitionArm", "TLParamsLocked"]
)

#: Categories whose features change the size or layout of the image buffers.
_PAYLOAD_CATEGORIES = frozenset({"ImageFormatControl", "ChunkDataControl"})
_PAYLOAD_FEATURES = frozenset(
    [
        "BinningHorizontal",
        "BinningVertical",
        "BinningSelector",
        "DecimationHorizontal",
        "DecimationVertical",
        "GenDCStreamingMode",
    ]
)
_SAFE_WHILE_ACQUIRING = frozenset(
    [
        "OffsetX",
        "OffsetY",
        "ReverseX",
        "ReverseY",
        "TestPattern",
        "TestPatternGeneratorSelector",
        "TestImageSelector",
    ]
)

#: Units cameras write that pint reads differently or not at all.
_UNIT_SPELLINGS = {"C": "degC", "°C": "degC", "us": "µs", "usec": "µs", "msec": "ms"}

_FLOAT_UNBOUNDED = 1e300
_FLT_MAX = 3.4028234663852886e38
_INT_UNBOUNDED = 2**62


@dataclasses.dataclass
class Feature:
    """One node of the node map that labkit exposes, and how.

    ``role`` is ``setting``, ``reading``, ``action`` or ``chunk`` (per-frame data read into each
    frame's metadata). ``payload`` marks features that change the image buffers: they are
    refused while the camera acquires.
    """

    node: str
    attribute: str
    kind: str
    role: str
    writable: bool
    readable: bool
    label: str
    doc: str
    unit: str | None
    camera_unit: str
    category: str
    visibility: int
    payload: bool


@dataclasses.dataclass(frozen=True)
class Limits:
    """A feature's limits as the camera gives them now (None: no bound)."""

    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None


def _property(node: Any, name: str) -> str | None:
    try:
        if name not in node.property_names:
            return None
        value = node.get_property(name)
    except Exception:
        return None
    return value[0] if isinstance(value, (list, tuple)) and value else None


def _pint_unit(text: str) -> str | None:
    unit = _UNIT_SPELLINGS.get(text, text).strip()
    if not unit:
        return None
    try:
        import pint

        pint.get_application_registry().get().Unit(unit)
    except Exception:
        return None
    return unit


_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def attribute_name(node_name: str, taken: set[str]) -> str:
    """``AcquisitionFrameRate`` → ``acquisition_frame_rate``, unique among ``taken``."""
    name = re.sub(r"\W", "_", _SNAKE.sub("_", node_name)).lower().strip("_")
    if not name or name[0].isdigit():
        name = f"feature_{name}"
    if name in taken:
        name = f"{name}_feature"
    base, number = name, 2
    while name in taken:
        name, number = f"{base}{number}", number + 1
    taken.add(name)
    return name


def _walk(category: Any, top: str | None = None) -> Iterator[tuple[Any, str]]:
    """Every feature under ``category``, depth first, with its top-level category name."""
    try:
        features = category.features
    except Exception:
        return
    for feature in features:
        node = feature.node
        if _INTERFACES.get(node.principal_interface_type) == "category":
            yield from _walk(feature, top or node.name)
        else:
            yield feature, top or ""


def describe(node_map: Any, *, visibility: str = "expert", reserved: set[str]) -> list[Feature]:
    """The features of ``node_map`` labkit exposes, in the camera's category order.

    Kept: Integer, Float, Enumeration, Boolean, String and Command features at or below
    ``visibility`` (``"beginner"``, ``"expert"``, ``"guru"``; the standard features of
    :data:`ALWAYS_INCLUDED` whatever it is), implemented by this camera, and either available
    now or able to become available. Registers, ports and invisible nodes are left out.
    """
    try:
        threshold = _VISIBILITY[visibility.lower()]
    except (KeyError, AttributeError):
        from labkit.core import ConfigurationError

        raise ConfigurationError(
            f"visibility {visibility!r} is not one of {', '.join(_VISIBILITY)}",
            hint="GenICam levels: 'beginner' shows the essentials, 'guru' everything",
        ) from None
    taken = set(reserved)
    seen: set[str] = set()
    features: list[Feature] = []
    for wrapper, category in _walk(node_map.Root):
        node = wrapper.node
        name = node.name
        kind = _INTERFACES.get(node.principal_interface_type)
        if kind in (None, "category") or name in seen or name in DRIVER_OWNED:
            continue
        seen.add(name)
        level = int(node.visibility)
        if level > threshold and not (name in ALWAYS_INCLUDED and level < 3):
            continue
        feature = _feature(wrapper, node, kind, category, level, taken)
        if feature is not None:
            features.append(feature)
    return features


def _feature(
    wrapper: Any, node: Any, kind: str, category: str, level: int, taken: set[str]
) -> Feature | None:
    name = node.name
    mode = int(node.get_access_mode())
    if mode == _NI:
        return None
    imposed = _property(node, "ImposedAccessMode") or "RW"
    dynamic = any(_property(node, p) for p in ("pIsLocked", "pIsAvailable", "pIsImplemented"))
    chunk = category == "ChunkDataControl" and imposed == "RO" and mode in (_NA, _RO)
    if mode == _NA and not dynamic and not chunk:
        return None  # not available and nothing says it ever will be
    if kind == "command":
        role, writable, readable = "action", True, False
    else:
        writable = mode in (_RW, _WO) or (imposed != "RO" and dynamic)
        readable = mode != _WO and imposed != "WO"
        if chunk:
            role = "chunk"
        elif (
            not writable
            and kind in ("int", "float", "bool")
            and int(getattr(node, "caching_mode", 1)) == _NO_CACHE
        ):
            role = "reading"  # measured by the camera each time (a temperature, a counter)
        else:
            role = "setting"
    camera_unit = ""
    if kind in ("int", "float"):
        try:
            camera_unit = str(wrapper.unit or "")
        except Exception:
            camera_unit = ""
    unit = _pint_unit(camera_unit) if camera_unit else None
    text = (node.description or node.tooltip or "").strip()
    unit_note = f" (in {camera_unit})" if camera_unit and unit is None else ""
    doc = f"{text}{unit_note} [GenICam feature {name}]".strip()
    payload = category in _PAYLOAD_CATEGORIES or name in _PAYLOAD_FEATURES
    return Feature(
        node=name,
        attribute=attribute_name(name, taken) if role != "chunk" else name,
        kind=kind,
        role=role,
        writable=writable,
        readable=readable,
        label=(node.display_name or name).strip(),
        doc=doc,
        unit=unit,
        camera_unit=camera_unit,
        category=category,
        visibility=level,
        payload=payload and name not in _SAFE_WHILE_ACQUIRING and role == "setting",
    )


# ------------------------------------------------------------------------------ limits and values


def _bound(value: Any, kind: str) -> float | None:
    if kind == "int":
        return None if abs(int(value)) >= _INT_UNBOUNDED else int(value)
    number = float(value)
    if not math.isfinite(number) or abs(number) >= _FLOAT_UNBOUNDED or abs(number) >= _FLT_MAX:
        return None
    return number


def live_limits(wrapper: Any, feature: Feature) -> Limits | None:
    """The feature's limits or choices now; None when the camera cannot say (not available)."""
    try:
        if feature.kind == "enum":
            choices = tuple(str(s) for s in wrapper.symbolics)
            if int(wrapper.node.get_access_mode()) in (_RO, _RW):
                current = str(wrapper.value)
                if current not in choices:
                    choices += (current,)
            return Limits(choices=choices) if choices else None
        if feature.kind == "int":
            if int(wrapper.inc_mode) == 2:  # a list of valid values
                values = tuple(int(v) for v in wrapper.list_of_valid_values)
                return Limits(_bound(wrapper.min, "int"), _bound(wrapper.max, "int"), None, values)
            increment = int(wrapper.inc)  # declared even when 1: an int's grid is its own
            return Limits(_bound(wrapper.min, "int"), _bound(wrapper.max, "int"), increment)
        if feature.kind == "float":
            increment_f = float(wrapper.inc) if wrapper.has_inc() else None
            return Limits(
                _bound(wrapper.min, "float"), _bound(wrapper.max, "float"), increment_f or None
            )
    except Exception:
        return None
    return Limits()


def declare(feature: Feature, limits: Limits | None, do: Callable[..., Any]) -> Any:
    """The labkit declaration of ``feature``; ``do`` builds its get/set/action callables."""
    if feature.role == "action":
        return Action(do("execute"), label=feature.label, doc=feature.doc)
    kind: Any = {"int": int, "float": float, "bool": bool, "str": str, "enum": None}[feature.kind]
    common: dict[str, Any] = {"label": feature.label, "doc": feature.doc}
    if feature.kind in ("int", "float"):
        common["unit"] = feature.unit
    get = do("read") if feature.readable else None
    if feature.role == "reading":
        return Reading(kind, get=get, **common)
    limits = limits or Limits()
    choices = limits.choices
    if feature.kind == "enum":
        if not choices:
            kind, choices = str, None  # no entry available now: shown as text until one is
        else:
            kind = None
    if not feature.writable:
        return Setting(kind, choices=choices, access="r", get=get, **common)
    numbers: dict[str, Any] = {}
    if feature.kind in ("int", "float"):
        numbers = {"min": limits.min, "max": limits.max, "step": limits.step}
        if limits.min is not None and limits.max is not None and limits.min > limits.max:
            numbers = {}
    return Setting(
        kind,
        choices=choices,
        access="rw" if feature.readable else "w",
        get=get,
        set=do("write"),
        **numbers,
        **common,
    )


def read_value(wrapper: Any, feature: Feature) -> Any:
    """The node's value as Python (int, float, bool, str); None while it cannot be read."""
    if int(wrapper.node.get_access_mode()) not in (_RO, _RW):
        return None
    value = wrapper.value
    if feature.kind == "int":
        return int(value)
    if feature.kind == "float":
        return float(value)
    if feature.kind == "bool":
        return bool(value)
    return str(value)


def _fmt(value: object, unit: str | None) -> str:
    text = f"{value:.9g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


def check_write(wrapper: Any, feature: Feature, value: Any, *, acquiring: bool) -> Any:
    """Refuse ``value`` unless the node takes it as it is now; return what to write.

    Runs on the instrument's worker just before the write, against the node's own access mode,
    limits, increment and entries, which can differ from those the camera had when the setting
    was last checked (they follow other features).
    """
    name = feature.node
    if acquiring and feature.payload:
        raise AccessError(
            f"{name} changes the image buffers and cannot change while the camera acquires",
            value=value,
            hint="Call stop(), change it, then start() again",
        )
    mode = int(wrapper.node.get_access_mode())
    if mode not in (_RW, _WO):
        why = {
            _NA: "is not available now (it depends on other features' values)",
            _RO: "is locked now" + (" while the camera acquires" if acquiring else ""),
            _NI: "is not implemented by this camera",
        }.get(mode, "cannot be written now")
        hint = (
            "Call stop() first"
            if acquiring
            else "Change the features it depends on first (see the camera's documentation)"
        )
        raise AccessError(f"{name} {why}", value=value, hint=hint)
    if feature.kind == "enum":
        available = tuple(str(s) for s in wrapper.symbolics)
        if value not in available:
            raise ChoiceError(
                f"{value!r} is not available for {name} now",
                value=value,
                limit=available,
                hint="Choose one of: " + ", ".join(map(repr, available)),
            )
        return value
    if feature.kind in ("int", "float"):
        return _check_number(wrapper, feature, value)
    if feature.kind == "bool":
        return bool(value)
    if feature.kind == "str":
        if not isinstance(value, str):
            raise SettingTypeError(f"{value!r} is not text", value=value, hint="Give a string")
        return value
    return value


def _check_number(wrapper: Any, feature: Feature, value: Any) -> Any:
    limits = live_limits(wrapper, feature) or Limits()
    unit = feature.unit
    if limits.choices is not None and value not in limits.choices:
        raise ChoiceError(
            f"{_fmt(value, unit)} is not one of the values {feature.node} takes now",
            value=value,
            limit=limits.choices,
            hint="Choose one of: " + ", ".join(_fmt(v, unit) for v in limits.choices),
        )
    span = f"{_fmt(limits.min, unit)} … {_fmt(limits.max, unit)}"
    if limits.min is not None and value < limits.min:
        raise LimitError(
            f"{_fmt(value, unit)} is below the camera's present minimum {_fmt(limits.min, unit)}",
            value=value,
            limit=limits.min,
            hint=f"Choose a value in {span} (GenICam limits follow other features)",
        )
    if limits.max is not None and value > limits.max:
        raise LimitError(
            f"{_fmt(value, unit)} is above the camera's present maximum {_fmt(limits.max, unit)}",
            value=value,
            limit=limits.max,
            hint=f"Choose a value in {span} (GenICam limits follow other features)",
        )
    if limits.step is not None:
        origin = limits.min if limits.min is not None else 0
        steps = (value - origin) / limits.step
        if not math.isclose(steps, round(steps), rel_tol=0, abs_tol=1e-6):
            below = origin + math.floor(steps) * limits.step
            above = below + limits.step
            if feature.kind == "int":
                below, above = int(below), int(above)
            raise LimitError(
                f"{_fmt(value, unit)} is not a whole number of steps of "
                f"{_fmt(limits.step, unit)} from {_fmt(origin, unit)}",
                value=value,
                limit=limits.step,
                hint=f"The nearest values the camera takes are {_fmt(below, unit)} and "
                f"{_fmt(above, unit)}",
            )
    return int(value) if feature.kind == "int" else float(value)
