"""Public decoding: :func:`decode_frame` for one buffer, :func:`decode_batch` for a ring of them.

The argument checks and the frames without metadata live here, shared by both backends; the
backend only walks metadata frames (``decode_tables``), so that is where C and twin can differ
and where the tests compare them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.core import FrameFormatError
from labkit.native._formats import ImageFormat, Rgn, pixel_layout, supported_formats
from labkit.native._frame import DecodedFrame
from labkit.native._layout import HEADER_DTYPE, ROI_DTYPE
from labkit.native._select import kernels

__all__ = ["as_byte_view", "decode_batch", "decode_frame"]

RoiArg = Rgn | Sequence[int] | None


def as_byte_view(buffer: Any) -> memoryview:
    """A flat unsigned-byte view of any C-contiguous buffer (bytes, bytearray, ndarray, ctypes)."""
    view = memoryview(buffer)
    if view.format == "B" and view.ndim == 1:
        return view
    if not view.c_contiguous:
        raise ValueError("a frame buffer must be C-contiguous")
    try:
        return view.cast("B")
    except TypeError:  # formats memoryview cannot cast (non-native byte order, records...)
        return np.asarray(buffer).reshape(-1).view(np.uint8).data


def _format_code(image_format: int | None) -> int:
    if image_format is None:
        return -1
    code = int(image_format)
    if code not in supported_formats():
        names = ", ".join(ImageFormat(f).name for f in supported_formats())
        raise ValueError(f"image_format={code} is not a supported container ({names})")
    return code


def _roi_region(roi: RoiArg) -> Rgn:
    if roi is None:
        raise ValueError(
            "a frame without metadata needs roi= (a Rgn or (s1, s2, sbin, p1, p2, pbin), "
            "or the image shape (height, width))"
        )
    values = tuple(int(v) for v in roi)
    if len(values) == 2:
        height, width = values
        if height < 1 or width < 1:
            raise ValueError(f"image shape {values} must be at least 1 x 1")
        region = Rgn.full(height, width)
    elif len(values) == 6:
        region = Rgn(*values)
    else:
        raise ValueError(f"roi= takes 2 values (height, width) or 6 (a region), not {len(values)}")
    if not all(0 <= v <= 0xFFFF for v in region):
        raise ValueError(f"region {tuple(region)} does not fit PVCAM's 16-bit coordinates")
    if region.sbin == 0 or region.pbin == 0:
        raise ValueError(f"region {tuple(region)} has a binning of 0")
    if region.s2 < region.s1 or region.p2 < region.p1 or region.width == 0 or region.height == 0:
        raise ValueError(f"region {tuple(region)} is empty")
    return region


def _raw_tables(n: int, region: Rgn, image_format: int) -> tuple[np.ndarray, np.ndarray]:
    """Header and table of a frame that is nothing but the pixels of one known ROI."""
    bpp = pixel_layout(image_format).bytes_per_pixel
    size = region.width * region.height * bpp
    if n < size:
        raise FrameFormatError(
            f"pixel data truncated: needs {size} bytes at offset 0, buffer has {n}", offset=0
        )
    header = np.zeros(1, HEADER_DTYPE)
    h = header[0]
    h["nbytes"], h["roi_count"], h["decoded_count"], h["image_format"] = size, 1, 1, image_format
    for key, value in zip(Rgn._fields, region, strict=True):
        h[f"implied_{key}"] = value
    table = np.zeros(1, ROI_DTYPE)
    t = table[0]
    t["data_size"], t["width"], t["height"], t["roi_nr"] = size, region.width, region.height, 1
    for key, value in zip(Rgn._fields, region, strict=True):
        t[key] = value
    return header, table


def decode_frame(
    buffer: Any,
    *,
    metadata: bool = True,
    roi: RoiArg = None,
    image_format: int | None = None,
    backend: str | None = None,
) -> DecodedFrame:
    """Decode one PVCAM frame without copying its pixels.

    With ``metadata=True`` (PARAM_METADATA_ENABLED) the buffer starts with the 48-byte frame
    header and says everything itself; ``image_format`` only matters for version-1 headers, which
    have no format byte (PVCAM assumes MONO16), and must agree with a v2/v3 header. With
    ``metadata=False`` the buffer is the bare pixels of one ROI: give ``roi=`` as a region or as
    the image shape ``(height, width)``, and ``image_format`` (default MONO16). Bytes after the
    frame are ignored, so a whole ring-buffer slot can be passed.

    The walk is the vendor's (``pl_md_frame_decode``): every PVCAM 3.10 container is accepted
    (MONO8/16/24/32 and BAYER8/16/24/32 as ``(h, w)`` images, RGB24/48/72/96 as
    ``(h, w, 3)``; 24-bit samples widen to ``uint32``; ``frame.color_mask`` says a Bayer
    pattern, demosaicing is left to the viewer); an INVALID ROI ends the frame (the ROIs before
    it are the frame); ``roiDataSize`` is trusted to find the next ROI, and only checked against
    the region when the pixels are used; a compressed frame decodes, but its pixels cannot be
    used (``Roi.problem`` says why); HEADER_ONLY ROIs have ``pixels=None`` whatever their
    roiDataSize. Extended metadata is 1-byte tag + 4-byte value for the known tags 0-2
    (particle_id, m0, m2); an unknown or cut tag does not fail the decoding, only reading that
    block (``frame.ext_md``, ``roi.ext_md``) raises; a repeated tag keeps its last value.

    Raises :class:`labkit.core.FrameFormatError` (with ``offset``) for a malformed buffer and
    ``ValueError`` for bad arguments. ``backend`` picks ``"c"`` or ``"numpy"`` explicitly.
    """
    view = as_byte_view(buffer)
    code = _format_code(image_format)
    if metadata:
        if roi is not None:
            raise ValueError("roi= describes frames without metadata; metadata frames carry theirs")
        header, table = kernels(backend).decode_tables(view, code)
    else:
        code = int(ImageFormat.MONO16) if code < 0 else code
        header, table = _raw_tables(len(view), _roi_region(roi), code)
    return DecodedFrame(view, header, table, pixel_layout(int(header["image_format"][0])))


def decode_batch(
    buffer: Any,
    stride: int,
    *,
    count: int | None = None,
    start: int = 0,
    metadata: bool = True,
    roi: RoiArg = None,
    image_format: int | None = None,
    backend: str | None = None,
) -> list[DecodedFrame]:
    """Decode ``count`` frames of a circular buffer whose frames sit ``stride`` bytes apart.

    The buffer holds ``len(buffer) // stride`` slots (PVCAM's ring: size = slots × frame size);
    decoding starts at slot ``start`` and wraps around, so ``start`` = the oldest unread slot
    and ``count`` = the frames that arrived since give them in acquisition order. ``count``
    defaults to every slot. A malformed frame raises :class:`FrameFormatError` naming its slot,
    with ``offset`` counted from the start of the whole buffer.
    """
    view = as_byte_view(buffer)
    stride = int(stride)
    if stride < 1:
        raise ValueError(f"stride must be positive, not {stride}")
    slots = len(view) // stride
    if slots == 0:
        raise ValueError(f"a buffer of {len(view)} bytes holds no frame of {stride} bytes")
    count = slots if count is None else int(count)
    if not 0 <= count <= slots:
        raise ValueError(f"count must be between 0 and the {slots} slots, not {count}")
    if not 0 <= start < slots:
        raise ValueError(f"start must be a slot number below {slots}, not {start}")
    order = [(start + k) % slots for k in range(count)]
    code = _format_code(image_format)
    if metadata:
        if roi is not None:
            raise ValueError("roi= describes frames without metadata; metadata frames carry theirs")
        tables = kernels(backend).decode_batch_tables(view, stride, order, code)
    else:
        code = int(ImageFormat.MONO16) if code < 0 else code
        region = _roi_region(roi)
        if pixel_layout(code).bytes_per_pixel * region.width * region.height > stride:
            raise ValueError(f"roi {tuple(region)} does not fit in a slot of {stride} bytes")
        tables = [_raw_tables(stride, region, code)] * count
    frames = []
    for slot, (header, table) in zip(order, tables, strict=True):
        layout = pixel_layout(int(header[0]["image_format"]))
        frames.append(
            DecodedFrame(view[slot * stride : (slot + 1) * stride], header, table, layout)
        )
    return frames
