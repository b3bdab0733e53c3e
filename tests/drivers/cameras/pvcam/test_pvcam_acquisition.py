"""Sequences, circular buffers, callbacks, triggers and faults through the binding."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from labkit.core import InstrumentError
from labkit.drivers.cameras.pvcam import (
    Attr,
    CallbackEvent,
    CircMode,
    ErrorCode,
    ExposureMode,
    FrameInfo,
    ImageStatus,
    Param,
    PvcamError,
    PvcamLibrary,
    Rgn,
    SwTriggerStatus,
)
from labkit.sim import pvcam as pvsim

STRIP = Rgn.from_origin(0, 0, 256, 64)  # 64 rows: a 0.3 ms readout on the Prime BSI


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


class Recorder:
    """Collects FRAME_INFO copies from callbacks, thread-safely."""

    def __init__(self) -> None:
        self.infos: list[FrameInfo] = []
        self.lock = threading.Lock()

    def __call__(self, info: FrameInfo) -> None:
        with self.lock:
            self.infos.append(info)

    @property
    def numbers(self) -> list[int]:
        with self.lock:
            return [i.FrameNr for i in self.infos]


@contextlib.contextmanager
def pvcam_error(code: ErrorCode, detail: str | None = None) -> Iterator[None]:
    """A PvcamError with the vendor's ``code``, whose message names it (and gives ``detail``)."""
    with pytest.raises(PvcamError) as caught:
        yield
    error = caught.value
    assert error.code == code, (error.code, error.pvcam_message)
    assert error.name == code.vendor_name
    assert error.pvcam_message is not None
    assert f"({code.vendor_name})" in error.pvcam_message
    if detail is not None:
        assert detail in error.pvcam_message


# ---- sequences -----------------------------------------------------------------------------------


def test_sequence_of_frames(lib: PvcamLibrary, primebsi: int) -> None:
    eof = Recorder()
    lib.register_callback(primebsi, CallbackEvent.EOF, eof)
    total = lib.setup_seq(primebsi, 5, [STRIP], 4)
    assert total == 5 * 256 * 64 * 2
    assert lib.frame_bytes(primebsi) == 256 * 64 * 2
    assert lib.get_param(primebsi, Param.FRAME_BUFFER_SIZE) == total
    buffer = lib.new_buffer(total, 1)
    lib.start_seq(primebsi, buffer)
    assert lib.check_status(primebsi)[0] in (
        ImageStatus.EXPOSURE_IN_PROGRESS,
        ImageStatus.READOUT_IN_PROGRESS,
    )
    assert wait_for(lambda: lib.check_status(primebsi)[0] == ImageStatus.READOUT_COMPLETE)
    assert lib.check_status(primebsi) == (ImageStatus.READOUT_COMPLETE, total)
    assert wait_for(lambda: len(eof.numbers) == 5)
    assert eof.numbers == [1, 2, 3, 4, 5]
    frames = buffer.view(np.uint16).reshape(5, 64, 256)
    assert (frames > 0).all()
    assert (frames < 2048).all()
    lib.finish_seq(primebsi)
    # The same setup can run again.
    lib.start_seq(primebsi, buffer)
    assert wait_for(lambda: lib.check_status(primebsi)[0] == ImageStatus.READOUT_COMPLETE)


def test_setup_errors(lib: PvcamLibrary, kinetix: int, primebsi: int) -> None:
    buffer = np.zeros(1 << 20, np.uint8)
    with pvcam_error(ErrorCode.ACQUISITION_SETUP_REQUIRED):
        lib.call("pl_exp_start_seq", kinetix, buffer.ctypes.data)
    with pvcam_error(ErrorCode.REGION_INVALID):
        lib.setup_seq(kinetix, 1, [Rgn(0, 3200, 1, 0, 9, 1)], 10)
    with pvcam_error(ErrorCode.BINNING_INVALID):
        lib.setup_seq(kinetix, 1, [Rgn(0, 99, 3, 0, 99, 3)], 10)
    with pvcam_error(ErrorCode.CONFIGURATION_INVALID, "frame metadata"):
        lib.setup_seq(kinetix, 1, [Rgn.from_origin(0, 0, 8, 8), Rgn.from_origin(20, 0, 8, 8)], 10)
    lib.set_param(kinetix, Param.METADATA_ENABLED, True)
    with pvcam_error(ErrorCode.REGION_INVALID):  # overlapping
        lib.setup_seq(kinetix, 1, [Rgn.from_origin(0, 0, 8, 8), Rgn.from_origin(4, 4, 8, 8)], 10)
    with pvcam_error(ErrorCode.BINNING_INVALID):  # ROIs share one binning
        lib.setup_seq(kinetix, 1, [Rgn(0, 7, 1, 0, 7, 1), Rgn(20, 27, 2, 0, 7, 2)], 10)
    with pvcam_error(ErrorCode.REGION_INVALID, "More regions"):
        lib.setup_seq(kinetix, 1, [Rgn.from_origin(10 * i, 0, 8, 8) for i in range(16)], 10)
    with pvcam_error(ErrorCode.EXPOSURE_OUT_OF_RANGE):
        lib.setup_seq(kinetix, 1, [STRIP], 0)
    with pvcam_error(ErrorCode.MODE_INVALID, "exposure mode"):
        lib.setup_seq(primebsi, 1, [STRIP], 10, ExposureMode.EXT_TRIG_LEVEL_OVERLAP)
    with pvcam_error(ErrorCode.MODE_INVALID, "exposure mode"):  # expose-out mode 4 is Kinetix-only
        lib.setup_seq(primebsi, 1, [STRIP], 10, ExposureMode.EXT_TRIG_INTERNAL | 4)
    lib.set_param(kinetix, Param.CENTROIDS_ENABLED, True)
    with pvcam_error(ErrorCode.CONFIGURATION_INVALID, "Centroids need"):
        lib.setup_seq(kinetix, 1, [Rgn.from_origin(0, 0, 8, 8), Rgn.from_origin(20, 0, 8, 8)], 10)
    with pvcam_error(
        ErrorCode.CONFIGURATION_INVALID, "Centroids need"
    ):  # no binning with centroids
        lib.setup_seq(kinetix, 1, [Rgn.from_origin(0, 0, 64, 64, binning=2)], 10)
    with pvcam_error(ErrorCode.TOO_MANY_FRAMES, "4 GiB"):
        lib.set_param(kinetix, Param.CENTROIDS_ENABLED, False)
        lib.setup_seq(kinetix, 300, [Rgn.from_origin(0, 0, 3200, 3200)], 10)


def test_a_parameter_change_invalidates_the_setup(lib: PvcamLibrary, kinetix: int) -> None:
    total = lib.setup_seq(kinetix, 1, [STRIP], 10)
    lib.set_param(kinetix, Param.READOUT_PORT, "Speed")  # the frame size changes
    buffer = lib.new_buffer(total, 1)
    with pvcam_error(ErrorCode.ACQUISITION_SETUP_REQUIRED):
        lib.start_seq(kinetix, buffer)
    assert lib.setup_seq(kinetix, 1, [STRIP], 10) == total // 2  # MONO8 now


# ---- continuous acquisition --------------------------------------------------------------------


def test_continuous_rate_and_callbacks(
    lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam
) -> None:
    eof, bof = Recorder(), Recorder()
    lib.register_callback(primebsi, CallbackEvent.EOF, eof)
    lib.register_callback(primebsi, CallbackEvent.BOF, bof)
    frame = lib.setup_cont(primebsi, [STRIP], 10, circ_mode=CircMode.OVERWRITE)  # 100 fps
    assert lib.get_param(primebsi, Param.FRAME_BUFFER_SIZE, Attr.DEFAULT) == 16 * frame
    buffer = lib.new_buffer(frame, 8)
    start = time.monotonic()
    lib.start_cont(primebsi, buffer)
    time.sleep(1.5)
    with pvcam_error(ErrorCode.STATE_INVALID, "while an acquisition is running"):
        lib.set_param(primebsi, Param.GAIN_INDEX, 2)
    lib.set_param(primebsi, Param.TEMP_SETPOINT, -1500)  # live parameters may change
    latest = lib.get_latest_frame(primebsi)
    lib.stop_cont(primebsi)
    elapsed = time.monotonic() - start
    numbers = eof.numbers
    assert numbers == list(range(1, len(numbers) + 1))  # consecutive, 1-based
    assert len(numbers) <= elapsed * 100 + 2  # never faster than the schedule
    stamps = np.array([i.TimeStamp for i in eof.infos])  # units of 100 µs
    assert np.median(np.diff(stamps)) == pytest.approx(100, abs=1)
    # Every frame is on the 10 ms schedule of the camera's clock, except where the simulator
    # fell behind rendering (a loaded machine) and said so: then the schedule restarts.
    off_schedule = np.count_nonzero(np.abs(np.diff(stamps) - 100) > 1)
    assert off_schedule <= sim.stats(primebsi).late_frames
    assert bof.numbers[: len(numbers)] == numbers
    assert latest.number is not None
    assert 1 <= latest.number <= len(numbers)
    assert np.shares_memory(latest.data, buffer)
    assert latest.data.nbytes == frame
    assert latest.offset == (latest.number - 1) % 8 * frame
    # Nothing arrives after stop returns.
    count = len(eof.numbers)
    time.sleep(0.1)
    assert len(eof.numbers) == count
    status = lib.check_cont_status(primebsi)
    assert status.status in (ImageStatus.FRAME_AVAILABLE, ImageStatus.READOUT_NOT_ACTIVE)
    assert status.passes == count // 8
    assert status.latest == eof.numbers[-1]  # pl_exp_check_cont_status_ex: the newest frame


def test_oldest_frames_in_no_overwrite_mode(lib: PvcamLibrary, primebsi: int) -> None:
    frame = lib.setup_cont(primebsi, [STRIP], 20, circ_mode=CircMode.NO_OVERWRITE)
    buffer = lib.new_buffer(frame, 64)  # 1.3 s of slack: a loaded machine must not overrun it
    lib.start_cont(primebsi, buffer)
    seen: list[int] = []
    errors: list[str | None] = []
    deadline = time.monotonic() + 0.8
    while time.monotonic() < deadline:
        try:
            oldest = lib.get_oldest_frame(primebsi)
        except PvcamError as exc:
            errors.append(exc.name)
            time.sleep(0.0005)
            continue
        seen.append(oldest.number)
        lib.unlock_oldest_frame(primebsi)
    lib.stop_cont(primebsi)
    assert len(seen) > 10
    assert set(errors) <= {"PL_ERR_DATA_NOT_AVAILABLE_YET"}
    assert seen == list(range(1, len(seen) + 1))  # every frame, in order


def test_overrun_in_no_overwrite_mode(lib: PvcamLibrary, primebsi: int) -> None:
    frame = lib.setup_cont(primebsi, [STRIP], 2, circ_mode=CircMode.NO_OVERWRITE)
    lib.start_cont(primebsi, lib.new_buffer(frame, 3))
    assert wait_for(lambda: lib.check_cont_status(primebsi)[2] >= 2)  # two passes, none read
    lib.stop_cont(primebsi)
    with pvcam_error(ErrorCode.BUFFER_OVERRUN):
        lib.get_oldest_frame(primebsi)
    oldest = lib.get_oldest_frame(primebsi)  # resynchronised on the oldest intact frame
    latest = lib.get_latest_frame(primebsi)
    assert oldest.number > 3
    assert latest.number - oldest.number == 2  # all three slots intact once stopped


def test_overwrite_mode_skips_overwritten_frames(lib: PvcamLibrary, primebsi: int) -> None:
    frame = lib.setup_cont(primebsi, [STRIP], 2, circ_mode=CircMode.OVERWRITE)
    lib.start_cont(primebsi, lib.new_buffer(frame, 4))
    assert wait_for(lambda: lib.check_cont_status(primebsi)[2] >= 3)
    lib.stop_cont(primebsi)
    oldest = lib.get_oldest_frame(primebsi)
    latest = lib.get_latest_frame(primebsi)
    assert latest.number - oldest.number == 3  # all four slots are intact once stopped
    lib.unlock_oldest_frame(primebsi)
    assert lib.get_oldest_frame(primebsi).number == oldest.number + 1


def test_start_cont_checks_the_buffer(lib: PvcamLibrary, primebsi: int) -> None:
    frame = lib.setup_cont(primebsi, [STRIP], 2)
    with pvcam_error(ErrorCode.BUFFER_SIZE_INVALID):
        lib.start_cont(primebsi, lib.new_buffer(frame + 1, 1))
    with pytest.raises(TypeError):
        lib.start_cont(primebsi, np.zeros(frame, np.uint16))
    with pvcam_error(ErrorCode.DATA_NOT_AVAILABLE_YET):
        lib.start_cont(primebsi, lib.new_buffer(frame, 2))
        lib.get_latest_frame(primebsi)
    with pvcam_error(ErrorCode.STATE_INVALID, "while an acquisition is running"):
        lib.start_cont(primebsi, lib.new_buffer(frame, 2))
    lib.abort(primebsi)


def test_stop_from_inside_a_callback(lib: PvcamLibrary, primebsi: int) -> None:
    numbers: list[int] = []

    def on_eof(info: FrameInfo) -> None:
        numbers.append(info.FrameNr)
        if info.FrameNr == 5:
            lib.stop_cont(primebsi)

    lib.register_callback(primebsi, CallbackEvent.EOF, on_eof)
    frame = lib.setup_cont(primebsi, [STRIP], 2)
    lib.start_cont(primebsi, lib.new_buffer(frame, 4))
    assert wait_for(lambda: len(numbers) >= 5)
    time.sleep(0.05)
    assert numbers == [1, 2, 3, 4, 5]
    lib.stop_cont(primebsi)
    # A new acquisition reaps the thread that stopped itself.
    lib.start_cont(primebsi, lib.new_buffer(frame, 4))
    assert wait_for(lambda: len(numbers) >= 7)
    lib.deregister_callback(primebsi, CallbackEvent.EOF)
    count = len(numbers)
    time.sleep(0.05)
    assert len(numbers) == count  # no call after deregistration returned
    lib.stop_cont(primebsi)


def test_callback_errors_are_logged_not_raised(
    lib: PvcamLibrary, primebsi: int, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(info: FrameInfo) -> None:
        raise RuntimeError("boom")

    lib.register_callback(primebsi, CallbackEvent.EOF, broken)
    lib.setup_seq(primebsi, 2, [STRIP], 2)
    lib.start_seq(primebsi, lib.new_buffer(lib.frame_bytes(primebsi), 2))
    assert wait_for(lambda: lib.check_status(primebsi)[0] == ImageStatus.READOUT_COMPLETE)
    assert wait_for(lambda: "EOF callback" in caplog.text)
    assert "boom" in caplog.text


# ---- triggers ----------------------------------------------------------------------------------


def test_software_trigger(lib: PvcamLibrary, kinetix: int) -> None:
    eof = Recorder()
    lib.register_callback(kinetix, CallbackEvent.EOF, eof)
    mode = ExposureMode.EXT_TRIG_SOFTWARE_EDGE
    # A 60 s exposure: a trigger sent while it runs is ignored, however loaded the machine.
    frame = lib.setup_cont(kinetix, [STRIP], 60_000, exp_mode=mode)
    assert lib.get_param(kinetix, Param.EXPOSURE_MODE) == mode
    lib.start_cont(kinetix, lib.new_buffer(frame, 4))
    assert lib.trigger(kinetix) == SwTriggerStatus.TRIGGERED
    assert lib.trigger(kinetix) == SwTriggerStatus.IGNORED  # still exposing
    lib.stop_cont(kinetix)
    assert eof.numbers == []
    # Short exposures: each trigger starts one, and the camera waits for the next trigger.
    frame = lib.setup_cont(kinetix, [STRIP], 5, exp_mode=mode)
    lib.start_cont(kinetix, lib.new_buffer(frame, 4))
    assert lib.trigger(kinetix) == SwTriggerStatus.TRIGGERED
    assert wait_for(lambda: eof.numbers == [1])
    # Right after the frame's EOF the camera is armed again: this trigger counts.
    assert lib.trigger(kinetix) == SwTriggerStatus.TRIGGERED
    assert wait_for(lambda: eof.numbers == [1, 2])
    with pytest.raises(InstrumentError, match="PL_ERR_MODE_INVALID"):
        pvsim.controls(lib.path).hardware_trigger(kinetix)
    lib.stop_cont(kinetix)
    with pvcam_error(ErrorCode.STATE_INVALID, "No acquisition"):
        lib.trigger(kinetix)


def test_a_trigger_sent_from_the_eof_callback_starts_the_next_frame(
    lib: PvcamLibrary, kinetix: int
) -> None:
    """The race the simulator had: it re-armed only after the EOF callback returned, so a
    trigger sent from (or just after) the callback was ignored. No timing involved here."""
    statuses: list[SwTriggerStatus] = []
    done = threading.Event()

    def on_eof(info: FrameInfo) -> None:
        if info.FrameNr < 5:
            statuses.append(lib.trigger(kinetix))
        else:
            done.set()

    lib.register_callback(kinetix, CallbackEvent.EOF, on_eof)
    frame = lib.setup_cont(kinetix, [STRIP], 1, exp_mode=ExposureMode.EXT_TRIG_SOFTWARE_EDGE)
    lib.start_cont(kinetix, lib.new_buffer(frame, 4))
    assert lib.trigger(kinetix) == SwTriggerStatus.TRIGGERED
    assert done.wait(10)
    lib.stop_cont(kinetix)
    assert statuses == [SwTriggerStatus.TRIGGERED] * 4


def test_external_trigger(lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam) -> None:
    eof = Recorder()
    lib.register_callback(kinetix, CallbackEvent.EOF, eof)
    frame = lib.setup_cont(kinetix, [STRIP], 1, exp_mode=ExposureMode.EXT_TRIG_EDGE_RISING)
    lib.start_cont(kinetix, lib.new_buffer(frame, 4))
    with pvcam_error(ErrorCode.MODE_INVALID, "software trigger"):
        lib.trigger(kinetix)
    for expected in ([1], [1, 2], [1, 2, 3]):
        assert wait_for(lambda: sim.hardware_trigger(kinetix))
        assert wait_for(lambda expected=expected: eof.numbers == expected)
    lib.stop_cont(kinetix)


# ---- faults ------------------------------------------------------------------------------------


def test_camera_removed_mid_stream(
    lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam
) -> None:
    removed = threading.Event()
    lib.register_callback(primebsi, CallbackEvent.CAM_REMOVED, lambda info: removed.set())
    eof = Recorder()
    lib.register_callback(primebsi, CallbackEvent.EOF, eof)
    frame = lib.setup_cont(primebsi, [STRIP], 2)
    lib.start_cont(primebsi, lib.new_buffer(frame, 4))
    assert wait_for(lambda: len(eof.numbers) >= 3)
    sim.inject_fault(primebsi, pvsim.Fault.CAM_REMOVED)
    assert removed.wait(2.0)
    count = len(eof.numbers)
    time.sleep(0.05)
    assert len(eof.numbers) == count
    with pvcam_error(ErrorCode.DEVICE_REMOVED):
        lib.get_param(primebsi, Param.TEMP)
    with pvcam_error(ErrorCode.DEVICE_REMOVED):
        lib.get_latest_frame(primebsi)
    lib.close_camera(primebsi)  # closing an unplugged camera works; it can be opened again
    hcam = lib.open_camera(pvsim.PRIME_BSI)
    assert lib.get_param(hcam, Param.SER_SIZE) == 2048


def test_camera_removed_and_resumed_while_idle(
    lib: PvcamLibrary, kinetix: int, sim: pvsim.SimulatedPvcam
) -> None:
    events: list[str] = []
    lib.register_callback(kinetix, CallbackEvent.CAM_REMOVED, lambda i: events.append("removed"))
    lib.register_callback(kinetix, CallbackEvent.CAM_RESUMED, lambda i: events.append("resumed"))
    sim.inject_fault(kinetix, pvsim.Fault.CAM_REMOVED)
    with pvcam_error(ErrorCode.DEVICE_REMOVED):
        lib.get_param(kinetix, Param.TEMP)
    sim.inject_fault(kinetix, pvsim.Fault.NONE)
    assert events == ["removed", "resumed"]
    assert lib.get_param(kinetix, Param.SER_SIZE) == 3200


def test_readout_failure(lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam) -> None:
    frame = lib.setup_cont(primebsi, [STRIP], 2)
    lib.start_cont(primebsi, lib.new_buffer(frame, 4))
    assert wait_for(lambda: lib.check_cont_status(primebsi)[0] == ImageStatus.FRAME_AVAILABLE)
    sim.inject_fault(primebsi, pvsim.Fault.READOUT_FAILED)
    assert wait_for(lambda: lib.check_cont_status(primebsi)[0] == ImageStatus.READOUT_FAILED)
    lib.stop_cont(primebsi)
    # A sequence set up with the fault pending fails before its first frame.
    sim.inject_fault(primebsi, pvsim.Fault.READOUT_FAILED)
    total = lib.setup_seq(primebsi, 2, [STRIP], 2)
    lib.start_seq(primebsi, lib.new_buffer(total, 1))
    assert wait_for(lambda: lib.check_status(primebsi)[0] == ImageStatus.READOUT_FAILED)
    assert lib.check_status(primebsi)[1] == 0


def test_slow_frames(lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam) -> None:
    eof = Recorder()
    lib.register_callback(primebsi, CallbackEvent.EOF, eof)
    sim.inject_fault(primebsi, pvsim.Fault.SLOW_FRAMES, 40)
    frame = lib.setup_cont(primebsi, [STRIP], 10)  # 10 ms frames, delayed by 40 ms each
    start = time.monotonic()
    lib.start_cont(primebsi, lib.new_buffer(frame, 4))
    assert wait_for(lambda: len(eof.numbers) >= 5)
    lib.stop_cont(primebsi)
    elapsed = time.monotonic() - start
    stamps = np.array([i.TimeStamp for i in eof.infos])
    assert len(stamps) <= elapsed / 0.05 + 1  # no faster than one frame per 50 ms
    assert np.median(np.diff(stamps)) == pytest.approx(500, abs=5)
