"""labkit's frame decoding against the vendor's own ``pl_md_frame_decode``/``_recompose``.

Runs only where a vendor libpvcam is installed: set ``LABKIT_VENDOR_PVCAM`` to its path (for
example ``/opt/pvcam/library/x86_64/libpvcam.so``). The same buffers — written byte for byte by
``labkit.native.build_frame``, and real frames from the simulated camera — are decoded by both;
header fields, ROI regions, the offsets of every header, extended metadata and pixel block, the
implied ROI and the recomposed images (implied-ROI and full-sensor) must agree.

The ctypes structures mirror the host-side helper structs of the PVCAM 3.10 header
(``md_frame``, ``md_frame_roi``: not packed, they hold pointers into the buffer).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from ctypes import POINTER, c_uint16, c_uint32, c_void_p
from pathlib import Path

import numpy as np
import pytest

from labkit.drivers.cameras.pvcam import PvcamError, PvcamLibrary, PvcamSession, RgnType
from labkit.native import Frame, ImageFormat, Rgn, RoiFlag, RoiSpec, build_frame, decode_frame
from labkit.native import recompose as labkit_recompose

ENV = "LABKIT_VENDOR_PVCAM"
VENDOR = os.environ.get(ENV)

pytestmark = pytest.mark.skipif(
    not VENDOR,
    reason=f"no vendor libpvcam: set {ENV} to its path to compare labkit's decoding with "
    "pl_md_frame_decode and pl_md_frame_recompose",
)


class MdFrameRoi(ctypes.Structure):
    _fields_ = [
        ("header", c_void_p),
        ("data", c_void_p),
        ("dataSize", c_uint32),
        ("extMdData", c_void_p),
        ("extMdDataSize", c_uint16),
    ]


class MdFrame(ctypes.Structure):
    _fields_ = [
        ("header", c_void_p),
        ("extMdData", c_void_p),
        ("extMdDataSize", c_uint16),
        ("impliedRoi", RgnType),
        ("roiArray", POINTER(MdFrameRoi)),
        ("roiCapacity", c_uint16),
        ("roiCount", c_uint16),
    ]


class Vendor:
    """The four metadata entry points of the vendor's library."""

    def __init__(self, path: str) -> None:
        self.lib = ctypes.CDLL(path)
        rs_bool = c_uint16
        frame_p = POINTER(MdFrame)
        for name, argtypes in {
            "pl_md_create_frame_struct_cont": [POINTER(frame_p), c_uint16],
            "pl_md_release_frame_struct": [frame_p],
            "pl_md_frame_decode": [frame_p, c_void_p, c_uint32],
            "pl_md_frame_recompose": [
                c_void_p,
                c_uint16,
                c_uint16,
                c_uint16,
                c_uint16,
                frame_p,
            ],
        }.items():
            function = getattr(self.lib, name)
            function.argtypes, function.restype = argtypes, rs_bool
        self.lib.pl_error_code.restype = ctypes.c_int16

    def check(self, ok: int, what: str) -> None:
        if not ok:
            raise AssertionError(f"{what} failed with PVCAM error {self.lib.pl_error_code()}")

    def decode(self, buffer: np.ndarray, rois: int) -> POINTER(MdFrame):  # type: ignore[valid-type]
        frame = POINTER(MdFrame)()
        self.check(
            self.lib.pl_md_create_frame_struct_cont(ctypes.byref(frame), max(rois, 1)),
            "pl_md_create_frame_struct_cont",
        )
        self.check(
            self.lib.pl_md_frame_decode(frame, buffer.ctypes.data, buffer.nbytes),
            "pl_md_frame_decode",
        )
        return frame

    def recompose(self, frame: object, out: np.ndarray, off_x: int, off_y: int, width: int) -> None:
        """Recompose into ``out``, rows of ``width`` pixels in the frame's own container."""
        self.check(
            self.lib.pl_md_frame_recompose(
                out.ctypes.data, off_x, off_y, width, out.shape[0], frame
            ),
            "pl_md_frame_recompose",
        )

    def release(self, frame: object) -> None:
        self.lib.pl_md_release_frame_struct(frame)


@pytest.fixture(scope="module")
def vendor() -> Iterator[Vendor]:
    assert VENDOR is not None
    library = PvcamLibrary.load(VENDOR)
    try:
        library.init()  # the metadata helpers may not need it; harmless if they do not
        initialised = True
    except PvcamError:
        initialised = False
    yield Vendor(str(library.path))
    if initialised:
        library.uninit()


def pixels(rng: np.random.Generator, region: Rgn, dtype: type) -> np.ndarray:
    high = np.iinfo(dtype).max
    return rng.integers(1, high, size=region.shape, endpoint=True).astype(dtype)


def cases() -> dict[str, bytes]:
    rng = np.random.default_rng(5)
    u16, u8 = np.uint16, np.uint8
    one = Rgn(16, 79, 1, 8, 55, 1)
    three = [
        Rgn(0, 63, 2, 0, 31, 2),
        Rgn(128, 191, 2, 40, 103, 2),
        Rgn(64, 95, 2, 120, 151, 2),
    ]
    two = [Rgn(10, 41, 1, 5, 20, 1), Rgn(60, 75, 1, 30, 61, 1)]
    background = Rgn(0, 127, 1, 0, 95, 1)
    particles = [Rgn(20 + 9 * i, 20 + 9 * i, 1, 30 + 5 * i, 30 + 5 * i, 1) for i in range(4)]
    made = {
        "v3 one ROI": build_frame(
            [RoiSpec(one, pixels(rng, one, u16))], frame_nr=7, timestamp_bof=10**9,
            timestamp_eof=2 * 10**9, exposure_time=5 * 10**8,
        ),
        "v2 three binned ROIs": build_frame(
            [RoiSpec(r, pixels(rng, r, u16)) for r in three], version=2, frame_nr=3,
            timestamp_bof=100, timestamp_eof=220, timestamp_res_ns=1000,
            exposure_time=50, exposure_time_res_ns=1000,
        ),
        "v1 two ROIs": build_frame(
            [RoiSpec(r, pixels(rng, r, u16)) for r in two], version=1,
            timestamp_res_ns=1000, exposure_time_res_ns=1000, exposure_time=20,
        ),
        "v3 8-bit": build_frame(
            [RoiSpec(r, pixels(rng, r, u8)) for r in two], image_format=ImageFormat.MONO8
        ),
        "v3 track": build_frame(
            [RoiSpec(background, pixels(rng, background, u16), ext_md={"particle_id": 0, "m0": 0, "m2": 0})]
            + [
                RoiSpec(p, flags=RoiFlag.HEADER_ONLY, ext_md={"particle_id": i, "m0": 900 + i, "m2": 7 << 19})
                for i, p in enumerate(particles)
            ],
        ),
        "v3 invalid ROI": build_frame(
            [RoiSpec(two[0], pixels(rng, two[0], u16)), RoiSpec(two[1], pixels(rng, two[1], u16), flags=RoiFlag.INVALID)]
        ),
        "v3 frame ext MD": build_frame(
            [RoiSpec(one, pixels(rng, one, u16))], ext_md={"m0": 12}
        ),
        # Issue 19: where labkit used to differ from the vendor.
        "v3 INVALID in the middle": build_frame(
            [RoiSpec(two[0], pixels(rng, two[0], u16)),
             RoiSpec(two[1], pixels(rng, two[1], u16), flags=RoiFlag.INVALID),
             RoiSpec(one, pixels(rng, one, u16))]
        ),
        "v2 unaligned binned ROIs": build_frame(
            [RoiSpec(Rgn(1, 8, 2, 3, 10, 2), pixels(rng, Rgn(1, 8, 2, 3, 10, 2), u16)),
             RoiSpec(Rgn(13, 20, 2, 5, 8, 2), pixels(rng, Rgn(13, 20, 2, 5, 8, 2), u16))],
            version=2,
        ),
        "v3 header-only first": build_frame(
            [RoiSpec(Rgn(40, 40, 1, 20, 20, 1), flags=RoiFlag.HEADER_ONLY),
             RoiSpec(three[0], pixels(rng, three[0], u16))]
        ),
        "v3 roiDataSize larger": build_frame(
            [RoiSpec(two[0], payload=pixels(rng, two[0], u16).tobytes() + bytes(6),
                     roi_data_size=two[0].width * two[0].height * 2 + 6),
             RoiSpec(two[1], pixels(rng, two[1], u16))]
        ),
        "v3 unknown ext MD tag": build_frame(
            [RoiSpec(one, pixels(rng, one, u16), ext_md=b"\x09abcd")]
        ),
        "v3 MONO24": build_frame(
            [RoiSpec(r, rng.integers(0, 2**24, r.shape)) for r in two],
            image_format=ImageFormat.MONO24,
        ),
        "v3 RGB48": build_frame(
            [RoiSpec(r, rng.integers(0, 2**16, (*r.shape, 3))) for r in two],
            image_format=ImageFormat.RGB48,
        ),
    }  # fmt: skip
    return made


def vendor_image(
    vendor: Vendor, frame: object, ours: Frame, shape: tuple[int, int], off_x: int, off_y: int
) -> np.ndarray:
    """The vendor's recomposed image in the frame's own pixel bytes, as labkit gives it (24-bit
    samples widened to uint32, RGB as (h, w, 3))."""
    layout = ours.layout
    raw = np.zeros((shape[0], shape[1] * layout.bytes_per_pixel), np.uint8)
    vendor.recompose(frame, raw, off_x, off_y, width=shape[1])
    samples = raw.reshape(-1, layout.wire_bytes)
    wide = np.zeros((len(samples), layout.dtype.itemsize), np.uint8)
    wide[:, : layout.wire_bytes] = samples
    return wide.reshape(-1).view(layout.dtype).reshape(layout.shape(*shape))


SIMULATED = ("simulated two ROIs", "simulated locate", "simulated track", "simulated blob")


@pytest.fixture(scope="module")
def simulated() -> dict[str, bytes]:
    """Real frames of the simulated camera, several ROIs and centroids, as raw bytes."""
    from labkit.drivers.cameras.pvcam import Param
    from labkit.sim import pvcam as pvsim

    try:
        path = pvsim.library_path()
    except Exception:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    made = {}
    with PvcamSession(PvcamLibrary.load(path), pvsim.KINETIX) as session:
        lib, hcam = session.library, session.hcam
        lib.set_param(hcam, Param.METADATA_ENABLED, True)
        rois = [(0, 99, 1, 0, 49, 1), (300, 363, 1, 200, 263, 1)]
        made[SIMULATED[0]] = session.snap(1, rois).data
        lib.set_param(hcam, Param.CENTROIDS_ENABLED, True)
        lib.set_param(hcam, Param.CENTROIDS_COUNT, 6)
        for mode, name in enumerate(SIMULATED[1:]):
            lib.set_param(hcam, Param.CENTROIDS_MODE, mode)
            made[name] = session.snap(1, [(0, 3199, 1, 0, 3199, 1)]).data
    return made


CASES = cases()


@pytest.mark.parametrize("name", [*CASES, *SIMULATED])
def test_decode_and_recompose_agree_with_the_vendor(
    vendor: Vendor, simulated: dict[str, bytes], name: str
) -> None:
    buffer = np.frombuffer(CASES.get(name) or simulated[name], np.uint8).copy()
    ours: Frame = decode_frame(buffer)
    theirs_p = vendor.decode(buffer, ours.roi_count)
    try:
        theirs = theirs_p.contents
        base = buffer.ctypes.data
        assert theirs.header == base
        assert theirs.extMdDataSize == ours.header["ext_md_size"]
        if theirs.extMdDataSize:
            assert theirs.extMdData - base == 48
        assert theirs.roiCount == len(ours.table), "both stop at the first INVALID ROI"
        for index, roi in enumerate(ours.rois):
            their = theirs.roiArray[index]
            assert their.header - base == roi.header_offset, f"ROI {index} header"
            rgn = RgnType.from_address(their.header + 10).to_region()
            assert tuple(rgn) == tuple(roi.region), f"ROI {index} region"
            assert their.extMdDataSize == int(ours.table["ext_md_size"][index])
            if their.extMdDataSize:
                assert their.extMdData - base == roi.header_offset + 32
            if not roi.header_only:
                assert their.data - base == roi.data_offset, f"ROI {index} pixels"
                assert their.dataSize == int(ours.table["data_size"][index])
        implied = ours.implied_roi
        if implied is None:  # nothing decoded (every centroid INVALID): nothing to place
            assert theirs.roiCount == 0
            return
        vendor_implied = theirs.impliedRoi.to_region()
        assert (vendor_implied.s1, vendor_implied.s2, vendor_implied.p1, vendor_implied.p2) == (
            implied.s1,
            implied.s2,
            implied.p1,
            implied.p2,
        )
        if (vendor_implied.sbin, vendor_implied.pbin) != (1, 1):
            assert (vendor_implied.sbin, vendor_implied.pbin) == (implied.sbin, implied.pbin)
        # Old PVCAM leaves the implied binning at 1 (Micro-Manager's note): set it as MM does.
        theirs.impliedRoi.sbin, theirs.impliedRoi.pbin = implied.sbin, implied.pbin

        expected = labkit_recompose(ours, coordinates="implied")
        got = vendor_image(vendor, theirs_p, ours, expected.shape[:2], 0, 0)
        np.testing.assert_array_equal(got, expected)

        sensor = ((implied.p2 + 1) // implied.pbin + 3, (implied.s2 + 1) // implied.sbin + 5)
        expected = labkit_recompose(ours, coordinates="sensor", shape=sensor)
        offset = (implied.s1 // implied.sbin, implied.p1 // implied.pbin)
        got = vendor_image(vendor, theirs_p, ours, sensor, *offset)
        np.testing.assert_array_equal(got, expected)
    finally:
        vendor.release(theirs_p)


def test_the_environment_variable_names_a_file() -> None:
    assert VENDOR is not None
    assert Path(VENDOR).is_file(), f"{ENV}={VENDOR} does not exist"
