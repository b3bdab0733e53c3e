"""``CameraInstrument``: what every camera family shares, written once.

A camera family is three things: a **link** (its SDK: harvesters, libpvcam, a toy), a mapping
from the device's features to labkit **declarations** (at connect, through
:meth:`~labkit.core.Instrument.device_declarations`, or in the class body), and a **frame
stream** (:meth:`CameraInstrument._open_stream`). This base does the rest, the same way for
all of them:

- acquisition on its own thread, handing every frame to a bounded
  :class:`~labkit.core.FrameBroadcaster` (a slow consumer loses its oldest frames, never the
  camera's pace); a failure (an unplugged camera) ends the thread and reaches every consumer as
  a typed error, and a lost connection marks the camera disconnected;
- ``subscribe``/``unsubscribe``/``start``/``stop``/``snap``/``reconnect``/``close``;
- the region of interest of the :class:`~labkit.core.Camera` protocol: ``region``,
  ``set_region`` (validated, rounded outwards to what the camera can read, applied with
  acquisition paused around it) and ``full_sensor``. A family says how its sensor crops
  (:meth:`_fit_region`, :meth:`_apply_region`); the UI only draws.

Threads: settings and stream set-up run on the instrument's worker, like every instrument's
I/O; the acquisition thread only takes frames.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Protocol

from traitlets import Bool

from labkit.core import (
    ConfigurationError,
    ConnectionLost,
    Frame,
    FrameBroadcaster,
    FrameQueue,
    Instrument,
    InstrumentError,
    InstrumentTimeout,
    LabkitError,
    Region,
)

__all__ = ["CameraInstrument", "FrameStream"]

_JOIN = 10.0
"""Seconds ``stop()`` waits for the acquisition thread to finish the frame in hand."""


class FrameStream(Protocol):
    """One acquisition of a camera, from its set-up to its end.

    ``frames(stop)`` runs on the acquisition thread: it yields each frame as it arrives, and
    None while none is there (at least every few tens of milliseconds, so that ``stop`` and
    deadlines are seen); it raises when acquisition fails. ``close()`` runs on the worker once
    the thread is done (or never started) and stops the device's acquisition. A stream that
    blocks longer may also have ``wake()``, called as soon as ``stop`` is set.
    """

    def frames(self, stop: threading.Event) -> Iterator[Frame | None]: ...

    def close(self) -> None: ...


class CameraInstrument(Instrument):
    """A camera as a labkit instrument and a :class:`~labkit.core.Camera`.

    Subclasses give :meth:`make_link`, their declarations, :meth:`_open_stream`, and (to crop)
    :meth:`_fit_region` and :meth:`_apply_region`; ``sensor_shape`` is set once connected.
    """

    _labkit_api = True

    acquiring = Bool(False, read_only=True, help="Live acquisition is running")

    broadcaster: FrameBroadcaster
    sensor_shape: tuple[int, int]
    region_note: str
    stopped_by: str
    """Who last stopped live acquisition by calling stop() (where it was called from)."""

    region_note_default: ClassVar[str] = ""

    def __init__(self, resource: str | None = None, **options: Any) -> None:
        self.broadcaster = FrameBroadcaster()
        self.sensor_shape = (0, 0)
        self.region_note = type(self).region_note_default
        self._acquisition: tuple[threading.Thread, threading.Event, FrameStream] | None = None
        self.stopped_by = ""
        super().__init__(resource, **options)

    @classmethod
    def default_name(cls) -> str:
        return "camera"

    # ------------------------------------------------------------------ what a family gives

    def _open_stream(self, purpose: str) -> FrameStream:
        """On the worker: set up and start the device's acquisition; ``purpose`` is ``"live"``
        (until stopped) or ``"snap"`` (one frame is taken, then it is closed)."""
        raise ConfigurationError(
            f"{type(self).__name__} cannot acquire frames", instrument=self.name
        )

    def _fit_region(self, region: Region) -> Region:
        """The smallest region the camera can read that holds ``region`` (pure: no I/O).

        The default camera cannot crop: only the whole sensor fits.
        """
        full = self.full_region()
        if region != full:
            raise ConfigurationError(
                f"{type(self).__name__} cannot read only part of its sensor",
                instrument=self.name,
                hint="Use the whole sensor (full_sensor())",
            )
        return full

    def _apply_region(self, region: Region) -> None:
        """On the worker, acquisition paused: make the camera read ``region`` (already fitted)."""

    # ------------------------------------------------------------------ the region of interest

    @property
    def region(self) -> Region:
        """The part of the sensor the camera reads, in unbinned sensor pixels."""
        return self.full_region()

    def full_region(self) -> Region:
        rows, columns = self.sensor_shape
        return Region(0, 0, columns, rows)

    def set_region(self, region: Region) -> Region:
        """Read (at least) ``region`` from now on; returns the region the camera reads.

        The region is checked against the sensor, rounded outwards to what the camera can read
        (increments, binning) and applied with acquisition paused around it. Every write goes
        through the camera's settings, so limits are checked as for a value typed by hand.
        """
        wanted = self._inside_sensor(region)
        fitted = self._fit_region(wanted)
        self.run_io(self.while_stopped, lambda: self._apply_region(fitted))
        return self.region

    def full_sensor(self) -> Region:
        """Read the whole sensor again (keeping the binning); returns the region."""
        return self.set_region(self.full_region())

    def _inside_sensor(self, region: Region) -> Region:
        """The region itself if the sensor holds it: one reaching past an edge is refused,
        never cut to fit (the person would get other pixels than they asked for)."""
        rows, columns = self.sensor_shape
        right, bottom = region.x + region.width, region.y + region.height
        if region.width < 1 or region.height < 1:
            raise ConfigurationError(
                f"the region {region} is empty",
                instrument=self.name,
                hint="Give a width and a height of at least one pixel",
            )
        past = (
            region.x < 0
            or region.y < 0
            or (columns and right > columns)
            or (rows and bottom > rows)
        )
        if past:
            raise ConfigurationError(
                f"the region {region} lies outside the {columns}×{rows} sensor "
                f"(x {region.x}…{right - 1}, y {region.y}…{bottom - 1}; the sensor spans "
                f"x 0…{columns - 1}, y 0…{rows - 1})",
                instrument=self.name,
                hint="Select a region on the image, or full_sensor() for the whole sensor",
            )
        return region

    def while_stopped(self, apply: Callable[[], Any]) -> Any:
        """On the worker: run ``apply`` with live acquisition paused around it, started again
        afterwards (also when ``apply`` refused the change). Frame numbers start again at 1."""
        if self._acquisition is None:
            return apply()
        self._stop_on_worker(quiet=False)
        try:
            return apply()
        finally:
            self._start_on_worker()

    # ------------------------------------------------------------------ the Camera protocol

    def subscribe(self, maxsize: int = 8) -> FrameQueue:
        """A queue receiving every frame from now on; when full, its oldest frame is dropped."""
        return self.broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue: FrameQueue) -> None:
        self.broadcaster.unsubscribe(queue)

    @property
    def frame_rate(self) -> float:
        """Frames per second delivered since the last start()."""
        return self.broadcaster.rate

    def start(self) -> None:
        """Start live acquisition: frames go to every subscribed queue until stop()."""
        self.run_io(self._start_on_worker)

    def _start_on_worker(self) -> None:
        if self._acquisition is not None:
            return
        self.stopped_by = ""
        stream = self._open_stream("live")
        stop = threading.Event()
        thread = threading.Thread(
            target=self._acquire,
            args=(stream, stop),
            name=f"labkit-{self.name}-acquisition",
            daemon=True,
        )
        self._acquisition = (thread, stop, stream)
        self.broadcaster.start()
        self.set_trait("acquiring", True)
        thread.start()

    def stop(self) -> None:
        """Stop live acquisition (and ramps); subscribed queues stay open for the next start.

        Who stopped it is kept in :attr:`stopped_by` (a run recording the stream says so).
        """
        super().stop()
        if not self.closed:
            if self.acquiring:
                self.stopped_by = f"{self.name}.stop() was called {_caller()}"
            self.run_io(self._stop_on_worker, False)

    def _stop_on_worker(self, quiet: bool, only: FrameStream | None = None) -> None:
        acquisition = self._acquisition
        if acquisition is None or (only is not None and acquisition[2] is not only):
            return
        self._acquisition = None
        thread, stop, stream = acquisition
        stop.set()
        wake = getattr(stream, "wake", None)
        if callable(wake):
            wake()  # a stream blocked waiting for the device ends its wait now
        if thread is not threading.current_thread():
            thread.join(_JOIN)
        try:
            stream.close()
        except LabkitError:
            if not quiet:
                raise
        finally:
            self.set_trait("acquiring", False)

    def _acquire(self, stream: FrameStream, stop: threading.Event) -> None:
        """The acquisition thread: publish every frame until stopped or the stream fails."""
        try:
            for frame in stream.frames(stop):
                if frame is not None:
                    self.broadcaster.publish(frame)  # taken from the device: never lost here
                if stop.is_set():
                    break
        except BaseException as error:
            if stop.is_set() and not isinstance(error, ConnectionLost):
                return  # a call raced with stop(): not a failure
            failure = self._failure(error)
            self.set_trait("acquiring", False)  # at once: the worker tidies up below
            try:
                self._worker.submit(self._stop_on_worker, True, stream)
            except RuntimeError:
                pass  # the instrument is closing; close() ends the acquisition
            self.broadcaster.fail(failure)

    def _failure(self, error: BaseException) -> LabkitError:
        """A typed error naming the camera; a lost connection marks it disconnected."""
        if not isinstance(error, LabkitError):
            error = InstrumentError(
                f"acquisition failed: {error!r}", hint="See the traceback; reconnect() to go on"
            )
        failure = self._link_failed(error)
        if isinstance(failure, ConnectionLost):
            failure.hint = f"Check the camera's cable and power, then call {self.name}.reconnect()"
        return failure

    def snap(self, timeout: float | None = None) -> Frame:
        """Acquire one frame and return it (the next live frame while acquiring).

        Waits at most ``timeout`` seconds (the link's ``timeout`` by default), then raises
        ``InstrumentTimeout``: a camera waiting for a trigger sends nothing.
        """
        wait = float(getattr(self.link, "timeout", 5.0) if timeout is None else timeout)
        if self.acquiring:
            queue = self.subscribe(1)
            try:
                return queue.get(wait)
            except TimeoutError:
                raise self._no_frame(wait) from None
            finally:
                self.unsubscribe(queue)
        return self.run_io(self._snap_on_worker, wait)

    def _snap_on_worker(self, timeout: float) -> Frame:
        stream = self._open_stream("snap")
        stop = threading.Event()
        try:
            deadline = time.monotonic() + timeout
            for frame in stream.frames(stop):
                if frame is not None:
                    return frame
                if time.monotonic() > deadline:
                    break
            raise self._no_frame(timeout)
        finally:
            stop.set()
            try:
                stream.close()
            except LabkitError:
                if self.connected:
                    raise

    def _no_frame(self, timeout: float) -> InstrumentTimeout:
        return InstrumentTimeout(
            f"no frame arrived within {timeout:g} s",
            instrument=self.name,
            resource=self.resource,
            hint="Is the camera waiting for a trigger? Give snap() a longer timeout",
        )

    # ------------------------------------------------------------------ closing

    def reconnect(self) -> Instrument:
        """Release the camera and open it again (after it was unplugged), re-reading settings;
        then ``start()`` works again (subscribe again: failed queues were closed)."""
        if not self.closed:
            self._worker.call(self._stop_on_worker, True)
        return super().reconnect()

    def close(self) -> None:
        """Stop acquisition, release the camera and its SDK; no thread is left."""
        if self.closed:
            return
        try:
            self._worker.call(self._stop_on_worker, True)
            if not self.connected:  # the link dropped: still release what it holds
                self._worker.call(self._safe_close_link)
        finally:
            super().close()
            self.broadcaster.close()


def _caller() -> str:
    """Where a call into the camera came from: the first frame outside labkit's camera code
    and core (a notebook cell, a script's line, a view's button), and on which thread."""
    import inspect

    frame = inspect.currentframe()
    frame = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    inside = ("labkit/drivers/cameras/", "labkit/core/")
    while frame is not None and any(
        part in frame.f_code.co_filename.replace("\\", "/") for part in inside
    ):
        frame = frame.f_back
    thread = threading.current_thread().name
    if frame is None:
        return f"on thread {thread!r}"
    return f"from {frame.f_code.co_filename}:{frame.f_lineno} on thread {thread!r}"
