"""preview() bins, finds levels and maps to uint8 as documented, on each backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit.native as ln
from labkit.native._preview import LUT_SIZE, bin_factors, gamma_table

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle(image: np.ndarray, factor: tuple[int, int], binning: str, contrast, gamma):
    """The documented preview, one pixel at a time with Python integers (small images only)."""
    fy, fx = factor
    oh, ow = image.shape[0] // fy, image.shape[1] // fx
    binned = [[0] * ow for _ in range(oh)]
    for r in range(oh):
        for c in range(ow):
            block = [int(v) for v in image[r * fy : (r + 1) * fy, c * fx : (c + 1) * fx].ravel()]
            n = len(block)
            binned[r][c] = (sum(block) + n // 2) // n if binning == "mean" else max(block)
    values = sorted(v for row in binned for v in row)
    if contrast == "minmax":
        lo, hi = values[0], values[-1]
    elif contrast[0] == "percentile":
        rank = [math.floor(p * (len(values) - 1) / 100 + 0.5) for p in contrast[1:]]
        lo, hi = values[rank[0]], values[rank[1]]
    else:
        lo, hi = contrast
    k = LUT_SIZE
    span = max(hi - lo, 1)
    lut = gamma_table(gamma)  # shared by design; checked on its own below
    out = np.zeros((oh, ow), np.uint8)
    for r in range(oh):
        for c in range(ow):
            v = binned[r][c]
            if v <= lo:
                index = 0
            elif v >= lo + span:
                index = k - 1
            else:
                index = min(((v - lo) * (((k - 1) << 32) // span) + 2**31) >> 32, k - 1)
            out[r, c] = lut[index]
    return out, (lo, hi)


@st.composite
def images(draw: st.DrawFn, max_side: int = 24) -> np.ndarray:
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.uint32]))
    shape = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    top = draw(st.sampled_from([1, 7, 300, int(np.iinfo(dtype).max)]))
    top = min(top, int(np.iinfo(dtype).max))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, top, shape, dtype, endpoint=True)


contrasts = st.one_of(
    st.just("minmax"),
    st.tuples(st.just("percentile"), st.floats(0, 50), st.floats(50, 100)),
)


@FAST
@given(
    image=images(),
    max_size=st.one_of(
        st.none(), st.integers(1, 30), st.tuples(st.integers(1, 9), st.integers(1, 9))
    ),
    binning=st.sampled_from(["mean", "max"]),
    contrast=contrasts,
    gamma=st.sampled_from([None, 0.5, 2.2]),
)
def test_preview_matches_the_documented_arithmetic(
    image, max_size, binning, contrast, gamma, backend: str
) -> None:
    result = ln.preview(
        image, max_size=max_size, binning=binning, contrast=contrast, gamma=gamma, backend=backend
    )
    expected, levels = oracle(image, result.factor, binning, contrast, gamma)
    assert result.image.dtype == np.uint8
    assert result.levels == levels
    np.testing.assert_array_equal(result.image, expected)


def test_manual_levels(backend: str) -> None:
    image = np.array([[0, 100, 150, 200, 300]], np.uint16)
    result = ln.preview(image, contrast=(100, 200), backend=backend)
    assert result.levels == (100, 200)
    np.testing.assert_array_equal(result.image, [[0, 0, 127, 255, 255]])


def test_flat_image_is_black_and_minmax_spans_0_to_255(backend: str) -> None:
    flat = ln.preview(np.full((4, 4), 1000, np.uint16), backend=backend)
    assert flat.levels == (1000, 1000)
    assert (flat.image == 0).all()
    ramp = ln.preview(np.arange(256, dtype=np.uint8).reshape(16, 16), backend=backend)
    assert ramp.image.min() == 0
    assert ramp.image.max() == 255
    assert (np.diff(ramp.image.ravel().astype(int)) >= 0).all()


def test_max_binning_keeps_a_hot_pixel(backend: str) -> None:
    image = np.zeros((64, 64), np.uint16)
    image[17, 42] = 4000
    mean = ln.preview(image, max_size=8, backend=backend)
    peak = ln.preview(image, max_size=8, binning="max", backend=backend)
    assert mean.factor == (8, 8)
    assert mean.image.shape == (8, 8)
    assert peak.image[2, 5] == 255
    assert peak.levels == (0, 4000)
    assert mean.levels == (0, (4000 + 32) // 64)  # the mean rounds half up


def test_gamma_below_one_brightens_the_shadows(backend: str) -> None:
    image = np.arange(1000, dtype=np.uint16).reshape(10, 100)
    straight = ln.preview(image, backend=backend).image.astype(int)
    bright = ln.preview(image, gamma=0.5, backend=backend).image.astype(int)
    assert (bright >= straight).all()
    assert bright[1, 0] > straight[1, 0]


def test_byte_order_and_strides_do_not_matter(backend: str) -> None:
    image = np.random.default_rng(0).integers(0, 65535, (40, 60), np.uint16)
    reference = ln.preview(image, max_size=10, backend=backend)
    swapped = ln.preview(image.astype(">u2"), max_size=10, backend=backend)
    np.testing.assert_array_equal(swapped.image, reference.image)
    wide = np.zeros((40, 120), np.uint16)
    wide[:, ::2] = image
    strided = ln.preview(wide[:, ::2], max_size=10, backend=backend)
    np.testing.assert_array_equal(strided.image, reference.image)
    window = np.zeros((50, 70), np.uint16)
    window[5:45, 5:65] = image
    np.testing.assert_array_equal(
        ln.preview(window[5:45, 5:65], max_size=10, backend=backend).image, reference.image
    )


def test_unaligned_roi_pixels_are_previewed(backend: str) -> None:
    pixels = np.arange(64, dtype=np.uint16).reshape(8, 8)
    data = ln.build_frame([ln.RoiSpec((0, 7, 1, 0, 7, 1), pixels, ext_md={"m0": 1})])
    roi = ln.decode_frame(data, backend=backend).pixels  # after 5 bytes of ext MD: odd address
    assert not roi.flags.aligned
    result = ln.preview(roi, max_size=4, backend=backend)
    np.testing.assert_array_equal(result.image, ln.preview(pixels, max_size=4).image)


def test_out_buffer_is_used(backend: str) -> None:
    out = np.empty((4, 4), np.uint8)
    result = ln.preview(np.ones((16, 16), np.uint16), max_size=4, out=out, backend=backend)
    assert result.image is out


@pytest.mark.parametrize(
    ("shape", "max_size", "factor"),
    [
        ((3200, 3200), 800, (4, 4)),
        ((3200, 3200), (800, 700), (5, 5)),
        ((3200, 3200), None, (1, 1)),
        ((1, 10000), 800, (1, 13)),
        ((100, 100), 100, (1, 1)),
        ((101, 100), 100, (2, 2)),
    ],
)
def test_bin_factors(shape, max_size, factor) -> None:
    assert bin_factors(shape, max_size) == factor
    fy, fx = factor
    limit = (max_size, max_size) if isinstance(max_size, int) else max_size
    if limit is not None:
        assert shape[0] // fy <= limit[0]
        assert shape[1] // fx <= limit[1]


def test_gamma_table_is_shared_and_read_only() -> None:
    table = gamma_table(2.2)
    assert table is gamma_table(2.2)
    assert not table.flags.writeable
    assert table[0] == 0
    assert table[-1] == 255
    assert len(table) == LUT_SIZE
    k = LUT_SIZE - 1
    assert all(abs(int(table[i]) - 255 * (i / k) ** 2.2) <= 0.5 + 1e-9 for i in range(0, k, 7))
    linear = gamma_table(None)
    assert [int(linear[i]) for i in range(k + 1)] == [
        (i * 510 + k) // (2 * k) for i in range(k + 1)
    ]


@pytest.mark.parametrize(
    ("image", "kwargs", "error", "message"),
    [
        (np.zeros((4, 4), np.float32), {}, TypeError, "uint8, uint16 or uint32"),
        (np.zeros((4, 4), np.int16), {}, TypeError, "uint8, uint16 or uint32"),
        (np.zeros((4, 4, 3), np.uint8), {}, ValueError, "2-D"),
        (np.zeros((0, 4), np.uint8), {}, ValueError, "empty"),
        (np.zeros((4, 4), np.uint8), {"max_size": 0}, ValueError, "max_size"),
        (np.zeros((4, 4), np.uint8), {"binning": "median"}, ValueError, "binning"),
        (np.zeros((4, 4), np.uint8), {"contrast": "auto"}, ValueError, "contrast"),
        (np.zeros((4, 4), np.uint8), {"contrast": ("percentile", 5, 101)}, ValueError, "0-100"),
        (np.zeros((4, 4), np.uint8), {"contrast": ("percentile", 60, 40)}, ValueError, "order"),
        (np.zeros((4, 4), np.uint8), {"contrast": (10, 300)}, ValueError, "range 0-255"),
        (np.zeros((4, 4), np.uint8), {"contrast": (10, 10)}, ValueError, "low < high"),
        (np.zeros((4, 4), np.uint8), {"contrast": (1, 2, 3)}, ValueError, "contrast"),
        (np.zeros((4, 4), np.uint8), {"gamma": 0}, ValueError, "gamma"),
        (np.zeros((4, 4), np.uint8), {"threads": 0}, ValueError, "threads"),
        (np.zeros((4, 4), np.uint8), {"out": np.zeros((4, 4), np.uint16)}, TypeError, "uint8"),
        (np.zeros((4, 4), np.uint8), {"out": np.zeros((2, 4), np.uint8)}, ValueError, "shape"),
    ],
)
def test_argument_errors(image, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        ln.preview(image, **kwargs)
