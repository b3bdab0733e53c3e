"""Camera steps: stream frames into the run, or snap one frame at each point of a scan.

Any object following :class:`labkit.core.Camera` works. A stream subscribes its own bounded
:class:`~labkit.core.FrameQueue` and writes frames from a thread of its own, one frame per
Zarr chunk, uncompressed (unless ``compression=`` asks), straight to the store: the camera's
thread never waits for the disk, and
if the disk falls behind the oldest queued frames are dropped and counted (in the run's
events), never the camera. Frame numbers, host and camera time stamps and exposures are
stored as coordinates along the frame dimension.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any, Protocol, runtime_checkable

import numpy as np

from labkit.core import (
    ConfigurationError,
    Frame,
    FrameSource,
    InstrumentTimeout,
    NotConnectedError,
    StreamClosed,
)
from labkit.runs._context import StepContext, seconds
from labkit.runs._plan import PlanBuilder
from labkit.store import Variable
from labkit.store._variables import SPEC_DTYPES

__all__ = ["CameraStream", "FrameStep", "Snap"]


@runtime_checkable
class FrameStep(Protocol):
    """A step that records a camera's frames into a run (live views show it as an image).

    ``continuous``: the frames flow from the camera's own stream while the step runs (a view
    may watch the camera itself); otherwise they are taken one by one and only the recorded
    frames are shown. Plugin steps following this get a camera view in a run's live view.
    """

    camera: Any
    name: str
    continuous: bool


_STOPPED_GRACE = 0.5  # seconds a camera may report "not acquiring" before the stream fails


def _camera_name(camera: Any, name: str | None) -> str:
    text = name or getattr(camera, "name", None) or "camera"
    return re.sub(r"\W+", "_", str(text)).strip("_") or "camera"


def _frame_variables(name: str) -> dict[str, Variable]:
    return {
        "number": Variable(
            f"{name}_frame_number", (), (), "int64", {"long_name": "frame number from the camera"}
        ),
        "hardware_timestamp": Variable(
            f"{name}_frame_hardware_timestamp",
            (),
            (),
            "float64",
            {"long_name": "camera clock at the frame", "units": "s"},
        ),
        # ``frame_`` keeps these apart from the camera's own settings (cam.exposure is
        # recorded as cam_exposure when a scan sweeps it).
        "exposure": Variable(
            f"{name}_frame_exposure",
            (),
            (),
            "float64",
            {"long_name": "exposure time of the frame", "units": "s"},
        ),
    }


def _pixels_variable(
    name: str, camera: Any, frame: Frame, compression: str | None = None
) -> Variable:
    pixels = np.asarray(frame.pixels)
    dtype = pixels.dtype.name
    if dtype not in SPEC_DTYPES or pixels.ndim not in (2, 3):
        raise ConfigurationError(
            f"camera {getattr(camera, 'name', name)!r} delivered {pixels.ndim}-D {dtype} frames; "
            "runs store 2-D (or 2-D × channels) numeric frames",
        )
    dims = (f"{name}_y", f"{name}_x") + ((f"{name}_channel",) if pixels.ndim == 3 else ())
    attrs = {"long_name": f"{getattr(camera, 'name', name)} frames", "units": "counts"}
    return Variable(name, dims, pixels.shape, dtype, attrs, compression=compression)


def _frame_values(name: str, frame: Frame) -> dict[str, Any]:
    return {
        name: np.asarray(frame.pixels),
        "number": frame.number,
        "hardware_timestamp": np.nan
        if frame.hardware_timestamp is None
        else frame.hardware_timestamp,
        "exposure": np.nan if frame.exposure is None else frame.exposure,
    }


def _check_camera(camera: Any) -> None:
    if not isinstance(camera, FrameSource):
        raise ConfigurationError(
            f"{camera!r} does not follow the labkit Camera protocol",
            hint="It needs name, sensor_shape, acquiring, snap, start, stop, subscribe, "
            "unsubscribe",
        )


class CameraStream:
    """Record frames from ``camera`` into the run: ``frames`` of them, for ``duration``, or
    both (whichever comes first).

    The camera is started if it is not acquiring (and stopped again at the end). Frames that
    arrived before the step subscribed are not recorded. ``no_frame_timeout`` fails the run if
    the camera goes silent. Frames are stored as their raw bytes; ``compression`` (``"lz4"``,
    ``"zstd"``, ``"gzip"``) trades CPU for space, frame by frame on the writing thread.
    """

    def __init__(
        self,
        camera: Any,
        *,
        frames: int | None = None,
        duration: Any = None,
        name: str | None = None,
        queue_size: int = 64,
        start: bool = True,
        no_frame_timeout: Any = 10.0,
        compression: str | None = None,
    ) -> None:
        _check_camera(camera)
        if frames is None and duration is None:
            raise ConfigurationError("a camera stream needs frames= or duration=")
        if frames is not None and (not isinstance(frames, int) or frames < 0):
            raise ConfigurationError(f"frames must be a whole number, not {frames!r}")
        self.camera = camera
        self.continuous = True
        self.frames = frames
        self.duration = None if duration is None else seconds(duration, "a stream's duration")
        self.name = _camera_name(camera, name)
        self.queue_size = int(queue_size)
        self.start = start
        self.no_frame_timeout = seconds(no_frame_timeout, "no_frame_timeout")
        self.compression = compression

    def prepare(self, plan: PlanBuilder) -> None:
        fixed = self.frames is not None and self.duration is None
        dim = f"{self.name}_frame"
        with plan.dimension(dim, self.frames if fixed else None, estimate=self.frames):
            plan.reserve(self.name)
            plan.record(self.name, _frame_variables(self.name))

    async def run(self, ctx: StepContext) -> None:
        camera = self.camera
        queue = camera.subscribe(self.queue_size)
        started_here = False
        stop = threading.Event()
        try:
            if self.start and not camera.acquiring:
                await asyncio.to_thread(camera.start)
                started_here = True
            writing = asyncio.ensure_future(asyncio.to_thread(self._consume, ctx, queue, stop))
            try:
                await asyncio.shield(writing)
            except asyncio.CancelledError:
                stop.set()
                await asyncio.wait([writing])  # let the last frame finish writing
                raise
        finally:
            camera.unsubscribe(queue)
            if started_here:
                try:
                    await asyncio.to_thread(camera.stop)
                except Exception as error:
                    ctx.event("camera stop failed", camera=self.name, error=repr(error))
            ctx.event(
                "camera stream",
                camera=self.name,
                delivered=queue.delivered,
                dropped=queue.dropped,
            )

    def _consume(self, ctx: StepContext, queue: Any, stop: threading.Event) -> int:
        """On its own thread: take frames off the queue and write them, until done.

        The stream ending early fails the run: a camera closed mid-run (its queues end), or
        one that stopped acquiring with frames still wanted, is not a completed recording.
        """
        start = time.monotonic()
        deadline = None if self.duration is None else start + self.duration
        last_frame = start
        count = 0
        seen_acquiring = bool(self.camera.acquiring)
        stopped_since: float | None = None
        while not stop.is_set():
            if self.frames is not None and count >= self.frames:
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            wait = 0.1 if deadline is None else max(0.0, min(0.1, deadline - now))
            try:
                frame = queue.get(timeout=wait)
            except TimeoutError:
                if time.monotonic() - last_frame > self.no_frame_timeout:
                    raise InstrumentTimeout(
                        f"no frame for {self.no_frame_timeout:g} s",
                        instrument=getattr(self.camera, "name", self.name),
                        hint="Check the camera's trigger and exposure settings",
                    ) from None
                acquiring = bool(self.camera.acquiring)
                if seen_acquiring and not acquiring and not len(queue) and not stop.is_set():
                    # Give a camera that stopped because it failed the moment it takes to
                    # close the queues with its error: that error says more than this one.
                    now = time.monotonic()
                    stopped_since = stopped_since or now
                    if now - stopped_since >= _STOPPED_GRACE:
                        raise self._ended_early("stopped acquiring", count, start) from None
                else:
                    stopped_since = None
                seen_acquiring = seen_acquiring or acquiring
                continue
            except StreamClosed:
                if stop.is_set():
                    break
                raise self._ended_early("was closed", count, start) from None
            last_frame = time.monotonic()
            if count == 0:
                pixels = _pixels_variable(self.name, self.camera, frame, self.compression)
                ctx.declare(self.name, pixels)
            ctx.at(count).record(_frame_values(self.name, frame), time=frame.timestamp)
            count += 1
        return count

    def _ended_early(self, what: str, count: int, start: float) -> NotConnectedError:
        wanted = []
        if self.frames is not None:
            wanted.append(f"{count} of {self.frames} frames")
        if self.duration is not None:
            wanted.append(f"{time.monotonic() - start:.3g} s of {self.duration:g} s")
        return NotConnectedError(
            f"the camera {what} during the stream, after {' and '.join(wanted)}",
            instrument=getattr(self.camera, "name", self.name),
            hint="The frames recorded so far are in the run; reopen the camera and run again",
        )

    def describe(self) -> dict[str, Any]:
        return {
            "step": "CameraStream",
            "label": f"CameraStream({self.name})",
            "camera": getattr(self.camera, "name", self.name),
            "frames": self.frames,
            "duration": self.duration,
            "queue_size": self.queue_size,
        }


class Snap:
    """Acquire one frame at each point of the surrounding loops (an image per grid point)."""

    def __init__(
        self,
        camera: Any,
        *,
        name: str | None = None,
        timeout: Any = None,
        compression: str | None = None,
    ) -> None:
        _check_camera(camera)
        self.camera = camera
        self.continuous = False
        self.name = _camera_name(camera, name)
        self.timeout = None if timeout is None else seconds(timeout, "Snap's timeout")
        self.compression = compression

    def prepare(self, plan: PlanBuilder) -> None:
        plan.reserve(self.name)
        plan.record(self.name, _frame_variables(self.name))

    async def run(self, ctx: StepContext) -> None:
        frame = await asyncio.to_thread(self.camera.snap, self.timeout)
        ctx.declare(self.name, _pixels_variable(self.name, self.camera, frame, self.compression))
        # A frame is written straight to disk: do it off the loop.
        await asyncio.to_thread(ctx.record, _frame_values(self.name, frame), time=frame.timestamp)

    def describe(self) -> dict[str, Any]:
        return {"step": "Snap", "label": f"Snap({self.name})", "camera": self.name}
