"""The NumPy twin of the C preview kernel: bin, find the levels, map to uint8.

Every step is integer arithmetic with one defined rounding, so the C kernel (``lk_preview.c``)
reproduces it bit for bit:

* mean binning: ``(sum + n // 2) // n`` over each ``fy`` × ``fx`` block (round half up);
  max binning: the block's maximum. Rows and columns that do not fill a block are dropped.
* levels: ``(min, max)`` of the binned image, or its order statistics of ranks ``a`` and ``b``
  (the k-th smallest value, no interpolation), or ``(a, b)`` as given.
* mapping with ``D = max(hi - lo, 1)``, ``M = ((K - 1) << 32) // D`` and the K-entry table
  ``lut``: ``v <= lo`` → ``lut[0]``; ``v >= lo + D`` → ``lut[K - 1]``; otherwise
  ``lut[min(((v - lo) * M + 2**31) >> 32, K - 1)]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["map_to_u8", "preview"]

MEAN, MAX = 0, 1
MINMAX, RANKS, MANUAL = 0, 1, 2


def map_to_u8(values: np.ndarray, lo: int, hi: int, lut: np.ndarray, out: np.ndarray) -> None:
    """Write ``lut[index(v)]`` for each value into ``out`` (the rule in the module doc)."""
    k = len(lut)
    span = max(hi - lo, 1)
    scale = ((k - 1) << 32) // span
    v = values.astype(np.uint64)
    inside = np.clip(v, lo, lo + span) - np.uint64(lo)
    index = np.minimum((inside * np.uint64(scale) + np.uint64(1 << 31)) >> np.uint64(32), k - 1)
    index[v <= lo] = 0
    index[v >= lo + span] = k - 1
    out[...] = lut[index]


def preview(
    image: np.ndarray,
    fy: int,
    fx: int,
    binning: int,
    contrast: int,
    a: int,
    b: int,
    lut: np.ndarray,
    out: np.ndarray,
    threads: int,
) -> tuple[int, int]:
    """Bin ``image`` by ``fy`` × ``fx``, map it into ``out`` and return the levels used."""
    del threads
    oh, ow = out.shape
    blocks = image[: oh * fy, : ow * fx].reshape(oh, fy, ow, fx)
    if binning == MEAN:
        n = fy * fx
        sums = blocks.sum(axis=(1, 3), dtype=np.uint64)
        binned = ((sums + np.uint64(n // 2)) // np.uint64(n)).astype(image.dtype)
    else:
        binned = blocks.max(axis=(1, 3))
    if contrast == MINMAX:
        lo, hi = int(binned.min()), int(binned.max())
    elif contrast == RANKS:
        flat = np.partition(binned.reshape(-1), [a, b])
        lo, hi = int(flat[a]), int(flat[b])
    else:
        lo, hi = a, b
    map_to_u8(binned, lo, hi, lut, out)
    return lo, hi
