"""Public :func:`preview`: shrink a camera image to a uint8 picture for a live view.

Everything that is decided once per call (bin factors, ranks of the percentiles, the gamma
table) is computed here with Python integers and handed to the backend, so the C kernel and the
twin only do the integer pixel work described in ``_twin_preview.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from labkit.native._select import kernels
from labkit.native._twin_preview import MANUAL, MAX, MEAN, MINMAX, RANKS

__all__ = ["LUT_SIZE", "Preview", "bin_factors", "gamma_table", "preview"]

LUT_SIZE = 4096
"""Entries of the table that maps normalised levels to uint8 (fine enough for strong gammas)."""

_CONTRAST_HELP = "contrast must be 'minmax', ('percentile', lo, hi) or levels (lo, hi)"
_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32))


class Preview(NamedTuple):
    """A preview image, the ``(low, high)`` levels that mapped to 0 and 255, and the bin factors."""

    image: np.ndarray
    levels: tuple[int, int]
    factor: tuple[int, int]


@lru_cache(maxsize=32)
def gamma_table(gamma: float | None) -> np.ndarray:
    """The uint8 table for ``t ** gamma`` over ``LUT_SIZE`` steps of t in [0, 1] (read-only).

    ``None`` is the straight line, rounded half up with integers. Built once per gamma, here, so
    both backends use the very same table.
    """
    k = LUT_SIZE
    if gamma is None:
        table = (np.arange(k, dtype=np.int64) * 510 + (k - 1)) // (2 * (k - 1))
    else:
        table = np.rint(255.0 * (np.arange(k) / (k - 1)) ** float(gamma))
    table = table.astype(np.uint8)
    table.flags.writeable = False
    return table


def bin_factors(shape: tuple[int, int], max_size: int | tuple[int, int] | None) -> tuple[int, int]:
    """The square integer factor that brings ``shape`` within ``max_size`` (per axis, capped).

    One factor for both axes keeps the aspect ratio; an axis shorter than the factor is binned
    by its own length instead, so a 1 × 10000 line still gives a line.
    """
    height, width = shape
    if max_size is None:
        return (1, 1)
    if isinstance(max_size, int | np.integer):
        max_h = max_w = int(max_size)
    else:
        max_h, max_w = (int(v) for v in max_size)
    if max_h < 1 or max_w < 1:
        raise ValueError(f"max_size must be at least 1 x 1, not {max_size}")
    factor = max(-(-height // max_h), -(-width // max_w), 1)
    return (min(factor, height), min(factor, width))


def _rank(percent: Any, count: int) -> int:
    p = Fraction(percent)
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {percent} is outside 0-100")
    return min(count - 1, math.floor(p * (count - 1) / 100 + Fraction(1, 2)))


def _level(value: Any, top: int) -> int:
    level = round(float(value))
    if not 0 <= level <= top:
        raise ValueError(f"level {value} is outside the image's range 0-{top}")
    return level


def _contrast(spec: Any, count: int, top: int) -> tuple[int, int, int]:
    if isinstance(spec, str):
        if spec != "minmax":
            raise ValueError(f"{_CONTRAST_HELP}, not {spec!r}")
        return MINMAX, 0, 0
    spec = tuple(spec)
    if len(spec) == 3 and spec[0] == "percentile":
        lo, hi = _rank(spec[1], count), _rank(spec[2], count)
        if lo > hi:
            raise ValueError(f"percentiles {spec[1]} and {spec[2]} are in the wrong order")
        return RANKS, lo, hi
    if len(spec) == 2:
        lo, hi = _level(spec[0], top), _level(spec[1], top)
        if lo >= hi:
            raise ValueError(f"manual levels {spec} need low < high")
        return MANUAL, lo, hi
    raise ValueError(f"{_CONTRAST_HELP}, not {spec!r}")


def _source(image: Any) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"preview takes a 2-D image, not {image.ndim}-D")
    if image.dtype.newbyteorder("=") not in _DTYPES or image.dtype.kind != "u":
        raise TypeError(f"preview takes uint8, uint16 or uint32 images, not {image.dtype}")
    if image.size == 0:
        raise ValueError("preview of an empty image")
    native = image.dtype.newbyteorder("=")
    if image.dtype != native:
        image = image.astype(native)
    rows_ok = image.shape[1] == 1 or image.strides[1] == image.itemsize
    if not rows_ok or image.strides[0] < image.shape[1] * image.itemsize:
        image = np.ascontiguousarray(image)
    if not image.flags.aligned:  # e.g. ROI pixels after an odd-sized ext-MD block
        image = image.copy()
    return image


def preview(
    image: Any,
    *,
    max_size: int | tuple[int, int] | None = None,
    binning: str = "mean",
    contrast: Any = "minmax",
    gamma: float | None = None,
    out: np.ndarray | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> Preview:
    """Downsample an image by whole bins and map it to uint8 with auto or manual contrast.

    ``max_size`` is ``(height, width)`` or one number for both; the bin factor is the smallest
    integer that fits. ``binning`` is ``"mean"`` (rounded half up) or ``"max"`` (keeps single
    hot pixels and centroids visible). ``contrast`` is ``"minmax"``, ``("percentile", lo, hi)``
    (exact order statistics of the binned image) or manual levels ``(lo, hi)``. ``gamma``
    applies ``t ** gamma`` after the levels (below 1 brightens the shadows). With manual levels
    the C kernel reads the image once and writes the result in the same pass; with automatic
    levels the second pass only touches the small binned image. The C kernel releases the GIL
    and uses ``threads`` (default: by image size, at most the machine's cores).
    """
    source = _source(image)
    height, width = source.shape
    fy, fx = bin_factors((height, width), max_size)
    shape = (height // fy, width // fx)
    if binning not in ("mean", "max"):
        raise ValueError(f"binning must be 'mean' or 'max', not {binning!r}")
    top = int(np.iinfo(source.dtype).max)
    kind, a, b = _contrast(contrast, shape[0] * shape[1], top)
    if gamma is not None and not (math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive number, not {gamma}")
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    if out is None:
        out = np.empty(shape, np.uint8)
    else:
        if not isinstance(out, np.ndarray) or out.dtype != np.uint8:
            raise TypeError("out must be a uint8 NumPy array")
        if out.shape != shape:
            raise ValueError(f"out has shape {out.shape}; this preview is {shape}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
        if (shape[1] > 1 and out.strides[1] != 1) or (shape[0] > 1 and out.strides[0] < shape[1]):
            raise ValueError("out's rows must be contiguous and not overlap")
    lut = gamma_table(None if gamma is None else float(gamma))
    lo, hi = kernels(backend).preview(
        source,
        fy,
        fx,
        MEAN if binning == "mean" else MAX,
        kind,
        a,
        b,
        lut,
        out,
        0 if threads is None else int(threads),
    )
    return Preview(out, (lo, hi), (fy, fx))
