"""The PVCAM vocabulary the decoder speaks: image formats, flags, regions, ext-MD tags.

Values come from PVCAM 3.10's public header (see ``reference/pvcam-frames.md`` §1.7, §1.8, §2.1);
they are wire constants, so they live here once and both backends read them from here.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import NamedTuple

import numpy as np

__all__ = [
    "EXT_MD_TAGS",
    "EXT_MD_UNREADABLE",
    "FRAME_HEADER_SIZE",
    "ROI_HEADER_SIZE",
    "SIGNATURE",
    "FrameFlag",
    "ImageCompression",
    "ImageFormat",
    "PixelLayout",
    "Rgn",
    "RoiFlag",
    "container_dtype",
    "format_name",
    "pixel_layout",
    "supported_formats",
]

SIGNATURE = 0x00514D50
"""``PL_MD_FRAME_SIGNATURE``: the bytes ``b"PMQ\\0"`` read as a little-endian u32."""

FRAME_HEADER_SIZE = 48
ROI_HEADER_SIZE = 32

EXT_MD_TAGS: dict[int, str] = {0: "particle_id", 1: "m0", 2: "m2"}
"""Known extended-metadata tags and their names; each value is a little-endian u32."""

EXT_MD_UNREADABLE = 0x80
"""The bit of a record's ``ext_mask`` saying its extended metadata has an unknown or truncated
tag: decoding goes on (as ``pl_md_frame_decode`` does), reading the block raises."""


class ImageFormat(IntEnum):
    """``PL_IMAGE_FORMATS``: the pixel container (not the number of valid bits)."""

    MONO16 = 0
    BAYER16 = 1
    MONO8 = 2
    BAYER8 = 3
    MONO24 = 4
    BAYER24 = 5
    RGB24 = 6
    RGB48 = 7
    RGB72 = 8
    MONO32 = 9
    BAYER32 = 10
    RGB96 = 11


class ImageCompression(IntEnum):
    """``PL_IMAGE_COMPRESSIONS`` (header byte 41; the bit order of BITPACK is undocumented)."""

    NONE = 0
    RESERVED8 = 8
    BITPACK9 = 9
    BITPACK10 = 10
    BITPACK11 = 11
    BITPACK12 = 12
    BITPACK13 = 13
    BITPACK14 = 14
    BITPACK15 = 15
    RESERVED16 = 16
    BITPACK17 = 17
    BITPACK18 = 18
    RESERVED24 = 24
    RESERVED32 = 32


class FrameFlag(IntFlag):
    """``PL_MD_FRAME_FLAGS``."""

    ROI_TS_SUPPORTED = 0x01


class RoiFlag(IntFlag):
    """``PL_MD_ROI_FLAGS``: an INVALID ROI ends the decoded ROIs, a HEADER_ONLY one has no pixels."""

    INVALID = 0x01
    HEADER_ONLY = 0x02


class PixelLayout(NamedTuple):
    """How one pixel of an image format sits in a frame and what it becomes in NumPy.

    ``wire_bytes`` is one sample on the wire (1-4, little-endian), ``channels`` the samples per
    pixel (3 for RGB) and ``dtype`` the NumPy type of a decoded sample: 24-bit samples have no
    NumPy type and are widened to ``uint32`` (zero-extended), the others are the wire type.
    """

    dtype: np.dtype
    channels: int
    wire_bytes: int

    @property
    def bytes_per_pixel(self) -> int:
        """Bytes one pixel occupies in the frame (every sample of a colour pixel)."""
        return self.channels * self.wire_bytes

    @property
    def widened(self) -> bool:
        """Whether decoded samples are wider than the wire's (24-bit → uint32): a copy."""
        return self.wire_bytes != self.dtype.itemsize

    def shape(self, height: int, width: int) -> tuple[int, ...]:
        """The NumPy shape of a ``height`` × ``width`` image: ``(h, w)`` or ``(h, w, 3)``."""
        return (height, width) if self.channels == 1 else (height, width, self.channels)


_U1, _U2, _U4 = np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4")
# Every container of PVCAM 3.10 (reference §2.1), as ``pl_md_frame_decode`` accepts them. Bayer
# containers decode as raw mono of the same size: demosaicing is the viewer's business.
_LAYOUTS: dict[int, PixelLayout] = {
    ImageFormat.MONO16: PixelLayout(_U2, 1, 2),
    ImageFormat.BAYER16: PixelLayout(_U2, 1, 2),
    ImageFormat.MONO8: PixelLayout(_U1, 1, 1),
    ImageFormat.BAYER8: PixelLayout(_U1, 1, 1),
    ImageFormat.MONO24: PixelLayout(_U4, 1, 3),
    ImageFormat.BAYER24: PixelLayout(_U4, 1, 3),
    ImageFormat.RGB24: PixelLayout(_U1, 3, 1),
    ImageFormat.RGB48: PixelLayout(_U2, 3, 2),
    ImageFormat.RGB72: PixelLayout(_U4, 3, 3),
    ImageFormat.MONO32: PixelLayout(_U4, 1, 4),
    ImageFormat.BAYER32: PixelLayout(_U4, 1, 4),
    ImageFormat.RGB96: PixelLayout(_U4, 3, 4),
}


def format_name(value: int) -> str:
    """``"MONO16"`` for 0; ``"unknown"`` for a value PVCAM 3.10 does not define."""
    try:
        return ImageFormat(value).name
    except ValueError:
        return "unknown"


def pixel_layout(image_format: int) -> PixelLayout:
    """Wire size, channels and decoded dtype of ``image_format``; ``KeyError`` if unknown."""
    return _LAYOUTS[image_format]


def container_dtype(image_format: int) -> np.dtype:
    """The NumPy dtype of one decoded sample of ``image_format``; ``KeyError`` if unknown."""
    return _LAYOUTS[image_format].dtype


def supported_formats() -> tuple[int, ...]:
    """The formats both backends decode, in ascending order."""
    return tuple(sorted(_LAYOUTS))


class Rgn(NamedTuple):
    """PVCAM's ``rgn_type``: inclusive 0-based sensor coordinates and binning factors."""

    s1: int
    s2: int
    sbin: int
    p1: int
    p2: int
    pbin: int

    @property
    def width(self) -> int:
        """Binned width, ``(s2 - s1 + 1) // sbin`` as PVCAM computes it."""
        return (self.s2 - self.s1 + 1) // self.sbin

    @property
    def height(self) -> int:
        """Binned height, ``(p2 - p1 + 1) // pbin``."""
        return (self.p2 - self.p1 + 1) // self.pbin

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the binned image, NumPy order."""
        return (self.height, self.width)

    @classmethod
    def from_origin(cls, x: int, y: int, width: int, height: int, binning: int = 1) -> Rgn:
        """The region of ``width`` × ``height`` sensor pixels whose top-left pixel is (x, y)."""
        return cls(x, x + width - 1, binning, y, y + height - 1, binning)

    @classmethod
    def full(cls, height: int, width: int) -> Rgn:
        """The unbinned region of a ``height`` × ``width`` image at the sensor origin."""
        return cls(0, width - 1, 1, 0, height - 1, 1)
