"""``RemoteCamera``: a camera another process serves, with frames and a live view here.

A served camera's frames come as the ``_image`` NTNDArray PV (throttled by the server for
viewers, never slowing its camera). Here a p4p monitor turns each update back into a
:class:`~labkit.core.Frame` — its number, time stamps and region carried — and hands it to a
bounded :class:`~labkit.core.FrameBroadcaster`, exactly as a local camera's acquisition
thread does: a ``CameraStream`` run and ``labkit.camera_view`` take the remote camera as
they take a local one, and a slow consumer here loses its oldest frames (counted by its
queue), never the server's pace. Frames the server did not send to this client (its viewer
rate is below the camera's) are counted in :attr:`RemoteCamera.frames_missed`.

Starting and stopping go through the server's ``_acquire`` PV, and the region of interest
through its ``_region`` PV, so the station's grants and other runs' claims decide, on the
server, where the camera also rounds the region to what it can read; a region reaching
beyond the sensor is refused here first and there again, never cut to fit. A server that goes away ends every consumer's
queue with ``ConnectionLost`` naming it: a run recording the stream fails cleanly, with the
frames it recorded saved.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from traitlets import Bool

from labkit.core import (
    ConfigurationError,
    ConnectionLost,
    Frame,
    FrameBroadcaster,
    FrameQueue,
    InstrumentError,
    InstrumentTimeout,
    LabkitError,
    Region,
)
from labkit.remote import _names
from labkit.remote._frame_wire import frame_from_fields, sensor_shape_of
from labkit.remote._instrument import RemoteInstrument
from labkit.remote._link import PvaLink
from labkit.remote._pvdata import INVALID, MAJOR
from labkit.remote._region import REGION_FIELDS, check_region, region_fields

__all__ = ["RemoteCamera", "become_camera"]

log = logging.getLogger(__name__)


class RemoteCamera(RemoteInstrument):
    """A served camera: its settings as a remote instrument's, and its frames as a camera's
    (:class:`~labkit.core.Camera`). ``labkit.connect`` gives one for a served camera."""

    acquiring = Bool(False, read_only=True, help="Live acquisition runs on the server")

    region_note = ""  # the served camera's own, once connected

    broadcaster: FrameBroadcaster
    frames_missed: int
    """Frames the server's camera made that never reached this client (its viewer rate)."""
    stopped_by: str

    def init_camera_state(self) -> None:
        """The camera's own state (once, when a remote instrument turns out to be one)."""
        self.broadcaster = FrameBroadcaster()
        self.frames_missed = 0
        self.stopped_by = ""
        self._last_number: int | None = None
        self._last_region: Region | None = None
        self._served_region: Region | None = None  # the _region PV's, as last updated
        self._sensor: tuple[int, int] = (0, 0)
        self._image_seen = threading.Event()

    # -- following the server's frames ------------------------------------------------------

    @property
    def _base(self) -> str:
        link: PvaLink = self.link
        return link.address.name

    def _on_open(self) -> None:
        super()._on_open()
        description = self.description
        if description is not None and description.sensor_shape:
            self._sensor = description.sensor_shape
        if description is not None:
            self.region_note = description.region_note
        link: PvaLink = self.link
        self._served_region = _region_of(link.get(f"{self._base}:{_names.REGION}"))
        link.monitor(f"{self._base}:{_names.REGION}", self._follow_region)
        link.monitor(f"{self._base}:{_names.ACQUIRE}", self._follow_acquire)
        self._image_seen.clear()
        link.monitor(f"{self._base}:{_names.IMAGE}", self._follow_image)

    def _follow_acquire(self, value: Any) -> None:
        if isinstance(value, Exception):
            return
        try:
            acquiring = bool(value["value"])
        except (KeyError, TypeError, ValueError):
            return
        if acquiring and not self.acquiring:
            self.broadcaster.start()
            self._last_number = None
        elif not acquiring and self.acquiring and not self.stopped_by:
            # Not stopped from here: a run recording the stream says who did.
            self.stopped_by = (
                f"stopped on the server {self.link.server} (another client or its process)"
            )
        self.set_trait("acquiring", acquiring)

    def _follow_region(self, value: Any) -> None:
        if isinstance(value, Exception):
            return
        try:
            self._served_region = _region_of(value)
        except (KeyError, TypeError, ValueError):
            log.debug("%s: a region update could not be read", self.name, exc_info=True)

    def _follow_image(self, value: Any) -> None:
        """A monitor update of ``_image`` (on p4p's thread): publish the frame, never wait."""
        if isinstance(value, ConnectionLost):
            self._image_seen.clear()  # once back, the first update is the PV's value again
            self._lose(value)
            return
        if isinstance(value, Exception):
            return
        if not self._image_seen.is_set():
            # The first update is the PV's current value: a frame from before we looked.
            self._image_seen.set()
            return
        try:
            fields = value.todict()
            alarm = fields.get("alarm") or {}
            if alarm.get("severity", 0) == INVALID:
                return  # no frame yet (a server that just started): nothing to show
            if alarm.get("severity", 0) == MAJOR and alarm.get("message"):
                self.broadcaster.fail(
                    self._attach(
                        InstrumentError(
                            f"on the server: {alarm['message']}",
                            hint="See the serving process's log; start() again",
                        )
                    )
                )
                return
            frame = frame_from_fields(fields, source=self.name)
        except LabkitError as error:
            log.warning("%s: a frame could not be read: %s", self.name, error)
            return
        if frame is None:
            return
        if self._sensor == (0, 0):  # a server that did not list it: the frames say
            self._sensor = sensor_shape_of(fields) or self._sensor
        self._count(frame)
        self.broadcaster.publish(frame)

    def _count(self, frame: Frame) -> None:
        last = self._last_number
        if last is not None and frame.number > last + 1:
            self.frames_missed += frame.number - last - 1
        self._last_number = frame.number
        if len(frame.regions) == 1:
            self._last_region = frame.regions[0]

    def _lose(self, error: ConnectionLost) -> None:
        self.set_trait("acquiring", False)
        self.broadcaster.fail(self._attach(error))

    def _server_seen(self, up: bool) -> None:
        super()._server_seen(up)
        if not up and not self.closed:
            link: PvaLink = self.link
            self._lose(link.lost(f"{self._base}:{_names.IMAGE}"))

    # -- the Camera protocol ----------------------------------------------------------------

    @property
    def sensor_shape(self) -> tuple[int, int]:
        """(rows, columns) of the served camera's whole sensor."""
        return self._sensor

    @property
    def region(self) -> Region:
        """The region the served camera reads (as its server last said; else the region of
        the last frame received; the whole sensor before either)."""
        if self._served_region is not None:
            return self._served_region
        if self._last_region is not None:
            return self._last_region
        rows, columns = self._sensor
        return Region(0, 0, columns, rows)

    def set_region(self, region: Region) -> Region:
        """Ask the served camera to read at least ``region`` (sensor pixels) from now on; it
        rounds it outwards to what it can read. Returns the region it reads.

        A region reaching beyond the sensor, empty, or with another binning than the one in
        force raises ``ConfigurationError`` here, before anything is sent (the server checks
        again, and the station's grants decide: a refusal is ``RemoteRefused``)."""
        current = self.region
        if region.bin_x == 1 and region.bin_y == 1:  # Region's default: the binning in force
            region = Region(
                region.x, region.y, region.width, region.height, current.bin_x, current.bin_y
            )
        try:
            check_region(region, self._sensor, (current.bin_x, current.bin_y), self.name)
        except ConfigurationError as error:
            raise self._attach(error) from None
        read: Region = self.run_io(self._put_region, region)
        return read

    def _put_region(self, region: Region) -> Region:
        link: PvaLink = self.link
        name = f"{self._base}:{_names.REGION}"
        link.put(name, {"value": region_fields(region)})
        read = _region_of(link.get(name))
        self._served_region = read
        return read

    def full_sensor(self) -> Region:
        """Read the whole sensor again (keeping the binning); returns the region."""
        rows, columns = self._sensor
        current = self.region
        return self.set_region(Region(0, 0, columns, rows, current.bin_x, current.bin_y))

    @property
    def frame_rate(self) -> float:
        """Frames a second received since acquisition started."""
        return self.broadcaster.rate

    def subscribe(self, maxsize: int = 8) -> FrameQueue:
        """A queue receiving every frame from now on; when full, its oldest frame is dropped."""
        return self.broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue: FrameQueue) -> None:
        self.broadcaster.unsubscribe(queue)

    def start(self) -> None:
        """Start live acquisition on the server (its grants and claims decide)."""
        self.run_io(self._put_acquire, True)

    def stop(self) -> None:
        """Stop live acquisition on the server; subscribed queues stay open."""
        super().stop()
        if not self.closed and self.acquiring:
            self.stopped_by = f"{self.name}.stop() was called here"
            self.run_io(self._put_acquire, False)

    def _put_acquire(self, start: bool) -> None:
        link: PvaLink = self.link
        if start and not self.acquiring:
            self.stopped_by = ""
            self.broadcaster.start()
            self._last_number = None
        link.put(f"{self._base}:{_names.ACQUIRE}", bool(start))
        self.set_trait("acquiring", bool(start))

    def snap(self, timeout: float | None = None) -> Frame:
        """The next frame the server sends (acquisition is started and stopped again around
        it if it was not running). Waits at most ``timeout`` s (the link's by default)."""
        link: PvaLink = self.link
        wait = float(link.timeout if timeout is None else timeout)
        queue = self.subscribe(1)
        started = False
        try:
            if not self.acquiring:
                self.start()
                started = True
            try:
                return queue.get(wait)
            except TimeoutError:
                raise InstrumentTimeout(
                    f"no frame arrived from the server within {wait:g} s",
                    instrument=self.name,
                    resource=self.resource,
                    hint="Is the camera waiting for a trigger? Give snap() a longer timeout",
                ) from None
        finally:
            self.unsubscribe(queue)
            if started and self.connected:
                self.stop()

    def close(self) -> None:
        """Close the link (acquisition on the server goes on) and end every queue here."""
        try:
            super().close()
        finally:
            self.broadcaster.close()


def _region_of(value: Any) -> Region:
    """The region a ``_region`` PV value holds."""
    fields = value["value"]
    return Region(**{name: int(fields[name]) for name in REGION_FIELDS})


def become_camera(instrument: RemoteInstrument) -> None:
    """Make a remote instrument that turned out to serve a camera a :class:`RemoteCamera`
    (at connect, before its declarations make its class)."""
    if isinstance(instrument, RemoteCamera):
        return
    instrument.__class__ = RemoteCamera
    camera: Any = instrument
    for trait in RemoteCamera.class_own_traits().values():
        trait.instance_init(camera)
    camera.init_camera_state()
