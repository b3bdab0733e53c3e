"""The C extension and the NumPy twin agree bit for bit: records, images, levels and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit.native as ln

from .helpers import FrameCase, both, frame_cases, outcome, table_bytes

pytestmark = pytest.mark.usefixtures("need_c")

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(case=frame_cases(same_binning=False, odd=True), override=st.sampled_from([None, 0, 2, 4, 9]))
def test_decode_records_are_identical(case: FrameCase, override: int | None) -> None:
    """Every container, INVALID ROIs anywhere, compression, unreadable extended metadata,
    roiDataSize against the region: the records, and what reading them gives, are the same."""
    c, twin = both(ln.decode_frame, case.data, image_format=override)
    assert c[0] == twin[0]
    if c[0] == "ok":
        assert table_bytes(c[1]) == table_bytes(twin[1])
        assert _readings(c[1]) == _readings(twin[1])
    else:
        assert c == twin


def _readings(frame: ln.Frame) -> list:
    """What a user reads from a decoded frame: ext MD (or its error), pixels (or the problem)."""
    out = [outcome(lambda: frame.ext_md)]
    for roi in frame.rois:
        pixels = None if roi.pixels is None else (roi.pixels.dtype, roi.pixels.tobytes())
        out += [outcome(lambda roi=roi: roi.ext_md), pixels, roi.problem]
    return out


@SETTINGS
@given(
    case=frame_cases(same_binning=False, odd=True),
    coordinates=st.sampled_from(["implied", "sensor"]),
    offset=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    fill=st.sampled_from([0, 1, 255, None]),
    margin=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    threads=st.sampled_from([None, 1, 2, 3]),
)
def test_recompose_is_identical(case, coordinates, offset, fill, margin, threads) -> None:
    decoded = both(ln.decode_frame, case.data, image_format=case.override)
    if decoded[0][0] == "error":  # an odd v1 frame (v1 has no roiDataSize): refused alike
        assert decoded[0] == decoded[1]
        return
    frames = {b: result[1] for b, result in zip(("c", "numpy"), decoded, strict=True)}
    natural = outcome(
        ln.recompose, frames["numpy"], coordinates=coordinates, offset=offset, backend="numpy"
    )
    if natural[0] == "error":  # mixed binning, unusable pixels: both must refuse alike
        c, twin = (
            _outcome_image(ln.recompose, f, coordinates=coordinates, offset=offset, backend=b)
            for b, f in frames.items()
        )
        assert c == twin
        return
    shape = (natural[1].shape[0] + margin[0], natural[1].shape[1] + margin[1])
    results = []
    for b, frame in frames.items():
        out = np.full(frame.layout.shape(*shape), 7, frame.dtype)
        results.append(
            _outcome_image(
                ln.recompose,
                frame,
                out=out,
                coordinates=coordinates,
                offset=offset,
                fill=fill,
                threads=threads,
                backend=b,
            )
        )
    assert results[0] == results[1]


def _outcome_image(function, *args, **kwargs):
    result = outcome(function, *args, **kwargs)
    return (result[0], result[1].tobytes()) if result[0] == "ok" else result


@st.composite
def preview_images(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.uint32]))
    shape = (draw(st.integers(1, 300)), draw(st.integers(1, 300)))
    top = min(draw(st.sampled_from([0, 1, 1000, 2**32 - 1])), int(np.iinfo(dtype).max))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.integers(0, top, shape, dtype, endpoint=True)


@SETTINGS
@given(
    image=preview_images(),
    max_size=st.one_of(
        st.none(), st.integers(1, 200), st.tuples(st.integers(1, 50), st.integers(1, 300))
    ),
    binning=st.sampled_from(["mean", "max"]),
    contrast=st.one_of(
        st.just("minmax"),
        st.tuples(st.just("percentile"), st.floats(0, 40), st.floats(60, 100)),
        st.tuples(st.integers(0, 100), st.integers(101, 255)),
    ),
    gamma=st.sampled_from([None, 0.45, 1.0, 3.0]),
    threads=st.sampled_from([None, 1, 2, 3]),
)
def test_preview_is_identical(image, max_size, binning, contrast, gamma, threads) -> None:
    c, twin = both(
        ln.preview,
        image,
        max_size=max_size,
        binning=binning,
        contrast=contrast,
        gamma=gamma,
        threads=threads,
    )
    if c[0] == "ok":
        assert twin[0] == "ok"
        assert c[1].levels == twin[1].levels
        assert c[1].factor == twin[1].factor
        np.testing.assert_array_equal(c[1].image, twin[1].image)
    else:
        assert c == twin


@pytest.mark.parametrize(
    ("dtype", "shape", "max_size", "contrast"),
    [
        (np.uint16, (3200, 3200), 800, ("percentile", 0.5, 99.5)),  # the Kinetix live view
        (np.uint16, (900, 1200), 3, "minmax"),  # factor 400: sums need 64 bits
        (np.uint32, (640, 480), 100, ("percentile", 1, 99)),  # radix selection in C
        (np.uint8, (2000, 1500), (480, 640), (10, 200)),  # manual levels: the single pass
    ],
)
def test_large_previews_are_identical(dtype, shape, max_size, contrast) -> None:
    rng = np.random.default_rng(7)
    image = rng.integers(0, np.iinfo(dtype).max, shape, dtype, endpoint=True)
    for binning in ("mean", "max"):
        c, twin = both(ln.preview, image, max_size=max_size, binning=binning, contrast=contrast)
        assert c[0] == twin[0] == "ok"
        assert c[1].levels == twin[1].levels
        np.testing.assert_array_equal(c[1].image, twin[1].image)


@SETTINGS
@given(
    cases=st.lists(frame_cases(max_rois=4), min_size=1, max_size=5),
    start=st.integers(0, 4),
    corrupt=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_batch_is_identical(cases: list[FrameCase], start: int, corrupt: int | None) -> None:
    ring = ln.pack_frames([case.data for case in cases])
    if corrupt is not None:
        ring[corrupt % len(ring)] ^= 0xA5
    stride = len(ring) // len(cases)
    c, twin = both(ln.decode_batch, ring, stride, start=start % len(cases))
    assert c[0] == twin[0]
    if c[0] == "ok":
        assert [table_bytes(f) for f in c[1]] == [table_bytes(f) for f in twin[1]]
    else:
        assert c == twin
