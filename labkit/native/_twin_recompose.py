"""The NumPy twin of the C recompose kernel: place the ROIs, clear, copy each in turn.

Placement (``lk_place_rois``): the ROIs that carry pixels (not HEADER_ONLY) must share one
non-zero binning, else status ``BINNING``; each lands where ``pl_md_frame_recompose`` puts it,
``x = s1 // sbin - origin_x // sbin + off_x``, ``y = p1 // pbin - origin_y // pbin + off_y``
(each coordinate binned on its own), and must lie inside ``out``, else status ``OUTSIDE``.
Both are checked, binnings first, before anything is written. Later ROIs overwrite earlier ones
where they overlap, in both backends. ``out`` is ``(h, w)`` or ``(h, w, channels)``; ``wire``
is the bytes of one sample in the frame, 3 for 24-bit samples widened to ``uint32``.
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
    wire: int,
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
        xs = s1 // int(sbin[0]) - origin[0] // int(sbin[0]) + offset[0]
        ys = p1 // int(pbin[0]) - origin[1] // int(pbin[0]) + offset[1]
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
    channels = out.shape[2] if out.ndim == 3 else 1
    for data_offset, w, h, x, y in places:
        samples = w * h * channels
        if wire == out.dtype.itemsize:
            pixels = np.frombuffer(buffer, out.dtype, samples, data_offset)
        else:  # 24-bit samples, zero-extended to uint32
            raw = np.frombuffer(buffer, np.uint8, samples * wire, data_offset).reshape(-1, wire)
            pixels = np.zeros((samples, out.dtype.itemsize), np.uint8)
            pixels[:, :wire] = raw
            pixels = pixels.reshape(-1).view(out.dtype)
        out[y : y + h, x : x + w] = pixels.reshape(out[y : y + h, x : x + w].shape)
    return OK, 0
