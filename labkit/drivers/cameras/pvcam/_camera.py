"""``PvcamCamera``: a PVCAM camera as a labkit instrument and a labkit ``Camera``.

``PvcamCamera("pvcam://<camera>")`` loads libpvcam by path (the vendor's, or any library with
the same C entry points), opens the camera, asks it what it can do (:mod:`._describe`) and makes
the instrument class of that camera: its settings carry the camera's own port, speed and gain
names, exposure range, modes, binnings and limits (:mod:`._settings`, read and written by
:mod:`._controls`), so validation, panels and snapshots follow the camera. Parameter I/O runs on
the instrument's worker thread.

Acquisition: ``snap()`` and ``sequence(n)`` set up a PVCAM sequence into a fresh buffer and
decode it; ``start()`` runs live acquisition into a circular buffer with its own thread
(:mod:`._live`) feeding every ``subscribe()``-d queue.

While acquiring, as for GenICam cameras, a change that would change the frames' shape or pixel
type (a larger ROI, another binning, a port with another container) is refused with
``AccessError`` before anything is written: a run recording the stream keeps frames it can store
together. Any other change of the acquisition (exposure, trigger, an ROI moved, metadata) needs
a new PVCAM setup: the acquisition restarts with it (frame numbers start again at 1). The
cooler's set-point and the fan change without a restart.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from traitlets import Bool

from labkit.core import (
    ConfigurationError,
    ConnectionLost,
    Frame,
    FrameBroadcaster,
    FrameQueue,
    Instrument,
    InstrumentTimeout,
    LabkitError,
    LimitError,
    NotConnectedError,
    Region,
    StreamClosed,
    TraitSpec,
    ValidationError,
    instruments,
)
from labkit.drivers.cameras.pvcam._address import SCHEME, format_address, parse_address
from labkit.drivers.cameras.pvcam._api import PvcamLibrary
from labkit.drivers.cameras.pvcam._controls import CameraControls
from labkit.drivers.cameras.pvcam._describe import UINT32_MAX, CameraDescription, describe
from labkit.drivers.cameras.pvcam._errors import SEQUENCE_REFUSED, CameraRemoved, PvcamError
from labkit.drivers.cameras.pvcam._frames import Coordinates, FrameDecoder
from labkit.drivers.cameras.pvcam._layout import Layout
from labkit.drivers.cameras.pvcam._library import find_library
from labkit.drivers.cameras.pvcam._link import PvcamLink, configured_library
from labkit.drivers.cameras.pvcam._live import LiveAcquisition, Signals, describe_failure
from labkit.drivers.cameras.pvcam._params import (
    Attr,
    ExposureMode,
    ImageFormat,
    ImageStatus,
    Param,
    SwTriggerStatus,
    bytes_per_pixel,
)
from labkit.drivers.cameras.pvcam._settings import SOFTWARE_TRIGGERS, declarations
from labkit.drivers.cameras.pvcam._types import FrameInfo
from labkit.native import Rgn

__all__ = ["PvcamCamera", "list_cameras"]

log = logging.getLogger(__name__)

_MISSING = object()
_WAIT_SLICE = 0.02  # seconds between status checks while a sequence runs (EOF wakes earlier)
_MD_BYTES = 48  # frame header; + 32 per ROI (reference §1.3)

# Settings written to the camera itself, restored in this order after a reconnect.
_CAMERA_SETTINGS = (
    "expose_out_mode",
    "clear_mode",
    "readout_port",
    "speed",
    "gain",
    "metadata",
    "centroid_mode",
    "centroid_count",
    "centroid_radius",
    "centroids",
    "temperature_setpoint",
    "fan_speed",
)


class _CameraMeta(type(Instrument)):  # type: ignore[misc]
    """``PvcamCamera(address)`` opens the camera first, then makes the instrument for it."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("_pvcam") is not None or kwargs.get("parent") is not None:
            return super().__call__(*args, **kwargs)
        return cls._connect(*args, **kwargs)  # type: ignore[attr-defined]


def list_cameras(library: str | os.PathLike[str] | None = None) -> list[str]:
    """The addresses of the cameras PVCAM sees through ``library`` (found as usual if None)."""
    lib = PvcamLibrary.load(find_library(library, configured=configured_library()))
    with lib:
        names = lib.camera_names()
    return [format_address(n, None if library is None else str(library)) for n in names]


class PvcamCamera(CameraControls, Instrument, metaclass=_CameraMeta):
    """A Teledyne Photometrics camera (Kinetix, Prime, Retiga...) through PVCAM.

    ``PvcamCamera("pvcam://<camera>[@<libpvcam path>]", name="cam")``; ``pvcam://`` alone opens
    the first camera. The library comes from the address, ``library=``, ``PVCAM_LIBRARY``,
    labkit's configuration (``[pvcam] library``) or the SDK's install locations; labkit's
    simulated cameras are the library at ``labkit.sim.pvcam.library_path()``. ``timeout=`` is
    the margin ``snap()`` waits beyond exposure and readout (5 s).

    Settings come from the camera: ``exposure`` (s), ``readout_port``/``speed``/``gain`` (the
    camera's names; ``set_readout()`` sets all three in order), ``roi`` and ``binning``
    (``set_rois([Region, ...])``), ``metadata``, centroids, ``temperature_setpoint`` (°C) ...
    Frames: ``snap()``, ``sequence(n)``, ``start()``/``subscribe()``/``stop()``.
    """

    acquiring = Bool(False, read_only=True, help="Live acquisition is running")

    declared_at_connect = True  # the settings are known once the camera says what it can do
    _pvcam: ClassVar[CameraDescription | None] = None

    # ------------------------------------------------------------------ making one

    @classmethod
    def default_name(cls) -> str:
        return "camera"

    @classmethod
    def check_available(cls) -> None:
        """Raise ``MissingVendorLibrary`` unless a PVCAM library can be found."""
        find_library(configured=configured_library())

    @classmethod
    def _connect(
        cls,
        resource: str | None = None,
        *,
        name: str | None = None,
        library: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        connect: bool = True,
    ) -> PvcamCamera:
        resource = SCHEME if resource is None else resource
        address = parse_address(resource)
        if address.library and library is not None and str(library) != address.library:
            raise ConfigurationError(
                f"{resource!r} names the library {address.library}, and library= names {library}",
                instrument=name,
                hint="Name the library once",
            )
        if not connect:
            raise ConfigurationError(
                "a PVCAM camera connects when it is made: its settings come from the camera",
                instrument=name,
                hint="Leave connect= out",
            )
        name = name or cls.default_name()
        for existing in instruments():
            if existing.name != name:
                continue
            if isinstance(existing, cls) and existing.resource == resource:
                return existing  # re-running the cell that made it
            raise ConfigurationError(
                f"an instrument named {name!r} is already open: {type(existing).__qualname__} at "
                f"{existing.resource}, so it cannot also be a PVCAM camera at {resource}",
                instrument=name,
                hint=f"Close it first ({name}.close()) or give this one another name=",
            )
        link = PvcamLink(
            resource,
            address.camera,
            library=address.library or library,
            timeout=5.0 if timeout is None else float(timeout),
        )
        link.open()
        try:
            model = _camera_class(cls, describe(link))
            return model(resource, name=name, transport=link)
        except BaseException:
            link.close()
            raise

    def __init__(self, resource: str | None = None, **options: Any) -> None:
        camera = type(self)._pvcam
        assert camera is not None, "made through PvcamCamera(address)"
        self.broadcaster = FrameBroadcaster()
        self.sensor_shape: tuple[int, int] = camera.sensor_shape
        low, high = camera.exposure_range
        self._exposure = min(max(0.01, low), high)
        self._trigger = camera.trigger_modes[0].name if camera.trigger_modes else None
        full = ((0, 0, camera.sensor_shape[1], camera.sensor_shape[0]),)
        unbinned = next((b for b in camera.binnings if (b.serial, b.parallel) == (1, 1)), None)
        binning = unbinned or camera.binnings[0]
        self._layout = Layout(rois=full, binning=binning, metadata=False)
        self._coordinates: Coordinates = "implied"
        self._buffer_frames = 16
        self._live: LiveAcquisition | None = None
        self._signals: Signals | None = None
        self._written: dict[str, Any] = {}
        self._opened = False
        self.last_stats: dict[str, Any] | None = None
        super().__init__(resource, **options)

    # ------------------------------------------------------------------ what it is

    @property
    def description(self) -> CameraDescription:
        """What the camera said it can do when it was opened."""
        camera = type(self)._pvcam
        assert camera is not None
        return camera

    @property
    def handle(self) -> int | None:
        """PVCAM's camera handle (``hcam``) while open."""
        return self._link().hcam

    @property
    def library(self) -> PvcamLibrary | None:
        return self._link().library

    def identify(self) -> dict[str, str]:
        camera, link = self.description, self._link()
        major, minor, build = link.library.version() if link.library else (0, 0, 0)
        return {
            "vendor": camera.vendor,
            "model": camera.product,
            "chip": camera.chip,
            "serial": camera.serial,
            "firmware": camera.firmware,
            "pvcam": f"{major}.{minor}.{build}",
            "library": str(link.library.path) if link.library else "",
        }

    def readout_modes(self) -> list[dict[str, Any]]:
        """Every port / speed / gain combination with its bit depth and pixel container."""
        return [
            {
                "port": port.name,
                "speed": speed.name,
                "gain": gain.name,
                "bit_depth": gain.bit_depth,
                "image_format": ImageFormat(gain.image_format).name,
                "pixel_time_ns": speed.pixel_time_ns,
            }
            for port, speed, gain in self.description.modes()
        ]

    @property
    def regions(self) -> tuple[Region, ...]:
        """The ROIs the next acquisition reads, as labkit regions with their binning."""
        return self._layout.regions()

    @property
    def frame_rate(self) -> float:
        """Frames per second published since the last start()."""
        return self.broadcaster.rate

    @property
    def stats(self) -> dict[str, Any] | None:
        """Counters of the running live acquisition (else of the last one): frames, lost..."""
        live = self._live
        return live.stats.as_dict() if live is not None else self.last_stats

    def _link(self) -> PvcamLink:
        link = self.transport
        if link is None:
            raise NotConnectedError("the camera is not open", instrument=self.name)
        return link  # type: ignore[return-value]

    def _attach(self, error: LabkitError, spec: TraitSpec | None = None) -> LabkitError:
        # Every error on its way out passes here: an unplugged camera marks the instrument
        # disconnected, whichever call found out.
        if isinstance(error, ConnectionLost) and self.connected:
            self._mark_connected(False)
        return super()._attach(error, spec)

    def _io(self, operation: str, *args: Any) -> Any:
        raise ConfigurationError(
            "a PVCAM camera is not message-based: it has no write/query",
            instrument=self.name,
            hint="Use its settings (cam.exposure = '10 ms') or cam.library for raw PVCAM calls",
        )

    # ------------------------------------------------------------------ opening (on the worker)

    def _on_open(self) -> None:
        link = self._link()
        link.register_callbacks(self._on_eof, self._on_removed, self._on_resumed)
        if self._opened:
            self._check_same_camera(link)
            self._restore()
        self._opened = True
        self._layout = self._layout_from_camera()

    def _on_close(self) -> None:
        self._stop_on_worker(True)
        self._link().deregister_callbacks()

    def _check_same_camera(self, link: PvcamLink) -> None:
        serial = self._read(Param.HEAD_SER_NUM_ALPHA, default=self.description.serial)
        if serial != self.description.serial:
            raise ConfigurationError(
                f"the camera at {self.resource} is now {serial!r}, not {self.description.serial!r}",
                instrument=self.name,
                hint="Close this instrument and create it again for the new camera",
            )

    def _restore(self) -> None:
        """Put back what was written to the camera before it was reopened (it forgot)."""
        written, self._written = self._written, {}
        for name in _CAMERA_SETTINGS:
            if name in written and name in self._labkit_specs:
                self._write_value(self._labkit_specs[name], written[name])
                self._written[name] = written[name]

    def _layout_from_camera(self) -> Layout:
        camera = self.description
        changes: dict[str, Any] = {}
        if camera.metadata:
            changes["metadata"] = bool(self._link().read_param(Param.METADATA_ENABLED))
        if camera.centroids is not None:
            link = self._link()
            changes["centroids"] = bool(link.read_param(Param.CENTROIDS_ENABLED))
            changes["centroid_count"] = int(link.read_param(Param.CENTROIDS_COUNT))
            changes["centroid_radius"] = int(link.read_param(Param.CENTROIDS_RADIUS))
        return dataclasses.replace(self._layout, **changes)

    def _read(self, param: int, attr: Attr = Attr.CURRENT, default: Any = _MISSING) -> Any:
        try:
            return self._link().read_param(param, attr)
        except PvcamError:
            if default is _MISSING:
                raise
            return default

    # ------------------------------------------------------------------ callbacks (PVCAM's thread)

    def _on_eof(self, info: FrameInfo) -> None:
        signals = self._signals
        if signals is not None:
            signals.eof(info)

    def _on_removed(self) -> None:
        signals = self._signals
        if signals is not None:
            signals.camera_removed()

    def _on_resumed(self) -> None:
        log.info("PVCAM camera %s is back; %s.reconnect() opens it again", self.name, self.name)

    # ------------------------------------------------------------------ setting plumbing

    def _do_set(self, spec: TraitSpec, value: Any, cancel: Any) -> Any:
        # What the camera acknowledged (setters return it rounded to the camera's resolution)
        # is what reconnect() writes back.
        result = super()._do_set(spec, value, cancel)
        if spec.name in _CAMERA_SETTINGS:
            self._written[spec.name] = result
        return result

    def _while_stopped(self, apply: Callable[[], Any]) -> Any:
        """Run ``apply`` with live acquisition paused around it (restarted with the change)."""
        if self._live is None:
            return apply()
        self._stop_on_worker(False)
        try:
            return apply()
        finally:
            self._start_on_worker()

    # ------------------------------------------------------------------ readout and ROIs

    def set_readout(self, port: str, speed: str | None = None, gain: str | None = None) -> None:
        """Set the readout port, then its speed, then the gain, as PVCAM wants them set.

        ``speed`` and ``gain`` default to the first of the port (and speed). The combination is
        checked against the camera's speed table before anything is written.
        """
        chosen_port = self.description.port(port)
        chosen_speed = chosen_port.speeds[0] if speed is None else chosen_port.speed(speed)
        if chosen_speed is None:
            names = [s.name for s in chosen_port.speeds]
            error = self._not_in("speed", str(speed), f"port {chosen_port.name!r}", names)
            raise self._attach(error, self._labkit_specs.get("speed"))
        chosen_gain = chosen_speed.gains[0] if gain is None else chosen_speed.gain(gain)
        if chosen_gain is None:
            where = f"speed {chosen_speed.name!r} of port {chosen_port.name!r}"
            names = [g.name for g in chosen_speed.gains]
            raise self._attach(
                self._not_in("gain", str(gain), where, names), self._labkit_specs.get("gain")
            )
        self._require_connected()

        def apply() -> None:
            link = self._link()
            link.write_param(Param.READOUT_PORT, chosen_port.value)
            link.write_param(Param.SPDTAB_INDEX, chosen_speed.index)
            link.write_param(Param.GAIN_INDEX, chosen_gain.index)

        def on_worker() -> None:
            self._same_frames(gain=chosen_gain)
            self._while_stopped(apply)
            self._written.update(
                readout_port=chosen_port.name, speed=chosen_speed.name, gain=chosen_gain.name
            )
            self._store("readout_port", "speed", "gain", "bit_depth")

        try:
            self._worker.call(on_worker)
        except LabkitError as error:
            raise self._attach(error, self._labkit_specs.get("readout_port")) from None

    def set_rois(self, regions: Iterable[Region | Sequence[int]]) -> None:
        """Read these ROIs from now on: labkit ``Region``\\ s (their binning becomes the
        binning) or ``(x, y, width, height)`` tuples (keeping the binning), in sensor pixels.

        The whole layout is checked first (inside the sensor, whole binned pixels, no overlap,
        at most the camera's ROI count, metadata on for several), naming the ROI at fault.
        """
        rects, bins = [], set()
        for region in regions:
            if isinstance(region, Region):
                rects.append((region.x, region.y, region.width, region.height))
                bins.add((region.bin_x, region.bin_y))
            else:
                values = tuple(int(v) for v in region)
                if len(values) != 4:
                    raise self._attach(
                        ValidationError(
                            f"{region!r} is not a Region nor (x, y, width, height)", value=region
                        ),
                        self._labkit_specs["roi"],
                    )
                rects.append(values)
        binning = self._layout.binning
        try:
            if len(bins) > 1:
                raise ValidationError(
                    f"the ROIs have different binnings {sorted(bins)}; PVCAM bins all alike",
                    value=sorted(bins),
                    hint="Give every Region the same bin_x and bin_y",
                )
            if bins:
                binning = self.description.binning_of(*bins.pop())
            layout = dataclasses.replace(self._layout, rois=tuple(rects), binning=binning)
            layout.check(self.description)
        except LabkitError as error:
            raise self._attach(error, self._labkit_specs["roi"]) from None
        self._require_connected()

        def on_worker() -> None:
            self._same_frames(layout=layout)
            self._while_stopped(lambda: setattr(self, "_layout", layout))
            self._store("roi", "binning")

        try:
            self._worker.call(on_worker)
        except LabkitError as error:
            raise self._attach(error, self._labkit_specs["roi"]) from None

    def full_sensor(self) -> None:
        """Read the whole sensor (one ROI), keeping the binning."""
        self.set_rois([(0, 0, self.sensor_shape[1], self.sensor_shape[0])])

    # ------------------------------------------------------------------ acquisition setup

    def _frame_bytes_estimate(self) -> int:
        """The size of one frame of the current layout, before PVCAM says (to size sequences)."""
        port = self._current_port()
        speed = self._current_speed(port)
        bpp = max(bytes_per_pixel(g.image_format) for g in speed.gains)
        layout = self._layout
        pixels = sum(r.shape[0] * r.shape[1] for r in layout.regions())
        return pixels * bpp + (_MD_BYTES + 32 * len(layout.rois) if layout.metadata else 0)

    def _setup(self, frames: int | None) -> FrameDecoder:
        """Set up a sequence of ``frames`` (None: continuous); a decoder for its frames."""
        camera, link, layout = self.description, self._link(), self._layout
        layout.check(camera)
        resolution, count = camera.exposure_counts(self._exposure)
        several = len(camera.exposure_resolutions) > 1
        if several and int(link.read_param(Param.EXP_RES)) != resolution.value:
            link.write_param(Param.EXP_RES, resolution.value)
        mode = self._exp_mode()
        regions = layout.pvcam_regions()
        if frames is None:
            frame_bytes = link.setup_cont(regions, count, mode)
        else:
            frame_bytes = link.setup_seq(frames, regions, count, mode)
        host = camera.host_formats
        image_format = self._read(
            Param.IMAGE_FORMAT_HOST if host else Param.IMAGE_FORMAT, default=None
        )
        if image_format is None:
            speed = self._current_speed(self._current_port())
            image_format = speed.gains[0].image_format
        return FrameDecoder(
            frame_bytes=frame_bytes,
            metadata=layout.metadata,
            region=Rgn(*regions[0]),
            image_format=int(image_format),
            bit_depth=self._get_bit_depth(),
            sensor_shape=self.sensor_shape,
            exposure=count * resolution.unit,
        )

    def _default_timeout(self, frames: int) -> float:
        readout = self._read(Param.READOUT_TIME, default=0) * 1e-6
        return self._link().timeout + frames * (self._exposure + readout) * 1.5

    # ------------------------------------------------------------------ the Camera protocol

    def subscribe(self, maxsize: int = 8) -> FrameQueue:
        """A queue receiving every frame from now on; when full, its oldest frame is dropped."""
        return self.broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue: FrameQueue) -> None:
        self.broadcaster.unsubscribe(queue)

    def snap(self, timeout: float | None = None) -> Frame:
        """Acquire one frame and return it (the next live frame while acquiring).

        Waits up to ``timeout`` seconds (default: exposure and readout plus the camera's
        ``timeout``), then raises ``InstrumentTimeout``; a hardware trigger mode waits for the
        trigger, a software trigger mode is triggered by labkit.
        """
        return self.sequence(1, timeout)[0]

    def sequence(self, frames: int, timeout: float | None = None) -> list[Frame]:
        """Acquire ``frames`` frames as one PVCAM sequence and return them in order.

        While live, or when the frames do not fit one sequence buffer (4 GiB), they are the
        next ``frames`` frames of live acquisition instead (started and stopped if needed).
        ``timeout`` bounds the whole sequence (default: the frames' exposure and readout with a
        margin, plus the camera's ``timeout``).
        """
        if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
            raise ValidationError(
                f"a sequence needs a whole number of frames ≥ 1, not {frames!r}",
                instrument=self.name,
                value=frames,
            )
        self._require_connected()
        try:
            if self._live is None and self._worker.call(self._fits_sequence, frames):
                result = self._worker.call(self._sequence_on_worker, frames, timeout)
                if result is not None:
                    return result
            return self._collect(frames, timeout)
        except LabkitError as error:
            self._attach(error)
            raise

    def _fits_sequence(self, frames: int) -> bool:
        return frames <= 0xFFFF and self._frame_bytes_estimate() * frames <= UINT32_MAX

    def _sequence_on_worker(self, frames: int, timeout: float | None) -> list[Frame] | None:
        if self._live is not None:
            return None
        link = self._link()
        try:
            decoder = self._setup(frames)
        except PvcamError as error:
            if error.has_code(*SEQUENCE_REFUSED):
                return None  # more than PVCAM takes in one sequence: collect live frames
            raise
        wait = self._default_timeout(frames) if timeout is None else float(timeout)
        buffer = link.library.new_buffer(decoder.frame_bytes, frames)  # type: ignore[union-attr]
        signals = Signals()
        self._signals = signals
        try:
            link.start_seq(buffer)
            try:
                self._wait_sequence(link, signals, frames, wait)
            finally:
                try:
                    link.finish_seq()
                except PvcamError:
                    if not signals.removed and not link.removed.is_set():
                        raise
        finally:
            self._signals = None
        step = decoder.frame_bytes
        return [
            decoder.frame(
                buffer[i * step : (i + 1) * step],
                number=i + 1,
                timestamp=signals.arrival(i + 1),
                coordinates=self._coordinates,
                copy=False,
            )
            for i in range(frames)
        ]

    def _wait_sequence(self, link: PvcamLink, signals: Signals, frames: int, wait: float) -> None:
        value = self._trigger_value()
        triggers = (frames if value == ExposureMode.EXT_TRIG_SOFTWARE_EDGE else 1) * (
            value in SOFTWARE_TRIGGERS
        )
        sent = 0
        deadline = time.monotonic() + wait
        while True:
            status = link.sequence_status()
            if status == ImageStatus.READOUT_COMPLETE:
                return
            if status == ImageStatus.READOUT_FAILED:
                raise link.readout_failed("pl_exp_check_status")
            if signals.removed or link.removed.is_set():
                raise CameraRemoved(
                    f"{link.name} was disconnected during acquisition",
                    function="CAM_REMOVED callback",
                    resource=self.resource,
                    hint="Check the camera's cable and power, then call reconnect()",
                )
            due = sent < triggers and sent <= signals.arrived
            if due and link.trigger() == SwTriggerStatus.TRIGGERED:
                sent += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._no_frame(wait, signals.arrived, frames)
            signals.wait(min(remaining, _WAIT_SLICE))

    def _no_frame(self, timeout: float, arrived: int, frames: int) -> InstrumentTimeout:
        waiting = self._trigger is not None and self._trigger_value() not in (
            int(ExposureMode.EXT_TRIG_INTERNAL),
            int(ExposureMode.TIMED),
        )
        hint = (
            f"The trigger mode is {self._trigger!r}: is the trigger arriving?"
            if waiting
            else "Give a longer timeout, or check the exposure"
        )
        return InstrumentTimeout(
            f"{arrived} of {frames} frames arrived within {timeout:g} s",
            instrument=self.name,
            resource=self.resource,
            command="pl_exp_check_status",
            hint=hint,
        )

    def _collect(self, frames: int, timeout: float | None) -> list[Frame]:
        """The next ``frames`` frames of live acquisition (started here if it is not running)."""
        queue = self.subscribe(frames)
        started = False
        try:
            if self._live is None:
                self.start()
                started = True
            wait = self._worker.call(self._default_timeout, frames) if timeout is None else timeout
            deadline = time.monotonic() + wait
            out: list[Frame] = []
            while len(out) < frames:
                try:
                    out.append(queue.get(timeout=max(deadline - time.monotonic(), 0.0)))
                except TimeoutError:
                    raise self._no_frame(wait, len(out), frames) from None
                except StreamClosed:
                    raise NotConnectedError(
                        "live acquisition was closed before the frames arrived",
                        instrument=self.name,
                    ) from None
            return out
        finally:
            self.unsubscribe(queue)
            if started and not self._closed:
                self.stop()

    def start(self) -> None:
        """Start live acquisition: frames go to every subscribed queue until stop()."""
        self._require_connected()
        try:
            self._worker.call(self._start_on_worker)
        except LabkitError as error:
            self._attach(error)
            raise

    def _start_on_worker(self) -> None:
        if self._live is not None:
            return
        link = self._link()
        decoder = self._setup(None)
        slots = self._buffer_frames
        if slots * decoder.frame_bytes > UINT32_MAX:
            most = UINT32_MAX // decoder.frame_bytes
            raise LimitError(
                f"{slots} frames of {decoder.frame_bytes / 1e6:.2f} MB exceed PVCAM's 4 GiB "
                "circular buffer",
                instrument=self.name,
                setting="buffer_frames",
                value=slots,
                limit=most,
                hint=f"Set buffer_frames to at most {most}",
            )
        buffer = link.library.new_buffer(decoder.frame_bytes, slots)  # type: ignore[union-attr]
        signals = Signals()
        live = LiveAcquisition(
            name=self.name,
            link=link,
            decoder=decoder,
            signals=signals,
            broadcaster=self.broadcaster,
            slots=slots,
            coordinates=lambda: self._coordinates,
            on_failure=lambda error: self._live_failed(live, error),
        )
        self._signals = signals
        self.broadcaster.start()
        try:
            link.start_cont(buffer)
        except BaseException:
            self._signals = None
            raise
        self._live = live
        live.start()
        self.set_trait("acquiring", True)

    def _live_failed(self, live: LiveAcquisition, error: BaseException) -> None:
        """On the acquisition thread: the stream broke; tell every consumer why."""
        failure = self._attach(describe_failure(error, self.name))  # unplugged: disconnected
        try:
            self._worker.submit(self._stop_on_worker, True, live)
        except RuntimeError:
            pass  # the instrument is closing; close() stops the acquisition
        self.broadcaster.fail(failure)

    def stop(self) -> None:
        """Stop live acquisition (and ramps); subscribed queues stay open for the next start."""
        super().stop()
        if not self._closed:
            self._worker.call(self._stop_on_worker, False)

    def _stop_on_worker(self, quiet: bool, only: LiveAcquisition | None = None) -> None:
        live = self._live
        if live is None or (only is not None and live is not only):
            return
        self._live = None
        try:
            live.stop()
            self.last_stats = live.stats.as_dict()
            self._signals = None
            self._link().stop_cont()
        except LabkitError:
            if not quiet:
                raise
        finally:
            self.set_trait("acquiring", False)

    # ------------------------------------------------------------------ closing

    def reconnect(self) -> Instrument:
        """Close the camera and open it again (after it was unplugged), restoring the settings
        written to it; then ``start()`` works again (subscribe again: failed queues closed)."""
        if not self._closed:
            self._worker.call(self._stop_on_worker, True)
        return super().reconnect()

    def close(self) -> None:
        """Stop acquisition, forget callbacks, close the camera and release PVCAM."""
        if self._closed:
            return
        try:
            self._worker.call(self._stop_on_worker, True)
            if not self.connected:  # the camera dropped: still release what the link holds
                self._worker.call(self._safe_close_transport)
        finally:
            super().close()
            self.broadcaster.close()


# ---------------------------------------------------------------------------------- the classes


def _class_name(camera: CameraDescription) -> str:
    words = re.findall(r"[A-Za-z0-9]+", camera.product) or ["Camera"]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return f"Pvcam{name}" if not name[0].isdigit() else f"Pvcam_{name}"


def _camera_class(base: type[PvcamCamera], camera: CameraDescription) -> type:
    """The instrument class of one camera, declared from what it said it can do."""
    namespace: dict[str, Any] = {
        "__module__": base.__module__,
        "__doc__": (
            f"{camera.vendor} {camera.product} ({camera.chip}, {camera.sensor_shape[1]}×"
            f"{camera.sensor_shape[0]}) through PVCAM: settings from the camera's own "
            "speed table, modes and ranges."
        ),
        "_pvcam": camera,
    }
    namespace.update(declarations(camera, PvcamCamera._software_trigger))
    return type(base)(_class_name(camera), (base,), namespace)
