"""Write PVCAM metadata frames byte for byte, as a camera would.

The tests build every frame they decode with this writer, and the simulated camera can use it to
fill its circular buffer. It follows ``reference/pvcam-frames.md`` §1.3-1.8 and deliberately
lets a caller write wrong things too (a wrong roiDataSize, a wrong roiCount, raw ext-MD bytes,
a foreign signature), because the decoder's error paths need such frames.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from labkit.native._formats import (
    EXT_MD_TAGS,
    SIGNATURE,
    ImageFormat,
    PixelLayout,
    Rgn,
    RoiFlag,
    pixel_layout,
)

__all__ = ["RoiSpec", "build_frame", "encode_ext_md", "pack_frames"]

_TAG_BY_NAME = {name: tag for tag, name in EXT_MD_TAGS.items()}
ExtMd = Mapping[str | int, int] | bytes | None


@dataclass(frozen=True)
class RoiSpec:
    """One ROI to write: its region, its pixels and whatever its header should say.

    ``pixels`` defaults to zeros of the region's binned shape (``(h, w, 3)`` for RGB formats;
    24-bit samples are written as 3 little-endian bytes). ``flags`` are ``RoiFlag`` bits:
    a HEADER_ONLY ROI gets no pixel bytes (but, like PVCAM's FakeCamera, a non-zero
    roiDataSize unless ``roi_data_size`` says otherwise); an INVALID ROI is written in full.
    ``payload`` replaces the pixel bytes verbatim, for malformed frames.
    """

    region: Rgn | Sequence[int]
    pixels: np.ndarray | None = None
    flags: int = 0
    roi_nr: int | None = None
    timestamp_bor: int = 0
    timestamp_eor: int = 0
    ext_md: ExtMd = None
    roi_data_size: int | None = None
    payload: bytes | None = None


def encode_ext_md(items: ExtMd) -> bytes:
    """Tag–value bytes for ``{"m0": 5, 2: 7}`` (names or tag numbers; values are u32).

    Raw ``bytes`` pass through unchanged.
    """
    if items is None:
        return b""
    if isinstance(items, bytes | bytearray | memoryview):
        return bytes(items)
    out = bytearray()
    for key, value in items.items():
        tag = _TAG_BY_NAME[key] if isinstance(key, str) else int(key)
        if not 0 <= tag <= 255:
            raise ValueError(f"extended-metadata tag {tag} does not fit in one byte")
        out.append(tag)
        out += _pack("<I", value, f"extended-metadata value of tag {tag}")
    return bytes(out)


def _pack(fmt: str, value: int, what: str) -> bytes:
    try:
        return struct.pack(fmt, value)
    except struct.error:
        raise ValueError(f"{what} {value} does not fit the field ({fmt})") from None


def _pixel_bytes(spec: RoiSpec, region: Rgn, layout: PixelLayout) -> bytes:
    if spec.payload is not None:
        return bytes(spec.payload)
    shape = layout.shape(*region.shape)
    if spec.pixels is None:
        return bytes(region.shape[0] * region.shape[1] * layout.bytes_per_pixel)
    pixels = np.asarray(spec.pixels)
    if pixels.shape != shape:
        raise ValueError(f"pixels of shape {pixels.shape} for a region of shape {shape}")
    top = (1 << (8 * layout.wire_bytes)) - 1
    if pixels.size and (pixels.min() < 0 or pixels.max() > top):
        raise ValueError(f"pixel values outside the {8 * layout.wire_bytes}-bit container")
    samples = pixels.astype(layout.dtype).reshape(-1)
    if not layout.widened:
        return samples.tobytes()
    wide = samples.view(np.uint8).reshape(-1, layout.dtype.itemsize)  # little-endian dtype
    return wide[:, : layout.wire_bytes].tobytes()


def _roi_bytes(index: int, spec: RoiSpec, version: int, layout: PixelLayout) -> bytes:
    region = Rgn(*spec.region)
    header_only = bool(spec.flags & RoiFlag.HEADER_ONLY)
    pixels = b"" if header_only else _pixel_bytes(spec, region, layout)
    ext = encode_ext_md(spec.ext_md)
    if spec.roi_data_size is not None:
        data_size = spec.roi_data_size
    elif version == 1:
        data_size = 0  # reserved bytes in v1
    elif header_only:
        width = max(region.s2 - region.s1 + 1, 0) // max(region.sbin, 1)
        height = max(region.p2 - region.p1 + 1, 0) // max(region.pbin, 1)
        data_size = width * height * layout.bytes_per_pixel
    else:
        data_size = len(pixels)
    header = b"".join(
        [
            _pack("<H", index + 1 if spec.roi_nr is None else spec.roi_nr, "roiNr"),
            _pack("<I", spec.timestamp_bor, "timestampBOR"),
            _pack("<I", spec.timestamp_eor, "timestampEOR"),
            struct.pack("<6H", *region),
            _pack("<B", spec.flags, "ROI flags"),
            _pack("<H", len(ext), "ROI extendedMdSize"),
            _pack("<I", data_size, "roiDataSize"),
            bytes(3),
        ]
    )
    return header + ext + pixels


def build_frame(
    rois: Sequence[RoiSpec],
    *,
    version: int = 3,
    frame_nr: int = 1,
    image_format: int = ImageFormat.MONO16,
    image_compression: int = 0,
    bit_depth: int | None = None,
    color_mask: int = 0,
    flags: int = 0,
    timestamp_bof: int = 0,
    timestamp_eof: int = 0,
    exposure_time: int = 0,
    timestamp_res_ns: int = 1,
    exposure_time_res_ns: int = 1,
    roi_timestamp_res_ns: int = 1,
    ext_md: ExtMd = None,
    roi_count: int | None = None,
    signature: int = SIGNATURE,
) -> bytes:
    """The bytes of one metadata frame: 48-byte header, frame ext MD, then each ROI.

    Timestamps and exposure are raw header values: u32 counts of their ``*_res_ns`` for
    versions 1 and 2, u64 picoseconds for version 3 (whose header has no resolutions). A v1
    header has no format byte, so ``image_format`` then only chooses how the pixels are written.
    ``roi_count`` overrides the header's count (to write a frame that lies about it).
    """
    layout = pixel_layout(image_format)
    ext = encode_ext_md(ext_md)
    head = [
        _pack("<I", signature, "signature"),
        _pack("<B", version, "version"),
        _pack("<I", frame_nr, "frameNr"),
        _pack("<H", len(rois) if roi_count is None else roi_count, "roiCount"),
    ]
    if version >= 3:
        head += [
            _pack("<Q", timestamp_bof, "timestampBOF"),
            _pack("<Q", timestamp_eof, "timestampEOF"),
            _pack("<Q", exposure_time, "exposureTime"),
        ]
    else:
        head += [
            _pack("<I", timestamp_bof, "timestampBOF"),
            _pack("<I", timestamp_eof, "timestampEOF"),
            _pack("<I", timestamp_res_ns, "timestampResNs"),
            _pack("<I", exposure_time, "exposureTime"),
            _pack("<I", exposure_time_res_ns, "exposureTimeResNs"),
            _pack("<I", roi_timestamp_res_ns, "roiTimestampResNs"),
        ]
    head += [
        _pack("<B", 8 * layout.wire_bytes if bit_depth is None else bit_depth, "bitDepth"),
        _pack("<B", color_mask, "colorMask"),
        _pack("<B", flags, "flags"),
        _pack("<H", len(ext), "extendedMdSize"),
    ]
    if version >= 2:
        head += [
            _pack("<B", image_format, "imageFormat"),
            _pack("<B", image_compression, "imageCompression"),
        ]
    else:
        head.append(bytes(2))
    header = b"".join(head)
    header += bytes(48 - len(header))
    body = [_roi_bytes(i, spec, version, layout) for i, spec in enumerate(rois)]
    return header + ext + b"".join(body)


def pack_frames(frames: Sequence[bytes], stride: int | None = None) -> np.ndarray:
    """A circular buffer: ``frames`` back to back, each in a zero-padded slot of ``stride`` bytes.

    ``stride`` defaults to the longest frame, as PVCAM's frame size would be.
    """
    if stride is None:
        stride = max(len(f) for f in frames)
    buffer = np.zeros(len(frames) * stride, dtype=np.uint8)
    for slot, frame in enumerate(frames):
        if len(frame) > stride:
            raise ValueError(f"frame {slot} has {len(frame)} bytes, more than the stride {stride}")
        buffer[slot * stride : slot * stride + len(frame)] = np.frombuffer(frame, np.uint8)
    return buffer
