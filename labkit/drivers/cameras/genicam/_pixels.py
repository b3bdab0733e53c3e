"""GenICam pixel formats (PFNC) to NumPy arrays, copied out of the camera's buffer.

The bit-level unpacking of each format (Mono12p, BayerRG10Packed, YCbCr422...) is harvesters'
(``harvesters.util.pfnc``); here the bytes are bounded, line padding is removed, the values are
shaped as an image and copied, so the buffer can go back to the camera at once:

- one component per pixel (``Mono8/10/12/14/16``, packed variants, ``Bayer*`` mosaics as
  delivered) → ``(height, width)``; 8-bit formats as ``uint8``, deeper ones as ``uint16``;
- several (``RGB8``, ``BGR8``, ``RGBa8``...) → ``(height, width, 3|4)`` in R, G, B(, a) order
  (``BGR*`` formats are reordered; the frame's metadata keeps the camera's format name);
- planar 3D formats → ``(height, width, components)`` too.

A buffer too short for the format, or a format labkit cannot unpack, raises
:class:`~labkit.FrameFormatError`; nothing is ever read outside the buffer.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from labkit.core import FrameFormatError

__all__ = ["decode", "frame_bytes", "part_names"]


_COORDINATE = re.compile(r"^Coord3D_([A-C]+)\d+[a-z]*(_Planar)?$")
_INTENSITY = ("Mono", "RGB", "BGR", "Bayer", "YUV", "YCbCr")


def part_names(formats: list[str]) -> list[str]:
    """Names for the parts of a multi-part buffer, from their pixel formats, in order.

    Images (``Mono8``, ``RGB8``, ``Bayer*``...) are ``intensity``; 3D coordinates
    (``Coord3D_A32f``...) are ``coord3d_a``/``_b``/``_c`` (``coord3d_abc`` for all three
    planes); ``Confidence*`` is ``confidence``; any other format its own name in lower case.
    A name met twice gets ``_2``, ``_3``... so every part keeps a name of its own.
    """
    names: list[str] = []
    for pixel_format in formats:
        coordinate = _COORDINATE.match(pixel_format)
        if coordinate:
            base = f"coord3d_{coordinate.group(1).lower()}"
        elif pixel_format.startswith(_INTENSITY):
            base = "intensity"
        elif pixel_format.startswith("Confidence"):
            base = "confidence"
        else:
            base = re.sub(r"\W+", "_", pixel_format).lower().strip("_") or "part"
        name, number = base, 2
        while name in names:
            name, number = f"{base}_{number}", number + 1
        names.append(name)
    return names


def _proxy(pixel_format: str) -> Any:
    from harvesters.util.pfnc import Dictionary

    proxy = Dictionary.get_proxy(symbolic=pixel_format)
    if proxy is None:
        raise FrameFormatError(
            f"pixel format {pixel_format!r} is not one labkit can unpack",
            hint="Choose another pixel_format on the camera (Mono8, Mono12, RGB8...)",
        )
    return proxy


def _line_bytes(proxy: Any, width: int) -> float:
    if proxy.alignment.is_packed():
        return width * proxy.depth_in_byte
    return width * proxy.nr_components * proxy.alignment.unpacked_size


def frame_bytes(pixel_format: str, width: int, height: int, padding_x: int = 0) -> int:
    """How many bytes of a buffer one ``width`` × ``height`` image of ``pixel_format`` uses."""
    proxy = _proxy(pixel_format)
    line = _line_bytes(proxy, width)
    if padding_x:
        return height * (math.ceil(line) + padding_x)
    return math.ceil(line * height)


def decode(
    buffer: Any,
    pixel_format: str,
    width: int,
    height: int,
    *,
    offset: int = 0,
    padding_x: int = 0,
) -> np.ndarray:
    """The image in ``buffer`` (bytes-like) as a new NumPy array that owns its memory."""
    if width <= 0 or height <= 0:
        raise FrameFormatError(f"a {width} × {height} image has no pixels", offset=offset)
    proxy = _proxy(pixel_format)
    raw = np.frombuffer(buffer, dtype=np.uint8)
    needed = frame_bytes(pixel_format, width, height, padding_x)
    if offset < 0 or offset + needed > raw.size:
        raise FrameFormatError(
            f"a {width} × {height} {pixel_format} image needs {needed} bytes from byte {offset}, "
            f"the buffer holds {raw.size}",
            offset=raw.size,
            hint="The camera changed its image format during acquisition; stop and start again",
        )
    data = raw[offset : offset + needed]
    if padding_x:
        line = math.ceil(_line_bytes(proxy, width))
        data = np.ascontiguousarray(data.reshape(height, line + padding_x)[:, :line]).reshape(-1)
    try:
        values = proxy.expand(data)
    except Exception as error:  # harvesters' unpackers assert on shapes they cannot handle
        raise FrameFormatError(
            f"{pixel_format} data of {width} × {height} pixels could not be unpacked ({error!r})",
            offset=offset,
        ) from None
    pixels = width * height
    if values.size < pixels or values.size % pixels:
        raise FrameFormatError(
            f"{pixel_format} unpacked to {values.size} values, not a multiple of "
            f"{width} × {height} pixels",
            offset=offset,
        )
    components = values.size // pixels
    values = values[: pixels * components]
    if components == 1:
        image = values.reshape(height, width)
    elif "Planar" in pixel_format:
        image = np.moveaxis(values.reshape(components, height, width), 0, -1)
    else:
        image = values.reshape(height, width, components)
        if pixel_format.startswith("BGR") and components >= 3:
            order = [2, 1, 0, *range(3, components)]
            image = image[:, :, order]
    return np.array(image, copy=True, order="C")
