"""PvcamSession: snap and stream raw frames through the binding."""

from __future__ import annotations

import struct
import time

import pytest

from labkit.core import ConnectionLost
from labkit.drivers.cameras.pvcam import (
    Param,
    PvcamError,
    PvcamLibrary,
    PvcamSession,
    Rgn,
)
from labkit.sim import pvcam as pvsim

STRIP = Rgn.from_origin(0, 0, 256, 64)


@pytest.fixture
def session(lib: PvcamLibrary):
    with PvcamSession(lib, pvsim.PRIME_BSI) as s:
        yield s
    assert lib.initialized  # the session's own init was released, the fixture's remains


def test_snap(session: PvcamSession) -> None:
    frame = session.snap(5, [STRIP])
    assert frame.number == 1
    assert len(frame.data) == 256 * 64 * 2
    full = session.snap(1)
    assert len(full.data) == 2048 * 2048 * 2


def test_snap_with_metadata(session: PvcamSession) -> None:
    session.library.set_param(session.hcam, Param.METADATA_ENABLED, True)
    frame = session.snap(5, [STRIP])
    assert frame.data[:4] == b"PMQ\0"
    assert struct.unpack_from("<I", frame.data, 5)[0] == 1


def test_stream_every_frame(session: PvcamSession) -> None:
    # A buffer holding every frame: a loaded machine may read late, but nothing is overwritten.
    frames = list(session.stream(2, [STRIP], frames=25, buffer_frames=32))
    assert [f.number for f in frames] == list(range(1, 26))
    assert session.dropped == 0
    assert all(len(f.data) == 256 * 64 * 2 for f in frames)


def test_stream_counts_drops_of_a_slow_consumer(session: PvcamSession) -> None:
    numbers = []
    for frame in session.stream(1, [STRIP], frames=6, buffer_frames=2):
        numbers.append(frame.number)
        time.sleep(0.02)  # 20 frames arrive meanwhile
    assert numbers == sorted(numbers)
    assert session.dropped == numbers[-1] - len(numbers) > 0


def test_stream_stops_when_closed(session: PvcamSession) -> None:
    stream = session.stream(2, [STRIP])
    next(stream)
    stream.close()
    assert session.library.check_cont_status(session.hcam)[0] != 1  # not exposing any more


def test_unplugged_camera(session: PvcamSession) -> None:
    sim = pvsim.controls(session.library.path)
    stream = session.stream(2, [STRIP])
    next(stream)
    sim.inject_fault(session.hcam, pvsim.Fault.CAM_REMOVED)
    with pytest.raises(ConnectionLost, match="disconnected"):
        for _ in stream:
            pass


def test_failed_readout(session: PvcamSession) -> None:
    sim = pvsim.controls(session.library.path)
    sim.inject_fault(session.hcam, pvsim.Fault.READOUT_FAILED)
    with pytest.raises(PvcamError, match="failed readout"):
        session.snap(2, [STRIP])
    stream = session.stream(2, [STRIP], timeout=0.3)
    next(stream)
    sim.inject_fault(session.hcam, pvsim.Fault.READOUT_FAILED)
    with pytest.raises(PvcamError, match="failed readout"):
        for _ in stream:
            pass
