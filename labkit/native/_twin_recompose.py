"""The NumPy twin of the C recompose kernel: clear, then copy each ROI to its place.

The front (``_recompose.py``) has already checked every placement against ``out`` and the
buffer. Later ROIs overwrite earlier ones where they overlap, in both backends.
"""

from __future__ import annotations

import numpy as np

__all__ = ["recompose"]


def recompose(
    buffer: memoryview,
    out: np.ndarray,
    placements: np.ndarray,
    fill: int | None,
    threads: int,
) -> None:
    """Copy ROIs into ``out``; ``placements`` rows are (data_offset, width, height, x, y).

    ``threads`` is accepted for the C kernel's sake and ignored here.
    """
    del threads
    if fill is not None:
        out[...] = fill
    for offset, width, height, x, y in placements.tolist():
        pixels = np.frombuffer(buffer, out.dtype, width * height, offset)
        out[y : y + height, x : x + width] = pixels.reshape(height, width)
