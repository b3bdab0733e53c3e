"""Turn metadata (snapshots, plans, errors) into strict JSON that every Zarr reader parses.

Zarr v3 attributes are JSON. Python's ``json`` would write ``NaN`` and ``Infinity``, which
strict parsers (other Zarr implementations, browsers) reject, so non-finite numbers become
the strings the Zarr v3 spec uses for fill values. NumPy scalars, enums, paths, datetimes and
sets become their plain equivalents; anything else becomes its ``repr`` rather than failing a
run over a metadata detail.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["jsonable"]

_MAX_DEPTH = 32


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A strict-JSON copy of ``value``."""
    if _depth > _MAX_DEPTH:
        return repr(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(item, _depth + 1) for item in items]
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return jsonable(value.tolist(), _depth + 1)
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        return {"magnitude": jsonable(value.magnitude, _depth + 1), "units": str(value.units)}
    return repr(value)


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
