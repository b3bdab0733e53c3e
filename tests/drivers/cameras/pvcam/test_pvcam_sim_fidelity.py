"""The simulated camera produces what real cameras produce where decoding depends on it.

- Host frame summing (``PARAM_HOST_FRAME_SUMMING_*``, PVCAM 3.10 header): each frame is the sum
  of N sensor frames, delivered in the summing format's container (MONO16/24/32, reference
  §2.3), so 24-bit summing gives MONO24 frames;
- LOCATE centroids: a particle that cannot be located (its patch would cross the search
  region's edge) gives an INVALID ROI in its own slot, which may come before valid ones; the
  vendor's decoder, and labkit's, end the frame there.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import numpy as np
import pytest

from labkit.drivers.cameras.pvcam import (
    ErrorCode,
    FrameSummingFormat,
    ImageFormat,
    ImageStatus,
    Param,
    PvcamError,
    PvcamLibrary,
    PvcamSession,
    Rgn,
)
from labkit.native import RoiFlag, decode_frame
from labkit.sim import pvcam as pvsim

STRIP = Rgn(0, 255, 1, 0, 63, 1)


@pytest.fixture
def session(lib: PvcamLibrary) -> Iterator[PvcamSession]:
    with PvcamSession(lib, pvsim.PRIME_BSI) as opened:
        lib.set_param(opened.hcam, Param.METADATA_ENABLED, True)
        yield opened


def summing(session: PvcamSession, count: int, fmt: FrameSummingFormat) -> None:
    lib, hcam = session.library, session.hcam
    lib.set_param(hcam, Param.HOST_FRAME_SUMMING_ENABLED, True)
    lib.set_param(hcam, Param.HOST_FRAME_SUMMING_COUNT, count)
    lib.set_param(hcam, Param.HOST_FRAME_SUMMING_FORMAT, fmt)


def sequence(session: PvcamSession, frames: int, exposure: int) -> list[bytes]:
    """``frames`` frames of one sequence, as raw bytes."""
    lib, hcam = session.library, session.hcam
    total = lib.setup_seq(hcam, frames, [STRIP], exposure)
    buffer = lib.new_buffer(total, 1)
    lib.start_seq(hcam, buffer)
    try:
        while lib.check_status(hcam)[0] != ImageStatus.READOUT_COMPLETE:
            time.sleep(0.005)  # polling the status, as PVCAM's sequence examples do
    finally:
        lib.finish_seq(hcam)
    step = total // frames
    return [buffer[i * step : (i + 1) * step].tobytes() for i in range(frames)]


def test_24_bit_summing_delivers_mono24_sums_of_the_sensor_frames(session: PvcamSession) -> None:
    singles = [decode_frame(f) for f in sequence(session, 6, 5)]
    summing(session, 6, FrameSummingFormat.BIT_24)
    lib, hcam = session.library, session.hcam
    assert lib.get_param(hcam, Param.IMAGE_FORMAT) == ImageFormat.MONO16  # the sensor's
    assert lib.get_param(hcam, Param.IMAGE_FORMAT_HOST) == ImageFormat.MONO24
    assert lib.get_param(hcam, Param.BIT_DEPTH_HOST) == 24
    summed = decode_frame(session.snap(5, [STRIP]).data)
    assert summed.image_format == ImageFormat.MONO24
    assert summed.bit_depth == 24
    assert summed.pixels.dtype == np.uint32
    # The sum of the same six sensor frames, pixel for pixel.
    expected = np.sum([f.pixels.astype(np.uint32) for f in singles], axis=0)
    np.testing.assert_array_equal(summed.pixels, expected)
    assert summed.exposure_time_ps == 6 * singles[0].exposure_time_ps  # six exposures


def test_summed_frames_clip_at_their_container(session: PvcamSession) -> None:
    lib, hcam = session.library, session.hcam
    single = decode_frame(session.snap(1, [STRIP]).data)
    count = 700  # of 1 ms frames: the bias alone (about 100 ADU) sums past 16 bits
    summing(session, count, FrameSummingFormat.BIT_16)
    assert lib.get_param(hcam, Param.IMAGE_FORMAT_HOST) == ImageFormat.MONO16
    clipped = decode_frame(session.snap(1, [STRIP]).data)
    assert clipped.pixels.dtype == np.uint16
    assert int(single.pixels.min()) * count > 0xFFFF  # no sum fits 16 bits...
    assert (clipped.pixels == 0xFFFF).all()  # ...so every pixel saturates
    lib.set_param(hcam, Param.HOST_FRAME_SUMMING_FORMAT, FrameSummingFormat.BIT_32)
    wide = decode_frame(session.snap(1, [STRIP]).data)
    assert wide.image_format == ImageFormat.MONO32
    assert wide.bit_depth == 32
    assert int(wide.pixels.min()) > 0xFFFF


def test_summing_refuses_centroids(lib: PvcamLibrary) -> None:
    with PvcamSession(lib, pvsim.KINETIX) as session:
        hcam = session.hcam
        lib.set_param(hcam, Param.METADATA_ENABLED, True)
        lib.set_param(hcam, Param.CENTROIDS_ENABLED, True)
        lib.set_param(hcam, Param.HOST_FRAME_SUMMING_ENABLED, True)
        with pytest.raises(PvcamError) as caught:
            session.snap(1, [Rgn(0, 999, 1, 0, 999, 1)])
        assert caught.value.code == ErrorCode.CONFIGURATION_INVALID
        assert "summing" in caught.value.pvcam_message


def roi_flags(data: bytes) -> list[int]:
    """The flags of every ROI header as written, INVALID ones included (a raw walk)."""
    count, p, flags = struct.unpack_from("<H", data, 9)[0], 48, []
    for _ in range(count):
        flags.append(data[p + 22])
        ext, size = (
            struct.unpack_from("<H", data, p + 23)[0],
            struct.unpack_from("<I", data, p + 25)[0],
        )
        p += 32 + ext + size
    return flags


def test_locate_flags_an_edge_particle_invalid_in_its_own_slot(lib: PvcamLibrary) -> None:
    with PvcamSession(lib, pvsim.KINETIX) as session:
        hcam = session.hcam
        for param, value in [(Param.METADATA_ENABLED, True), (Param.CENTROIDS_ENABLED, True),
                             (Param.CENTROIDS_COUNT, 6), (Param.CENTROIDS_RADIUS, 15)]:  # fmt: skip
            lib.set_param(hcam, param, value)
        whole = decode_frame(session.snap(1, [Rgn(0, 3199, 1, 0, 3199, 1)]).data)
        assert len(whole.rois) == 6  # every particle located: no INVALID
        brightest = whole.rois[0].region
        cx = brightest.s1 + 15
        # The same first frame, searched from just left of the brightest particle: its patch
        # would cross the edge, so slot 1 is INVALID while the dimmer ones are located.
        search = Rgn(cx - 3, 3199, 1, 0, 3199, 1)
        data = session.snap(1, [search]).data
        flags = roi_flags(data)
        assert flags[0] == RoiFlag.INVALID
        assert RoiFlag.INVALID not in [f & RoiFlag.INVALID for f in flags[1:3]]
        frame = decode_frame(data)
        assert frame.roi_count == 6
        assert frame.rois == ()  # the vendor's decoder ends the frame at the first INVALID ROI
