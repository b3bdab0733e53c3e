"""How an instrument's declarations and values read as text and as a snapshot (pure functions)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labkit.core._axes import array_summary
from labkit.core._spec import TraitSpec
from labkit.core._state import SettingState
from labkit.core._units import format_quantity

__all__ = [
    "describe_rows",
    "no_such",
    "reading_entry",
    "shown_value",
    "snapshot_entry",
    "snapshot_of",
]


def describe_rows(
    specs: Mapping[str, TraitSpec],
    value_of: Callable[[str], Any],
    states: Mapping[str, SettingState],
) -> list[str]:
    """One line per setting and reading: name, value with unit, range in force, lock."""
    lines = []
    for name, spec in specs.items():
        if spec.role == "action":
            continue
        value = value_of(name)
        shown = "?" if value is None else shown_value(spec, value)
        extra = ""
        state = states.get(name)
        if state is not None:
            lower, upper = state.bounds()
            if lower.finite or upper.finite:
                extra = f"  [{format_quantity(lower.value)} … {format_quantity(upper.value)}]"
            if state.lock is not None:
                extra += f"  {state.lock.describe()}"
        lines.append(f"  {name:<24} {shown:<16}{extra}")
    return lines


def snapshot_entry(spec: TraitSpec, value: Any, state: SettingState) -> dict[str, Any]:
    """A setting in a snapshot: value, unit, the limits in force, choices, ramp, lock."""
    lower, upper = state.bounds()
    entry: dict[str, Any] = {"value": value, "unit": spec.unit}
    entry["min"] = lower.value if lower.finite else None
    entry["max"] = upper.value if upper.finite else None
    if spec.choices is not None:
        entry["choices"] = list(spec.choices)
    if state.ramp_rate is not None:
        entry["ramp"] = state.ramp_rate
    if state.lock is not None:
        entry["locked"] = state.lock.describe()
    return entry


def snapshot_of(instrument: Any) -> dict[str, Any]:
    """An instrument's snapshot (``inst.snapshot()``) from its public face, channels included."""
    driver = instrument.driver_class
    snapshot: dict[str, Any] = {
        "name": instrument.name,
        "driver": f"{driver.__module__}.{driver.__qualname__}",
        "resource": (instrument.parent or instrument).resource,
        "connected": bool(instrument.connected),
        "identity": instrument.identity,
        "settings": {h.name: snapshot_entry(h.spec, h.value, h.state) for h in instrument.settings},
        "readings": {h.name: reading_entry(h.spec, h.value) for h in instrument.readings},
    }
    channels = instrument.channels
    if channels:
        snapshot["channels"] = {n: c.snapshot() for n, c in channels.items()}
    return snapshot


def reading_entry(spec: TraitSpec, value: Any) -> dict[str, Any]:
    """A reading in a snapshot; an array reading keeps its axes and its last value's shape
    and range, not its data (a snapshot goes into every run's metadata)."""
    if not spec.is_array:
        return {"value": value, "unit": spec.unit}
    return {
        "value": None,
        "unit": spec.unit,
        "axes": [axis.jsonable() | {"values": None} for axis in spec.axes or ()],
        "last": array_summary(value),
    }


def shown_value(spec: TraitSpec, value: Any) -> str:
    """A value for people: a number with its unit, or an array's shape over its axes."""
    if spec.is_array:
        shape = getattr(value, "shape", ())
        sizes = " × ".join(f"{n} {a.name}" for n, a in zip(shape, spec.axes or (), strict=False))
        return f"array[{sizes}]" + (f" {spec.unit}" if spec.unit else "")
    return format_quantity(value, spec.unit)


def no_such(owner: str, name: str, names: Iterable[str]) -> str:
    """What to say of a name an instrument does not have: the nearest ones, or all of them."""
    names = list(names)
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = (
        f"Did you mean {' or '.join(map(repr, close))}?" if close else f"It has: {', '.join(names)}"
    )
    return f"{owner} has no setting or reading {name!r}. {hint}"
