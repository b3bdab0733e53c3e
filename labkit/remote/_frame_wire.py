"""A served camera's ``NTNDArray`` update back into a labkit :class:`~labkit.core.Frame`.

The twin of :func:`labkit.remote._frames.frame_fields`: the pixels reshaped from the
dimensions (innermost first), the frame number from the ``FrameNumber`` attribute (the
``uniqueId`` wraps at 2**31), the host time from ``dataTimeStamp``, the camera's own time
stamp and exposure from their attributes, and the region read from each dimension's
``offset`` and ``binning`` (or the ``Regions`` attribute for several). Any NTNDArray a
foreign server sends is read the same way, with what it carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit.core import Frame, InstrumentError, Region

__all__ = ["frame_from_fields", "sensor_shape_of"]


def _attributes(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {a["name"]: a["value"] for a in fields.get("attribute") or () if "name" in a}


def _seconds(stamp: Mapping[str, Any] | None) -> float | None:
    if not stamp or not stamp.get("secondsPastEpoch"):
        return None
    return float(stamp["secondsPastEpoch"]) + float(stamp.get("nanoseconds", 0)) * 1e-9


def _image_dims(fields: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The row and column dimensions (innermost first), without a colour axis."""
    dims = list(fields.get("dimension") or ())
    if len(dims) == 3:
        dims = dims[1:]
    return dims


def sensor_shape_of(fields: Mapping[str, Any]) -> tuple[int, int] | None:
    """(rows, columns) of the whole sensor, from the dimensions' ``fullSize``."""
    dims = _image_dims(fields)
    if len(dims) != 2:
        return None
    columns, rows = (int(d.get("fullSize") or d["size"]) for d in dims)
    return rows, columns


def frame_from_fields(fields: Mapping[str, Any], *, source: str = "") -> Frame | None:
    """The frame in an NTNDArray update (``Value.todict()``); None for the empty image a
    server shows before its first frame. A malformed update raises ``InstrumentError``."""
    raw = fields.get("value")
    if raw is None:  # no union member chosen: no image
        return None
    pixels = np.asarray(raw)
    if pixels.size == 0:
        return None
    codec = (fields.get("codec") or {}).get("name") or ""
    if codec:
        raise InstrumentError(
            f"the frames of {source} are compressed ({codec}); labkit reads uncompressed ones",
            hint="Serve the camera without a codec",
        )
    dims = list(fields.get("dimension") or ())
    shape = tuple(int(d["size"]) for d in reversed(dims)) or pixels.shape
    if int(np.prod(shape)) != pixels.size:
        raise InstrumentError(
            f"a frame of {source} has {pixels.size} pixels, its dimensions say {shape}",
            hint="The server sent a malformed NTNDArray",
        )
    attributes = _attributes(fields)
    number = int(attributes.get("FrameNumber", fields.get("uniqueId", 0)))
    image = pixels.reshape(shape)  # (rows, columns[, colour]): the colour is innermost
    image_dims = _image_dims(fields)
    if "Regions" in attributes:
        regions = tuple(Region(**r) for r in json.loads(attributes["Regions"]))
    elif len(image_dims) == 2:
        x, y = image_dims
        bx, by = int(x.get("binning") or 1), int(y.get("binning") or 1)
        regions = (
            Region(
                int(x.get("offset", 0)), int(y.get("offset", 0)),
                int(x["size"]) * bx, int(y["size"]) * by, bx, by,
            ),
        )  # fmt: skip
    else:
        regions = ()
    hardware = attributes.get("HardwareTimestamp")
    exposure = attributes.get("Exposure")
    timestamp = _seconds(fields.get("dataTimeStamp")) or _seconds(fields.get("timeStamp"))
    return Frame(
        pixels=image,
        number=number,
        timestamp=timestamp or 0.0,
        hardware_timestamp=None if hardware is None else float(hardware),
        exposure=None if exposure is None else float(exposure),
        regions=regions,
        metadata={"skipped_for_viewers": int(attributes.get("SkippedForViewers", 0))},
    )
