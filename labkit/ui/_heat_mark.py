"""A bqplot heat map whose cells not measured (NaN) are painted in its ``null_color``.

bqplot (0.13) paints a cell in ``null_color`` only when its value is ``null``; a NaN sent
in a binary array reaches the colour scale instead, which gives no colour, so the canvas
keeps its last fill (black at first): an unmeasured row looked like data. Here a row that
holds NaN goes to the page as a JSON list with ``null`` for each NaN (the front end takes a
list of rows, each binary or a plain list); a row without NaN, and a map without any, still
go as binary arrays.
"""

from __future__ import annotations

from typing import Any

import bqplot
import numpy as np
from bqplot.traits import array_dimension_bounds, array_from_json, array_to_json
from traittypes import Array  # type: ignore[import-untyped]  # bqplot's own array trait

__all__ = ["MaskedHeatMap", "masked_to_json"]


def masked_to_json(array: Any, obj: Any = None) -> Any:
    """``array`` for the page: NaN cells as ``null``, every finite row binary."""
    if array is None:
        return None
    array = np.asarray(array)
    if array.dtype.kind != "f" or array.ndim != 2 or not np.isnan(array).any():
        return array_to_json(array, obj)
    rows: list[Any] = []
    for row in array:
        missing = np.isnan(row)
        if not missing.any():
            rows.append(array_to_json(row, obj))
        elif missing.all():
            rows.append([None] * len(row))
        else:
            rows.append([None if gap else float(v) for v, gap in zip(row, missing, strict=True)])
    return rows


class MaskedHeatMap(bqplot.HeatMap):
    """``bqplot.HeatMap`` whose NaN cells show its ``null_color`` (the same front-end model).

    Its ``color`` is not squeezed either: bqplot's squeezed a map of one row (one channel)
    into one dimension, and then refused it."""

    color = (
        Array(None, allow_none=True)
        .tag(
            sync=True,
            scaled=True,
            rtype="Color",
            atype="bqplot.ColorAxis",
            to_json=masked_to_json,
            from_json=array_from_json,
        )
        .valid(array_dimension_bounds(2, 2))
    )  # not squeezed: a map of one row stays a map
