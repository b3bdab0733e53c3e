"""A minimal camera session on the binding: snap one frame, or stream frames as raw bytes.

It exists to exercise the binding end to end the way the camera Instrument will (EOF callbacks
feed a queue, the consumer copies the oldest frame out of a NO_OVERWRITE buffer and releases it)
without any of the Instrument's settings, decoding or bounded queues. Frames are returned as the
raw bytes PVCAM delivered, metadata included when it is enabled.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from labkit.core import ConnectionLost, InstrumentTimeout
from labkit.drivers.cameras.pvcam._api import Frame, PvcamLibrary
from labkit.drivers.cameras.pvcam._errors import ErrorCode, PvcamError
from labkit.drivers.cameras.pvcam._params import (
    CallbackEvent,
    CircMode,
    ImageStatus,
    Param,
)
from labkit.drivers.cameras.pvcam._types import Rgn

__all__ = ["PvcamSession", "RawFrame"]

_REMOVED = -1
_REMOVAL_GRACE = 0.2  # seconds
_OVERRUN_RETRIES = 3


@dataclass(frozen=True)
class RawFrame:
    """One frame as PVCAM delivered it: its 1-based number and its bytes."""

    number: int
    data: bytes


class PvcamSession:
    """One open camera: :meth:`snap` and :meth:`stream`. Use as a context manager."""

    def __init__(self, library: PvcamLibrary, camera: str) -> None:
        self.library = library
        self.camera = camera
        #: Frames lost to a consumer too slow for the camera in the last :meth:`stream`.
        self.dropped = 0
        library.init()
        try:
            self.hcam = library.open_camera(camera)
        except BaseException:
            library.uninit()
            raise
        self._open = True

    def close(self) -> None:
        """Close the camera (stopping any acquisition) and release the library."""
        if not self._open:
            return
        self._open = False
        try:
            self.library.close_camera(self.hcam)
        finally:
            self.library.uninit()

    def __enter__(self) -> PvcamSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def full_sensor(self, binning: int = 1) -> Rgn:
        """The whole sensor as one region."""
        width = self.library.get_param(self.hcam, Param.SER_SIZE)
        height = self.library.get_param(self.hcam, Param.PAR_SIZE)
        return Rgn.from_origin(0, 0, width, height, binning)

    def _timeout(self, exposure: int, timeout: float | None) -> float:
        if timeout is not None:
            return timeout
        resolution = self.library.get_param(self.hcam, Param.EXP_RES)
        unit = {0: 1e-3, 1: 1e-6, 2: 1.0}.get(resolution, 1e-3)
        readout = self.library.get_param(self.hcam, Param.READOUT_TIME) * 1e-6
        return 2.0 + 2 * (exposure * unit + readout)

    def snap(
        self,
        exposure: int,
        regions: Iterable[Rgn | Sequence[int]] | None = None,
        *,
        timeout: float | None = None,
    ) -> RawFrame:
        """Acquire one frame as a one-frame sequence (``exposure`` in the camera's EXP_RES)."""
        lib, hcam = self.library, self.hcam
        total = lib.setup_seq(hcam, 1, list(regions or [self.full_sensor()]), exposure)
        buffer = lib.new_buffer(total, 1)
        deadline = time.monotonic() + self._timeout(exposure, timeout)
        lib.start_seq(hcam, buffer)
        try:
            while True:
                status, _ = lib.check_status(hcam)
                if status == ImageStatus.READOUT_COMPLETE:
                    return RawFrame(1, buffer.tobytes())
                if status == ImageStatus.READOUT_FAILED:
                    raise PvcamError("the camera reported a failed readout", function="snap")
                if time.monotonic() > deadline:
                    raise InstrumentTimeout(f"no frame from {self.camera} in time")
                time.sleep(0.001)
        finally:
            lib.finish_seq(hcam)

    def _oldest_frame(self, removed: threading.Event) -> Frame:
        """The oldest unread frame, through overruns; an unplugged camera is ConnectionLost."""
        for _ in range(_OVERRUN_RETRIES):
            try:
                return self.library.get_oldest_frame(self.hcam)
            except PvcamError as exc:
                if exc.has_code(ErrorCode.BUFFER_OVERRUN):
                    continue  # PVCAM resynchronised on the oldest intact frame: ask again
                # A call can fail before PVCAM's CAM_REMOVED callback reaches Python: give
                # the callback a moment to say whether the camera was unplugged.
                if removed.wait(_REMOVAL_GRACE):
                    raise ConnectionLost(
                        f"{self.camera} was disconnected during acquisition"
                    ) from exc
                raise
        return self.library.get_oldest_frame(self.hcam)

    def stream(
        self,
        exposure: int,
        regions: Iterable[Rgn | Sequence[int]] | None = None,
        *,
        frames: int | None = None,
        buffer_frames: int = 16,
        timeout: float | None = None,
    ) -> Iterator[RawFrame]:
        """Acquire continuously and yield every frame the consumer keeps up with.

        Stops after ``frames`` frames, or when the generator is closed. Frames overwritten
        before they were read are skipped and counted in :attr:`dropped`. An unplugged camera
        raises :class:`~labkit.core.ConnectionLost`, a failed readout :class:`PvcamError`.
        """
        lib, hcam = self.library, self.hcam
        arrivals: queue.SimpleQueue[int] = queue.SimpleQueue()
        frame_bytes = lib.setup_cont(
            hcam,
            list(regions or [self.full_sensor()]),
            exposure,
            circ_mode=CircMode.NO_OVERWRITE,
        )
        wait = self._timeout(exposure, timeout)
        buffer = lib.new_buffer(frame_bytes, buffer_frames)
        removed = threading.Event()

        def on_removed(info: object) -> None:
            removed.set()
            arrivals.put(_REMOVED)

        lib.register_callback(hcam, CallbackEvent.EOF, lambda info: arrivals.put(info.FrameNr))
        lib.register_callback(hcam, CallbackEvent.CAM_REMOVED, on_removed)
        self.dropped = 0
        delivered, last = 0, 0
        lib.start_cont(hcam, buffer)
        try:
            while frames is None or delivered < frames:
                try:
                    signal = arrivals.get(timeout=wait)
                except queue.Empty:
                    if lib.check_cont_status(hcam).status == ImageStatus.READOUT_FAILED:
                        raise PvcamError(
                            "the camera reported a failed readout", function="stream"
                        ) from None
                    raise InstrumentTimeout(f"no frame from {self.camera} in time") from None
                if signal == _REMOVED:
                    raise ConnectionLost(f"{self.camera} was disconnected during acquisition")
                if signal <= last:
                    continue  # that frame was already taken, or dropped in an overrun
                oldest = self._oldest_frame(removed)
                number = oldest.number if oldest.number is not None else last + 1
                data = oldest.data.tobytes()  # copy out, then hand the slot back
                lib.unlock_oldest_frame(hcam)
                self.dropped += max(0, number - last - 1)
                last = number
                delivered += 1
                yield RawFrame(number, data)
        finally:
            for stop in (
                lambda: lib.stop_cont(hcam),
                lambda: lib.deregister_callback(hcam, CallbackEvent.EOF),
                lambda: lib.deregister_callback(hcam, CallbackEvent.CAM_REMOVED),
            ):
                try:
                    stop()
                except PvcamError:
                    pass  # an unplugged camera refuses; closing it still works
