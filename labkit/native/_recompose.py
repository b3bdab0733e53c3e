"""Public :func:`recompose`: place a frame's ROIs into one image.

Placement follows ``pl_md_frame_recompose`` (``reference/pvcam-frames.md`` §1.10, §5.7): in
``"implied"`` coordinates the implied ROI's corner lands at ``offset``; in ``"sensor"``
coordinates each ROI lands at its binned sensor position (``s1 // sbin``, ``p1 // pbin``) plus
``offset``. The arguments are checked here; the backend places and copies, and reports which
ROI it could not place, and this module words the error the same way for both backends.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from labkit.core import FrameFormatError
from labkit.native._formats import RoiFlag
from labkit.native._frame import DecodedFrame
from labkit.native._select import kernels
from labkit.native._twin_recompose import BINNING, OUTSIDE

__all__ = ["recompose"]


def _check_out(out: np.ndarray, dtype: np.dtype) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array, not {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype}; this frame's pixels are {dtype}")
    if out.ndim != 2:
        raise ValueError(f"out must be 2-D, not {out.ndim}-D")
    flags = out.flags
    if not flags.writeable:
        raise ValueError("out is read-only")
    if not flags.aligned:
        raise ValueError("out must be aligned to its pixel size")
    if out.size == 0:  # nothing to write (and NumPy gives empty arrays zero strides)
        return
    if out.shape[1] > 1 and out.strides[1] != dtype.itemsize:
        raise ValueError("out's rows must be contiguous (a column stride of one pixel)")
    if out.shape[0] > 1 and out.strides[0] < out.shape[1] * dtype.itemsize:
        raise ValueError("out's rows must not overlap or run backwards")


def _check_fill(fill: int | None, dtype: np.dtype) -> int | None:
    if fill is None:
        return None
    value = int(fill)
    if not 0 <= value < 1 << (8 * dtype.itemsize):  # the containers are all unsigned
        raise ValueError(f"fill {value} does not fit {dtype}")
    return value


def _failure(
    frame: DecodedFrame, status: int, index: int, origin: tuple[int, int], offset: tuple[int, int],
    shape: tuple[int, ...], natural: tuple[int, int],
) -> Exception:  # fmt: skip
    """The error for a ROI the backend could not place (the slow path: only on failure)."""
    table = frame.table
    bad = {name: int(table[name][index]) for name in ("sbin", "pbin", "s1", "p1", "width",
                                                      "height", "header_offset")}  # fmt: skip
    if status == BINNING:
        first = int(np.flatnonzero((table["flags"] & RoiFlag.HEADER_ONLY) == 0)[0])
        return FrameFormatError(
            f"frame.rois[{index}] is binned {bad['sbin']}x{bad['pbin']} but frame.rois[{first}] "
            f"{table['sbin'][first]}x{table['pbin'][first]}; ROIs of different binning cannot "
            "share one image",
            offset=bad["header_offset"] + 14,
        )
    assert status == OUTSIDE, status
    x = (bad["s1"] - origin[0]) // max(bad["sbin"], 1) + offset[0]
    y = (bad["p1"] - origin[1]) // max(bad["pbin"], 1) + offset[1]
    return ValueError(
        f"frame.rois[{index}] ({bad['width']}x{bad['height']} at x={x}, y={y}) does not fit "
        f"an output of shape {shape}; the ROIs need at least {natural}"
    )


def recompose(
    frame: DecodedFrame,
    *,
    out: np.ndarray | None = None,
    coordinates: Literal["implied", "sensor"] = "implied",
    offset: tuple[int, int] = (0, 0),
    fill: int | None = 0,
    shape: tuple[int, int] | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> np.ndarray:
    """Join the frame's ROIs into one image of the frame's pixel type and return it.

    ``offset`` is ``(x, y)`` in output (binned) pixels. The output is ``out`` if given (same
    dtype, rows contiguous), else a new array of ``shape``, else of the smallest shape that holds
    every ROI: the implied ROI's binned size, or in sensor coordinates everything from the
    sensor origin (pass ``shape=`` for the whole sensor, to keep an image steady while centroids
    move). Pixels no ROI covers are set to ``fill``; unlike PVCAM, which never clears, this is the
    default so stale centroids cannot linger. ``fill=None`` leaves ``out``'s other pixels as they
    are (a new array is still zeroed). HEADER_ONLY ROIs have no pixels and are skipped; the ROIs
    with pixels must share one binning (else :class:`FrameFormatError`). ``threads`` (C only)
    defaults to 1: from 4 MB on, the C kernel writes past the CPU cache with streaming stores
    and one core copies as fast as memcpy.
    """
    if coordinates not in ("implied", "sensor"):
        raise ValueError(f"coordinates must be 'implied' or 'sensor', not {coordinates!r}")
    off_x, off_y = (int(v) for v in offset)
    if off_x < 0 or off_y < 0:
        raise ValueError(f"offset {(off_x, off_y)} must not be negative")
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    dtype = frame.dtype
    fill = _check_fill(fill, dtype)
    implied = frame.implied_roi
    if implied is None:
        origin, natural = (0, 0), (off_y, off_x)
    else:
        sbin, pbin = max(implied.sbin, 1), max(implied.pbin, 1)
        if coordinates == "implied":
            origin = (implied.s1, implied.p1)
            natural = (
                (implied.p2 - implied.p1 + 1) // pbin + off_y,
                (implied.s2 - implied.s1 + 1) // sbin + off_x,
            )
        else:
            origin = (0, 0)
            natural = ((implied.p2 + 1) // pbin + off_y, (implied.s2 + 1) // sbin + off_x)

    if out is not None:
        _check_out(out, dtype)
        if shape is not None and tuple(shape) != out.shape:
            raise ValueError(f"shape={tuple(shape)} disagrees with out.shape={out.shape}")
    else:
        size = natural if shape is None else tuple(int(v) for v in shape)
        if len(size) != 2 or min(size) < 0:
            raise ValueError(f"shape must be (height, width), not {size}")
        out = np.zeros(size, dtype) if fill in (0, None) else np.empty(size, dtype)
        if fill == 0:
            fill = None  # already zero
    status, index = kernels(backend).recompose(
        frame.buffer, frame.table, out, origin, (off_x, off_y), fill,
        0 if threads is None else int(threads),
    )  # fmt: skip
    if status:
        raise _failure(frame, status, index, origin, (off_x, off_y), out.shape, natural)
    return out
