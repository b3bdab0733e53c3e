"""Camera steps: stream frames into the run, or snap one frame at each point of a scan.

Any object following :class:`labkit.core.Camera` works. A stream subscribes its own bounded
:class:`~labkit.core.FrameQueue`; its thread takes frames off it and hands them to a writer
thread (:mod:`._frame_writer`) that stores them one frame per Zarr chunk, uncompressed (unless
``compression=`` asks), straight from the frame's pixels. Neither the camera's thread nor the
stream's ever waits for the disk. Every frame number the camera produced is either stored or
listed as lost with the stage that lost it — in the driver, in the queue, at the disk (see
:mod:`._ledger`) — in the run's attributes (``attrs["frames"][name]``), its ``camera stream``
event and the step's ``ledger`` (for live views). Frame numbers, host and camera time stamps
and exposures are stored as coordinates along the frame dimension.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import threading
import time
from typing import Any, Protocol, runtime_checkable

import numpy as np

from labkit.core import (
    ConfigurationError,
    Frame,
    FrameSource,
    InstrumentError,
    InstrumentTimeout,
    NotConnectedError,
    StreamClosed,
)
from labkit.runs._context import StepContext, seconds, whole_count
from labkit.runs._frame_writer import FrameWriter, backlog_slots
from labkit.runs._ledger import FrameLedger
from labkit.runs._plan import PlanBuilder
from labkit.store import Variable, shard_items
from labkit.store._variables import SPEC_DTYPES

__all__ = ["CameraStream", "FrameStep", "Snap"]

_NOTE_INTERVAL = 0.5
"""Seconds between updates of the run's frame accounting while a stream runs."""


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

clock = time.monotonic
"""The stream's clock for its duration and its no-frame timeout (tests replace it)."""


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


def _image_variable(
    name: str,
    camera: Any,
    image: Any,
    dims: tuple[str, str],
    what: str,
    compression: str | None,
    rate: float | None,
) -> Variable:
    pixels = np.asarray(image)
    dtype = pixels.dtype.name
    if dtype not in SPEC_DTYPES or pixels.ndim not in (2, 3):
        raise ConfigurationError(
            f"camera {getattr(camera, 'name', name)!r} delivered {pixels.ndim}-D {dtype} {what}; "
            "runs store 2-D (or 2-D × channels) numeric frames",
        )
    all_dims = dims + ((f"{name}_channel",) if pixels.ndim == 3 else ())
    attrs = {"long_name": f"{getattr(camera, 'name', name)} {what}", "units": "counts"}
    if not np.issubdtype(pixels.dtype, np.integer):
        del attrs["units"]  # a 3D camera's coordinates: the camera's own scale, not counts
    # A stream's small frames share shard files (``rate`` frames/s sizes them); a snapped
    # frame (``rate`` None) or a large one is a chunk file of its own.
    shards = None if rate is None else shard_items(pixels.nbytes, rate)
    return Variable(
        name, all_dims, pixels.shape, dtype, attrs, compression=compression, shard_items=shards
    )


def _frame_images(
    name: str,
    camera: Any,
    frame: Frame,
    compression: str | None = None,
    rate: float | None = None,
) -> dict[str, Variable]:
    """The variables of a frame's images: ``name`` for ``pixels`` (the first part), and
    ``name_<part>`` for every other part of a multi-part frame, each with its dtype and shape
    (parts of the first part's size share its ``_y``/``_x`` dimensions)."""
    first = np.asarray(frame.pixels)
    dims = (f"{name}_y", f"{name}_x")
    parts = list(frame.parts.items())
    first_part = parts[0][0] if parts else None
    what = f"frames ({first_part} part)" if first_part else "frames"
    variables = {name: _image_variable(name, camera, first, dims, what, compression, rate)}
    for part, image in parts[1:]:
        variable = f"{name}_{part}"
        shape = np.shape(image)[:2]
        part_dims = dims if shape == first.shape[:2] else (f"{variable}_y", f"{variable}_x")
        found = _image_variable(
            variable, camera, image, part_dims, f"frames ({part} part)", compression, rate
        )
        variables[variable] = dataclasses.replace(found, attrs={**found.attrs, "frame_part": part})
    if first_part:
        variables[name] = dataclasses.replace(
            variables[name], attrs={**variables[name].attrs, "frame_part": first_part}
        )
    return variables


def _frame_values(name: str, frame: Frame, images: dict[str, Variable]) -> dict[str, Any]:
    values: dict[str, Any] = {name: np.asarray(frame.pixels)}
    parts = list(frame.parts)
    for key in images:
        if key == name:
            continue
        part = key[len(name) + 1 :]
        if part not in frame.parts:
            raise ConfigurationError(
                f"a frame of {name!r} has no part {part!r} (its parts: {', '.join(parts)}); "
                "the camera changed its payload during the run",
                hint="Change the camera's components before the run, not during it",
            )
        values[key] = np.asarray(frame.parts[part])
    values.update(
        number=frame.number,
        hardware_timestamp=np.nan if frame.hardware_timestamp is None else frame.hardware_timestamp,
        exposure=np.nan if frame.exposure is None else frame.exposure,
    )
    return values


def _declare_images(
    ctx: StepContext,
    name: str,
    camera: Any,
    frame: Frame,
    compression: str | None,
    rate: float | None = None,
) -> dict[str, Variable]:
    images = _frame_images(name, camera, frame, compression, rate)
    for key, variable in images.items():
        ctx.declare(key, variable)
    return images


def _check_camera(camera: Any) -> None:
    if not isinstance(camera, FrameSource):
        raise ConfigurationError(
            f"{camera!r} does not follow the labkit Camera protocol",
            hint="It needs name, sensor_shape, acquiring, snap, start, stop, subscribe, "
            "unsubscribe",
        )


def _newest(queue: Any) -> int | None:
    """The number of the newest frame in ``queue`` (None if empty, or if it cannot say)."""
    newest = getattr(queue, "newest", None)
    return newest() if callable(newest) else None


def _queued_up_to(queue: Any, after: int, end: int) -> Frame | None:
    """The next queued frame numbered ``after < number <= end`` (None once there is none:
    the queue is empty or ended, or its next frame is beyond ``end`` or a new numbering)."""
    try:
        frame = queue.get_nowait()
    except StreamClosed:
        return None
    if frame is None or not after < int(frame.number) <= end:
        return None
    return frame


def _abandon(queue: Any, ledger: FrameLedger, newest: int) -> None:
    """The run was aborted: the frames still queued (up to the newest now) are lost in the
    queue."""
    end = _newest(queue)
    while end is not None:
        frame = _queued_up_to(queue, newest, end)
        if frame is None:
            return
        newest = int(frame.number)
        ledger.took(newest)
        ledger.lost_in_queue(newest)


class CameraStream:
    """Record frames from ``camera`` into the run: ``frames`` of them, for ``duration``, or
    both (whichever comes first).

    The camera is started if it is not acquiring (and stopped again at the end). Frames that
    arrived before the step subscribed are not recorded. ``no_frame_timeout`` fails the run if
    the camera goes silent. Frames are stored as their raw bytes; ``compression`` (``"lz4"``,
    ``"zstd"``, ``"gzip"``) trades CPU for space, frame by frame on the writing thread.
    ``backlog`` is how many frames may wait for the disk (by default half a second of frames
    at the camera's rate, within 512 MiB); beyond it frames are lost at the disk, and counted.
    The queue (``queue_size`` frames) and the backlog share one budget: the queue grows into
    the backlog's free slots, so a stream thread that is late loses nothing while the disk
    keeps up and the frames fit.
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
        backlog: int | None = None,
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
        self.backlog = None if backlog is None else whole_count(backlog, "backlog")
        if self.backlog == 0:
            raise ConfigurationError(
                "a camera stream's backlog holds at least one frame", hint="Give e.g. 8"
            )
        self.ledger: FrameLedger | None = None

    def prepare(self, plan: PlanBuilder) -> None:
        fixed = self.frames is not None and self.duration is None
        dim = f"{self.name}_frame"
        with plan.dimension(dim, self.frames if fixed else None, estimate=self.frames):
            plan.reserve(self.name)
            plan.record(self.name, _frame_variables(self.name))

    async def run(self, ctx: StepContext) -> None:
        camera = self.camera
        queue = camera.subscribe(self.queue_size)
        track = getattr(queue, "track_dropped", None)
        if callable(track):
            track()  # the queue keeps the numbers it drops: the ledger says which were lost
        fresh = self.start and not camera.acquiring  # then the camera numbers from 1
        ledger = self.ledger = FrameLedger(queue, first=1 if fresh else None)
        started_here = False
        stop = threading.Event()
        try:
            if fresh:
                await asyncio.to_thread(camera.start)
                started_here = True
            writing = asyncio.ensure_future(
                asyncio.to_thread(self._consume, ctx, queue, stop, ledger)
            )
            try:
                await asyncio.shield(writing)
            except asyncio.CancelledError:
                stop.set()
                await asyncio.wait([writing])  # let the frames taken finish writing
                raise
        finally:
            camera.unsubscribe(queue)
            if started_here:
                try:
                    await asyncio.to_thread(camera.stop)
                except Exception as error:
                    ctx.event("camera stop failed", camera=self.name, error=repr(error))
            accounting = ledger.as_attrs()
            ctx.annotate("frames", self.name, accounting)
            ctx.event(
                "camera stream",
                camera=self.name,
                delivered=queue.delivered,
                dropped=queue.dropped,
                stored=accounting["stored"],
                lost=accounting["lost"],
                lost_in=accounting["lost_in"],
                summary=ledger.summary(),
            )

    def _consume(
        self, ctx: StepContext, queue: Any, stop: threading.Event, ledger: FrameLedger
    ) -> int:
        """On its own thread: take frames off the queue and hand them to the writer thread,
        until done; returns how many were accepted for storing.

        When the stream's time is up, the frames the camera delivered before (those in the
        queue, up to its newest) are still taken and stored: they belong to the recording.
        An abort leaves the queued frames, listed as lost in the queue.

        The stream ending early fails the run: a camera closed mid-run (its queues end), or
        one that stopped acquiring with frames still wanted, is not a completed recording.
        """
        start = clock()
        deadline = None if self.duration is None else start + self.duration
        last_frame = last_note = start
        writer: FrameWriter | None = None
        count = 0
        images: dict[str, Variable] | None = None
        seen_acquiring = bool(self.camera.acquiring)
        stopped_since: float | None = None
        end: int | None = None  # once the time is up: the newest frame the stream covers
        newest = 0  # the number of the newest frame taken
        try:
            while not stop.is_set():
                if self.frames is not None and count >= self.frames:
                    break
                now = clock()
                if end is None and deadline is not None and now >= deadline:
                    end = _newest(queue)
                    if end is None:
                        break
                if end is not None:  # the time is up: the frames queued before it
                    frame = _queued_up_to(queue, newest, end)
                    if frame is None:
                        break
                else:
                    wait = 0.1 if deadline is None else max(0.0, min(0.1, deadline - now))
                    try:
                        frame = queue.get(timeout=wait)
                    except TimeoutError:
                        if clock() - last_frame > self.no_frame_timeout:
                            raise InstrumentTimeout(
                                f"no frame for {self.no_frame_timeout:g} s",
                                instrument=getattr(self.camera, "name", self.name),
                                hint="Check the camera's trigger and exposure settings",
                            ) from None
                        acquiring = bool(self.camera.acquiring)
                        # A camera pausing itself (a region change) says so with an empty
                        # stopped_by.
                        paused = getattr(self.camera, "stopped_by", None) == ""
                        if (
                            seen_acquiring
                            and not acquiring
                            and not paused
                            and not len(queue)
                            and not stop.is_set()
                        ):
                            # Give a camera that stopped because it failed the moment it takes
                            # to close the queues with its error: that error says more.
                            now = clock()
                            stopped_since = stopped_since or now
                            if now - stopped_since >= _STOPPED_GRACE:
                                raise self._stopped(count, start) from None
                        else:
                            stopped_since = None
                        seen_acquiring = seen_acquiring or acquiring
                        continue
                    except StreamClosed:
                        if stop.is_set():
                            break
                        raise self._ended_early("was closed", count, start) from None
                last_frame = clock()
                ledger.took(frame.number)
                newest = int(frame.number)
                if writer is None:
                    images = _declare_images(
                        ctx, self.name, self.camera, frame, self.compression, self._rate()
                    )
                    writer = self._writer(ctx, frame, images, ledger, queue)
                if self._offer(ctx, writer, frame, count, ledger, stop):
                    count += 1
                else:  # stopped while the disk was behind: the frame in hand is not stored
                    ledger.lost_at_disk(frame.number)
                if last_frame - last_note >= _NOTE_INTERVAL:
                    last_note = last_frame
                    ctx.annotate("frames", self.name, ledger.as_attrs())
        finally:
            if stop.is_set():
                _abandon(queue, ledger, newest)
            ledger.finish(end)
            if writer is not None:
                try:
                    writer.close()
                finally:
                    for frame in writer.unwritten:
                        ledger.lost_at_disk(frame.number)
        return count

    def _offer(
        self,
        ctx: StepContext,
        writer: FrameWriter,
        frame: Frame,
        index: int,
        ledger: FrameLedger,
        stop: threading.Event,
    ) -> bool:
        """Hand ``frame`` to the writer; while every slot waits for the disk, wait (the
        camera's queue holds what arrives; what it drops meanwhile is lost at the disk)."""
        if writer.offer(frame, index):
            return True
        with ledger.waiting_for_disk() as note:
            last_note = time.monotonic()
            while not stop.is_set():
                writer.wait_for_slot(0.1)
                if writer.offer(frame, index):
                    return True
                if time.monotonic() - last_note >= _NOTE_INTERVAL:
                    last_note = time.monotonic()
                    note()
                    ctx.annotate("frames", self.name, ledger.as_attrs())
        return False

    def _writer(
        self,
        ctx: StepContext,
        first: Frame,
        images: dict[str, Variable],
        ledger: FrameLedger,
        queue: Any,
    ) -> FrameWriter:
        """The thread that writes the frames, its backlog sized from the first frame.

        The queue and the backlog share one budget of ``queue_size + backlog`` frames: the
        queue holds what the backlog does not (never fewer than ``queue_size``), so a stream
        thread that is late (a loaded machine) has the whole budget to catch up in while the
        disk keeps up, as a single writer thread on a queue that deep would."""
        rate = self._rate()
        frame_bytes = (
            sum(np.asarray(p).nbytes for p in first.parts.values())
            or np.asarray(first.pixels).nbytes
        )
        slots = self.backlog or backlog_slots(frame_bytes, rate)
        name = self.name

        def store(frame: Frame, index: int) -> None:
            ctx.at(index).record(_frame_values(name, frame, images), time=frame.timestamp)
            ledger.stored(frame.number)

        resize = getattr(queue, "resize", None)
        if not callable(resize):  # a queue of fixed size: the backlog is all there is
            return FrameWriter(store, slots, name)
        budget, least = self.queue_size + slots, self.queue_size

        def share(waiting: int) -> None:
            resize(max(least, budget - waiting))

        resize(budget)
        return FrameWriter(store, slots, name, share)

    def _rate(self) -> float:
        """The camera's frame rate (0 where it does not say)."""
        try:
            rate = float(getattr(self.camera, "frame_rate", 0.0) or 0.0)
        except Exception:  # a camera that cannot tell now: sized as if unknown
            return 0.0
        return rate if rate > 0 and math.isfinite(rate) else 0.0

    def _recorded(self, count: int, start: float) -> str:
        if self.frames is not None:
            return f"after {count} of {self.frames} frames were recorded"
        elapsed = f"{time.monotonic() - start:.3g} s"
        if self.duration is not None:
            elapsed += f" of {self.duration:g} s"
        return f"after {count} frames were recorded in {elapsed}"

    def _ended_early(self, what: str, count: int, start: float) -> NotConnectedError:
        return NotConnectedError(
            f"the camera {what} during the stream, {self._recorded(count, start)}",
            instrument=getattr(self.camera, "name", self.name),
            hint="The frames recorded so far are in the run; reopen the camera and run again",
        )

    def _stopped(self, count: int, start: float) -> InstrumentError:
        """The camera stopped acquiring while the stream recorded: say who stopped it.

        A labkit camera keeps where ``stop()`` was called from (``stopped_by``); a camera whose
        stream failed closes the queue with its error instead, which ``get`` raises first.
        """
        who = getattr(self.camera, "stopped_by", None)
        return InstrumentError(
            f"the camera stopped acquiring during the stream{f' ({who})' if who else ''}, "
            f"{self._recorded(count, start)}",
            instrument=getattr(self.camera, "name", self.name),
            hint="The frames recorded so far are saved. Leave the camera running until the "
            "stream ends, or stop the run itself with run.stop()",
        )

    def describe(self) -> dict[str, Any]:
        return {
            "step": "CameraStream",
            "label": f"CameraStream({self.name})",
            "camera": getattr(self.camera, "name", self.name),
            "frames": self.frames,
            "duration": self.duration,
            "queue_size": self.queue_size,
            "backlog": self.backlog,
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
        images = _declare_images(ctx, self.name, self.camera, frame, self.compression)
        values = _frame_values(self.name, frame, images)
        # A frame is written straight to disk: do it off the loop.
        await asyncio.to_thread(ctx.record, values, time=frame.timestamp)

    def describe(self) -> dict[str, Any]:
        return {"step": "Snap", "label": f"Snap({self.name})", "camera": self.name}
