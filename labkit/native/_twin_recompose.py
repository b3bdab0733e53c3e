"""The NumPy twin of the C recompose kernel: place the ROIs, clear, copy each in turn.

Placement (``lk_place_rois``): the ROIs that carry pixels (not HEADER_ONLY) must share one
non-zero binning, else status ``BINNING``; each lands at ``x = (s1 - origin_x) // sbin + off_x``,
``y = (p1 - origin_y) // pbin + off_y`` and must lie inside ``out``, else status ``OUTSIDE``.
Both are checked, binnings first, before anything is written. Later ROIs overwrite earlier ones
where they overlap, in both backends.
"""

from __future__ import annotations

import numpy as np

from labkit.native._formats import RoiFlag

__all__ = ["BINNING", "OK", "OUTSIDE", "recompose"]

OK, BINNING, OUTSIDE = 0, 1, 2


def recompose(
    buffer: memoryview,
    table: np.ndarray,
    out: np.ndarray,
    origin: tuple[int, int],
    offset: tuple[int, int],
    fill: int | None,
    threads: int,
) -> tuple[int, int]:
    """Recompose the ROIs of ``table`` into ``out``; returns ``(status, index of the culprit)``.

    ``threads`` is accepted for the C kernel's sake and ignored here.
    """
    del threads
    carriers = np.flatnonzero((table["flags"] & RoiFlag.HEADER_ONLY) == 0)
    rows = table[carriers]
    places: list[tuple[int, int, int, int, int]] = []
    if len(rows):
        sbin, pbin = rows["sbin"], rows["pbin"]
        odd = (sbin == 0) | (pbin == 0) | (sbin != sbin[0]) | (pbin != pbin[0])
        if odd.any():
            return BINNING, int(carriers[np.argmax(odd)])
        s1, p1 = rows["s1"].astype(np.int64), rows["p1"].astype(np.int64)
        width, height = rows["width"].astype(np.int64), rows["height"].astype(np.int64)
        xs = (s1 - origin[0]) // int(sbin[0]) + offset[0]
        ys = (p1 - origin[1]) // int(pbin[0]) + offset[1]
        outside = (
            (s1 < origin[0])
            | (p1 < origin[1])
            | (xs + width > out.shape[1])
            | (ys + height > out.shape[0])
        )
        if outside.any():
            return OUTSIDE, int(carriers[np.argmax(outside)])
        columns = (rows["data_offset"], width, height, xs, ys)
        places = list(zip(*(c.tolist() for c in columns), strict=True))
    if fill is not None:
        out[...] = fill
    for data_offset, w, h, x, y in places:
        pixels = np.frombuffer(buffer, out.dtype, w * h, data_offset)
        out[y : y + h, x : x + w] = pixels.reshape(h, w)
    return OK, 0
