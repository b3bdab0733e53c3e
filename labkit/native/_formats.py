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
    "FRAME_HEADER_SIZE",
    "ROI_HEADER_SIZE",
    "SIGNATURE",
    "FrameFlag",
    "ImageFormat",
    "Rgn",
    "RoiFlag",
    "container_dtype",
    "format_name",
    "supported_formats",
]

SIGNATURE = 0x00514D50
"""``PL_MD_FRAME_SIGNATURE``: the bytes ``b"PMQ\\0"`` read as a little-endian u32."""

FRAME_HEADER_SIZE = 48
ROI_HEADER_SIZE = 32

EXT_MD_TAGS: dict[int, str] = {0: "particle_id", 1: "m0", 2: "m2"}
"""Known extended-metadata tags and their names; each value is a little-endian u32."""


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


class FrameFlag(IntFlag):
    """``PL_MD_FRAME_FLAGS``."""

    ROI_TS_SUPPORTED = 0x01


class RoiFlag(IntFlag):
    """``PL_MD_ROI_FLAGS``: an INVALID ROI is dropped, a HEADER_ONLY ROI carries no pixels."""

    INVALID = 0x01
    HEADER_ONLY = 0x02


# Bayer containers are decoded as raw mono of the same size: demosaicing is the viewer's business.
_CONTAINERS: dict[int, np.dtype] = {
    ImageFormat.MONO8: np.dtype("<u1"),
    ImageFormat.BAYER8: np.dtype("<u1"),
    ImageFormat.MONO16: np.dtype("<u2"),
    ImageFormat.BAYER16: np.dtype("<u2"),
    ImageFormat.MONO32: np.dtype("<u4"),
    ImageFormat.BAYER32: np.dtype("<u4"),
}


def format_name(value: int) -> str:
    """``"MONO16"`` for 0; ``"unknown"`` for a value PVCAM 3.10 does not define."""
    try:
        return ImageFormat(value).name
    except ValueError:
        return "unknown"


def container_dtype(image_format: int) -> np.dtype:
    """The NumPy dtype of one pixel of ``image_format``; ``KeyError`` if it is not supported."""
    return _CONTAINERS[image_format]


def supported_formats() -> tuple[int, ...]:
    """The formats both backends decode, in ascending order."""
    return tuple(sorted(_CONTAINERS))


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
