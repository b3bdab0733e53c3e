"""The NumPy twin of the C frame decoder: walk a metadata frame and fill the record tables.

This is the reference implementation. ``native/frames/lk_decode.c`` follows it check for check,
in the same order and with the same messages and offsets, so both backends reject a malformed
buffer identically. The layout facts are in ``reference/pvcam-frames.md`` §1.3-1.8; where the
vendor's ``pl_md_frame_decode`` is known to behave a certain way, the walk does the same:

1. frame header: size, signature, version, roiCount, image format (every PVCAM 3.10 container);
   ``imageCompression`` is recorded, not refused (pixels are checked when they are used);
2. frame extended metadata: its size against the buffer; its tags are read as far as they can
   be, and an unknown or cut tag only marks the block unreadable (``EXT_MD_UNREADABLE``), to
   fail when the metadata is read, not now;
3. each ROI in turn: header size; an INVALID ROI ends the frame (the ROIs before it are the
   frame, nothing after it is read); region, extended metadata as above, and pixel data of
   ``roiDataSize`` bytes (v2+, trusted as the vendor does; checked against the region only
   when the pixels are used) or width × height × bytes per pixel (v1). HEADER_ONLY ROIs have
   no pixels whatever roiDataSize says.

The implied ROI is the bounding box of the decoded ROIs with the first ROI's binning (the
vendor's, also when that ROI is HEADER_ONLY).
"""

from __future__ import annotations

import struct

import numpy as np

from labkit.core import FrameFormatError
from labkit.native._formats import (
    EXT_MD_TAGS,
    EXT_MD_UNREADABLE,
    FRAME_HEADER_SIZE,
    ROI_HEADER_SIZE,
    SIGNATURE,
    ImageFormat,
    RoiFlag,
    format_name,
    pixel_layout,
)
from labkit.native._layout import HEADER_DTYPE, ROI_DTYPE

__all__ = ["decode_batch_tables", "decode_tables"]

_HEAD = struct.Struct("<IBIH")  # signature, version, frameNr, roiCount at 0, 4, 5, 9
_TIMES_V1 = struct.Struct("<IIIIII")  # BOF, EOF, resNs, exposure, expResNs, roiTsResNs at 11
_TIMES_V3 = struct.Struct("<QQQ")  # BOF, EOF, exposure (ps) at 11
_TAIL = struct.Struct("<BBBHBB")  # bitDepth, colorMask, flags, extMdSize, format, compression at 35
_ROI = struct.Struct("<HII6HBHI")  # roiNr, BOR, EOR, rgn, flags, extMdSize, roiDataSize
_U32 = struct.Struct("<I")

_ROI_PAD = (0,) * 6
_HEADER_PAD = (0,) * 3


def _bytes_per_pixel(image_format: int) -> int | None:
    try:
        return pixel_layout(image_format).bytes_per_pixel
    except KeyError:
        return None


def _parse_ext_md(mv: memoryview, start: int, size: int) -> tuple[int, list[int]]:
    """Read a tag–value block: 1-byte tag, then a 4-byte LE value for the known tags 0-2.

    There is no length byte on the wire, so an unknown tag (or a value cut by the end of the
    block) makes the rest unreadable: stop there and set ``EXT_MD_UNREADABLE`` in the mask.
    A tag seen twice keeps its last value, as PVCAM's map indexed by tag would.
    """
    values = [0, 0, 0]
    mask = 0
    q = start
    end = start + size
    while q < end:
        tag = mv[q]
        if tag not in EXT_MD_TAGS or end - q - 1 < 4:
            return mask | EXT_MD_UNREADABLE, values
        values[tag] = _U32.unpack_from(mv, q + 1)[0]
        mask |= 1 << tag
        q += 5
    return mask, values


def _check_region(rgn: tuple[int, ...], p: int, where: str) -> None:
    s1, s2, sbin, p1, p2, pbin = rgn
    if sbin == 0:
        raise FrameFormatError(f"{where}: serial binning is 0", offset=p + 14)
    if s2 < s1:
        raise FrameFormatError(f"{where}: s2 {s2} < s1 {s1}", offset=p + 12)
    if (s2 - s1 + 1) // sbin == 0:
        raise FrameFormatError(
            f"{where}: {s2 - s1 + 1} serial pixels cannot be binned by {sbin}", offset=p + 14
        )
    if pbin == 0:
        raise FrameFormatError(f"{where}: parallel binning is 0", offset=p + 20)
    if p2 < p1:
        raise FrameFormatError(f"{where}: p2 {p2} < p1 {p1}", offset=p + 18)
    if (p2 - p1 + 1) // pbin == 0:
        raise FrameFormatError(
            f"{where}: {p2 - p1 + 1} parallel rows cannot be binned by {pbin}", offset=p + 20
        )


def decode_tables(mv: memoryview, format_override: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Decode the metadata frame at the start of ``mv`` (a flat byte view).

    ``format_override`` (-1 for none) is the container of a v1 frame, whose header has no format
    byte; for v2/v3 it must agree with the header. Returns a one-record header array and the
    table of decoded ROIs; raises :class:`FrameFormatError` naming the byte offset at fault.
    """
    n = len(mv)
    if n < FRAME_HEADER_SIZE:
        raise FrameFormatError(
            f"frame header truncated: needs {FRAME_HEADER_SIZE} bytes, buffer has {n}", offset=0
        )
    signature, version, frame_nr, roi_count = _HEAD.unpack_from(mv, 0)
    if signature != SIGNATURE:
        raise FrameFormatError(
            f"bad frame signature 0x{signature:08x} (expected 0x{SIGNATURE:08x}, 'PMQ\\0')",
            offset=0,
        )
    if version not in (1, 2, 3):
        raise FrameFormatError(f"unsupported header version {version} (known: 1, 2, 3)", offset=4)
    if roi_count == 0:
        raise FrameFormatError("roiCount is 0 (a metadata frame has at least one ROI)", offset=9)
    bit_depth, color_mask, flags, ext_size, image_format, compression = _TAIL.unpack_from(mv, 35)
    if version == 1:
        image_format = int(ImageFormat.MONO16) if format_override < 0 else format_override
        compression = 0
    else:
        if _bytes_per_pixel(image_format) is None:
            raise FrameFormatError(
                f"image format {image_format} ({format_name(image_format)}) is not one of "
                "PVCAM's containers (0-11)",
                offset=40,
            )
        if format_override >= 0 and format_override != image_format:
            raise FrameFormatError(
                f"header says image format {image_format} ({format_name(image_format)}) "
                f"but image_format={format_override} ({format_name(format_override)}) was given",
                offset=40,
            )
    bpp = _bytes_per_pixel(image_format)
    assert bpp is not None  # the front validated the override
    if version == 3:
        ts_bof, ts_eof, exposure = _TIMES_V3.unpack_from(mv, 11)
        ts_res = exp_res = roi_ts_res = 0
    else:
        ts_bof, ts_eof, ts_res, exposure, exp_res, roi_ts_res = _TIMES_V1.unpack_from(mv, 11)

    p = FRAME_HEADER_SIZE
    if n - p < ext_size:
        raise FrameFormatError(
            f"frame: extended metadata truncated: needs {ext_size} bytes at offset {p}, "
            f"buffer has {n}",
            offset=p,
        )
    frame_mask, frame_ext = _parse_ext_md(mv, p, ext_size)
    p += ext_size

    rows: list[tuple] = []
    for i in range(1, roi_count + 1):
        where = f"ROI {i} of {roi_count}"
        if n - p < ROI_HEADER_SIZE:
            raise FrameFormatError(
                f"{where}: header truncated: needs {ROI_HEADER_SIZE} bytes at offset {p}, "
                f"buffer has {n}",
                offset=p,
            )
        roi_nr, bor, eor, s1, s2, sbin, p1, p2, pbin, rflags, rext, rds = _ROI.unpack_from(mv, p)
        if rflags & RoiFlag.INVALID:
            break  # pl_md_frame_decode ends the frame here: what follows is not read
        header_only = bool(rflags & RoiFlag.HEADER_ONLY)
        rgn = (s1, s2, sbin, p1, p2, pbin)
        _check_region(rgn, p, where)
        ext_at = p + ROI_HEADER_SIZE
        if n - ext_at < rext:
            raise FrameFormatError(
                f"{where}: extended metadata truncated: needs {rext} bytes at offset {ext_at}, "
                f"buffer has {n}",
                offset=ext_at,
            )
        mask, ext = _parse_ext_md(mv, ext_at, rext)
        data_at = ext_at + rext
        width = (s2 - s1 + 1) // sbin
        height = (p2 - p1 + 1) // pbin
        if version == 1:
            rds = 0
        if header_only:
            size = 0
        elif version == 1:
            size = width * height * bpp
        else:
            size = rds  # trusted, as the vendor does; checked when the pixels are used
        if n - data_at < size:
            raise FrameFormatError(
                f"{where}: pixel data truncated: needs {size} bytes at offset {data_at}, "
                f"buffer has {n}",
                offset=data_at,
            )
        rows.append(
            (
                p,
                data_at,
                size,
                width,
                height,
                bor,
                eor,
                *ext,
                rds,
                roi_nr,
                *rgn,
                rext,
                rflags,
                mask,
                _ROI_PAD,
            )
        )
        p = data_at + size

    table = np.array(rows, dtype=ROI_DTYPE) if rows else np.zeros(0, ROI_DTYPE)
    if rows:
        # The bounding box, with the first ROI's binning (the vendor's, HEADER_ONLY or not).
        implied = (
            int(table["s1"].min()),
            int(table["s2"].max()),
            int(table["sbin"][0]),
            int(table["p1"].min()),
            int(table["p2"].max()),
            int(table["pbin"][0]),
        )
    else:
        implied = (0, 0, 0, 0, 0, 0)
    header = np.array(
        [
            (
                ts_bof,
                ts_eof,
                exposure,
                p,
                frame_nr,
                ts_res,
                exp_res,
                roi_ts_res,
                *frame_ext,
                roi_count,
                len(rows),
                ext_size,
                *implied,
                version,
                bit_depth,
                color_mask,
                flags,
                image_format,
                compression,
                frame_mask,
                _HEADER_PAD,
            )
        ],
        dtype=HEADER_DTYPE,
    )
    return header, table


def decode_batch_tables(
    mv: memoryview, stride: int, slots: list[int], format_override: int = -1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decode the frames in ``slots`` of a buffer of back-to-back frames ``stride`` bytes apart.

    Errors name the slot and carry the offset from the start of the whole buffer.
    """
    out = []
    for slot in slots:
        base = slot * stride
        try:
            out.append(decode_tables(mv[base : base + stride], format_override))
        except FrameFormatError as error:
            raise FrameFormatError(
                f"slot {slot} (offset {base}): {error.message}",
                offset=base if error.offset is None else base + error.offset,
            ) from None
    return out
