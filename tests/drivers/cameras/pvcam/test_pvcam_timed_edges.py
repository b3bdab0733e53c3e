"""Edges with their times on the simulated camera's trigger input (a bench's trigger cable):
each frame exposes from its edge, whenever the simulator hears of it; an edge that comes while
the camera is still exposing is ignored, as the camera ignores it."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from labkit.core import InstrumentError
from labkit.drivers.cameras.pvcam import (
    CallbackEvent,
    ExposureMode,
    FrameInfo,
    PvcamLibrary,
    Rgn,
)
from labkit.sim import pvcam as pvsim

STRIP = Rgn.from_origin(0, 0, 256, 64)
MS = 1_000_000
TICK = 100_000  # FRAME_INFO timestamps count 100 µs


class Frames:
    def __init__(self, wanted: int) -> None:
        self.infos: list[FrameInfo] = []
        self.wanted = wanted
        self.done = threading.Event()

    def __call__(self, info: FrameInfo) -> None:
        self.infos.append(info)
        if len(self.infos) >= self.wanted:
            self.done.set()


def test_a_batch_of_edges_exposes_each_frame_at_its_edge(
    lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam
) -> None:
    frames = Frames(5)
    lib.register_callback(kinetix, CallbackEvent.EOF, frames)
    frame = lib.setup_cont(kinetix, [STRIP], 1, exp_mode=ExposureMode.EXT_TRIG_EDGE_RISING)
    lib.start_cont(kinetix, lib.new_buffer(frame, 8))
    base = time.monotonic_ns() + 2 * MS
    edges = [base + k * 5 * MS for k in range(5)]
    during_exposure = edges[1] + MS // 2  # the 1 ms exposure of frame 2 is still going
    for at in sorted([*edges, during_exposure]):  # told all at once, as a frozen bench does
        assert sim.hardware_trigger_at(kinetix, at)
    assert frames.done.wait(10)
    lib.stop_cont(kinetix)
    starts = [info.TimeStampBOF for info in frames.infos[:5]]
    assert [b - a for a, b in itertools.pairwise(starts)] == [50] * 4
    assert [info.FrameNr for info in frames.infos[:5]] == [1, 2, 3, 4, 5]
    assert sim.trigger_stats(kinetix) == (6, 5)


def test_timed_edges_need_a_hardware_trigger_mode_and_a_running_acquisition(
    lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam
) -> None:
    with pytest.raises(InstrumentError, match="PL_ERR_STATE_INVALID"):
        sim.hardware_trigger_at(kinetix, time.monotonic_ns())
    frame = lib.setup_cont(kinetix, [STRIP], 1, exp_mode=ExposureMode.EXT_TRIG_SOFTWARE_EDGE)
    lib.start_cont(kinetix, lib.new_buffer(frame, 2))
    try:
        with pytest.raises(InstrumentError, match="PL_ERR_MODE_INVALID"):
            sim.hardware_trigger_at(kinetix, time.monotonic_ns())
    finally:
        lib.stop_cont(kinetix)


def test_edges_before_the_start_are_not_frames(
    lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam
) -> None:
    frames = Frames(1)
    lib.register_callback(kinetix, CallbackEvent.EOF, frames)
    frame = lib.setup_cont(kinetix, [STRIP], 1, exp_mode=ExposureMode.EXT_TRIG_EDGE_RISING)
    before = time.monotonic_ns()
    lib.start_cont(kinetix, lib.new_buffer(frame, 2))
    sim.hardware_trigger_at(kinetix, before - MS)  # an edge from before the camera was armed
    after = time.monotonic_ns() + MS
    sim.hardware_trigger_at(kinetix, after)
    assert frames.done.wait(10)
    lib.stop_cont(kinetix)
    assert sim.trigger_stats(kinetix) == (2, 1)
    assert frames.infos[0].FrameNr == 1
