"""``GenICamCamera``: a GenICam camera as a labkit instrument and a labkit ``Camera``.

A camera family on :class:`~labkit.drivers.cameras.CameraInstrument`: the link is harvesters
(:class:`._link.GenICamLink`); at connect the node map's features become the camera's settings,
readings and actions (:meth:`GenICamCamera.device_declarations`, mapped by :mod:`._features`
with the node map's own types, limits, units and enumerations), so ``inst.panel()`` and
snapshots come from them as for any driver. GenICam limits are live: after every write the
features GenApi says it touched get their limits and values read again
(:meth:`~labkit.core.Instrument.update_declaration`), and reading a setting refreshes its limits.

The frame stream polls the link for filled buffers (never waiting inside GenICam) and copies
each into a :class:`~labkit.core.Frame` (every part of a multi-part buffer, such as a 3D
camera's intensity and coordinate planes, in ``Frame.parts``); the base class runs it on the
acquisition thread and hands frames to every subscriber. Frame numbers follow the camera's
block ids, so a buffer the producer lost shows as a missing number (a run counts it as lost in
the driver). The region of interest goes through the standard features
``Width``/``Height``/``OffsetX``/``OffsetY`` (binned pixels, with increments).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from labkit.core import (
    ConfigurationError,
    Frame,
    LabkitError,
    Region,
    TraitSpec,
    fit_span,
    reserved_names,
)
from labkit.drivers.cameras._base import CameraInstrument
from labkit.drivers.cameras.genicam._features import (
    Feature,
    check_write,
    declare,
    describe,
    live_limits,
    read_value,
)
from labkit.drivers.cameras.genicam._link import GenICamLink, RawFrame
from labkit.drivers.cameras.genicam._producers import find_producers, no_producer_error
from labkit.drivers.cameras.genicam._system import SCHEME, CameraInfo, parse_address

__all__ = ["GenICamCamera"]

_IDLE = 0.002
"""Seconds the acquisition thread sleeps when no buffer is ready (frames come every ≥ 5 ms)."""

_ROI_NODES = ("Width", "Height", "OffsetX", "OffsetY")


class GenICamCamera(CameraInstrument):
    """A GenICam camera reached through a GenTL producer with harvesters.

    ``GenICamCamera("genicam://<device>[@<producer>]", name="cam")``: ``<device>`` is the camera's
    GenTL id, serial number or user-defined name (empty for the only camera); ``<producer>`` is
    a ``.cti`` path or ``viky`` (the genicam package's simulated cameras), by default the
    producers of ``GENICAM_GENTL64_PATH`` and labkit's configuration. ``list_cameras()`` lists
    addresses. Options: ``producers=`` (files, folders or ``"viky"``), ``visibility=``
    (``"beginner"``, ``"expert"``, ``"guru"``: which features become settings), ``timeout=``
    (seconds a ``snap()`` waits), ``buffers=`` (acquisition buffers), ``command_timeout=``.

    Settings are the camera's features in snake case (``Width`` → ``width``, ``PixelFormat`` →
    ``pixel_format``), checked against the node map's limits before anything is written.
    """

    declared_at_connect = True  # the node map is known once the camera is open

    buffers: int
    command_timeout: float
    features: dict[str, Feature]
    info: CameraInfo | None

    def __init__(
        self,
        resource: str | None = None,
        *,
        producers: Any = None,
        visibility: str = "expert",
        timeout: float | None = None,
        buffers: int = 8,
        command_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        resource = SCHEME if resource is None else resource
        parse_address(resource)
        self.buffers = buffers
        self.command_timeout = command_timeout
        self.features = {}
        self.info = None
        self._producers = producers
        self._visibility = visibility
        self._timeout = 5.0 if timeout is None else float(timeout)
        self._by_node: dict[str, Feature] = {}
        self._chunk_nodes: tuple[str, ...] = ()
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        self._exposure_seconds: Callable[[], float | None] = lambda: None
        super().__init__(resource, **options)

    @classmethod
    def check_available(cls) -> None:
        """Raise ``MissingVendorLibrary`` unless harvesters and a GenTL producer are installed."""
        from labkit.drivers.cameras.genicam._system import _require_harvesters

        _require_harvesters()
        if not find_producers():
            raise no_producer_error()

    def make_link(self) -> GenICamLink:
        return GenICamLink(
            self.resource or SCHEME, producers=self._producers, timeout=self._timeout
        )

    # ------------------------------------------------------------------ declarations from the node map

    def device_declarations(self) -> dict[str, Any]:
        """The node map's features, as settings, readings and actions (see :mod:`._features`)."""
        link = self._genicam()
        self.info = link.info
        features = describe(
            link.node_map,
            visibility=self._visibility,
            reserved=reserved_names(type(self), instance=self),
        )
        self._by_node = {f.node: f for f in features}
        self._chunk_nodes = tuple(f.node for f in features if f.role == "chunk")
        self.features = {f.attribute: f for f in features if f.role != "chunk"}
        declarations = {}
        for feature in self.features.values():
            limits = None
            if feature.role == "setting" and feature.kind in ("int", "float", "enum"):
                limits = link.read_node(feature.node, lambda node, f=feature: live_limits(node, f))
            declarations[feature.attribute] = declare(feature, limits, self._node_calls(feature))
        return declarations

    def _node_calls(self, feature: Feature) -> Callable[[str], Callable[..., Any]]:
        """The get/set/action callables of a feature's declaration (on the worker)."""

        def calls(operation: str) -> Callable[..., Any]:
            if operation == "read":
                return lambda _camera: self._read_feature(feature)
            if operation == "write":
                return lambda _camera, value: self._write_feature(feature, value)
            return lambda _camera: self._execute_feature(feature)

        return calls

    # ------------------------------------------------------------------ what it is

    @property
    def node_map(self) -> Any:
        """The camera's GenApi node map: every feature, unchecked (for experts)."""
        return self._genicam().node_map

    def feature(self, node: str) -> Any:
        """The handle of the setting, reading or action made from the GenICam feature ``node``."""
        feature = self._by_node.get(node)
        if feature is None or feature.role == "chunk":
            raise AttributeError(
                f"{self.name} exposes no GenICam feature {node!r}; it is not in its node map, "
                "above the visibility asked for, or unavailable (node_map has every node)"
            )
        for namespace in (self.settings, self.readings, self.actions):
            if feature.attribute in namespace:
                return namespace[feature.attribute]
        raise AttributeError(node)

    def identify(self) -> dict[str, str]:
        info = self.info
        assert info is not None
        return {
            "vendor": self._device_text("DeviceVendorName") or info.vendor,
            "model": self._device_text("DeviceModelName") or info.model,
            "serial": self._device_text("DeviceSerialNumber") or info.serial,
            "firmware": self._device_text("DeviceFirmwareVersion") or info.version,
            "id": info.id,
            "producer": str(info.producer.path),
        }

    def _device_text(self, node: str) -> str:
        try:
            wrapper = self._genicam().node_map.get_node(node)
            return str(wrapper.value) if int(wrapper.node.get_access_mode()) in (3, 4) else ""
        except Exception:
            return ""

    def _genicam(self) -> GenICamLink:
        return self.link  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ node I/O (on the worker)

    def _on_open(self) -> None:
        link = self._genicam()
        for node, feature in self._by_node.items():
            if feature.role != "chunk":
                link.watch(node, self._node_changed)
        self.sensor_shape = self._read_sensor_shape()
        self._exposure_seconds = self._exposure_reader()
        if "OffsetX" not in self._by_node or "OffsetY" not in self._by_node:
            self.region_note = "this camera crops from its corner only"

    def _node_changed(self, node: str) -> None:
        # GenApi calls this on whatever thread touched the node map.
        with self._changed_lock:
            self._changed.add(node)

    def _read_sensor_shape(self) -> tuple[int, int]:
        node_map = self._genicam().node_map
        for height, width in (("SensorHeight", "SensorWidth"), ("HeightMax", "WidthMax")):
            try:
                return int(node_map.get_node(height).value), int(node_map.get_node(width).value)
            except Exception:
                continue
        try:
            return int(node_map.get_node("Height").max), int(node_map.get_node("Width").max)
        except Exception:
            return (0, 0)

    def _exposure_reader(self) -> Callable[[], float | None]:
        feature = self._by_node.get("ExposureTime")
        if feature is None or feature.unit is None:
            return lambda: None
        try:
            import pint

            ureg = pint.get_application_registry().get()
            factor = float(ureg.Quantity(1.0, feature.unit).to("s").magnitude)
        except Exception:
            return lambda: None
        attribute = feature.attribute

        def exposure() -> float | None:
            value = self.last_value(attribute)
            return None if value is None else float(value) * factor

        return exposure

    def _read_feature(self, feature: Feature) -> Any:
        if feature.role == "setting":
            self._update_limits(feature)
        return self._genicam().read_node(feature.node, lambda node: read_value(node, feature))

    def _write_feature(self, feature: Feature, value: Any) -> None:
        link = self._genicam()
        acquiring = bool(self.acquiring)
        checked = link.read_node(
            feature.node, lambda node: check_write(node, feature, value, acquiring=acquiring)
        )
        with self._changed_lock:
            self._changed.discard(feature.node)
        link.write_node(feature.node, checked)

    def _execute_feature(self, feature: Feature) -> None:
        self._genicam().execute_node(feature.node, self.command_timeout)
        self._sync_changed()

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        self._sync_changed(written=spec.name)

    def _sync_changed(self, written: str | None = None) -> None:
        """Bring the limits and values of the features a write touched up to date.

        GenApi says which nodes a write touched (its callbacks follow the node map's pMax/pMin
        and invalidator links); as not every camera's description links them all, the
        writable features of the written one's category (``Width`` beside ``BinningHorizontal``
        and ``OffsetX``) have their limits read again too.
        """
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        limits_only: set[str] = set()
        source = self.features.get(written) if written is not None else None
        if source is not None and source.category:
            limits_only = {
                f.node
                for f in self.features.values()
                if f.category == source.category
                and f.role == "setting"
                and f.writable
                and f.kind in ("int", "float", "enum")
                and f.node not in changed
            }
        for node in limits_only:
            self._update_limits(self._by_node[node])
        for node in changed:
            feature = self._by_node.get(node)
            if feature is None or feature.role not in ("setting", "reading"):
                continue
            self._update_limits(feature)
            if feature.attribute != written and feature.role == "setting" and feature.readable:
                try:
                    value = self._genicam().read_node(node, lambda n, f=feature: read_value(n, f))
                except LabkitError:
                    continue  # unreadable now; its last value stays until it can be read
                self.store(feature.attribute, value)

    def _update_limits(self, feature: Feature) -> None:
        """The feature's declaration takes the limits the node map gives now."""
        if not feature.writable or feature.kind not in ("int", "float", "enum"):
            return
        try:
            limits = self._genicam().read_node(
                feature.node, lambda node: live_limits(node, feature)
            )
        except LabkitError:
            return
        if limits is None:
            return
        spec = self.settings[feature.attribute].spec
        if feature.kind == "enum":
            if limits.choices and spec.kind == "enum":
                self.update_declaration(feature.attribute, choices=limits.choices)
            return
        changes: dict[str, Any] = {"min": limits.min, "max": limits.max, "step": limits.step}
        if limits.min is not None and limits.max is not None and limits.min > limits.max:
            changes = {"min": None, "max": None, "step": limits.step}
        if limits.choices is not None:
            changes["choices"] = limits.choices
        if any(getattr(spec, k) != v for k, v in changes.items()):
            self.update_declaration(feature.attribute, **changes)

    # ------------------------------------------------------------------ frames

    def _open_stream(self, purpose: str) -> _GenICamStream:
        link = self._genicam()
        link.start_stream(
            buffers=self.buffers if purpose == "live" else 2, chunks=self._chunk_nodes
        )
        return _GenICamStream(self, link)

    def frame_of(self, raw: RawFrame, number: int) -> Frame:
        """A labkit frame from one of the link's buffers (its region, binning, exposure)."""
        bin_x = self._binning("BinningHorizontal")
        bin_y = self._binning("BinningVertical")
        region = Region(
            x=raw.offset_x * bin_x,
            y=raw.offset_y * bin_y,
            width=raw.width * bin_x,
            height=raw.height * bin_y,
            bin_x=bin_x,
            bin_y=bin_y,
        )
        metadata: dict[str, Any] = {"pixel_format": raw.pixel_format, "frame_id": raw.frame_id}
        if raw.chunks:
            metadata["chunks"] = raw.chunks
        if raw.parts:
            metadata["part_formats"] = dict(raw.part_formats)
        return Frame(
            pixels=raw.pixels,
            parts=raw.parts,
            number=number,
            timestamp=raw.arrived,
            hardware_timestamp=raw.device_time,
            exposure=self._exposure_seconds(),
            regions=(region,),
            metadata=metadata,
        )

    def _binning(self, node: str) -> int:
        feature = self._by_node.get(node)
        value = self.last_value(feature.attribute) if feature is not None else None
        return int(value) if isinstance(value, int) and value > 0 else 1

    # ------------------------------------------------------------------ the region of interest

    def _roi_handles(self) -> list[Any]:
        handles = []
        for node in _ROI_NODES:
            try:
                handles.append(self.feature(node))
            except AttributeError:
                handles.append(None)
        if handles[0] is None or handles[1] is None:
            raise ConfigurationError(
                "this camera has no Width and Height features to crop with",
                instrument=self.name,
                hint="Use the whole sensor",
            )
        return handles

    @property
    def region(self) -> Region:
        """The region read now: ``OffsetX``/``OffsetY``/``Width``/``Height`` × the binning."""
        try:
            width, height, offset_x, offset_y = self._roi_handles()
        except ConfigurationError:
            return self.full_region()
        bx, by = self._binning("BinningHorizontal"), self._binning("BinningVertical")
        x = _whole(offset_x.value if offset_x is not None else 0)
        y = _whole(offset_y.value if offset_y is not None else 0)
        return Region(x * bx, y * by, _whole(width.value) * bx, _whole(height.value) * by, bx, by)

    def _fit_region(self, region: Region) -> Region:
        """Whole binned pixels on the features' increments; from the corner without offsets."""
        width, height, offset_x, offset_y = self._roi_handles()
        rows, columns = self.sensor_shape
        bx, by = self._binning("BinningHorizontal"), self._binning("BinningVertical")
        spans = []
        for start, size, extent, limit, offset, bins in (
            (region.x, region.width, columns, width, offset_x, bx),
            (region.y, region.height, rows, height, offset_y, by),
        ):
            begin = start / bins if offset is not None else 0.0
            span = (start + size) / bins - begin
            spans.append(
                fit_span(
                    begin,
                    span,
                    extent=extent // bins,
                    step=_whole(offset.spec.step, 1) if offset is not None else 1,
                    size_step=_whole(limit.spec.step, 1),
                    minimum=_whole(limit.spec.min, 1),
                )
            )
        (x, w), (y, h) = spans
        return Region(x * bx, y * by, w * bx, h * by, bx, by)

    def _apply_region(self, region: Region) -> None:
        width, height, offset_x, offset_y = self._roi_handles()
        bx, by = region.bin_x, region.bin_y
        # Offsets to 0 and full size first, so that any size and offset is then allowed.
        for offset in (offset_x, offset_y):
            if offset is not None and offset.value:
                self.set(offset, 0)
        for extent in (width, height):
            if extent.spec.max is not None and extent.value != extent.spec.max:
                self.set(extent, extent.spec.max)
        self.set(width, region.width // bx)
        self.set(height, region.height // by)
        if offset_x is not None:
            self.set(offset_x, region.x // bx)
        if offset_y is not None:
            self.set(offset_y, region.y // by)


class _GenICamStream:
    """One acquisition of a GenICam camera: the link's buffers, polled, as labkit frames."""

    def __init__(self, camera: GenICamCamera, link: GenICamLink) -> None:
        self.camera = camera
        self.link = link

    def frames(self, stop: threading.Event) -> Iterator[Frame | None]:
        numbers = _Numbering()
        while not stop.is_set():
            raw = self.link.fetch()
            if raw is None:
                stop.wait(_IDLE)
                yield None
                continue
            yield self.camera.frame_of(raw, numbers.next(raw.frame_id))

    def close(self) -> None:
        self.link.stop_stream()


class _Numbering:
    """Frame numbers from 1, following the camera's block ids (GenTL ``frame_id``): a buffer
    the producer discarded or delivered incomplete leaves a gap in the numbers, so a run can
    say it was lost in the driver. Without ids (or when they go back), one more per frame."""

    def __init__(self) -> None:
        self.number = 0
        self.last_id: int | None = None

    def next(self, frame_id: Any) -> int:
        if isinstance(frame_id, int) and not isinstance(frame_id, bool) and frame_id >= 0:
            step = 1
            if self.last_id is not None and frame_id > self.last_id:
                step = frame_id - self.last_id
            self.last_id = frame_id
            self.number += step
        else:
            self.number += 1
        return self.number


def _whole(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
