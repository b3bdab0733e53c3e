"""Public :func:`recompose`: place a frame's ROIs into one image.

Placement follows ``pl_md_frame_recompose`` (``reference/pvcam-frames.md`` §1.10, §5.7): each
coordinate is binned on its own, ``x = s1 // sbin - origin // sbin + offset``. In ``"implied"``
coordinates the origin is the implied ROI's corner, which lands at ``offset``; in ``"sensor"``
coordinates it is the sensor's, so each ROI lands at its binned sensor position. The arguments
and the pixels' usability are checked here; the backend places and copies, and reports which
ROI it could not place, and this module words the error the same way for both backends.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from labkit.core import FrameFormatError
from labkit.native._formats import PixelLayout, RoiFlag
from labkit.native._frame import DecodedFrame, roi_size_problem
from labkit.native._select import kernels
from labkit.native._twin_recompose import BINNING, OUTSIDE

__all__ = ["recompose", "recomposed_shape"]

Coordinates = Literal["implied", "sensor"]


def _check_out(out: np.ndarray, layout: PixelLayout) -> None:
    dtype = layout.dtype
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array, not {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype}; this frame's pixels are {dtype}")
    ndim = 2 if layout.channels == 1 else 3
    if out.ndim != ndim or (ndim == 3 and out.shape[2] != layout.channels):
        want = "(height, width)" if ndim == 2 else f"(height, width, {layout.channels})"
        raise ValueError(f"out must have the shape {want} of this frame's pixels, not {out.shape}")
    flags = out.flags
    if not flags.writeable:
        raise ValueError("out is read-only")
    if not flags.aligned:
        raise ValueError("out must be aligned to its pixel size")
    if out.size == 0:  # nothing to write (and NumPy gives empty arrays zero strides)
        return
    pixel = dtype.itemsize * layout.channels
    if ndim == 3 and out.shape[2] > 1 and out.strides[2] != dtype.itemsize:
        raise ValueError("out's pixels must be contiguous (a channel stride of one sample)")
    if out.shape[1] > 1 and out.strides[1] != pixel:
        raise ValueError("out's rows must be contiguous (a column stride of one pixel)")
    if out.shape[0] > 1 and out.strides[0] < out.shape[1] * pixel:
        raise ValueError("out's rows must not overlap or run backwards")


def _check_fill(fill: int | None, dtype: np.dtype) -> int | None:
    if fill is None:
        return None
    value = int(fill)
    if not 0 <= value < 1 << (8 * dtype.itemsize):  # the containers are all unsigned
        raise ValueError(f"fill {value} does not fit {dtype}")
    return value


def _carriers(frame: DecodedFrame) -> np.ndarray:
    return np.flatnonzero((frame.table["flags"] & RoiFlag.HEADER_ONLY) == 0)


def recomposed_shape(
    frame: DecodedFrame, coordinates: Coordinates = "implied", offset: tuple[int, int] = (0, 0)
) -> tuple[int, int]:
    """``(height, width)`` of the smallest image that holds every ROI of ``frame``.

    In implied coordinates: the implied ROI's binned size, or more where ROI origins are not
    aligned to the binning (each lands at ``s1 // sbin - implied.s1 // sbin``); in sensor
    coordinates everything from the sensor origin. The binning is that of the ROIs with pixels.
    """
    off_x, off_y = (int(v) for v in offset)
    implied = frame.implied_roi
    if implied is None:
        return (off_y, off_x)
    table = frame.table
    carriers = _carriers(frame)
    first = int(carriers[0]) if len(carriers) else 0
    sbin, pbin = max(int(table["sbin"][first]), 1), max(int(table["pbin"][first]), 1)
    if coordinates == "sensor":
        return ((implied.p2 + 1) // pbin + off_y, (implied.s2 + 1) // sbin + off_x)
    height = (implied.p2 - implied.p1 + 1) // pbin
    width = (implied.s2 - implied.s1 + 1) // sbin
    if len(carriers):
        rows = table[carriers]
        x = rows["s1"].astype(np.int64) // sbin - implied.s1 // sbin + rows["width"]
        y = rows["p1"].astype(np.int64) // pbin - implied.p1 // pbin + rows["height"]
        width, height = max(width, int(x.max())), max(height, int(y.max()))
    return (height + off_y, width + off_x)


def _unusable(frame: DecodedFrame, carriers: np.ndarray) -> FrameFormatError | None:
    """The error for pixels that cannot be copied: a compressed frame, a short ROI."""
    if not len(carriers):
        return None
    problem = frame.pixel_problem
    if problem is not None:
        return FrameFormatError(f"frame: {problem}", offset=41)
    rows = frame.table[carriers]
    need = rows["width"].astype(np.uint64) * rows["height"] * frame.layout.bytes_per_pixel
    short = np.flatnonzero(rows["data_size"] < need)
    if not len(short):
        return None
    index = int(carriers[short[0]])
    names = frame.table.dtype.names or ()
    record = dict(zip(names, frame.table[index].tolist(), strict=True))
    return FrameFormatError(
        f"frame.rois[{index}]: {roi_size_problem(frame.layout, record)}",
        offset=record["header_offset"] + 25,
    )


def _failure(
    frame: DecodedFrame, status: int, index: int, origin: tuple[int, int], offset: tuple[int, int],
    shape: tuple[int, ...], natural: tuple[int, int],
) -> Exception:  # fmt: skip
    """The error for a ROI the backend could not place (the slow path: only on failure)."""
    table = frame.table
    bad = {name: int(table[name][index]) for name in ("sbin", "pbin", "s1", "p1", "width",
                                                      "height", "header_offset")}  # fmt: skip
    if status == BINNING:
        first = int(_carriers(frame)[0])
        return FrameFormatError(
            f"frame.rois[{index}] is binned {bad['sbin']}x{bad['pbin']} but frame.rois[{first}] "
            f"{table['sbin'][first]}x{table['pbin'][first]}; ROIs of different binning cannot "
            "share one image",
            offset=bad["header_offset"] + 14,
        )
    assert status == OUTSIDE, status
    sbin, pbin = max(bad["sbin"], 1), max(bad["pbin"], 1)
    x = bad["s1"] // sbin - origin[0] // sbin + offset[0]
    y = bad["p1"] // pbin - origin[1] // pbin + offset[1]
    return ValueError(
        f"frame.rois[{index}] ({bad['width']}x{bad['height']} at x={x}, y={y}) does not fit "
        f"an output of shape {shape}; the ROIs need at least {natural}"
    )


def recompose(
    frame: DecodedFrame,
    *,
    out: np.ndarray | None = None,
    coordinates: Coordinates = "implied",
    offset: tuple[int, int] = (0, 0),
    fill: int | None = 0,
    shape: tuple[int, int] | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> np.ndarray:
    """Join the frame's ROIs into one image of the frame's pixel type and return it.

    ``offset`` is ``(x, y)`` in output (binned) pixels. The output is ``out`` if given (same
    dtype, rows contiguous; ``(h, w, 3)`` for RGB frames), else a new array of ``shape``
    (height, width), else of :func:`recomposed_shape`: the implied ROI's binned size, or in
    sensor coordinates everything from the sensor origin (pass ``shape=`` for the whole sensor,
    to keep an image steady while centroids move). Pixels no ROI covers are set to ``fill``;
    unlike PVCAM, which never clears, this is the default so stale centroids cannot linger.
    ``fill=None`` leaves ``out``'s other pixels as they are (a new array is still zeroed).
    HEADER_ONLY ROIs have no pixels and are skipped; the ROIs with pixels must share one binning
    (else :class:`FrameFormatError`), and so must be usable: a compressed frame, or an ROI whose
    roiDataSize is too small for its region, raises :class:`FrameFormatError` before anything is
    written. ``threads`` (C only) defaults to 1: from 4 MB on, the C kernel writes past the CPU
    cache with streaming stores and one core copies as fast as memcpy.
    """
    if coordinates not in ("implied", "sensor"):
        raise ValueError(f"coordinates must be 'implied' or 'sensor', not {coordinates!r}")
    off_x, off_y = (int(v) for v in offset)
    if off_x < 0 or off_y < 0:
        raise ValueError(f"offset {(off_x, off_y)} must not be negative")
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    layout = frame.layout
    dtype = layout.dtype
    fill = _check_fill(fill, dtype)
    implied = frame.implied_roi
    origin = (0, 0) if implied is None or coordinates == "sensor" else (implied.s1, implied.p1)
    natural = recomposed_shape(frame, coordinates, (off_x, off_y))

    if out is not None:
        _check_out(out, layout)
        if shape is not None and tuple(shape) != out.shape[:2]:
            raise ValueError(f"shape={tuple(shape)} disagrees with out.shape={out.shape}")
    else:
        size = natural if shape is None else tuple(int(v) for v in shape)
        if len(size) != 2 or min(size) < 0:
            raise ValueError(f"shape must be (height, width), not {size}")
        full = layout.shape(*size)
        out = np.zeros(full, dtype) if fill in (0, None) else np.empty(full, dtype)
        if fill == 0:
            fill = None  # already zero
    carriers = _carriers(frame)
    problem = _unusable(frame, carriers)
    if problem is not None:
        raise problem
    status, index = kernels(backend).recompose(
        frame.buffer, frame.table, out, origin, (off_x, off_y), fill,
        0 if threads is None else int(threads), layout.wire_bytes,
    )  # fmt: skip
    if status:
        raise _failure(frame, status, index, origin, (off_x, off_y), out.shape, natural)
    return out
