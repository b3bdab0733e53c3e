"""Array readings (a spectrum, a trace, a meter's burst) as pvAccess data, and back.

A one-dimensional array reading is served as an ``NTScalarArray`` — what pvget, Phoebus's
XY plot and ophyd-async's ``Array1D`` signals read — with the element unit in
``display.units``; each of its axes has a PV of its own beside it, ``<reading PV>:<axis>``,
an ``NTScalarArray`` of the coordinate with the axis' unit (a Phoebus XY plot takes it as
its X PV). The reading's ``labkit`` sub-structure also carries the axes as JSON (name,
length, unit, label, coordinate) and the element type, so labkit's remote instruments
declare the same array reading and record the same coordinates as a local one.

Pure data, no p4p: :mod:`._types` makes the PV types.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.core import Axis, TraitSpec
from labkit.core._axes import as_axes

__all__ = [
    "ARRAY_FIELDS",
    "COORDINATE_CODE",
    "array_code",
    "array_from_wire",
    "array_meta",
    "axes_from_fields",
    "axes_json",
    "coordinate_fields",
    "same_axes",
    "servable",
    "wire_array",
]

# p4p's type code of the array field, by the declared element type.
_CODES = {
    "float64": "ad",
    "float32": "af",
    "int64": "al",
    "int32": "ai",
    "int16": "ah",
    "uint16": "aH",
    "uint8": "aB",
    "bool": "a?",
}
COORDINATE_CODE = "ad"  # coordinates are served as doubles, whatever the axis

ARRAY_FIELDS: tuple[tuple[str, str], ...] = (("axes", "s"), ("dtype", "s"))
"""What an array reading's ``labkit`` sub-structure adds to the scalar one."""


def servable(spec: TraitSpec) -> bool:
    """Only one-dimensional arrays are served (an NTScalarArray has no shape)."""
    return spec.is_array and len(spec.axes or ()) == 1


def array_code(spec: TraitSpec) -> str:
    return _CODES[spec.dtype or "float64"]


def wire_array(spec: TraitSpec, value: Any) -> Any:
    """The ``value`` field for an array reading's value (empty: nothing read yet)."""
    import numpy as np

    dtype = spec.dtype or "float64"
    if value is None:
        return np.zeros(0, dtype=dtype)
    return np.ascontiguousarray(np.asarray(value, dtype=dtype).reshape(-1))


def array_from_wire(declaration: Mapping[str, Any], wire: Any) -> Any:
    """The labkit value (a NumPy array of the declared element type) of a PV's ``value``."""
    import numpy as np

    return np.array(wire, dtype=declaration.get("dtype") or "float64")


def axes_json(axes: Sequence[Axis] | None) -> str:
    """The axes as JSON, coordinate values included whatever their length."""
    return _axes_json(tuple(axes or ()))


@functools.lru_cache(maxsize=64)
def _axes_json(axes: tuple[Axis, ...]) -> str:
    # Axes are immutable (a moved axis is a new one): each is encoded once, not at every read.
    items = []
    for axis in axes:
        item = axis.jsonable()
        if axis.values is not None and "values" not in item:
            item["values"] = [float(v) for v in axis.values]
        items.append(item)
    return json.dumps(items)


def array_meta(spec: TraitSpec) -> dict[str, Any]:
    """The ``labkit`` fields an array reading adds."""
    return {"axes": axes_json(spec.axes), "dtype": spec.dtype or "float64"}


def axes_from_fields(fields: Mapping[str, Any]) -> tuple[Axis, ...] | None:
    """The axes a served array reading's PV declares (None: not an array reading)."""
    labkit = fields.get("labkit") or {}
    text = labkit.get("axes") if isinstance(labkit, Mapping) else None
    if not text:
        return None
    return as_axes(json.loads(text))


def same_axes(mine: Sequence[Axis] | None, theirs: Sequence[Axis] | None) -> bool:
    """The same names, lengths, units, labels and coordinates."""
    mine, theirs = tuple(mine or ()), tuple(theirs or ())
    return len(mine) == len(theirs) and all(
        a.name == b.name and a.label == b.label and a.same_coordinate(b)
        for a, b in zip(mine, theirs, strict=True)
    )


def coordinate_fields(axis: Axis, reading: str) -> dict[str, Any]:
    """The fields of an axis' coordinate PV (an empty coordinate while its length is not
    known yet, with an INVALID alarm saying so)."""
    import numpy as np

    coordinate = axis.coordinate()
    what = axis.label or axis.name
    fields: dict[str, Any] = {
        "value": np.zeros(0) if coordinate is None else np.asarray(coordinate, dtype=float),
        "display": {"units": axis.unit or "", "description": f"{reading}: {what}"},
        "alarm": {"severity": 0, "status": 0, "message": ""},
    }
    if coordinate is None:
        fields["alarm"] = {
            "severity": 3,
            "status": 6,
            "message": f"the length of {reading} along {axis.name} is not known yet",
        }
    return fields
