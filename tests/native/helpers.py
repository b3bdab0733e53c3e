"""Shared helpers: Hypothesis strategies for frames, and outcome capture for C-vs-twin checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

import labkit.native as ln
from labkit.core import FrameFormatError
from labkit.native import ImageFormat, Rgn, RoiFlag, RoiSpec

FORMATS = [ImageFormat(f) for f in ln.supported_formats()]
EXT_NAMES = ["particle_id", "m0", "m2"]


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple:
    """``("ok", result)`` or ``("error", type, message, offset)``: comparable across backends."""
    try:
        return ("ok", function(*args, **kwargs))
    except FrameFormatError as error:
        return ("error", type(error), error.message, error.offset)
    except (ValueError, TypeError) as error:
        return ("error", type(error), str(error), None)


def table_bytes(frame: ln.Frame) -> tuple[bytes, bytes]:
    """The raw records of a decoded frame, for byte-for-byte comparison."""
    return frame.header.tobytes(), frame.table.tobytes()


def both(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[tuple, tuple]:
    """The outcomes of ``function(..., backend=b)`` on C and on the twin."""
    return tuple(outcome(function, *args, backend=b, **kwargs) for b in ("c", "numpy"))


@dataclass
class FrameCase:
    """A frame as written by the builder, with everything needed to predict its decoding."""

    version: int
    image_format: ImageFormat
    override: ImageFormat | None
    rois: list[RoiSpec]
    header: dict[str, Any] = field(default_factory=dict)
    data: bytes = b""

    @property
    def decoded(self) -> list[RoiSpec]:
        """The ROIs the vendor's decoder keeps: those before the first INVALID one."""
        out = []
        for spec in self.rois:
            if spec.flags & RoiFlag.INVALID:
                break
            out.append(spec)
        return out

    @property
    def nbytes(self) -> int:
        """Bytes up to the end of the last decoded ROI (an INVALID ROI ends the walk)."""
        if len(self.decoded) == len(self.rois):
            return len(self.data)
        return len(ln.build_frame(self.decoded, version=self.version,
                                  image_format=self.image_format, roi_count=len(self.rois),
                                  **self.header))  # fmt: skip


@st.composite
def regions(draw: st.DrawFn, sbin: int | None = None, pbin: int | None = None) -> Rgn:
    """A valid region, sometimes with a span that does not divide by its binning."""
    sbin = draw(st.integers(1, 4)) if sbin is None else sbin
    pbin = draw(st.integers(1, 4)) if pbin is None else pbin
    width, height = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    s1, p1 = draw(st.integers(0, 120)), draw(st.integers(0, 120))
    s2 = s1 + width * sbin - 1 + draw(st.integers(0, sbin - 1))
    p2 = p1 + height * pbin - 1 + draw(st.integers(0, pbin - 1))
    return Rgn(s1, s2, sbin, p1, p2, pbin)


@st.composite
def odd_ext_md(draw: st.DrawFn) -> bytes:
    """A tag–value block with an unknown tag or a value cut short, after some good items."""
    good = draw(st.dictionaries(st.sampled_from(EXT_NAMES), st.integers(0, 2**32 - 1), max_size=2))
    if draw(st.booleans()):
        bad = bytes([draw(st.integers(3, 255))]) + bytes(draw(st.integers(0, 6)))
    else:
        bad = bytes([draw(st.integers(0, 2))]) + bytes(draw(st.integers(0, 3)))
    return ln.encode_ext_md(good) + bad


@st.composite
def roi_specs(
    draw: st.DrawFn,
    image_format: ImageFormat,
    sbin: int,
    pbin: int,
    flags: bool = True,
    odd: bool = False,
) -> RoiSpec:
    """One ROI; ``odd`` adds what the vendor's decoder still accepts: unreadable extended
    metadata and a roiDataSize that disagrees with the region (the pixel bytes follow it, so
    the frame can still be walked)."""
    region = draw(regions(sbin, pbin))
    layout = ln.pixel_layout(image_format)
    seed = draw(st.integers(0, 2**32 - 1))
    top = draw(st.sampled_from([(1 << 8 * layout.wire_bytes) - 1, 255, 3]))
    shape = layout.shape(*region.shape)
    pixels = np.random.default_rng(seed).integers(0, top, shape, layout.dtype, endpoint=True)
    ext = draw(
        st.one_of(
            st.none(),
            st.dictionaries(st.sampled_from(EXT_NAMES), st.integers(0, 2**32 - 1), max_size=3),
        )
    )
    roi_flags = 0
    if flags:
        roi_flags = draw(
            st.sampled_from([0, 0, 0, 0, 0x10, RoiFlag.INVALID, RoiFlag.HEADER_ONLY, 0x03])
        )
    payload = data_size = None
    if odd:
        if draw(st.integers(0, 3)) == 0:
            ext = draw(odd_ext_md())
        if draw(st.integers(0, 3)) == 0 and not roi_flags & RoiFlag.HEADER_ONLY:
            need = region.width * region.height * layout.bytes_per_pixel
            data_size = max(0, need + draw(st.integers(-need, 7)))
            payload = (ln.build_frame([RoiSpec(region, pixels)], image_format=image_format)[80:]
                       + bytes(8))[:data_size]  # fmt: skip
    return RoiSpec(
        region,
        pixels,
        flags=int(roi_flags),
        roi_nr=draw(st.integers(0, 0xFFFF)),
        timestamp_bor=draw(st.integers(0, 2**32 - 1)),
        timestamp_eor=draw(st.integers(0, 2**32 - 1)),
        ext_md=ext,
        roi_data_size=data_size,
        payload=payload,
    )


@st.composite
def frame_cases(
    draw: st.DrawFn,
    max_rois: int = 15,
    flags: bool = True,
    same_binning: bool = True,
    odd: bool = False,
) -> FrameCase:
    """A metadata frame of any version, any container, 1-15 ROIs and extended metadata.

    ``odd`` adds frames the vendor still decodes although labkit cannot use all of them:
    compressed pixels, unreadable extended metadata, roiDataSize against the region.
    """
    version = draw(st.sampled_from([1, 2, 3]))
    override = None
    if version == 1:
        override = draw(st.sampled_from([None, *FORMATS]))
        image_format = ImageFormat.MONO16 if override is None else override
    else:
        image_format = draw(st.sampled_from(FORMATS))
        override = draw(st.sampled_from([None, image_format]))
    sbin, pbin = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    count = draw(st.integers(1, max_rois))
    rois = []
    for _ in range(count):
        if not same_binning:
            sbin, pbin = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        rois.append(draw(roi_specs(image_format, sbin, pbin, flags, odd)))
    big = 2**64 - 1 if version == 3 else 2**32 - 1
    header = {
        "frame_nr": draw(st.integers(0, 2**32 - 1)),
        "timestamp_bof": draw(st.integers(0, big)),
        "timestamp_eof": draw(st.integers(0, big)),
        "exposure_time": draw(st.integers(0, big)),
        "timestamp_res_ns": draw(st.integers(0, 2**32 - 1)),
        "exposure_time_res_ns": draw(st.integers(0, 2**32 - 1)),
        "roi_timestamp_res_ns": draw(st.integers(0, 2**32 - 1)),
        "bit_depth": draw(st.integers(0, 255)),
        "color_mask": draw(st.sampled_from([0, 2, 3, 4, 5])),
        "flags": draw(st.integers(0, 255)),
        "ext_md": draw(
            st.one_of(
                st.none(),
                st.dictionaries(st.sampled_from(EXT_NAMES), st.integers(0, 2**32 - 1), max_size=3),
            )
        ),
    }
    if odd:
        if version >= 2:
            header["image_compression"] = draw(st.sampled_from([0, 0, 0, 10, 12, 17]))
        if draw(st.integers(0, 3)) == 0:
            header["ext_md"] = draw(odd_ext_md())
    data = ln.build_frame(rois, version=version, image_format=image_format, **header)
    return FrameCase(version, image_format, override, rois, header, data)


def check_decoded(frame: ln.Frame, case: FrameCase) -> None:
    """Assert that ``frame`` says what the builder wrote into ``case``."""
    h = case.header
    assert frame.version == case.version
    assert frame.frame_nr == h["frame_nr"]
    assert frame.roi_count == len(case.rois)
    assert frame.image_format == case.image_format
    assert frame.dtype == ln.pixel_layout(case.image_format).dtype
    assert frame.bit_depth == h["bit_depth"]
    assert frame.color_mask == h["color_mask"]
    assert frame.flags == h["flags"]
    assert frame.image_compression == 0
    assert frame.ext_md == (h["ext_md"] or {})
    assert frame.nbytes == case.nbytes
    if case.version == 3:
        assert frame.timestamp_bof_ps == h["timestamp_bof"]
        assert frame.timestamp_eof_ps == h["timestamp_eof"]
        assert frame.exposure_time_ps == h["exposure_time"]
        assert frame.timestamp_res_ns is None
    else:
        assert frame.timestamp_bof_ps == h["timestamp_bof"] * h["timestamp_res_ns"] * 1000
        assert frame.timestamp_eof_ps == h["timestamp_eof"] * h["timestamp_res_ns"] * 1000
        assert frame.exposure_time_ps == h["exposure_time"] * h["exposure_time_res_ns"] * 1000
        assert frame.roi_timestamp_res_ns == h["roi_timestamp_res_ns"]
    decoded = case.decoded
    assert len(frame.rois) == len(decoded)
    for roi, spec in zip(frame.rois, decoded, strict=True):
        region = Rgn(*spec.region)
        assert roi.region == region
        assert roi.shape == region.shape
        assert roi.roi_nr == spec.roi_nr
        assert roi.flags == spec.flags
        assert roi.ext_md == (spec.ext_md or {})
        assert roi.timestamp_bor == spec.timestamp_bor
        if case.version == 3:
            assert roi.timestamp_bor_ps is None
        else:
            assert roi.timestamp_eor_ps == spec.timestamp_eor * h["roi_timestamp_res_ns"] * 1000
        if spec.flags & RoiFlag.HEADER_ONLY:
            assert roi.pixels is None
        else:
            assert roi.pixels is not None
            assert roi.pixels.dtype == frame.dtype
            np.testing.assert_array_equal(roi.pixels, spec.pixels)
    if decoded:  # the bounding box, with the first ROI's binning (the vendor's)
        boxes = [Rgn(*spec.region) for spec in decoded]
        assert frame.implied_roi == Rgn(
            min(b.s1 for b in boxes),
            max(b.s2 for b in boxes),
            boxes[0].sbin,
            min(b.p1 for b in boxes),
            max(b.p2 for b in boxes),
            boxes[0].pbin,
        )
    else:
        assert frame.implied_roi is None
