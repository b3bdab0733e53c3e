"""ctypes mirrors of PVCAM's C structures and the callback type.

``rgn_type`` is six u16; ``FRAME_INFO`` is a naturally aligned (not packed) struct of 48 bytes on
64-bit platforms (reference §3.1). The on-buffer metadata structs are packed and read with
``struct``/the frame decoder instead, never through ctypes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

from labkit.native import Rgn

__all__ = [
    "PVCAM_CALLBACK",
    "FrameInfo",
    "FrameInfoGuid",
    "Rgn",
    "RgnType",
    "rs_bool",
]

rs_bool = ctypes.c_uint16
"""PVCAM's boolean; ``Rgn`` (``rgn_type`` as an immutable tuple) comes from labkit.native,
so the decoder and the binding share one definition."""


class RgnType(ctypes.Structure):
    """``rgn_type``: {s1, s2, sbin, p1, p2, pbin}, six u16."""

    _fields_ = [
        ("s1", ctypes.c_uint16),
        ("s2", ctypes.c_uint16),
        ("sbin", ctypes.c_uint16),
        ("p1", ctypes.c_uint16),
        ("p2", ctypes.c_uint16),
        ("pbin", ctypes.c_uint16),
    ]

    @classmethod
    def from_region(cls, region: Rgn | Sequence[int]) -> RgnType:
        """Build from a :class:`Rgn` or any six-tuple in PVCAM's field order."""
        return cls(*(int(v) for v in region))

    def to_region(self) -> Rgn:
        """The same region as an immutable :class:`Rgn`."""
        return Rgn(self.s1, self.s2, self.sbin, self.p1, self.p2, self.pbin)

    def __repr__(self) -> str:
        return f"RgnType{tuple(self.to_region())}"


class FrameInfoGuid(ctypes.Structure):
    """``PVCAM_FRAME_INFO_GUID``."""

    _fields_ = [
        ("f1", ctypes.c_uint32),
        ("f2", ctypes.c_uint16),
        ("f3", ctypes.c_uint16),
        ("f4", ctypes.c_uint8 * 8),
    ]


class FrameInfo(ctypes.Structure):
    """``FRAME_INFO``: frame number (1-based) and driver timestamps of one frame.

    PVCAM documents the timestamps with 0.1 ms precision; labkit's simulator writes them in units
    of 100 µs since the acquisition started. Hardware timestamps are in the frame metadata.
    """

    _fields_ = [
        ("FrameInfoGUID", FrameInfoGuid),
        ("hCam", ctypes.c_int16),
        ("FrameNr", ctypes.c_int32),
        ("TimeStamp", ctypes.c_int64),
        ("ReadoutTime", ctypes.c_int32),
        ("TimeStampBOF", ctypes.c_int64),
    ]

    def copy(self) -> FrameInfo:
        """A copy that stays valid after the library reuses its own structure."""
        return FrameInfo.from_buffer_copy(self)

    def __repr__(self) -> str:
        return (
            f"FrameInfo(hCam={self.hCam}, FrameNr={self.FrameNr}, TimeStamp={self.TimeStamp}, "
            f"ReadoutTime={self.ReadoutTime}, TimeStampBOF={self.TimeStampBOF})"
        )


if ctypes.sizeof(ctypes.c_void_p) == 8:  # the layout of reference §3.1
    assert ctypes.sizeof(FrameInfo) == 48, "FRAME_INFO must be 48 bytes on 64-bit platforms"
assert ctypes.sizeof(RgnType) == 12

#: ``void (*)(const FRAME_INFO*, void* context)``, the callback of ``pl_cam_register_callback_ex3``.
PVCAM_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(FrameInfo), ctypes.c_void_p)
