"""The bytes of simulated frames, parsed with ``struct`` straight from the reference offsets.

Independent of labkit's frame decoder on purpose: these tests pin the simulator to the layout of
``pvcam-frames.md`` §1 (48-byte frame header v1/v2/v3, 32-byte ROI headers, tag + value
extended metadata, HEADER_ONLY and INVALID ROIs, centroid modes of §1.11).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from labkit.drivers.cameras.pvcam import (
    CentroidsMode,
    ImageFormat,
    ImageStatus,
    MdExtTag,
    MdFrameFlag,
    MdRoiFlag,
    Param,
    PvcamLibrary,
    Rgn,
)
from labkit.sim import pvcam as pvsim

SIGNATURE = b"PMQ\0"
FRAME_HEADER = 48
ROI_HEADER = 32


@dataclass
class Roi:
    nr: int
    bor: int
    eor: int
    rgn: Rgn
    flags: int
    ext: bytes
    data_size: int
    pixels: bytes | None


@dataclass
class ParsedFrame:
    version: int
    frame_nr: int
    roi_count: int
    bof: int
    eof: int
    exposure: int
    resolutions: tuple[int, int, int] | None  # timestamp, exposure, ROI timestamp (v1/v2)
    bit_depth: int
    color_mask: int
    flags: int
    image_format: int
    compression: int
    raw_tail: bytes
    rois: list[Roi] = field(default_factory=list)


def parse(frame: bytes, bytes_per_pixel: int | None = None) -> ParsedFrame:
    """Walk one metadata frame; every byte must be accounted for."""
    assert frame[:4] == SIGNATURE
    assert struct.unpack_from("<I", frame, 0)[0] == 0x00514D50
    version, frame_nr, roi_count = struct.unpack_from("<BIH", frame, 4)
    if version >= 3:
        bof, eof, exposure = struct.unpack_from("<QQQ", frame, 11)
        resolutions = None
    else:
        bof, eof, ts_res, exposure, exp_res, roi_res = struct.unpack_from("<6I", frame, 11)
        resolutions = (ts_res, exp_res, roi_res)
    bit_depth, color_mask, flags, ext_size = struct.unpack_from("<BBBH", frame, 35)
    image_format, compression = (frame[40], frame[41]) if version >= 2 else (0, 0)
    parsed = ParsedFrame(
        version,
        frame_nr,
        roi_count,
        bof,
        eof,
        exposure,
        resolutions,
        bit_depth,
        color_mask,
        flags,
        image_format,
        compression,
        frame[40:48],
    )
    bpp = bytes_per_pixel or (1 if image_format == ImageFormat.MONO8 else 2)
    offset = FRAME_HEADER + ext_size
    for _ in range(roi_count):
        nr, bor, eor, *rgn, roi_flags, roi_ext, data_size = struct.unpack_from(
            "<HII6HBHI", frame, offset
        )
        region = Rgn(*rgn)
        if version < 2:
            assert frame[offset + 25 : offset + 32] == bytes(7)  # reserved in v1
            data_size = region.width * region.height * bpp
        ext = frame[offset + ROI_HEADER : offset + ROI_HEADER + roi_ext]
        offset += ROI_HEADER + roi_ext
        pixels = None
        if not roi_flags & MdRoiFlag.HEADER_ONLY:  # test the flag before trusting the size
            pixels = frame[offset : offset + data_size]
            offset += data_size
        parsed.rois.append(Roi(nr, bor, eor, region, roi_flags, ext, data_size, pixels))
    assert offset == len(frame), "frame size must equal the sum of its parts"
    return parsed


def ext_items(ext: bytes) -> dict[int, int]:
    """Decode extended metadata: 1-byte tag then a u32 value for the known tags 0–2."""
    items, offset = {}, 0
    while offset < len(ext):
        tag = ext[offset]
        assert tag in (MdExtTag.PARTICLE_ID, MdExtTag.PARTICLE_M0, MdExtTag.PARTICLE_M2)
        items[tag] = struct.unpack_from("<I", ext, offset + 1)[0]
        offset += 5
    return items


def acquire(
    lib: PvcamLibrary, hcam: int, regions: list[Rgn], frames: int = 1, exposure: int = 5
) -> list[bytes]:
    """Run a sequence and return each frame's bytes."""
    total = lib.setup_seq(hcam, frames, regions, exposure)
    buffer = lib.new_buffer(total, 1)
    lib.start_seq(hcam, buffer)
    deadline = time.monotonic() + 5
    while lib.check_status(hcam)[0] != ImageStatus.READOUT_COMPLETE:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    size = total // frames
    return [buffer[i * size : (i + 1) * size].tobytes() for i in range(frames)]


ROI = Rgn.from_origin(10, 20, 100, 50)


def test_header_v3_single_roi(lib: PvcamLibrary, kinetix: int) -> None:
    lib.set_param(kinetix, Param.READOUT_PORT, "Dynamic Range")
    lib.set_param(kinetix, Param.METADATA_ENABLED, True)
    frames = acquire(lib, kinetix, [ROI], frames=3, exposure=5)
    assert len(frames[0]) == FRAME_HEADER + ROI_HEADER + 100 * 50 * 2
    parsed = [parse(f) for f in frames]
    for number, p in enumerate(parsed, start=1):
        assert p.version == 3
        assert p.frame_nr == number
        assert p.roi_count == 1
        assert p.exposure == 5 * 10**9  # picoseconds
        assert 0 <= p.bof < p.eof
        assert (p.bit_depth, p.color_mask, p.image_format, p.compression) == (16, 0, 0, 0)
        assert p.flags == 0  # v3 ROI timestamps have no documented unit
        assert p.raw_tail[2:] == bytes(6)
        (roi,) = p.rois
        assert (roi.nr, roi.rgn, roi.flags, roi.ext) == (1, ROI, 0, b"")
        assert roi.data_size == 100 * 50 * 2
    assert parsed[1].bof > parsed[0].bof
    assert parsed[2].eof > parsed[1].eof
    # Single-ROI fast path: pixels start at byte 80 and are contiguous.
    image = np.frombuffer(frames[0], "<u2", offset=80).reshape(50, 100)
    assert 90 < np.median(image) < 200


@pytest.mark.parametrize("version", [1, 2])
def test_header_v1_v2(lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam, version: int):
    lib.set_param(kinetix, Param.READOUT_PORT, "Speed")  # 8-bit
    lib.set_param(kinetix, Param.METADATA_ENABLED, True)
    sim.set_header_version(kinetix, version)
    (frame,) = acquire(lib, kinetix, [ROI], exposure=7)
    # Version 1 predates image formats: the camera then delivers 16-bit containers.
    bpp = 2 if version == 1 else 1
    assert lib.get_param(kinetix, Param.IMAGE_FORMAT) == (
        ImageFormat.MONO16 if version == 1 else ImageFormat.MONO8
    )
    assert len(frame) == FRAME_HEADER + ROI_HEADER + 100 * 50 * bpp
    p = parse(frame, bytes_per_pixel=2 if version == 1 else None)
    assert p.version == version
    assert p.resolutions == (1000, 10**6, 1000)  # µs timestamps, exposure in ms
    assert p.exposure == 7
    assert p.bit_depth == 8
    assert p.flags & MdFrameFlag.ROI_TS_SUPPORTED
    (roi,) = p.rois
    assert p.bof <= roi.bor < roi.eor <= p.eof
    if version == 1:
        assert p.raw_tail == bytes(8)
    else:
        assert p.image_format == ImageFormat.MONO8
        assert roi.data_size == 100 * 50


def test_several_rois_share_binning(lib: PvcamLibrary, kinetix: int) -> None:
    lib.set_param(kinetix, Param.READOUT_PORT, "Dynamic Range")
    lib.set_param(kinetix, Param.METADATA_ENABLED, True)
    regions = [
        Rgn.from_origin(0, 0, 64, 32, binning=2),
        Rgn.from_origin(1000, 500, 128, 64, binning=2),
        Rgn.from_origin(3000, 3100, 200, 100, binning=2),
    ]
    (frame,) = acquire(lib, kinetix, regions)
    sizes = [r.width * r.height * 2 for r in regions]
    assert len(frame) == FRAME_HEADER + sum(ROI_HEADER + s for s in sizes)
    p = parse(frame)
    assert p.roi_count == 3
    assert [r.nr for r in p.rois] == [1, 2, 3]
    assert [r.rgn for r in p.rois] == regions
    assert [r.data_size for r in p.rois] == sizes
    assert lib.get_param(kinetix, Param.ROI_COUNT) == 3
    assert lib.get_param(kinetix, Param.BINNING_SER) == 2
    # ROIs lower on the sensor are read out later (rolling readout).
    assert p.rois[0].bor < p.rois[1].bor < p.rois[2].bor


def test_frames_without_metadata(lib: PvcamLibrary, kinetix: int) -> None:
    lib.set_param(kinetix, Param.READOUT_PORT, "Speed")
    (frame,) = acquire(lib, kinetix, [ROI])
    assert len(frame) == 100 * 50  # MONO8, no header
    assert frame[:4] != SIGNATURE
    lib.set_param(kinetix, Param.READOUT_PORT, "Sensitivity")
    (frame,) = acquire(lib, kinetix, [Rgn.from_origin(0, 0, 64, 64, binning=4)])
    image = np.frombuffer(frame, "<u2").reshape(16, 16)
    assert image.max() <= 4095


def test_bit_depth_clipping(lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam) -> None:
    sim.set_scene(kinetix, background_e_per_ms=5000.0)  # far above the 12-bit full scale
    (frame,) = acquire(lib, kinetix, [ROI], exposure=10)
    image = np.frombuffer(frame, "<u2")
    assert image.max() == 4095
    assert image.min() == 4095


def _centroid_setup(
    lib: PvcamLibrary, hcam: int, sim: pvsim.SimulatedPvcam, mode: int, count: int, radius: int = 3
) -> None:
    sim.set_scene(hcam, seed=11, spots=40, speed_px_per_s=0.0)
    lib.set_param(hcam, Param.METADATA_ENABLED, True)
    lib.set_param(hcam, Param.CENTROIDS_ENABLED, True)
    lib.set_param(hcam, Param.CENTROIDS_MODE, mode)
    lib.set_param(hcam, Param.CENTROIDS_COUNT, count)
    lib.set_param(hcam, Param.CENTROIDS_RADIUS, radius)


FULL_BSI = Rgn.from_origin(0, 0, 2048, 2048)


def test_locate(lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam) -> None:
    _centroid_setup(lib, primebsi, sim, CentroidsMode.LOCATE, count=5)
    (frame,) = acquire(lib, primebsi, [FULL_BSI])
    assert len(frame) == FRAME_HEADER + 5 * (ROI_HEADER + 7 * 7 * 2)
    p = parse(frame)
    assert p.roi_count == 5
    for roi in p.rois:
        assert roi.flags == 0
        assert roi.ext == b""
        assert (roi.rgn.width, roi.rgn.height) == (7, 7)
        patch = np.frombuffer(roi.pixels, "<u2").reshape(7, 7)
        assert np.unravel_index(patch.argmax(), patch.shape) in {
            (y, x) for y in (2, 3, 4) for x in (2, 3, 4)
        }  # the particle sits in the middle of its patch
    brightest = [np.frombuffer(r.pixels, "<u2").max() for r in p.rois]
    assert brightest[0] == max(brightest)  # brightest particle first


def test_locate_flags_missing_particles_invalid(
    lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam
) -> None:
    _centroid_setup(lib, primebsi, sim, CentroidsMode.LOCATE, count=60, radius=1)
    (frame,) = acquire(lib, primebsi, [FULL_BSI])
    p = parse(frame)
    flags = [r.flags for r in p.rois]
    assert p.roi_count == 60
    assert len(frame) == FRAME_HEADER + 60 * (ROI_HEADER + 9 * 2)
    valid = flags.count(0)
    assert 0 < valid <= 40  # 40 spots, some may have wandered off the sensor
    assert flags[valid:] == [MdRoiFlag.INVALID] * (60 - valid)


def test_track(lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam) -> None:
    _centroid_setup(lib, primebsi, sim, CentroidsMode.TRACK, count=4, radius=2)
    frames = acquire(lib, primebsi, [FULL_BSI], frames=2)
    full = 2048 * 2048 * 2
    assert len(frames[0]) == FRAME_HEADER + (ROI_HEADER + 15 + full) + 4 * (ROI_HEADER + 15)
    ids = []
    for frame in frames:
        p = parse(frame)
        assert p.roi_count == 5
        background, *particles = p.rois
        assert background.rgn == FULL_BSI
        assert background.flags == 0
        assert len(background.pixels) == full
        assert ext_items(background.ext) == {0: 0, 1: 0, 2: 0}  # dummy values
        for roi in particles:
            assert roi.flags == MdRoiFlag.HEADER_ONLY
            assert roi.pixels is None
            assert (roi.rgn.width, roi.rgn.height) == (5, 5)
            assert roi.data_size == 5 * 5 * 2  # nominal size although no pixels follow
            items = ext_items(roi.ext)
            assert set(items) == {MdExtTag.PARTICLE_ID, MdExtTag.PARTICLE_M0, MdExtTag.PARTICLE_M2}
            assert items[MdExtTag.PARTICLE_ID] < 40
            assert items[MdExtTag.PARTICLE_M0] > 0
            assert items[MdExtTag.PARTICLE_M2] == 4 * 2**19  # sigma² = 4 px², Q3.19
        ids.append([ext_items(r.ext)[MdExtTag.PARTICLE_ID] for r in particles])
    assert ids[0] == ids[1]  # still spots keep their identities


def test_blob(lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam) -> None:
    search = Rgn.from_origin(0, 0, 2048, 1024)
    _centroid_setup(lib, primebsi, sim, CentroidsMode.BLOB, count=3)
    (frame,) = acquire(lib, primebsi, [search])
    assert len(frame) == FRAME_HEADER + ROI_HEADER + 2048 * 1024 * 2 + 3 * ROI_HEADER
    p = parse(frame)
    background, *particles = p.rois
    assert background.rgn == search
    assert background.ext == b""
    for roi in particles:
        assert roi.flags & MdRoiFlag.HEADER_ONLY
        assert roi.ext == b""
        assert roi.rgn.s1 == roi.rgn.s2
        assert roi.rgn.p1 == roi.rgn.p2
        if not roi.flags & MdRoiFlag.INVALID:
            assert search.p1 <= roi.rgn.p1 <= search.p2


def test_frames_are_reproducible_from_the_seed(
    lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam
) -> None:
    sim.set_scene(primebsi, seed=5)
    first = acquire(lib, primebsi, [Rgn.from_origin(500, 500, 300, 200)], frames=2)
    again = acquire(lib, primebsi, [Rgn.from_origin(500, 500, 300, 200)], frames=2)
    assert first == again
    assert first[0] != first[1]  # noise differs from frame to frame
    sim.set_scene(primebsi, seed=6)
    other = acquire(lib, primebsi, [Rgn.from_origin(500, 500, 300, 200)], frames=2)
    assert other[0] != first[0]
    assert sim.scene(primebsi).seed == 6


def test_spots_move_between_frames(
    lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam
) -> None:
    _centroid_setup(lib, primebsi, sim, CentroidsMode.LOCATE, count=3)
    sim.set_scene(primebsi, speed_px_per_s=300.0)
    frames = acquire(lib, primebsi, [FULL_BSI], frames=10, exposure=10)
    first, last = parse(frames[0]), parse(frames[-1])
    assert {r.rgn for r in first.rois} != {r.rgn for r in last.rois}


def test_dark_current_follows_the_sensor_temperature(
    lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam
) -> None:
    lib.set_param(kinetix, Param.READOUT_PORT, "Dynamic Range")
    sim.set_scene(kinetix, spots=0, background_e_per_ms=0.0)
    sim.set_thermal(kinetix, ambient_c=25.0, time_constant_s=0.05)
    region = Rgn.from_origin(0, 0, 200, 100)

    def mean_level(setpoint: int) -> float:
        lib.set_param(kinetix, Param.TEMP_SETPOINT, setpoint)
        time.sleep(0.4)  # eight time constants
        (frame,) = acquire(lib, kinetix, [region], exposure=200)
        return float(np.frombuffer(frame, "<u2").mean())

    warm, cold = mean_level(2500), mean_level(-1500)
    # 0.5 e/s at 0 °C doubling every 6.3 °C: ~1.5 e at 25 °C over 200 ms, ~0.01 e at -15 °C,
    # at 0.5 e/ADU.
    assert warm - cold == pytest.approx(3.1, abs=0.4)
