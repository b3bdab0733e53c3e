"""The settings of a PVCAM camera: what each one holds, and how it reads and writes the camera.

:class:`PvcamControls` belongs to one opened camera. It keeps what labkit decides for the camera
between acquisitions (the exposure, the trigger mode, the readout layout of ROIs and binning,
how several ROIs join, the ring's size) and what was written to the camera (put back after a
reconnect), and it holds the getters and setters the declarations of :mod:`._settings` call,
on the instrument's worker, with the speed-table helpers and the rule that, while acquiring,
refuses a change of the frames' shape or pixel type. It talks to the camera through the
camera's public face: its link, ``while_stopped()``, ``refresh()`` and ``acquiring``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.core import AccessError, ChoiceError, Region
from labkit.drivers.cameras.pvcam._describe import CameraDescription
from labkit.drivers.cameras.pvcam._errors import PvcamError
from labkit.drivers.cameras.pvcam._frames import Coordinates
from labkit.drivers.cameras.pvcam._layout import Layout, format_rois, parse_rois
from labkit.drivers.cameras.pvcam._params import (
    Attr,
    ExposureMode,
    Param,
    SwTriggerStatus,
    bytes_per_pixel,
)

if TYPE_CHECKING:
    from labkit.drivers.cameras.pvcam._camera import PvcamCamera
    from labkit.drivers.cameras.pvcam._link import PvcamLink

__all__ = ["CAMERA_SETTINGS", "PvcamControls"]

_MISSING: Any = object()

CAMERA_SETTINGS = (
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
"""Settings written to the camera itself, put back in this order after a reconnect."""


class PvcamControls:
    """The settings of one PVCAM camera (see the module doc)."""

    def __init__(self, camera: PvcamCamera, description: CameraDescription) -> None:
        self.camera = camera
        self.description = description
        low, high = description.exposure_range
        self.exposure = min(max(0.01, low), high)
        self.trigger = description.trigger_modes[0].name if description.trigger_modes else None
        full = (Region(0, 0, description.sensor_shape[1], description.sensor_shape[0]),)
        unbinned = next((b for b in description.binnings if (b.serial, b.parallel) == (1, 1)), None)
        self.layout = Layout(rois=full, binning=unbinned or description.binnings[0], metadata=False)
        self.coordinates: Coordinates = "implied"
        self.buffer_frames = 16
        self.written: dict[str, Any] = {}

    @property
    def sensor_shape(self) -> tuple[int, int]:
        return self.description.sensor_shape

    def link(self) -> PvcamLink:
        return self.camera.link

    def read_param(self, param: int, attr: Attr = Attr.CURRENT, default: Any = _MISSING) -> Any:
        """A parameter's value; ``default`` if the camera refuses it (when one is given)."""
        try:
            return self.link().read_param(param, attr)
        except PvcamError:
            if default is _MISSING:
                raise
            return default

    def remember(self, name: str, value: Any) -> Any:
        """What the camera acknowledged for ``name``: what a reconnect writes back."""
        self.written[name] = value
        return value

    def layout_from_camera(self) -> None:
        """Take metadata and centroid settings as the camera has them (after opening)."""
        camera = self.description
        changes: dict[str, Any] = {}
        link = self.link()
        if camera.metadata:
            changes["metadata"] = bool(link.read_param(Param.METADATA_ENABLED))
        if camera.centroids is not None:
            changes["centroids"] = bool(link.read_param(Param.CENTROIDS_ENABLED))
            changes["centroid_count"] = int(link.read_param(Param.CENTROIDS_COUNT))
            changes["centroid_radius"] = int(link.read_param(Param.CENTROIDS_RADIUS))
        self.layout = dataclasses.replace(self.layout, **changes)

    def restore(self, setters: dict[str, Any]) -> None:
        """Write back what was written before the camera was reopened (it forgot)."""
        written, self.written = self.written, {}
        for name in CAMERA_SETTINGS:
            if name in written and name in setters:
                setters[name](written[name])
                self.written[name] = written[name]

    def container(self, gain: Any = None) -> int:
        """The pixel container of ``gain`` (default: the gain in force), from the speed table."""
        if gain is None:
            speed = self.current_speed(self.current_port())
            index = int(self.read_param(Param.GAIN_INDEX, default=speed.gains[0].index))
            gain = next((g for g in speed.gains if g.index == index), speed.gains[0])
        return int(gain.image_format)

    def geometry(self, layout: Layout, container: int, coordinates: str) -> tuple[Any, ...] | None:
        """(shape, bytes per pixel) of the frames; None where the shape moves with centroids."""
        if coordinates == "sensor":
            height, width = self.sensor_shape
            shape = (height // layout.binning.parallel, width // layout.binning.serial)
        elif layout.centroids:
            return None
        else:
            box = layout.bounding_box
            width, height = box.width, box.height
            shape = (height // layout.binning.parallel, width // layout.binning.serial)
        return shape, bytes_per_pixel(container)

    def same_frames(
        self,
        *,
        layout: Layout | None = None,
        gain: Any = None,
        coordinates: str | None = None,
    ) -> None:
        """While acquiring, refuse a change that would change the frames' shape or pixel type
        (before anything is written), as a GenICam camera refuses payload changes."""
        if not self.camera.acquiring:
            return
        now = self.geometry(self.layout, self.container(), self.coordinates)
        after = self.geometry(
            layout or self.layout,
            self.container(gain),
            coordinates or self.coordinates,
        )
        if now is not None and now == after:
            return
        raise AccessError(
            "this change would change the frames' shape or pixel type, which cannot change while "
            "the camera acquires",
            hint="Call stop(), change it, then start() again",
        )

    def _store(self, *names: str) -> None:
        """Read settings the camera changed by itself (speed resets gain...) and store them."""
        self.camera.refresh(*(n for n in names if n in self.camera.settings))

    def _enum_name(self, param: int, items: Sequence[Any]) -> str:
        value = self.link().read_param(param)
        for item in items:
            if item.value == value:
                return str(item.name)
        return f"unknown value {value}"  # refused by the choices: a ReplyError naming it

    def _enum_value(self, items: Sequence[Any], name: str) -> int:
        for item in items:
            if item.name == name:
                return int(item.value)
        raise ChoiceError(f"{name!r} is not one of the choices", value=name)

    def _write_enum(self, param: int, items: Sequence[Any], name: str, live: bool = False) -> None:
        value = self._enum_value(items, name)
        if live:
            self.link().write_param(param, value)
        else:
            self.camera.while_stopped(lambda: self.link().write_param(param, value))

    # ------------------------------------------------------------------ exposure and triggers

    def get_exposure(self) -> float:
        return self.exposure

    def set_exposure(self, seconds: float) -> float:
        resolution, count = self.description.exposure_counts(seconds)
        exact = count * resolution.unit  # in the finest resolution that reaches it
        self.camera.while_stopped(lambda: setattr(self, "exposure", exact))
        return exact

    def get_trigger_mode(self) -> str | None:
        return self.trigger

    def set_trigger_mode(self, name: str) -> None:
        self.camera.while_stopped(lambda: setattr(self, "trigger", name))

    def get_expose_out_mode(self) -> str:
        return self._enum_name(Param.EXPOSE_OUT_MODE, self.description.expose_out_modes)

    def set_expose_out_mode(self, name: str) -> None:
        self._write_enum(Param.EXPOSE_OUT_MODE, self.description.expose_out_modes, name)

    def get_clear_mode(self) -> str:
        return self._enum_name(Param.CLEAR_MODE, self.description.clear_modes)

    def set_clear_mode(self, name: str) -> None:
        self._write_enum(Param.CLEAR_MODE, self.description.clear_modes, name)

    def trigger_value(self) -> int:
        if self.trigger is None:
            return int(ExposureMode.TIMED)
        return self._enum_value(self.description.trigger_modes, self.trigger)

    def exp_mode(self) -> int:
        """``exp_mode`` of the setup: the trigger mode OR-ed with the expose-out mode."""
        mode = self.trigger_value()
        if mode >= 256 and self.description.expose_out_modes:
            mode |= int(self.link().read_param(Param.EXPOSE_OUT_MODE))
        return mode

    def software_trigger(self) -> str:
        """Send one software trigger; "ignored" when the camera was still exposing."""
        status = self.link().trigger()
        return "triggered" if status == SwTriggerStatus.TRIGGERED else "ignored"

    # ------------------------------------------------------------------ the speed table

    def current_port(self) -> Any:
        return self.description.port_by_value(int(self.link().read_param(Param.READOUT_PORT)))

    def current_speed(self, port: Any) -> Any:
        index = int(self.read_param(Param.SPDTAB_INDEX, default=0))
        return port.speeds[min(max(index, 0), len(port.speeds) - 1)]

    def get_readout_port(self) -> str:
        return str(self.current_port().name)

    def set_readout_port(self, name: str) -> None:
        port = self.description.port(name)
        self.same_frames(gain=port.speeds[0].gains[0])
        self.camera.while_stopped(lambda: self.link().write_param(Param.READOUT_PORT, port.value))
        for dependent in ("speed", "gain"):
            self.written.pop(dependent, None)  # PVCAM reset them
        self._store("speed", "gain", "bit_depth")

    def get_speed(self) -> str:
        return str(self.current_speed(self.current_port()).name)

    def set_speed(self, name: str) -> None:
        port = self.current_port()
        speed = port.speed(name)
        if speed is None:
            raise self.not_in("speed", name, f"port {port.name!r}", [s.name for s in port.speeds])
        self.same_frames(gain=speed.gains[0])
        self.camera.while_stopped(lambda: self.link().write_param(Param.SPDTAB_INDEX, speed.index))
        self.written.pop("gain", None)  # PVCAM reset it
        self._store("gain", "bit_depth")

    def get_gain(self) -> str:
        speed = self.current_speed(self.current_port())
        index = int(self.read_param(Param.GAIN_INDEX, default=speed.gains[0].index))
        for gain in speed.gains:
            if gain.index == index:
                return str(gain.name)
        return f"unknown gain index {index}"

    def set_gain(self, name: str) -> None:
        port = self.current_port()
        speed = self.current_speed(port)
        gain = speed.gain(name)
        if gain is None:
            where = f"speed {speed.name!r} of port {port.name!r}"
            raise self.not_in("gain", name, where, [g.name for g in speed.gains])
        self.same_frames(gain=gain)
        self.camera.while_stopped(lambda: self.link().write_param(Param.GAIN_INDEX, gain.index))
        self._store("bit_depth")

    def not_in(self, what: str, name: str, where: str, valid: list[str]) -> ChoiceError:
        elsewhere = [
            f"{p.name} / {s.name}"
            for p, s, g in self.description.modes()
            if (s.name if what == "speed" else g.name) == name
        ]
        hint = "Choose one of: " + ", ".join(repr(v) for v in valid)
        if elsewhere:
            hint += (
                f"; {name!r} is offered by {', '.join(dict.fromkeys(elsewhere))}: set that first"
            )
        return ChoiceError(
            f"{name!r} is not a {what} of {where}", value=name, limit=valid, hint=hint
        )

    def get_bit_depth(self) -> int:
        param = Param.BIT_DEPTH_HOST if self.description.host_formats else Param.BIT_DEPTH
        return int(self.link().read_param(param))

    # ------------------------------------------------------------------ ROIs, binning, metadata

    def _change_layout(self, write: tuple[int, Any] | None = None, **changes: Any) -> None:
        layout = dataclasses.replace(self.layout, **changes)
        layout.check(self.description)
        self.same_frames(layout=layout)

        def apply() -> None:
            if write is not None:
                self.link().write_param(*write)
            self.layout = layout

        self.camera.while_stopped(apply)

    def get_roi(self) -> str:
        return format_rois(self.layout.rois)

    def set_roi(self, text: str) -> str:
        rects = parse_rois(text, self.sensor_shape)
        self._change_layout(rois=rects)
        return format_rois(rects)

    def get_binning(self) -> str:
        return self.layout.binning.name

    def set_binning(self, name: str) -> None:
        self._change_layout(binning=self.description.binning(name))

    def get_roi_coordinates(self) -> str:
        return self.coordinates

    def set_roi_coordinates(self, value: str) -> None:
        self.same_frames(coordinates=value)
        # The setting's choices are the two Coordinates; the live thread reads it per frame.
        self.coordinates = value  # type: ignore[assignment]  # a str checked against the choices

    def get_metadata(self) -> bool:
        return bool(self.link().read_param(Param.METADATA_ENABLED))

    def set_metadata(self, on: bool) -> None:
        self._change_layout(metadata=on, write=(Param.METADATA_ENABLED, on))

    # ------------------------------------------------------------------ centroids

    def get_centroids(self) -> bool:
        return bool(self.link().read_param(Param.CENTROIDS_ENABLED))

    def set_centroids(self, on: bool) -> None:
        self._change_layout(centroids=on, write=(Param.CENTROIDS_ENABLED, on))

    def get_centroid_mode(self) -> str:
        assert self.description.centroids is not None
        return self._enum_name(Param.CENTROIDS_MODE, self.description.centroids.modes)

    def set_centroid_mode(self, name: str) -> None:
        assert self.description.centroids is not None
        self._write_enum(Param.CENTROIDS_MODE, self.description.centroids.modes, name)

    def get_centroid_count(self) -> int:
        return int(self.link().read_param(Param.CENTROIDS_COUNT))

    def set_centroid_count(self, count: int) -> None:
        self._change_layout(centroid_count=count, write=(Param.CENTROIDS_COUNT, count))

    def get_centroid_radius(self) -> int:
        return int(self.link().read_param(Param.CENTROIDS_RADIUS))

    def set_centroid_radius(self, radius: int) -> None:
        self._change_layout(centroid_radius=radius, write=(Param.CENTROIDS_RADIUS, radius))

    # ------------------------------------------------------------------ cooling, fan, buffer

    def get_temperature(self) -> float:
        return int(self.link().read_param(Param.TEMP)) / 100.0

    def get_temperature_setpoint(self) -> float:
        return int(self.link().read_param(Param.TEMP_SETPOINT)) / 100.0

    def set_temperature_setpoint(self, celsius: float) -> float:
        hundredths = round(celsius * 100)  # PVCAM's unit on the wire
        self.link().write_param(Param.TEMP_SETPOINT, hundredths)
        return hundredths / 100.0

    def get_fan_speed(self) -> str:
        return self._enum_name(Param.FAN_SPEED_SETPOINT, self.description.fan_speeds)

    def set_fan_speed(self, name: str) -> None:
        self._write_enum(Param.FAN_SPEED_SETPOINT, self.description.fan_speeds, name, live=True)

    def get_buffer_frames(self) -> int:
        return self.buffer_frames

    def set_buffer_frames(self, frames: int) -> None:
        self.camera.while_stopped(lambda: setattr(self, "buffer_frames", int(frames)))

    def get_readout_time(self) -> float:
        return int(self.link().read_param(Param.READOUT_TIME)) * 1e-6
