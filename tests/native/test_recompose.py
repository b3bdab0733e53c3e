"""recompose() puts each ROI where PVCAM would, on each backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit.native as ln
from labkit.core import FrameFormatError
from labkit.native import Rgn, RoiFlag, RoiSpec

from .helpers import FrameCase, frame_cases

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expected_image(case: FrameCase, coordinates: str, offset: tuple[int, int]) -> np.ndarray:
    """The recomposed image computed straight from the builder's specs.

    Placement as pl_md_frame_recompose does it: each coordinate binned on its own,
    x = s1 // sbin - origin // sbin; the image is the implied ROI's binned size, or more where
    unaligned origins push an ROI past it.
    """
    decoded = [Rgn(*s.region) for s in case.decoded]
    layout = ln.pixel_layout(case.image_format)
    if not decoded:
        return np.zeros(layout.shape(offset[1], offset[0]), layout.dtype)
    carriers = [s for s in case.decoded if not s.flags & RoiFlag.HEADER_ONLY]
    sbin, pbin = Rgn(*carriers[0].region)[2::3] if carriers else decoded[0][2::3]
    s1 = min(r.s1 for r in decoded) if coordinates == "implied" else 0
    p1 = min(r.p1 for r in decoded) if coordinates == "implied" else 0
    if coordinates == "implied":
        width = (max(r.s2 for r in decoded) - s1 + 1) // sbin
        height = (max(r.p2 for r in decoded) - p1 + 1) // pbin
    else:
        width = (max(r.s2 for r in decoded) + 1) // sbin
        height = (max(r.p2 for r in decoded) + 1) // pbin
    places = []
    for spec in carriers:
        r = Rgn(*spec.region)
        x, y = r.s1 // sbin - s1 // sbin, r.p1 // pbin - p1 // pbin
        width, height = max(width, x + r.width), max(height, y + r.height)
        places.append((x + offset[0], y + offset[1], r, spec.pixels))
    image = np.zeros(layout.shape(height + offset[1], width + offset[0]), layout.dtype)
    for x, y, r, pixels in places:
        image[y : y + r.height, x : x + r.width] = pixels
    return image


@FAST
@given(
    case=frame_cases(),
    coordinates=st.sampled_from(["implied", "sensor"]),
    offset=st.tuples(st.integers(0, 5), st.integers(0, 5)),
)
def test_recompose_places_rois_as_written(
    case: FrameCase, coordinates: str, offset: tuple[int, int], backend: str
) -> None:
    frame = ln.decode_frame(case.data, image_format=case.override, backend=backend)
    image = ln.recompose(frame, coordinates=coordinates, offset=offset, backend=backend)
    assert image.dtype == frame.dtype
    np.testing.assert_array_equal(image, expected_image(case, coordinates, offset))


def two_rois(**kwargs: object) -> ln.Frame:
    a = np.full((2, 3), 1, np.uint16)
    b = np.full((3, 2), 2, np.uint16)
    data = ln.build_frame([RoiSpec((10, 12, 1, 20, 21, 1), a), RoiSpec((14, 15, 1, 21, 23, 1), b)])
    return ln.decode_frame(data, **kwargs)


def test_implied_and_sensor_coordinates(backend: str) -> None:
    frame = two_rois(backend=backend)
    implied = ln.recompose(frame, backend=backend)
    assert implied.shape == (4, 6)
    assert implied[0, 0] == 1
    assert implied[1, 4] == 2
    assert implied[0, 4] == 0
    sensor = ln.recompose(frame, coordinates="sensor", shape=(30, 40), backend=backend)
    assert sensor.shape == (30, 40)
    np.testing.assert_array_equal(sensor[20:24, 10:16], implied)
    assert sensor.sum() == implied.sum()
    assert ln.recompose(frame, coordinates="sensor", backend=backend).shape == (24, 16)


def test_offset_is_x_then_y(backend: str) -> None:
    image = ln.recompose(two_rois(backend=backend), offset=(3, 1), backend=backend)
    assert image.shape == (5, 9)
    assert image[1, 3] == 1
    assert image[0].sum() == 0


def test_binned_rois_land_at_binned_positions(backend: str) -> None:
    a = np.array([[1, 2]], np.uint16)
    b = np.array([[3, 4]], np.uint16)
    data = ln.build_frame([RoiSpec((4, 7, 2, 2, 3, 2), a), RoiSpec((10, 13, 2, 6, 7, 2), b)])
    frame = ln.decode_frame(data, backend=backend)
    np.testing.assert_array_equal(
        ln.recompose(frame, backend=backend), [[1, 2, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 3, 4]]
    )
    sensor = ln.recompose(frame, coordinates="sensor", backend=backend)
    assert sensor.shape == (4, 7)
    assert sensor[1, 2] == 1
    assert sensor[3, 5] == 3


def test_fill_clears_by_default_and_none_keeps(backend: str) -> None:
    frame = two_rois(backend=backend)
    out = np.full((4, 6), 9, np.uint16)
    ln.recompose(frame, out=out, backend=backend)
    assert (out == 9).sum() == 0
    out[:] = 9
    ln.recompose(frame, out=out, fill=None, backend=backend)
    assert out[0, 4] == 9
    assert out[0, 0] == 1
    filled = ln.recompose(frame, fill=65535, backend=backend)
    assert filled[0, 4] == 65535
    assert filled[0, 0] == 1
    assert ln.recompose(frame, fill=None, backend=backend)[0, 4] == 0  # a new array is zeroed


def test_out_may_be_a_window_of_a_larger_canvas(backend: str) -> None:
    canvas = np.full((10, 12), 7, np.uint16)
    window = canvas[2:8, 3:11]
    result = ln.recompose(two_rois(backend=backend), out=window, backend=backend)
    assert result is window
    assert canvas[2, 3] == 1
    assert canvas[2, 7] == 0
    assert canvas[1, 3] == 7
    assert canvas[2, 11] == 7


def test_later_rois_win_where_they_overlap(backend: str) -> None:
    data = ln.build_frame(
        [
            RoiSpec((0, 3, 1, 0, 0, 1), np.full((1, 4), 1)),
            RoiSpec((2, 5, 1, 0, 0, 1), np.full((1, 4), 2)),
        ]
    )
    image = ln.recompose(ln.decode_frame(data, backend=backend), backend=backend)
    np.testing.assert_array_equal(image, [[1, 1, 2, 2, 2, 2]])


def test_header_only_rois_widen_the_implied_roi_but_carry_nothing(backend: str) -> None:
    data = ln.build_frame(
        [
            RoiSpec((2, 3, 1, 2, 3, 1), np.full((2, 2), 5)),
            RoiSpec((0, 0, 1, 0, 0, 1), flags=RoiFlag.HEADER_ONLY),
        ]
    )
    image = ln.recompose(ln.decode_frame(data, backend=backend), backend=backend)
    np.testing.assert_array_equal(image, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 5, 5], [0, 0, 5, 5]])


def test_mixed_binning_is_refused_with_the_roi_offset(backend: str) -> None:
    data = ln.build_frame([RoiSpec((0, 1, 1, 0, 1, 1)), RoiSpec((4, 7, 2, 0, 1, 1))])
    frame = ln.decode_frame(data, backend=backend)
    with pytest.raises(FrameFormatError, match=r"frame.rois\[1\] is binned 2x1") as caught:
        ln.recompose(frame, backend=backend)
    assert caught.value.offset == frame.rois[1].header_offset + 14


def test_no_metadata_frame_recomposes_to_its_pixels(backend: str) -> None:
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    frame = ln.decode_frame(pixels, metadata=False, roi=(3, 4), image_format=2, backend=backend)
    np.testing.assert_array_equal(ln.recompose(frame, backend=backend), pixels)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"out": np.zeros((4, 6), np.uint8)}, TypeError, "dtype uint8"),
        ({"out": [[0]]}, TypeError, "NumPy array"),
        ({"out": np.zeros((4, 6, 1), np.uint16)}, ValueError, r"shape \(height, width\)"),
        ({"out": np.zeros((3, 6), np.uint16)}, ValueError, "does not fit"),
        ({"out": np.zeros((4, 12), np.uint16)[:, ::2]}, ValueError, "contiguous"),
        ({"out": np.zeros((4, 6), np.uint16), "shape": (5, 6)}, ValueError, "disagrees"),
        ({"shape": (2, 2)}, ValueError, "does not fit"),
        ({"coordinates": "pixels"}, ValueError, "coordinates"),
        ({"offset": (-1, 0)}, ValueError, "negative"),
        ({"fill": 70000}, ValueError, "does not fit"),
        ({"threads": 0}, ValueError, "threads"),
    ],
)
def test_argument_errors(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ln.recompose(two_rois(), **kwargs)


def test_read_only_out_is_refused() -> None:
    out = np.zeros((4, 6), np.uint16)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ln.recompose(two_rois(), out=out)


@pytest.mark.usefixtures("need_c")
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_and_bands_do_not_change_the_result(threads: int) -> None:
    rng = np.random.default_rng(threads)
    specs = [
        RoiSpec((s1, s1 + 299, 1, p1, p1 + 199, 1), rng.integers(0, 65535, (200, 300)))
        for s1, p1 in [(0, 0), (250, 150), (600, 500), (100, 700)]
    ]
    frame = ln.decode_frame(ln.build_frame(specs))
    c = ln.recompose(frame, fill=3, threads=threads, backend="c")
    twin = ln.recompose(frame, fill=3, backend="numpy")
    np.testing.assert_array_equal(c, twin)


@pytest.mark.usefixtures("need_c")
@pytest.mark.parametrize("fill", [0, 3, None])
def test_large_images_take_the_streaming_path_and_agree(fill: int | None) -> None:
    """Outputs from 4 MB on are written with non-temporal stores; odd offsets misalign them."""
    rng = np.random.default_rng(5)
    specs = [
        RoiSpec((s1, s1 + 700, 1, p1, p1 + 600, 1), rng.integers(0, 255, (601, 701)))
        for s1, p1 in [(1, 0), (703, 3), (1405, 1), (333, 700)]
    ]
    frame = ln.decode_frame(ln.build_frame(specs, image_format=ln.ImageFormat.MONO32))
    outs = [np.full((1400, 2110), 9, np.uint32) for _ in range(2)]
    for out, b in zip(outs, ["c", "numpy"], strict=True):
        ln.recompose(frame, out=out[:, 1:], offset=(3, 1), fill=fill, backend=b)
    assert outs[0].nbytes > 4 << 20
    np.testing.assert_array_equal(outs[0], outs[1])


def test_empty_outputs_are_fine(backend: str) -> None:
    data = ln.build_frame([RoiSpec((0, 0, 1, 0, 0, 1), flags=RoiFlag.INVALID)])
    frame = ln.decode_frame(data, backend=backend)
    for shape in [(0, 0), (0, 3), (3, 0)]:
        out = np.zeros(shape, np.uint16)
        assert ln.recompose(frame, out=out, backend=backend) is out
