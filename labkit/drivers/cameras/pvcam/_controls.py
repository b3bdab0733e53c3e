"""The settings of a PVCAM camera: how each one reads and writes the camera.

:class:`CameraControls` holds the getters and setters the declarations of :mod:`._settings` name
(``_get_<name>`` / ``_set_<name>``, run on the instrument's worker), the speed-table helpers,
and the rule that, while acquiring, refuses a change of the frames' shape or pixel type. It is
mixed into :class:`~._camera.PvcamCamera` and keeps no state of its own: it uses the camera's
link (``_link()``), its description, its readout layout and its acquisition state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from labkit.core import AccessError, ChoiceError
from labkit.drivers.cameras.pvcam._layout import Layout, format_rois, parse_rois
from labkit.drivers.cameras.pvcam._params import (
    ExposureMode,
    Param,
    SwTriggerStatus,
    bytes_per_pixel,
)

__all__ = ["CameraControls"]


class CameraControls:
    """Getters, setters and readout methods of :class:`~._camera.PvcamCamera` (a mixin)."""

    # What PvcamCamera provides: sensor_shape, description, _link(), _read(), _worker,
    # _layout, _coordinates, _exposure, _trigger, _buffer_frames, _written, _live,
    # _while_stopped(), and the Instrument machinery (_labkit_specs, _trait,
    # _read_value, _attach, _require_connected).
    _layout: Layout
    _coordinates: str

    def _container(self, gain: Any = None) -> int:
        """The pixel container of ``gain`` (default: the gain in force), from the speed table."""
        if gain is None:
            speed = self._current_speed(self._current_port())
            index = int(self._read(Param.GAIN_INDEX, default=speed.gains[0].index))
            gain = next((g for g in speed.gains if g.index == index), speed.gains[0])
        return int(gain.image_format)

    def _geometry(self, layout: Layout, container: int, coordinates: str) -> tuple[Any, ...] | None:
        """(shape, bytes per pixel) of the frames; None where the shape moves with centroids."""
        if coordinates == "sensor":
            height, width = self.sensor_shape
            shape = (height // layout.binning.parallel, width // layout.binning.serial)
        elif layout.centroids:
            return None
        else:
            _, _, width, height = layout.bounding_box
            shape = (height // layout.binning.parallel, width // layout.binning.serial)
        return shape, bytes_per_pixel(container)

    def _same_frames(
        self,
        *,
        layout: Layout | None = None,
        gain: Any = None,
        coordinates: str | None = None,
    ) -> None:
        """While acquiring, refuse a change that would change the frames' shape or pixel type
        (before anything is written), as a GenICam camera refuses payload changes."""
        if self._live is None:
            return
        now = self._geometry(self._layout, self._container(), self._coordinates)
        after = self._geometry(
            layout or self._layout,
            self._container(gain),
            coordinates or self._coordinates,
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
        for name in names:
            spec = self._labkit_specs.get(name)
            if spec is not None:
                self._trait(spec).store(self, self._read_value(spec))

    def _enum_name(self, param: int, items: Sequence[Any]) -> str:
        value = self._link().read_param(param)
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
            self._link().write_param(param, value)
        else:
            self._while_stopped(lambda: self._link().write_param(param, value))

    # ------------------------------------------------------------------ exposure and triggers

    def _get_exposure(self) -> float:
        return self._exposure

    def _set_exposure(self, seconds: float) -> float:
        resolution, count = self.description.exposure_counts(seconds)
        exact = count * resolution.unit  # in the finest resolution that reaches it
        self._while_stopped(lambda: setattr(self, "_exposure", exact))
        return exact

    def _get_trigger_mode(self) -> str | None:
        return self._trigger

    def _set_trigger_mode(self, name: str) -> None:
        self._while_stopped(lambda: setattr(self, "_trigger", name))

    def _get_expose_out_mode(self) -> str:
        return self._enum_name(Param.EXPOSE_OUT_MODE, self.description.expose_out_modes)

    def _set_expose_out_mode(self, name: str) -> None:
        self._write_enum(Param.EXPOSE_OUT_MODE, self.description.expose_out_modes, name)

    def _get_clear_mode(self) -> str:
        return self._enum_name(Param.CLEAR_MODE, self.description.clear_modes)

    def _set_clear_mode(self, name: str) -> None:
        self._write_enum(Param.CLEAR_MODE, self.description.clear_modes, name)

    def _trigger_value(self) -> int:
        if self._trigger is None:
            return int(ExposureMode.TIMED)
        return self._enum_value(self.description.trigger_modes, self._trigger)

    def _exp_mode(self) -> int:
        """``exp_mode`` of the setup: the trigger mode OR-ed with the expose-out mode."""
        mode = self._trigger_value()
        if mode >= 256 and self.description.expose_out_modes:
            mode |= int(self._link().read_param(Param.EXPOSE_OUT_MODE))
        return mode

    def _software_trigger(self) -> str:
        """Send one software trigger; "ignored" when the camera was still exposing."""
        status = self._link().trigger()
        return "triggered" if status == SwTriggerStatus.TRIGGERED else "ignored"

    # ------------------------------------------------------------------ the speed table

    def _current_port(self) -> Any:
        return self.description.port_by_value(int(self._link().read_param(Param.READOUT_PORT)))

    def _current_speed(self, port: Any) -> Any:
        index = int(self._read(Param.SPDTAB_INDEX, default=0))
        return port.speeds[min(max(index, 0), len(port.speeds) - 1)]

    def _get_readout_port(self) -> str:
        return str(self._current_port().name)

    def _set_readout_port(self, name: str) -> None:
        port = self.description.port(name)
        self._same_frames(gain=port.speeds[0].gains[0])
        self._while_stopped(lambda: self._link().write_param(Param.READOUT_PORT, port.value))
        for dependent in ("speed", "gain"):
            self._written.pop(dependent, None)  # PVCAM reset them
        self._store("speed", "gain", "bit_depth")

    def _get_speed(self) -> str:
        return str(self._current_speed(self._current_port()).name)

    def _set_speed(self, name: str) -> None:
        port = self._current_port()
        speed = port.speed(name)
        if speed is None:
            raise self._not_in("speed", name, f"port {port.name!r}", [s.name for s in port.speeds])
        self._same_frames(gain=speed.gains[0])
        self._while_stopped(lambda: self._link().write_param(Param.SPDTAB_INDEX, speed.index))
        self._written.pop("gain", None)  # PVCAM reset it
        self._store("gain", "bit_depth")

    def _get_gain(self) -> str:
        speed = self._current_speed(self._current_port())
        index = int(self._read(Param.GAIN_INDEX, default=speed.gains[0].index))
        for gain in speed.gains:
            if gain.index == index:
                return str(gain.name)
        return f"unknown gain index {index}"

    def _set_gain(self, name: str) -> None:
        port = self._current_port()
        speed = self._current_speed(port)
        gain = speed.gain(name)
        if gain is None:
            where = f"speed {speed.name!r} of port {port.name!r}"
            raise self._not_in("gain", name, where, [g.name for g in speed.gains])
        self._same_frames(gain=gain)
        self._while_stopped(lambda: self._link().write_param(Param.GAIN_INDEX, gain.index))
        self._store("bit_depth")

    def _not_in(self, what: str, name: str, where: str, valid: list[str]) -> ChoiceError:
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

    def _get_bit_depth(self) -> int:
        param = Param.BIT_DEPTH_HOST if self.description.host_formats else Param.BIT_DEPTH
        return int(self._link().read_param(param))

    # ------------------------------------------------------------------ ROIs, binning, metadata

    def _change_layout(self, write: tuple[int, Any] | None = None, **changes: Any) -> None:
        layout = dataclasses.replace(self._layout, **changes)
        layout.check(self.description)
        self._same_frames(layout=layout)

        def apply() -> None:
            if write is not None:
                self._link().write_param(*write)
            self._layout = layout

        self._while_stopped(apply)

    def _get_roi(self) -> str:
        return format_rois(self._layout.rois)

    def _set_roi(self, text: str) -> str:
        rects = parse_rois(text, self.sensor_shape)
        self._change_layout(rois=rects)
        return format_rois(rects)

    def _get_binning(self) -> str:
        return self._layout.binning.name

    def _set_binning(self, name: str) -> None:
        self._change_layout(binning=self.description.binning(name))

    def _get_roi_coordinates(self) -> str:
        return self._coordinates

    def _set_roi_coordinates(self, value: str) -> None:
        self._same_frames(coordinates=value)
        self._coordinates = value  # type: ignore[assignment]  # the live thread reads it per frame

    def _get_metadata(self) -> bool:
        return bool(self._link().read_param(Param.METADATA_ENABLED))

    def _set_metadata(self, on: bool) -> None:
        self._change_layout(metadata=on, write=(Param.METADATA_ENABLED, on))

    # ------------------------------------------------------------------ centroids

    def _get_centroids(self) -> bool:
        return bool(self._link().read_param(Param.CENTROIDS_ENABLED))

    def _set_centroids(self, on: bool) -> None:
        self._change_layout(centroids=on, write=(Param.CENTROIDS_ENABLED, on))

    def _get_centroid_mode(self) -> str:
        assert self.description.centroids is not None
        return self._enum_name(Param.CENTROIDS_MODE, self.description.centroids.modes)

    def _set_centroid_mode(self, name: str) -> None:
        assert self.description.centroids is not None
        self._write_enum(Param.CENTROIDS_MODE, self.description.centroids.modes, name)

    def _get_centroid_count(self) -> int:
        return int(self._link().read_param(Param.CENTROIDS_COUNT))

    def _set_centroid_count(self, count: int) -> None:
        self._change_layout(centroid_count=count, write=(Param.CENTROIDS_COUNT, count))

    def _get_centroid_radius(self) -> int:
        return int(self._link().read_param(Param.CENTROIDS_RADIUS))

    def _set_centroid_radius(self, radius: int) -> None:
        self._change_layout(centroid_radius=radius, write=(Param.CENTROIDS_RADIUS, radius))

    # ------------------------------------------------------------------ cooling, fan, buffer

    def _get_temperature(self) -> float:
        return int(self._link().read_param(Param.TEMP)) / 100.0

    def _get_temperature_setpoint(self) -> float:
        return int(self._link().read_param(Param.TEMP_SETPOINT)) / 100.0

    def _set_temperature_setpoint(self, celsius: float) -> float:
        hundredths = round(celsius * 100)  # PVCAM's unit on the wire
        self._link().write_param(Param.TEMP_SETPOINT, hundredths)
        return hundredths / 100.0

    def _get_fan_speed(self) -> str:
        return self._enum_name(Param.FAN_SPEED_SETPOINT, self.description.fan_speeds)

    def _set_fan_speed(self, name: str) -> None:
        self._write_enum(Param.FAN_SPEED_SETPOINT, self.description.fan_speeds, name, live=True)

    def _get_buffer_frames(self) -> int:
        return self._buffer_frames

    def _set_buffer_frames(self, frames: int) -> None:
        self._while_stopped(lambda: setattr(self, "_buffer_frames", int(frames)))

    def _get_readout_time(self) -> float:
        return int(self._link().read_param(Param.READOUT_TIME)) * 1e-6
