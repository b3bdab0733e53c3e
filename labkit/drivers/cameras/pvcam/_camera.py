"""``PvcamCamera``: a PVCAM camera as a labkit instrument and a labkit ``Camera``.

A camera family on :class:`~labkit.drivers.cameras.CameraInstrument`. ``PvcamCamera("pvcam://
<camera>")`` loads libpvcam by path (the vendor's, or any library with the same C entry points)
through its link (:class:`._link.PvcamLink`); when it connects, the camera says what it can do
(:mod:`._describe`) and that becomes its declarations: settings carrying the camera's own port,
speed and gain names, exposure range, modes, binnings and limits (:mod:`._settings`, read and
written by :class:`._controls.PvcamControls`), so validation, panels and snapshots follow the
camera. Parameter I/O runs on the instrument's worker thread.

Acquisition: ``snap()`` and ``sequence(n)`` set up a PVCAM sequence into a fresh buffer and
decode it; ``start()`` runs live acquisition into a circular buffer, as the base's frame stream
(:mod:`._live`) feeding every ``subscribe()``-d queue.

While acquiring, as for GenICam cameras, a change that would change the frames' shape or pixel
type (a larger ROI, another binning, a port with another container) is refused with
``AccessError`` before anything is written: a run recording the stream keeps frames it can store
together. Any other change of the acquisition (exposure, trigger, an ROI moved, metadata) needs
a new PVCAM setup: the acquisition restarts with it (frame numbers start again at 1). The
cooler's set-point and the fan change without a restart.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from labkit.core import (
    ConfigurationError,
    Frame,
    InstrumentTimeout,
    LabkitError,
    LimitError,
    NotConnectedError,
    Region,
    StreamClosed,
    ValidationError,
    fit_span,
)
from labkit.drivers.cameras._base import CameraInstrument
from labkit.drivers.cameras.pvcam._address import SCHEME, format_address, parse_address
from labkit.drivers.cameras.pvcam._api import PvcamLibrary
from labkit.drivers.cameras.pvcam._controls import PvcamControls
from labkit.drivers.cameras.pvcam._describe import UINT32_MAX, CameraDescription, describe
from labkit.drivers.cameras.pvcam._errors import SEQUENCE_REFUSED, CameraRemoved, PvcamError
from labkit.drivers.cameras.pvcam._frames import FrameDecoder
from labkit.drivers.cameras.pvcam._layout import Layout, layout_with
from labkit.drivers.cameras.pvcam._library import find_library
from labkit.drivers.cameras.pvcam._link import PvcamLink, configured_library
from labkit.drivers.cameras.pvcam._live import LiveAcquisition, Signals, describe_failure
from labkit.drivers.cameras.pvcam._params import (
    ExposureMode,
    ImageFormat,
    ImageStatus,
    Param,
    SwTriggerStatus,
    bytes_per_pixel,
)
from labkit.drivers.cameras.pvcam._settings import SOFTWARE_TRIGGERS, declarations
from labkit.drivers.cameras.pvcam._triggered import triggered_frames
from labkit.drivers.cameras.pvcam._types import FrameInfo
from labkit.native import Rgn

__all__ = ["PvcamCamera", "list_cameras"]

log = logging.getLogger(__name__)

_WAIT_SLICE = 0.02  # seconds between status checks while a sequence runs (EOF wakes earlier)
_MD_BYTES = 48  # frame header; + 32 per ROI (reference §1.3)


def list_cameras(library: str | os.PathLike[str] | None = None) -> list[str]:
    """The addresses of the cameras PVCAM sees through ``library`` (found as usual if None)."""
    lib = PvcamLibrary.load(find_library(library, configured=configured_library()))
    with lib:
        names = lib.camera_names()
    return [format_address(n, None if library is None else str(library)) for n in names]


class PvcamCamera(CameraInstrument):
    """A Teledyne Photometrics camera (Kinetix, Prime, Retiga...) through PVCAM.

    ``PvcamCamera("pvcam://<camera>[@<libpvcam path>]", name="cam")``; ``pvcam://`` alone opens
    the first camera. The library comes from the address, ``library=``, ``PVCAM_LIBRARY``,
    labkit's configuration (``[pvcam] library``) or the SDK's install locations; labkit's
    simulated cameras are the library at ``labkit.sim.pvcam.library_path()``. ``timeout=`` is
    the margin ``snap()`` waits beyond exposure and readout (5 s).

    Settings come from the camera when it connects: ``exposure`` (s),
    ``readout_port``/``speed``/``gain`` (the camera's names; ``set_readout()`` sets all three in
    order), ``roi`` and ``binning`` (``set_rois([Region, ...])``), ``metadata``, centroids,
    ``temperature_setpoint`` (°C) ... Frames: ``snap()``, ``sequence(n)``,
    ``start()``/``subscribe()``/``stop()``.
    """

    declared_at_connect = True  # the settings are known once the camera says what it can do

    description: CameraDescription | None
    controls: PvcamControls | None
    last_stats: dict[str, Any] | None

    def __init__(
        self,
        resource: str | None = None,
        *,
        library: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> None:
        resource = SCHEME if resource is None else resource
        address = parse_address(resource)
        if address.library and library is not None and str(library) != address.library:
            raise ConfigurationError(
                f"{resource!r} names the library {address.library}, and library= names {library}",
                instrument=options.get("name"),
                hint="Name the library once",
            )
        self._camera_name = address.camera
        self._library = address.library or library
        self._timeout = 5.0 if timeout is None else float(timeout)
        self.description = None
        self.controls = None
        self.last_stats = None
        self._live: LiveAcquisition | None = None
        self._signals: Signals | None = None
        super().__init__(resource, **options)

    @classmethod
    def check_available(cls) -> None:
        """Raise ``MissingVendorLibrary`` unless a PVCAM library can be found."""
        find_library(configured=configured_library())

    def make_link(self) -> PvcamLink:
        return PvcamLink(
            self.resource or SCHEME,
            self._camera_name,
            library=self._library,
            timeout=self._timeout,
        )

    def device_declarations(self) -> dict[str, Any]:
        """What the camera says it can do (:mod:`._describe`), as declarations (:mod:`._settings`)."""
        description = describe(self._pvcam())
        self.description = description
        self.controls = PvcamControls(self, description)
        self.sensor_shape = description.sensor_shape
        return declarations(description, self.controls)

    # ------------------------------------------------------------------ what it is

    def _camera(self) -> tuple[CameraDescription, PvcamControls]:
        if self.description is None or self.controls is None:
            raise NotConnectedError("the camera was never opened", instrument=self.name)
        return self.description, self.controls

    def _pvcam(self) -> PvcamLink:
        return self.link

    @property
    def handle(self) -> int | None:
        """PVCAM's camera handle (``hcam``) while open."""
        return self._pvcam().hcam

    @property
    def library(self) -> PvcamLibrary | None:
        return self._pvcam().library

    def identify(self) -> dict[str, str]:
        camera, link = self._camera()[0], self._pvcam()
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
            for port, speed, gain in self._camera()[0].modes()
        ]

    def triggered_frames(self, frames: int, mode: str = "edge") -> Any:
        """``frames`` frames exposed at trigger edges (``mode`` "edge"/"first"), for Triggered."""
        return triggered_frames(self, frames, mode, *self._camera())

    @property
    def regions(self) -> tuple[Region, ...]:
        """The ROIs the next acquisition reads, as labkit regions with their binning."""
        return self._camera()[1].layout.regions()

    @property
    def stats(self) -> dict[str, Any] | None:
        """Counters of the running live acquisition (else of the last one): frames, lost..."""
        live = self._live
        return live.stats.as_dict() if live is not None else self.last_stats

    # ------------------------------------------------------------------ opening (on the worker)

    def _on_open(self) -> None:
        link = self._pvcam()
        description, controls = self._camera()
        link.register_callbacks(self._on_eof, self._on_removed, self._on_resumed)
        if self.identity is not None:  # opened before: the same camera, told again
            self._check_same_camera(description, controls)
            controls.restore(
                {h.name: (lambda value, h=h: h.spec.set(self, value)) for h in self.settings}
            )
        controls.layout_from_camera()

    def _on_close(self) -> None:
        self._stop_on_worker(True)
        self._pvcam().deregister_callbacks()

    def _check_same_camera(self, description: CameraDescription, controls: PvcamControls) -> None:
        serial = controls.read_param(Param.HEAD_SER_NUM_ALPHA, default=description.serial)
        if serial != description.serial:
            raise ConfigurationError(
                f"the camera at {self.resource} is now {serial!r}, not {description.serial!r}",
                instrument=self.name,
                hint="Close this instrument and create it again for the new camera",
            )

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

    # ------------------------------------------------------------------ readout and ROIs

    def set_readout(self, port: str, speed: str | None = None, gain: str | None = None) -> None:
        """Set the readout port, then its speed, then the gain, as PVCAM wants them set.

        ``speed`` and ``gain`` default to the first of the port (and speed). The combination is
        checked against the camera's speed table before anything is written.
        """
        description, controls = self._camera()
        chosen_port = description.port(port)
        chosen_speed = chosen_port.speeds[0] if speed is None else chosen_port.speed(speed)
        if chosen_speed is None:
            names = [s.name for s in chosen_port.speeds]
            error = controls.not_in("speed", str(speed), f"port {chosen_port.name!r}", names)
            raise self._attach(error, self.settings.speed.spec)
        chosen_gain = chosen_speed.gains[0] if gain is None else chosen_speed.gain(gain)
        if chosen_gain is None:
            where = f"speed {chosen_speed.name!r} of port {chosen_port.name!r}"
            names = [g.name for g in chosen_speed.gains]
            error = controls.not_in("gain", str(gain), where, names)
            raise self._attach(error, self.settings.gain.spec)

        def apply() -> None:
            link = self._pvcam()
            link.write_param(Param.READOUT_PORT, chosen_port.value)
            link.write_param(Param.SPDTAB_INDEX, chosen_speed.index)
            link.write_param(Param.GAIN_INDEX, chosen_gain.index)

        def on_worker() -> None:
            controls.same_frames(gain=chosen_gain)
            self.while_stopped(apply)
            controls.written.update(
                readout_port=chosen_port.name, speed=chosen_speed.name, gain=chosen_gain.name
            )
            self.refresh("readout_port", "speed", "gain", "bit_depth")

        try:
            self.run_io(on_worker)
        except LabkitError as error:
            raise self._attach(error, self.settings.readout_port.spec) from None

    def set_rois(self, regions: Iterable[Region | Sequence[int]]) -> None:
        """Read these ROIs from now on: labkit ``Region``\\ s (their binning becomes the
        binning) or ``(x, y, width, height)`` tuples (keeping the binning), in sensor pixels.

        The whole layout is checked first (inside the sensor, whole binned pixels, no overlap,
        at most the camera's ROI count, metadata on for several), naming the ROI at fault.
        """
        try:
            layout = self._layout_of(regions)
        except LabkitError as error:
            raise self._attach(error, self.settings.roi.spec) from None
        try:
            self.run_io(self._use_layout, layout)
        except LabkitError as error:
            raise self._attach(error, self.settings.roi.spec) from None

    def _layout_of(self, regions: Iterable[Region | Sequence[int]]) -> Layout:
        description, controls = self._camera()
        return layout_with(controls.layout, regions, description)

    def _use_layout(self, layout: Layout) -> None:
        controls = self._camera()[1]
        controls.same_frames(layout=layout)
        self.while_stopped(lambda: setattr(controls, "layout", layout))
        self.refresh("roi", "binning")

    # the Camera protocol's region: one ROI, in whole binned pixels, keeping the binning

    @property
    def region(self) -> Region:
        """The bounding box of the ROIs read now, with the binning."""
        regions = self.regions
        x = min(r.x for r in regions)
        y = min(r.y for r in regions)
        right = max(r.x + r.width for r in regions)
        bottom = max(r.y + r.height for r in regions)
        return Region(x, y, right - x, bottom - y, regions[0].bin_x, regions[0].bin_y)

    def full_region(self) -> Region:
        binning = self._camera()[1].layout.binning
        rows, columns = self.sensor_shape
        return Region(0, 0, columns, rows, binning.serial, binning.parallel)

    def _fit_region(self, region: Region) -> Region:
        binning = self._camera()[1].layout.binning
        rows, columns = self.sensor_shape
        bx, by = binning.serial, binning.parallel
        x, width = fit_span(
            region.x, region.width, extent=columns, step=bx, size_step=bx, minimum=bx
        )
        y, height = fit_span(
            region.y, region.height, extent=rows, step=by, size_step=by, minimum=by
        )
        if width < bx or height < by:
            raise ConfigurationError(
                f"the region {region} leaves no whole {bx}×{by} binned pixel on the sensor",
                instrument=self.name,
                hint="Select a larger region",
            )
        return Region(x, y, width, height, bx, by)

    def _apply_region(self, region: Region) -> None:
        self._use_layout(self._layout_of([region]))  # fitted with the binning in force

    # ------------------------------------------------------------------ acquisition setup

    def _frame_bytes_estimate(self) -> int:
        """The size of one frame of the current layout, before PVCAM says (to size sequences)."""
        controls = self._camera()[1]
        speed = controls.current_speed(controls.current_port())
        bpp = max(bytes_per_pixel(g.image_format) for g in speed.gains)
        layout = controls.layout
        pixels = sum(r.shape[0] * r.shape[1] for r in layout.regions())
        return pixels * bpp + (_MD_BYTES + 32 * len(layout.rois) if layout.metadata else 0)

    def _setup(self, frames: int | None) -> FrameDecoder:
        """Set up a sequence of ``frames`` (None: continuous); a decoder for its frames."""
        camera, controls = self._camera()
        link, layout = self._pvcam(), controls.layout
        layout.check(camera)
        resolution, count = camera.exposure_counts(controls.exposure)
        several = len(camera.exposure_resolutions) > 1
        if several and int(link.read_param(Param.EXP_RES)) != resolution.value:
            link.write_param(Param.EXP_RES, resolution.value)
        mode = controls.exp_mode()
        regions = layout.pvcam_regions()
        if frames is None:
            frame_bytes = link.setup_cont(regions, count, mode)
        else:
            frame_bytes = link.setup_seq(frames, regions, count, mode)
        host = camera.host_formats
        image_format = controls.read_param(
            Param.IMAGE_FORMAT_HOST if host else Param.IMAGE_FORMAT, default=None
        )
        if image_format is None:
            speed = controls.current_speed(controls.current_port())
            image_format = speed.gains[0].image_format
        return FrameDecoder(
            frame_bytes=frame_bytes,
            metadata=layout.metadata,
            region=Rgn(*regions[0]),
            image_format=int(image_format),
            bit_depth=controls.get_bit_depth(),
            sensor_shape=self.sensor_shape,
            exposure=count * resolution.unit,
        )

    def _default_timeout(self, frames: int) -> float:
        controls = self._camera()[1]
        readout = controls.read_param(Param.READOUT_TIME, default=0) * 1e-6
        return self._pvcam().timeout + frames * (controls.exposure + readout) * 1.5

    # ------------------------------------------------------------------ frames

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
        self.require_connected()
        if self._live is None and self.run_io(self._fits_sequence, frames):
            result = self.run_io(self._sequence_on_worker, frames, timeout)
            if result is not None:
                return result
        try:
            return self._collect(frames, timeout)
        except LabkitError as error:
            raise self._link_failed(error) from None

    def _fits_sequence(self, frames: int) -> bool:
        return frames <= 0xFFFF and self._frame_bytes_estimate() * frames <= UINT32_MAX

    def _sequence_on_worker(self, frames: int, timeout: float | None) -> list[Frame] | None:
        if self._live is not None:
            return None
        link = self._pvcam()
        try:
            decoder = self._setup(frames)
        except PvcamError as error:
            if error.has_code(*SEQUENCE_REFUSED):
                return None  # more than PVCAM takes in one sequence: collect live frames
            raise
        wait = self._default_timeout(frames) if timeout is None else float(timeout)
        buffer = PvcamLibrary.new_buffer(decoder.frame_bytes, frames)
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
                coordinates=self._camera()[1].coordinates,
                copy=False,
            )
            for i in range(frames)
        ]

    def _wait_sequence(self, link: PvcamLink, signals: Signals, frames: int, wait: float) -> None:
        value = self._camera()[1].trigger_value()
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
                raise self._frames_missing(wait, signals.arrived, frames)
            signals.wait(min(remaining, _WAIT_SLICE))

    def _frames_missing(self, timeout: float, arrived: int, frames: int) -> InstrumentTimeout:
        controls = self._camera()[1]
        waiting = controls.trigger is not None and controls.trigger_value() not in (
            int(ExposureMode.EXT_TRIG_INTERNAL),
            int(ExposureMode.TIMED),
        )
        hint = (
            f"The trigger mode is {controls.trigger!r}: is the trigger arriving?"
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
            wait = self.run_io(self._default_timeout, frames) if timeout is None else timeout
            deadline = time.monotonic() + wait
            out: list[Frame] = []
            while len(out) < frames:
                try:
                    out.append(queue.get(timeout=max(deadline - time.monotonic(), 0.0)))
                except TimeoutError:
                    raise self._frames_missing(wait, len(out), frames) from None
                except StreamClosed:
                    raise NotConnectedError(
                        "live acquisition was closed before the frames arrived",
                        instrument=self.name,
                    ) from None
            return out
        finally:
            self.unsubscribe(queue)
            if started and not self.closed:
                self.stop()

    def _open_stream(self, purpose: str) -> LiveAcquisition:
        """Continuous acquisition into PVCAM's circular buffer (snaps are sequences)."""
        controls = self._camera()[1]
        link = self._pvcam()
        decoder = self._setup(None)
        slots = controls.buffer_frames
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
        buffer = PvcamLibrary.new_buffer(decoder.frame_bytes, slots)
        signals = Signals()
        live = LiveAcquisition(
            link=link,
            decoder=decoder,
            signals=signals,
            slots=slots,
            coordinates=lambda: controls.coordinates,
            on_close=self._live_closed,
        )
        self._signals = signals
        try:
            link.start_cont(buffer)
        except BaseException:
            self._signals = None
            raise
        self._live = live
        return live

    def _live_closed(self, live: LiveAcquisition) -> None:
        self.last_stats = live.stats.as_dict()
        if self._live is live:
            self._live = None
            self._signals = None

    def _failure(self, error: BaseException) -> LabkitError:
        return super()._failure(describe_failure(error, self.name))
