"""Malformed frames: each a FrameFormatError with the same message and offset on both backends."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import labkit.native as ln
from labkit.core import FrameFormatError
from labkit.native import RoiFlag, RoiSpec

from .helpers import both, outcome

ONE = RoiSpec((0, 1, 1, 0, 1, 1), np.array([[1, 2], [3, 4]]))  # 2x2 MONO16: 8 bytes of pixels
GOOD = ln.build_frame([ONE])  # 48 + 32 + 8 = 88 bytes
ROI_AT = 48


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def empty_roi(region: tuple[int, ...], **kwargs: object) -> RoiSpec:
    """An ROI with a region the builder need not understand (no pixels, roiDataSize 0)."""
    return RoiSpec(region, payload=b"", roi_data_size=0, **kwargs)


CASES = [
    (GOOD[:20], {}, "frame header truncated: needs 48 bytes, buffer has 20", 0),
    (b"", {}, "frame header truncated: needs 48 bytes, buffer has 0", 0),
    (
        patch(GOOD, 0, "<I", 0x01514D50),
        {},
        "bad frame signature 0x01514d50 (expected 0x00514d50, 'PMQ\\0')",
        0,
    ),
    (patch(GOOD, 4, "<B", 0), {}, "unsupported header version 0 (known: 1, 2, 3)", 4),
    (patch(GOOD, 4, "<B", 4), {}, "unsupported header version 4 (known: 1, 2, 3)", 4),
    (patch(GOOD, 9, "<H", 0), {}, "roiCount is 0 (a metadata frame has at least one ROI)", 9),
    (
        patch(GOOD, 40, "<B", 12),
        {},
        "image format 12 (unknown) is not one of PVCAM's containers (0-11)",
        40,
    ),
    (
        patch(GOOD, 40, "<B", 200),
        {},
        "image format 200 (unknown) is not one of PVCAM's containers (0-11)",
        40,
    ),
    (
        GOOD,
        {"image_format": ln.ImageFormat.MONO8},
        "header says image format 0 (MONO16) but image_format=2 (MONO8) was given",
        40,
    ),
    (
        patch(GOOD, 38, "<H", 100),
        {},
        "frame: extended metadata truncated: needs 100 bytes at offset 48, buffer has 88",
        48,
    ),
    (
        ln.build_frame([ONE, ONE], roi_count=3),
        {},
        "ROI 3 of 3: header truncated: needs 32 bytes at offset 128, buffer has 128",
        128,
    ),
    (GOOD[:70], {}, "ROI 1 of 1: header truncated: needs 32 bytes at offset 48, buffer has 70", 48),
    (ln.build_frame([empty_roi((0, 3, 0, 0, 3, 1))]), {}, "ROI 1 of 1: serial binning is 0", 62),
    (ln.build_frame([empty_roi((4, 3, 1, 0, 3, 1))]), {}, "ROI 1 of 1: s2 3 < s1 4", 60),
    (
        ln.build_frame([empty_roi((0, 0, 2, 0, 3, 1))]),
        {},
        "ROI 1 of 1: 1 serial pixels cannot be binned by 2",
        62,
    ),
    (ln.build_frame([empty_roi((0, 3, 1, 0, 3, 0))]), {}, "ROI 1 of 1: parallel binning is 0", 68),
    (ln.build_frame([empty_roi((0, 3, 1, 5, 3, 1))]), {}, "ROI 1 of 1: p2 3 < p1 5", 66),
    (
        ln.build_frame([empty_roi((0, 3, 1, 0, 2, 4))]),
        {},
        "ROI 1 of 1: 3 parallel rows cannot be binned by 4",
        68,
    ),
    (
        GOOD[:-1],
        {},
        "ROI 1 of 1: pixel data truncated: needs 8 bytes at offset 80, buffer has 87",
        80,
    ),
    (
        ln.build_frame([RoiSpec((0, 1, 1, 0, 1, 1), ext_md=b"\x01" + bytes(9))])[:85],
        {},
        "ROI 1 of 1: extended metadata truncated: needs 10 bytes at offset 80, buffer has 85",
        80,
    ),
    (
        ln.build_frame([ONE, RoiSpec((0, 1, 1, 0, 1, 1), roi_data_size=2**32 - 1)]),
        {},
        "ROI 2 of 2: pixel data truncated: needs 4294967295 bytes at offset 120, buffer has 128",
        120,
    ),
]


@pytest.mark.parametrize(("data", "kwargs", "message", "offset"), CASES)
def test_malformed_frame(
    data: bytes, kwargs: dict, message: str, offset: int, backend: str
) -> None:
    with pytest.raises(FrameFormatError) as caught:
        ln.decode_frame(data, backend=backend, **kwargs)
    assert caught.value.message == message
    assert str(caught.value) == message
    assert caught.value.offset == offset
    assert isinstance(caught.value, ValueError)


SAMPLES = {
    "v1 two rois": ln.build_frame([ONE, ONE], version=1, ext_md={"m0": 3}),
    "v2 ext md, header-only, invalid": ln.build_frame(
        [
            RoiSpec((0, 3, 1, 0, 1, 1), np.ones((2, 4)), ext_md={"m2": 1, "particle_id": 2}),
            RoiSpec((1, 1, 1, 1, 1, 1), flags=RoiFlag.HEADER_ONLY, ext_md={"m0": 1}),
            RoiSpec((0, 1, 1, 0, 0, 1), flags=RoiFlag.INVALID, payload=b""),
        ],
        version=2,
        ext_md={"m0": 4},
    ),
    "v3 mono8 binned": ln.build_frame(
        [RoiSpec((0, 7, 2, 0, 5, 3), np.ones((2, 4)))], version=3, image_format=2
    ),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_every_truncation_is_a_located_error(name: str, backend: str) -> None:
    data = SAMPLES[name]
    assert outcome(ln.decode_frame, data, backend=backend)[0] == "ok"
    for cut in range(len(data)):
        with pytest.raises(FrameFormatError) as caught:
            ln.decode_frame(data[:cut], backend=backend)
        assert 0 <= caught.value.offset <= cut, (cut, caught.value.message)
        assert f"buffer has {cut}" in caught.value.message


@pytest.mark.usefixtures("need_c")
@pytest.mark.parametrize("name", SAMPLES)
def test_truncations_fail_identically(name: str) -> None:
    data = SAMPLES[name]
    for cut in range(len(data) + 1):
        c, twin = both(ln.decode_frame, data[:cut])
        assert c == twin or (c[0] == twin[0] == "ok"), cut
