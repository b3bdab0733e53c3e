"""From a camera frame to the bytes a browser shows: preview, colormap, histogram.

The camera view's picture travels as the preview's uint8 pixels (``labkit.native.preview``, in
C, GIL released) with a 256-entry palette that *is* the colormap; the page maps one through
the other into a canvas (:mod:`labkit.ui._canvas_image`). The kernel encodes nothing (no PNG
deflate on two cores), and a colormap change costs a new palette, not a new image. A 1024 ×
1024 preview is 1 MiB per update. The colour bar, which changes only with the colormap, is an
8-bit paletted BMP with the same palette in a bqplot ``Image`` mark.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "COLORMAPS",
    "as_mono",
    "bmp",
    "colormap_colors",
    "histogram",
    "palette",
]

# Anchor colours of each map (evenly spaced, interpolated linearly in between).
COLORMAPS: dict[str, tuple[str, ...]] = {
    "gray": ("#000000", "#ffffff"),
    "viridis": ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
                "#6ece58", "#b5de2b", "#fde725"),
    "magma": ("#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064", "#fb8761",
              "#fec287", "#fcfdbf"),
    "inferno": ("#000004", "#1f0c48", "#550f6d", "#88226a", "#ba3655", "#e35933", "#f98e09",
                "#f9cb35", "#fcffa4"),
    "hot": ("#0b0000", "#ff0000", "#ffff00", "#ffffff"),
}  # fmt: skip


def colormap_colors(name: str) -> tuple[str, ...]:
    """The anchor colours of a colormap (also given to the colour bar's scale)."""
    try:
        return COLORMAPS[name]
    except KeyError:
        raise ValueError(
            f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}"
        ) from None


@lru_cache(maxsize=16)
def palette(name: str) -> bytes:
    """The 256-entry BMP palette (blue, green, red, 0) of colormap ``name``."""
    anchors = colormap_colors(name)
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in anchors], dtype=float)
    where = np.linspace(0.0, 1.0, len(anchors))
    t = np.arange(256) / 255.0
    table = np.zeros((256, 4), np.uint8)
    for channel in range(3):
        table[:, 2 - channel] = np.rint(np.interp(t, where, rgb[:, channel]))
    return table.tobytes()


def bmp(image: np.ndarray, colormap: str) -> bytes:
    """An 8-bit paletted, top-down BMP of a uint8 ``image`` (rows padded to 4 bytes)."""
    height, width = image.shape
    stride = (width + 3) & ~3
    if stride != width:
        padded = np.zeros((height, stride), np.uint8)
        padded[:, :width] = image
        image = padded
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    offset = 14 + 40 + 1024
    size = offset + pixels.nbytes
    header = struct.pack("<2sIHHI", b"BM", size, 0, 0, offset)
    # A negative height stores the rows top-down, as NumPy holds them.
    info = struct.pack(
        "<IiiHHIIiiII", 40, width, -height, 1, 8, 0, pixels.nbytes, 2835, 2835, 256, 0
    )
    return b"".join((header, info, palette(colormap), pixels.tobytes()))


def as_mono(pixels: Any) -> np.ndarray:
    """A 2-D unsigned image ``preview`` takes: colour frames become their luminance, signed and
    floating-point ones are mapped onto uint16 by their own range."""
    array = np.asarray(pixels)
    if array.ndim == 3:
        channels = array.shape[2]
        if channels >= 3:
            weights = np.array([77, 150, 29], np.uint32)  # Rec. 601 luma, in 1/256ths
            mono = array[..., :3].astype(np.uint32) @ weights
            array = (mono >> 8).astype(array.dtype if array.dtype.kind == "u" else np.uint16)
        else:
            array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"a camera view shows 2-D images, not {array.ndim}-D ones")
    if array.dtype.kind == "u" and array.dtype.itemsize in (1, 2, 4):
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    finite = np.asarray(array, dtype=np.float64)
    low = float(np.nanmin(finite)) if finite.size else 0.0
    high = float(np.nanmax(finite)) if finite.size else 0.0
    if not np.isfinite(low) or not np.isfinite(high) or high <= low:
        return np.zeros(array.shape, np.uint16)
    scaled = np.nan_to_num((finite - low) * (65535.0 / (high - low)), nan=0.0)
    return scaled.astype(np.uint16)


def histogram(image: np.ndarray, bins: int = 128, samples: int = 65536) -> tuple[np.ndarray, ...]:
    """Counts and bin edges of about ``samples`` pixels of ``image`` (an even sub-grid), over
    the range they span: enough to place contrast levels, at a fraction of a millisecond."""
    height, width = image.shape
    step = max(1, int(np.ceil(np.sqrt(height * width / samples))))
    sample = image[::step, ::step]
    low, high = int(sample.min()), int(sample.max())
    span = high - low + 1
    nbins = max(1, min(bins, span))
    # Integer bins: bin i holds values low + floor(i * span / nbins) ... up to the next edge.
    index = ((sample.astype(np.int64) - low) * nbins) // span
    counts = np.bincount(index.ravel(), minlength=nbins)
    edges = low + (np.arange(nbins + 1) * span) / nbins
    return counts, edges
