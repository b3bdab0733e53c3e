"""The declarations of one PVCAM camera, made from its :class:`CameraDescription` at connect.

Choices are the names the camera reports (``pl_get_enum_param``), limits are its own ranges, and
a setting exists only if the camera has the parameter. The speed and gain choices list every name
of the whole speed table, so a panel can always show the value; which of them the current port
(and speed) allows is checked when one is chosen, with an error naming the valid ones. Each
declaration reads and writes through the camera's :class:`~._controls.PvcamControls`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.core import Action, Reading, Setting
from labkit.drivers.cameras.pvcam._controls import CAMERA_SETTINGS, PvcamControls
from labkit.drivers.cameras.pvcam._describe import CameraDescription
from labkit.drivers.cameras.pvcam._params import ExposureMode

__all__ = ["BUFFER_FRAMES", "COORDINATES", "SOFTWARE_TRIGGERS", "declarations"]

COORDINATES = ("implied", "sensor")

SOFTWARE_TRIGGERS = frozenset(
    {int(ExposureMode.EXT_TRIG_SOFTWARE_FIRST), int(ExposureMode.EXT_TRIG_SOFTWARE_EDGE)}
)

BUFFER_FRAMES = (2, 1024)


def declarations(camera: CameraDescription, controls: PvcamControls) -> dict[str, Any]:
    """``{attribute: Setting/Reading/Action}`` in panel order, read and written by
    ``controls`` (the software trigger is declared only if the camera has such a mode)."""
    d: dict[str, Any] = {}
    low, high = camera.exposure_range
    d["exposure"] = Setting(
        float,
        unit="s",
        min=low,
        max=high,
        step=camera.exposure_step,
        doc="Exposure time per frame; labkit picks the camera's finest exposure resolution "
        "that reaches it",
    )
    if camera.trigger_modes:
        d["trigger_mode"] = Setting(
            choices=[m.name for m in camera.trigger_modes],
            doc="When an exposure starts (PVCAM exposure mode): internal timer, or an external "
            "or software trigger",
        )
    if camera.expose_out_modes:
        d["expose_out_mode"] = Setting(
            choices=[m.name for m in camera.expose_out_modes],
            doc="What the camera's expose-out signal follows",
        )
    if camera.clear_modes:
        d["clear_mode"] = Setting(
            choices=[m.name for m in camera.clear_modes],
            doc="When the sensor is cleared of charge",
        )
    d["readout_port"] = Setting(
        choices=[p.name for p in camera.ports],
        doc="Readout port (its speeds and gains follow; setting it resets speed and gain)",
    )
    d["speed"] = Setting(
        choices=camera.speed_names(),
        doc="Readout speed of the current port (setting it resets the gain)",
    )
    d["gain"] = Setting(choices=camera.gain_names(), doc="Gain of the current readout speed")
    d["bit_depth"] = Setting(
        int, access="r", doc="Valid bits per pixel of the current port, speed and gain"
    )
    d["roi"] = Setting(
        str,
        doc="Regions of interest in unbinned sensor pixels: 'x,y,width,height', several "
        "separated by ';', or 'full'",
    )
    d["binning"] = Setting(
        choices=[b.name for b in camera.binnings], doc="Binning of every ROI (serial x parallel)"
    )
    d["roi_coordinates"] = Setting(
        choices=list(COORDINATES),
        doc="How several ROIs join into one image: 'implied' = their bounding box, 'sensor' = "
        "the whole (binned) sensor, steady while centroids move",
    )
    if camera.metadata:
        d["metadata"] = Setting(
            bool,
            doc="Embedded frame metadata: hardware timestamps, exposure, ROIs (needed for "
            "several ROIs and centroids)",
        )
    if camera.centroids is not None:
        d["centroids"] = Setting(bool, doc="Send particle centroids instead of whole frames")
        if len(camera.centroids.modes) > 1:
            d["centroid_mode"] = Setting(
                choices=[m.name for m in camera.centroids.modes],
                doc="Locate (patches), Track (background + particles with moments) or Blob",
            )
        d["centroid_count"] = Setting(
            int,
            min=camera.centroids.count[0],
            max=camera.centroids.count[1],
            doc="Number of particles the camera looks for",
        )
        d["centroid_radius"] = Setting(
            int,
            min=camera.centroids.radius[0],
            max=camera.centroids.radius[1],
            doc="Radius r of each particle's (2r+1)×(2r+1) patch, in pixels",
        )
    if camera.temperature:
        d["temperature"] = Reading(float, unit="degC", doc="Sensor temperature")
    if camera.setpoint_range is not None:
        d["temperature_setpoint"] = Setting(
            float,
            unit="degC",
            min=camera.setpoint_range[0],
            max=camera.setpoint_range[1],
            step=0.01,
            readback="temperature" if camera.temperature else None,
            doc="Sensor temperature set-point of the cooler",
        )
    if camera.fan_speeds:
        d["fan_speed"] = Setting(
            choices=[f.name for f in camera.fan_speeds], doc="Speed of the cooling fan"
        )
    d["buffer_frames"] = Setting(
        int,
        min=BUFFER_FRAMES[0],
        max=BUFFER_FRAMES[1],
        doc="Frames in the circular buffer of live acquisition (PVCAM's ring, < 4 GiB)",
    )
    if camera.readout_time:
        d["readout_time"] = Reading(
            float, unit="s", doc="Time to read the sensor out with the current settings"
        )
    if any(m.value in SOFTWARE_TRIGGERS for m in camera.trigger_modes):
        d["software_trigger"] = Action(
            lambda _camera: controls.software_trigger(),
            label="Software trigger",
            doc="Start an exposure in a software trigger mode (while acquiring)",
        )
    for name, trait in d.items():
        if trait.spec.role == "action":
            continue
        trait.spec.get = _reader(getattr(controls, f"get_{name}"))
        if trait.spec.access != "r":
            setter = getattr(controls, f"set_{name}")
            trait.spec.set = _writer(setter, controls, name if name in CAMERA_SETTINGS else None)
    return d


def _reader(get: Callable[[], Any]) -> Callable[[Any], Any]:
    return lambda _camera: get()


def _writer(
    set_: Callable[[Any], Any], controls: PvcamControls, remembered: str | None
) -> Callable[[Any, Any], Any]:
    """The setter; what the camera acknowledged for a camera setting is what a reconnect
    writes back (setters return it rounded to the camera's resolution)."""

    def write(_camera: Any, value: Any) -> Any:
        sent = set_(value)
        if remembered is not None:
            controls.remember(remembered, value if sent is None else sent)
        return sent

    return write
