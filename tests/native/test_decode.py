"""Decoding says what the builder wrote: header fields, ROIs, ext MD, pixels — on each backend."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import labkit.native as ln
from labkit.core import FrameFormatError
from labkit.native import ImageFormat, Rgn, RoiFlag, RoiSpec

from .helpers import FrameCase, check_decoded, frame_cases

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(case=frame_cases())
def test_decoded_frame_matches_what_was_written(case: FrameCase, backend: str) -> None:
    frame = ln.decode_frame(case.data, image_format=case.override, backend=backend)
    check_decoded(frame, case)


def test_pixels_are_zero_copy_views_that_keep_the_buffer_alive(backend: str) -> None:
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4)
    buffer = bytearray(ln.build_frame([RoiSpec((0, 3, 1, 0, 2, 1), pixels)]))
    view = ln.decode_frame(buffer, backend=backend).rois[0].pixels
    assert view.flags.writeable
    assert not view.flags.owndata
    buffer[80] = 0xFF  # the first pixel's low byte: pixels start at 48 + 32
    assert view[0, 0] == 0xFF
    del buffer
    gc.collect()
    assert view[2, 3] == 11  # still readable: the view holds the buffer


def test_read_only_buffers_give_read_only_views(backend: str) -> None:
    frame = ln.decode_frame(ln.build_frame([RoiSpec((0, 1, 1, 0, 1, 1))]), backend=backend)
    assert not frame.pixels.flags.writeable


def test_numpy_array_buffers_are_accepted(backend: str) -> None:
    data = ln.build_frame([RoiSpec((0, 3, 1, 0, 1, 1), np.full((2, 4), 7))])
    padded = data + bytes(-len(data) % 2)
    as_u16 = np.frombuffer(padded, np.uint16).copy()
    frame = ln.decode_frame(as_u16, backend=backend)
    assert (frame.pixels == 7).all()
    assert np.shares_memory(frame.pixels, as_u16)


def test_single_roi_fast_path_starts_at_byte_80(backend: str) -> None:
    frame = ln.decode_frame(ln.build_frame([RoiSpec((0, 9, 1, 0, 9, 1))]), backend=backend)
    assert frame.rois[0].data_offset == 80
    assert frame.rois[0].header_offset == 48


def test_v1_is_mono16_unless_told_otherwise(backend: str) -> None:
    pixels = np.array([[1, 2, 3, 4]], dtype=np.uint8)
    mono8 = ln.build_frame([RoiSpec((0, 3, 1, 0, 0, 1), pixels)], version=1, image_format=2)
    with pytest.raises(FrameFormatError, match="pixel data truncated: needs 8 bytes"):
        ln.decode_frame(mono8, backend=backend)  # read as MONO16 it is too short
    frame = ln.decode_frame(mono8, image_format=ImageFormat.MONO8, backend=backend)
    assert frame.image_format == ImageFormat.MONO8
    np.testing.assert_array_equal(frame.pixels, pixels)


def test_bayer_containers_decode_as_raw_mono(backend: str) -> None:
    pixels = np.array([[1, 2], [3, 4]], dtype=np.uint16)
    data = ln.build_frame(
        [RoiSpec((0, 1, 1, 0, 1, 1), pixels)], image_format=ImageFormat.BAYER16, color_mask=2
    )
    frame = ln.decode_frame(data, backend=backend)
    assert frame.image_format == ImageFormat.BAYER16
    assert frame.color_mask == 2
    assert frame.pixels.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(frame.pixels, pixels)


def test_times_are_exact_picoseconds_beyond_64_bits(backend: str) -> None:
    top = 2**32 - 1
    data = ln.build_frame(
        [RoiSpec((0, 0, 1, 0, 0, 1), timestamp_bor=top, timestamp_eor=5)],
        version=2,
        timestamp_bof=top,
        timestamp_eof=3,
        timestamp_res_ns=top,
        exposure_time=top,
        exposure_time_res_ns=top,
        roi_timestamp_res_ns=top,
        flags=ln.FrameFlag.ROI_TS_SUPPORTED,
    )
    frame = ln.decode_frame(data, backend=backend)
    assert frame.timestamp_bof_ps == top * top * 1000 > 2**64
    assert frame.exposure_time_ps == top * top * 1000
    assert frame.timestamp_eof_ps == 3 * top * 1000
    assert frame.rois[0].timestamp_bor_ps == top * top * 1000
    assert ln.FrameFlag.ROI_TS_SUPPORTED in frame.flags


def test_v3_times_are_picoseconds_and_roi_times_stay_raw(backend: str) -> None:
    data = ln.build_frame(
        [RoiSpec((0, 0, 1, 0, 0, 1), timestamp_bor=9)],
        version=3,
        timestamp_bof=2**64 - 1,
        exposure_time=10_000_000,
    )
    frame = ln.decode_frame(data, backend=backend)
    assert frame.timestamp_bof_ps == 2**64 - 1
    assert frame.exposure_time_ps == 10_000_000
    assert frame.rois[0].timestamp_bor == 9
    assert frame.rois[0].timestamp_bor_ps is None


def test_header_only_roi_has_no_pixels_even_with_a_data_size(backend: str) -> None:
    background = np.arange(16, dtype=np.uint16).reshape(4, 4)
    rois = [
        RoiSpec((0, 3, 1, 0, 3, 1), background, ext_md={"m0": 1, "m2": 2, "particle_id": 0}),
        RoiSpec((1, 3, 1, 1, 3, 1), flags=RoiFlag.HEADER_ONLY, ext_md={"particle_id": 7}),
        RoiSpec((2, 2, 1, 2, 2, 1), flags=RoiFlag.HEADER_ONLY, roi_data_size=2),
    ]
    data = ln.build_frame(rois)
    frame = ln.decode_frame(data, backend=backend)
    assert [r.header_only for r in frame.rois] == [False, True, True]
    assert frame.rois[1].pixels is None
    assert frame.rois[1].ext_md == {"particle_id": 7}
    assert frame.nbytes == len(data)  # no pixel bytes were skipped for the header-only ROIs


def test_only_invalid_rois_give_an_empty_frame(backend: str) -> None:
    data = ln.build_frame([RoiSpec((0, 1, 1, 0, 1, 1), flags=RoiFlag.INVALID)])
    frame = ln.decode_frame(data, backend=backend)
    assert frame.rois == ()
    assert frame.implied_roi is None
    assert ln.recompose(frame, backend=backend).shape == (0, 0)
    assert ln.recompose(frame, offset=(0, 2), backend=backend).shape == (2, 0)


def test_repeated_ext_md_tag_keeps_the_last_value(backend: str) -> None:
    raw = ln.encode_ext_md({"m0": 1}) + ln.encode_ext_md({"m0": 2})
    frame = ln.decode_frame(
        ln.build_frame([RoiSpec((0, 0, 1, 0, 0, 1), ext_md=raw)]), backend=backend
    )
    assert frame.rois[0].ext_md == {"m0": 2}


def test_binned_width_rounds_down_like_pvcam(backend: str) -> None:
    frame = ln.decode_frame(ln.build_frame([RoiSpec((0, 10, 2, 0, 6, 3))]), backend=backend)
    assert frame.rois[0].shape == (7 // 3, 11 // 2)


def test_trailing_bytes_are_ignored(backend: str) -> None:
    data = ln.build_frame([RoiSpec((0, 1, 1, 0, 1, 1))])
    frame = ln.decode_frame(data + b"\xee" * 100, backend=backend)
    assert frame.nbytes == len(data)


@pytest.mark.parametrize(
    "fmt", [ImageFormat.MONO8, ImageFormat.MONO16, ImageFormat.MONO32, ImageFormat.RGB48]
)
def test_frames_without_metadata(fmt: ImageFormat) -> None:
    layout = ln.pixel_layout(fmt)
    pixels = np.arange(35 * layout.channels, dtype=layout.dtype).reshape(layout.shape(5, 7))
    frame = ln.decode_frame(pixels.tobytes(), metadata=False, roi=(5, 7), image_format=fmt)
    assert not frame.has_metadata
    assert frame.version == 0
    assert frame.timestamp_bof_ps is None
    assert frame.ext_md == {}
    np.testing.assert_array_equal(frame.pixels, pixels)
    binned = ln.decode_frame(
        pixels.tobytes(), metadata=False, roi=Rgn(10, 23, 2, 0, 9, 2), image_format=fmt
    )
    assert binned.rois[0].shape == (5, 7)
    assert binned.implied_roi == Rgn(10, 23, 2, 0, 9, 2)


def test_frame_without_metadata_too_short() -> None:
    with pytest.raises(FrameFormatError, match="needs 200 bytes at offset 0, buffer has 199") as e:
        ln.decode_frame(bytes(199), metadata=False, roi=(10, 10))
    assert e.value.offset == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metadata": False}, "needs roi="),
        ({"metadata": False, "roi": (0, 4)}, "at least 1 x 1"),
        ({"metadata": False, "roi": (0, 3, 0, 0, 3, 1)}, "binning of 0"),
        ({"metadata": False, "roi": (5, 3, 1, 0, 3, 1)}, "empty"),
        ({"metadata": False, "roi": (1, 2, 3)}, "2 values"),
        ({"metadata": False, "roi": (70000, 4)}, "16-bit"),
        ({"roi": (2, 2)}, "carry theirs"),
        ({"image_format": 12}, "not a supported container"),
    ],
)
def test_argument_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ln.decode_frame(bytes(64), **kwargs)


def test_frame_repr_and_single_roi_pixels() -> None:
    frame = ln.decode_frame(ln.build_frame([RoiSpec((0, 1, 1, 0, 1, 1))] * 2))
    assert "2/2 ROIs" in repr(frame)
    with pytest.raises(ValueError, match="2 ROIs with pixels"):
        _ = frame.pixels


def test_batch_decodes_a_ring_in_order_and_wraps(backend: str) -> None:
    frames = [
        ln.build_frame([RoiSpec((0, 2, 1, 0, 0, 1), np.full((1, 3), i))], frame_nr=i + 1)
        for i in range(5)
    ]
    ring = ln.pack_frames(frames, stride=200)
    decoded = ln.decode_batch(ring, 200, start=3, count=4, backend=backend)
    assert [f.frame_nr for f in decoded] == [4, 5, 1, 2]
    assert [int(f.pixels[0, 0]) for f in decoded] == [3, 4, 0, 1]
    assert np.shares_memory(decoded[0].pixels, ring)
    assert len(ln.decode_batch(ring, 200, backend=backend)) == 5


def test_batch_error_names_the_slot_and_the_absolute_offset(backend: str) -> None:
    good = ln.build_frame([RoiSpec((0, 0, 1, 0, 0, 1))])
    ring = ln.pack_frames([good, good, b"XXXX" + good[4:]])
    stride = len(good)
    with pytest.raises(FrameFormatError, match=r"^slot 2 \(offset 164\): bad frame signature") as e:
        ln.decode_batch(ring, stride, backend=backend)
    assert e.value.offset == 2 * stride


def test_batch_without_metadata(backend: str) -> None:
    ring = np.arange(4 * 6, dtype=np.uint16)
    frames = ln.decode_batch(ring, 12, metadata=False, roi=(2, 3), start=1, backend=backend)
    assert [int(f.pixels[0, 0]) for f in frames] == [6, 12, 18, 0]
    with pytest.raises(ValueError, match="does not fit"):
        ln.decode_batch(ring, 12, metadata=False, roi=(3, 3))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, "stride must be positive"),
        ((100,), {}, "holds no frame"),
        ((8,), {"count": 9}, "count must be between"),
        ((8,), {"start": 8}, "start must be a slot"),
    ],
)
def test_batch_argument_errors(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ln.decode_batch(bytes(64), *args, **kwargs)
