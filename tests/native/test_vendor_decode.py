"""Decoding as the vendor's ``pl_md_frame_decode``/``pl_md_frame_recompose`` do it.

Each test is one behaviour of Teledyne's library where labkit used to differ (issue 19), run on
both backends (the ``backend`` fixture), with the C extension and the NumPy twin compared where
the behaviour involves an error or an image:

- an INVALID ROI ends the frame: the ROIs before it are the frame, nothing after it is read;
- every PVCAM 3.10 container decodes: MONO24/BAYER24 (24-bit frame summing), RGB24/48/72/96;
- ``imageCompression`` ≠ 0 decodes (the pixels are refused only when used);
- ``roiDataSize`` is trusted to find the next ROI;
- an unknown or cut extended-metadata tag fails only when the metadata is read;
- a HEADER_ONLY first ROI gives the implied ROI its binning;
- binned ROIs are placed at ``s1 // sbin - implied.s1 // sbin``.
"""

from __future__ import annotations

import numpy as np
import pytest

import labkit.native as ln
from labkit.core import FrameFormatError
from labkit.native import ImageFormat, Rgn, RoiFlag, RoiSpec

from .helpers import both, outcome


def _image_outcomes(frame_data: bytes, **kwargs: object) -> tuple[tuple, tuple]:
    """recompose() on both backends, images as bytes so that the outcomes compare."""
    results = []
    for backend in ("c", "numpy"):
        frame = ln.decode_frame(frame_data, backend=backend)
        result = outcome(ln.recompose, frame, backend=backend, **kwargs)
        results.append((result[0], result[1].tobytes()) if result[0] == "ok" else result)
    return results[0], results[1]


# ---- INVALID ROIs ------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_an_invalid_roi_ends_the_frame(position: int, backend: str) -> None:
    """Wherever the INVALID ROI is (centroids in LOCATE mode flag a missing one), the ROIs
    before it are the frame and the implied ROI is theirs."""
    specs = [
        RoiSpec((10 * i, 10 * i + 1, 1, 2 * i, 2 * i, 1), np.array([[i + 1, i + 1]]))
        for i in range(4)
    ]
    specs[position] = RoiSpec((90, 91, 1, 90, 90, 1), np.array([[9, 9]]), flags=RoiFlag.INVALID)
    data = ln.build_frame(specs)
    frame = ln.decode_frame(data, backend=backend)
    assert frame.roi_count == 4
    assert [roi.region for roi in frame.rois] == [Rgn(*s.region) for s in specs[:position]]
    assert frame.nbytes == 48 + position * (32 + 4)  # the walk stopped at the INVALID header
    if position == 0:
        assert frame.implied_roi is None
        assert ln.recompose(frame, backend=backend).shape == (0, 0)
    else:
        assert frame.implied_roi == Rgn(0, 10 * (position - 1) + 1, 1, 0, 2 * (position - 1), 1)


def test_nothing_after_an_invalid_roi_is_read(backend: str) -> None:
    """A garbage region, an unknown ext-MD tag and a roiCount promising more than the buffer
    holds, all after the INVALID ROI: the vendor never looks there, and neither does labkit."""
    good = RoiSpec((0, 3, 1, 0, 1, 1), np.arange(8).reshape(2, 4))
    invalid = RoiSpec((9, 3, 0, 9, 3, 0), flags=RoiFlag.INVALID, payload=b"\xff" * 3)
    garbage = RoiSpec((7, 1, 0, 7, 1, 0), ext_md=b"\x99\x99", payload=b"")
    data = ln.build_frame([good, invalid, garbage], roi_count=9)
    for b in ("c", "numpy"):
        frame = ln.decode_frame(data, backend=b)
        assert len(frame.rois) == 1
        np.testing.assert_array_equal(frame.pixels, good.pixels)
    # the INVALID ROI's own header must still be there to be read
    c, twin = both(ln.decode_frame, data[: 48 + 32 + 8 + 31])
    assert c == twin
    with pytest.raises(FrameFormatError, match="ROI 2 of 9: header truncated"):
        ln.decode_frame(data[: 48 + 32 + 8 + 31], backend=backend)


# ---- containers ---------------------------------------------------------------------------------

WIDE = [ImageFormat.MONO24, ImageFormat.BAYER24, ImageFormat.RGB72]


@pytest.mark.parametrize(
    "fmt",
    [
        ImageFormat.MONO24,
        ImageFormat.BAYER24,
        ImageFormat.RGB24,
        ImageFormat.RGB48,
        ImageFormat.RGB72,
        ImageFormat.RGB96,
    ],
)
def test_every_container_decodes_and_recomposes(fmt: ImageFormat, backend: str) -> None:
    layout = ln.pixel_layout(fmt)
    top = (1 << 8 * layout.wire_bytes) - 1
    rng = np.random.default_rng(int(fmt))
    a = rng.integers(0, top, layout.shape(2, 3), layout.dtype, endpoint=True)
    b = rng.integers(0, top, layout.shape(1, 2), layout.dtype, endpoint=True)
    a[0, 0] = top  # the largest sample survives the widening
    data = ln.build_frame([RoiSpec((0, 2, 1, 0, 1, 1), a), RoiSpec((5, 6, 1, 3, 3, 1), b)],
                          image_format=fmt, version=2)  # fmt: skip
    frame = ln.decode_frame(data, backend=backend)
    assert frame.image_format == fmt
    assert frame.dtype == layout.dtype
    np.testing.assert_array_equal(frame.rois[0].pixels, a)
    assert (fmt in WIDE) != np.shares_memory(frame.rois[1].pixels, np.frombuffer(data, np.uint8))
    image = ln.recompose(frame, backend=backend)
    assert image.shape == layout.shape(4, 7)
    np.testing.assert_array_equal(image[0:2, 0:3], a)
    np.testing.assert_array_equal(image[3:4, 5:7], b)
    c, twin = _image_outcomes(data, fill=top)
    assert c == twin


def test_mono24_summed_frames_keep_their_24_bits(backend: str) -> None:
    """24-bit frame summing (PL_FRAME_SUMMING_FORMAT_24_BIT) gives values past 16 bits."""
    sums = np.array([[0xFFFFFF, 0x010000, 0x00FFFF]], np.uint32)
    data = ln.build_frame([RoiSpec((0, 2, 1, 0, 0, 1), sums)], image_format=ImageFormat.MONO24,
                          bit_depth=24)  # fmt: skip
    frame = ln.decode_frame(data, backend=backend)
    assert frame.bit_depth == 24
    np.testing.assert_array_equal(frame.pixels, sums)
    assert data[80:] == bytes.fromhex("ffffff 000001 ffff00")  # 3 little-endian bytes each


# ---- compression --------------------------------------------------------------------------------


def test_compressed_frames_decode_but_their_pixels_are_refused(backend: str) -> None:
    pixels = np.arange(6).reshape(2, 3)
    packed = RoiSpec((0, 2, 1, 0, 1, 1), payload=b"\x12\x34\x56\x78\x9a", roi_data_size=5)
    second = RoiSpec((4, 6, 1, 0, 1, 1), pixels)
    data = ln.build_frame([packed, second], image_compression=ln.ImageCompression.BITPACK12)
    frame = ln.decode_frame(data, backend=backend)
    assert frame.image_compression == 12
    assert [roi.data_size for roi in frame.rois] == [5, 12]  # the walk followed roiDataSize
    assert frame.rois[1].header_offset == 48 + 32 + 5
    assert frame.rois[0].pixels is None
    assert "BITPACK12" in frame.rois[0].problem
    assert "PARAM_HOST_FRAME_DECOMPRESSION_ENABLED" in frame.rois[0].problem
    with pytest.raises(FrameFormatError, match="compressed") as caught:
        ln.recompose(frame, backend=backend)
    assert caught.value.offset == 41
    c, twin = _image_outcomes(data)
    assert c == twin
    assert c[0] == "error"


# ---- roiDataSize --------------------------------------------------------------------------------


def test_roi_data_size_is_trusted_to_find_the_next_roi(backend: str) -> None:
    a, b = np.full((1, 2), 7, np.uint16), np.full((1, 2), 8, np.uint16)
    padded = RoiSpec((0, 1, 1, 0, 0, 1), payload=a.tobytes() + b"\xee" * 6, roi_data_size=10)
    data = ln.build_frame([padded, RoiSpec((4, 5, 1, 0, 0, 1), b)])
    frame = ln.decode_frame(data, backend=backend)
    assert frame.rois[1].header_offset == 48 + 32 + 10
    np.testing.assert_array_equal(frame.rois[0].pixels, a)  # the first 4 of its 10 bytes
    np.testing.assert_array_equal(frame.rois[1].pixels, b)
    assert frame.nbytes == len(data)


def test_a_roi_data_size_too_small_decodes_and_refuses_the_pixels(backend: str) -> None:
    short = RoiSpec((0, 1, 1, 0, 1, 1), payload=b"\x01\x00\x02\x00", roi_data_size=4)  # 2x2 px
    after = RoiSpec((4, 4, 1, 0, 0, 1), np.array([[3]]))
    data = ln.build_frame([short, after])
    frame = ln.decode_frame(data, backend=backend)
    assert frame.rois[1].header_offset == 48 + 32 + 4
    assert frame.rois[0].pixels is None
    assert frame.rois[0].problem == (
        "roiDataSize 4 is less than the 8 bytes its 2x2 pixels of 2 bytes need"
    )
    np.testing.assert_array_equal(frame.rois[1].pixels, [[3]])
    with pytest.raises(FrameFormatError, match=r"frame.rois\[0\]: roiDataSize 4") as caught:
        ln.recompose(frame, backend=backend)
    assert caught.value.offset == 48 + 25
    c, twin = _image_outcomes(data)
    assert c == twin


# ---- extended metadata --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "message", "at"),
    [
        (ln.encode_ext_md({"m0": 1}) + b"\x07" + bytes(4), "unknown extended-metadata tag 7", 5),
        (ln.encode_ext_md({"m2": 1}) + b"\x01\x00\x00", "extended-metadata tag 1 needs 4", 5),
    ],
)
def test_bad_ext_md_fails_only_when_read(block: bytes, message: str, at: int, backend: str) -> None:
    pixels = np.arange(4).reshape(2, 2)
    data = ln.build_frame(
        [RoiSpec((0, 1, 1, 0, 1, 1), pixels, ext_md=block), RoiSpec((3, 3, 1, 0, 0, 1))],
        ext_md=block,
    )
    frame = ln.decode_frame(data, backend=backend)
    assert len(frame.rois) == 2  # the block has its declared size: the walk goes on
    np.testing.assert_array_equal(frame.rois[0].pixels, pixels)
    np.testing.assert_array_equal(ln.recompose(frame, backend=backend)[:2, :2], pixels)
    with pytest.raises(FrameFormatError, match=f"^frame: {message}") as caught:
        _ = frame.ext_md
    assert caught.value.offset == 48 + at
    with pytest.raises(FrameFormatError, match=rf"^frame.rois\[0\]: {message}") as caught:
        _ = frame.rois[0].ext_md
    roi_at = 48 + len(block) + 32
    assert caught.value.offset == roi_at + at
    assert frame.rois[1].ext_md == {}
    c, twin = (outcome(lambda f=f: f.ext_md) for f in both_frames(data))
    assert c == twin


def both_frames(data: bytes) -> list[ln.Frame]:
    return [ln.decode_frame(data, backend=b) for b in ("c", "numpy")]


# ---- implied ROI and placement ------------------------------------------------------------------


def test_a_header_only_first_roi_gives_the_implied_binning(backend: str) -> None:
    marker = RoiSpec((4, 4, 1, 2, 2, 1), flags=RoiFlag.HEADER_ONLY)  # a centroid in the image
    image = np.arange(8).reshape(2, 4)
    data = ln.build_frame([marker, RoiSpec((0, 7, 2, 0, 3, 2), image)])
    frame = ln.decode_frame(data, backend=backend)
    assert frame.implied_roi == Rgn(0, 7, 1, 0, 3, 1)  # the vendor's: the first ROI's 1x1
    out = ln.recompose(frame, backend=backend)  # placed with the pixels' own 2x2 binning
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(out, image)


def test_binned_rois_are_placed_by_binning_each_coordinate(backend: str) -> None:
    """ROI origins not aligned to the binning: (s1 - implied.s1) // sbin would put the second
    ROI one binned pixel to the left of where PVCAM puts it."""
    a, b = np.full((1, 1), 1, np.uint16), np.full((1, 1), 2, np.uint16)
    data = ln.build_frame([RoiSpec((1, 2, 2, 1, 2, 2), a), RoiSpec((4, 5, 2, 1, 2, 2), b)])
    frame = ln.decode_frame(data, backend=backend)
    assert frame.implied_roi == Rgn(1, 5, 2, 1, 2, 2)
    image = ln.recompose(frame, backend=backend)
    # x = 1 // 2 - 1 // 2 = 0 and 4 // 2 - 1 // 2 = 2: three binned columns, not (5-1+1)//2 = 2
    np.testing.assert_array_equal(image, [[1, 0, 2]])
    assert ln.recomposed_shape(frame) == (1, 3)
    sensor = ln.recompose(frame, coordinates="sensor", backend=backend)
    np.testing.assert_array_equal(sensor, [[1, 0, 2]])  # p1 = 1 is binned row 0 too
    c, twin = _image_outcomes(data, offset=(1, 1))
    assert c == twin
