"""``GenICamCamera``: a GenICam camera as a labkit instrument and a labkit ``Camera``.

Opening a camera reads its node map and makes an instrument class for that camera whose settings,
readings and actions are its features, declared with the node map's own types, limits, units and
enumerations (see :mod:`._features`); ``inst.panel()`` and snapshots come from them as for any
driver. The class is made per opened camera because GenICam limits are live: they are refreshed
from the camera after every write (GenApi says which nodes a write touched) and on ``refresh()``.

Threads: node I/O runs on the instrument's worker, like every instrument's I/O. Acquisition runs
on its own thread, which polls for filled buffers (never waiting inside GenICam), copies each into
a :class:`~labkit.core.Frame` and hands it to a :class:`~labkit.core.FrameBroadcaster`: every
subscriber has its own bounded queue, and a slow one loses its oldest frames, never the camera's
pace. If the stream fails (the camera is unplugged), the thread ends and every subscriber gets
the typed error (``ConnectionLost`` naming the camera).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

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
    TraitSpec,
    instruments,
)
from labkit.drivers.cameras.genicam._features import (
    Feature,
    Limits,
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

_JOIN = 10.0


class _CameraMeta(type(Instrument)):  # type: ignore[misc]
    """``GenICamCamera(address)`` opens the camera first, then makes the instrument for it."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("_genicam_features") is not None or kwargs.get("parent") is not None:
            return super().__call__(*args, **kwargs)
        return cls._connect(*args, **kwargs)  # type: ignore[attr-defined]


class GenICamCamera(Instrument, metaclass=_CameraMeta):
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

    acquiring = Bool(False, read_only=True, help="Live acquisition is running")

    _genicam_features: ClassVar[dict[str, Feature] | None] = None
    _genicam_info: ClassVar[CameraInfo | None] = None

    # ------------------------------------------------------------------ making one

    @classmethod
    def default_name(cls) -> str:
        return "camera"

    @classmethod
    def check_available(cls) -> None:
        """Raise ``MissingVendorLibrary`` unless harvesters and a GenTL producer are installed."""
        from labkit.drivers.cameras.genicam._system import _require_harvesters

        _require_harvesters()
        if not find_producers():
            raise no_producer_error()

    @classmethod
    def _connect(
        cls,
        resource: str | None = None,
        *,
        name: str | None = None,
        producers: Any = None,
        visibility: str = "expert",
        timeout: float | None = None,
        buffers: int = 8,
        command_timeout: float = 10.0,
        connect: bool = True,
    ) -> GenICamCamera:
        resource = SCHEME if resource is None else resource
        parse_address(resource)
        if not connect:
            raise ConfigurationError(
                "a GenICam camera connects when it is made: its settings come from its node map",
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
                f"{existing.resource}, so it cannot also be a GenICam camera at {resource}",
                instrument=name,
                hint=f"Close it first ({name}.close()) or give this one another name=",
            )
        link = GenICamLink(resource, producers=producers, timeout=timeout or 5.0)
        try:
            model = _camera_class(cls, link, visibility)
            return model(
                resource,
                name=name,
                transport=link,
                timeout=timeout,
                buffers=buffers,
                command_timeout=command_timeout,
            )
        except BaseException:
            link.close()
            raise

    def __init__(
        self,
        resource: str | None = None,
        *,
        buffers: int = 8,
        command_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        features = type(self)._genicam_features or {}
        self.buffers = buffers
        self.command_timeout = command_timeout
        self.broadcaster = FrameBroadcaster()
        self.sensor_shape: tuple[int, int] = (0, 0)
        self._features_by_node = {f.node: f for f in features.values()}
        self._chunk_nodes = tuple(f.node for f in features.values() if f.role == "chunk")
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        self._acquisition: tuple[threading.Thread, threading.Event] | None = None
        self._exposure_seconds: Callable[[], float | None] = lambda: None
        super().__init__(resource, **options)

    # ------------------------------------------------------------------ what it is

    @property
    def info(self) -> CameraInfo:
        """What the producer said about this camera (vendor, model, serial, id, producer)."""
        info = type(self)._genicam_info
        assert info is not None
        return info

    @property
    def node_map(self) -> Any:
        """The camera's GenApi node map: every feature, unchecked (for experts)."""
        return self._link().node_map

    @property
    def features(self) -> dict[str, Feature]:
        """What each setting, reading and action was made from (``features["width"].node``)."""
        features = type(self)._genicam_features or {}
        return {name: f for name, f in features.items() if f.role != "chunk"}

    def feature(self, node: str) -> Any:
        """The handle of the setting, reading or action made from the GenICam feature ``node``."""
        feature = self._features_by_node.get(node)
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
        identity = {
            "vendor": self._device_text("DeviceVendorName") or info.vendor,
            "model": self._device_text("DeviceModelName") or info.model,
            "serial": self._device_text("DeviceSerialNumber") or info.serial,
            "firmware": self._device_text("DeviceFirmwareVersion") or info.version,
            "id": info.id,
            "producer": str(info.producer.path),
        }
        return identity

    def _device_text(self, node: str) -> str:
        try:
            wrapper = self._link().node_map.get_node(node)
            return str(wrapper.value) if int(wrapper.node.get_access_mode()) in (3, 4) else ""
        except Exception:
            return ""

    def _link(self) -> GenICamLink:
        link = self.transport
        if link is None:
            from labkit.core import NotConnectedError

            raise NotConnectedError("the camera is not open", instrument=self.name)
        return link  # type: ignore[return-value]

    def _io(self, operation: str, *args: Any) -> Any:
        raise ConfigurationError(
            "a GenICam camera is not message-based: it has no write/query",
            instrument=self.name,
            hint="Use its settings (cam.width = 640), cam.feature('Width') or cam.node_map",
        )

    # ------------------------------------------------------------------ node I/O (on the worker)

    def _on_open(self) -> None:
        link = self._link()
        for node, feature in self._features_by_node.items():
            if feature.role != "chunk":
                link.watch(node, self._node_changed)
        self.sensor_shape = self._read_sensor_shape()
        self._exposure_seconds = self._exposure_reader()

    def _node_changed(self, node: str) -> None:
        # GenApi calls this on whatever thread touched the node map.
        with self._changed_lock:
            self._changed.add(node)

    def _read_sensor_shape(self) -> tuple[int, int]:
        node_map = self._link().node_map
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
        feature = self._features_by_node.get("ExposureTime")
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
            value = self._trait_values.get(attribute)
            return None if value is None else float(value) * factor

        return exposure

    def _spec_of(self, feature: Feature) -> TraitSpec:
        return self._labkit_specs[feature.attribute]

    def _read_feature(self, feature: Feature) -> Any:
        return self._link().read_node(feature.node, lambda node: read_value(node, feature))

    def _write_feature(self, feature: Feature, value: Any) -> None:
        from labkit.drivers.cameras.genicam._features import check_write

        link = self.transport
        acquiring = self._acquisition is not None
        checked = link.read_node(  # type: ignore[union-attr]
            feature.node, lambda node: check_write(node, feature, value, acquiring=acquiring)
        )
        with self._changed_lock:
            self._changed.discard(feature.node)
        link.write_node(feature.node, checked)  # type: ignore[union-attr]

    def _execute_feature(self, feature: Feature) -> None:
        self._link().execute_node(feature.node, self.command_timeout)
        self._sync_changed()

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        self._sync_changed(written=spec.name)

    def _sync_changed(self, written: str | None = None) -> None:
        """Bring the limits and values of the features a write touched up to date."""
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        for node in changed:
            feature = self._features_by_node.get(node)
            if feature is None or feature.role not in ("setting", "reading"):
                continue
            spec = self._spec_of(feature)
            self._update_limits(feature, spec)
            if spec.name != written and feature.role == "setting" and feature.readable:
                try:
                    self._trait(spec).store(self, self._read_feature(feature))
                except LabkitError:
                    pass  # unreadable now; its last value stays until it can be read

    def _update_limits(self, feature: Feature, spec: TraitSpec) -> None:
        if not feature.writable or feature.kind not in ("int", "float", "enum"):
            return
        limits: Limits | None = self._link().read_node(
            feature.node, lambda node: live_limits(node, feature)
        )
        if limits is None:
            return
        if feature.kind == "enum":
            if limits.choices and spec.kind == "enum":
                spec.choices = limits.choices
            return
        if limits.choices is not None:
            spec.choices = limits.choices
        spec.min, spec.max = limits.min, limits.max
        spec.step = limits.step

    def _refresh_on_worker(self, specs: list[TraitSpec]) -> dict[str, Any]:
        features = type(self)._genicam_features or {}
        for spec in specs:
            feature = features.get(spec.name)
            if feature is not None:
                try:
                    self._update_limits(feature, spec)
                except LabkitError:
                    pass
        with self._changed_lock:
            self._changed.clear()
        return super()._refresh_on_worker(specs)

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
        self._require_connected()
        self._on_worker(self._start_on_worker)

    def _start_on_worker(self) -> None:
        if self._acquisition is not None:
            return
        link = self._link()
        link.start_stream(buffers=self.buffers, chunks=self._chunk_nodes)
        stop = threading.Event()
        thread = threading.Thread(
            target=self._acquire,
            args=(link, stop),
            name=f"labkit-{self.name}-acquisition",
            daemon=True,
        )
        self._acquisition = (thread, stop)
        self.broadcaster.start()
        self.set_trait("acquiring", True)
        thread.start()

    def stop(self) -> None:
        """Stop live acquisition (and ramps); subscribed queues stay open for the next start."""
        super().stop()
        if not self._closed:
            self._on_worker(self._stop_on_worker, False)

    def _on_worker(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run on the worker; labkit errors come back naming this camera."""
        try:
            return self._worker.call(function, *args)
        except LabkitError as error:
            raise self._attach(error) from None

    def _stop_on_worker(self, quiet: bool) -> None:
        acquisition, self._acquisition = self._acquisition, None
        if acquisition is None:
            return
        thread, stop = acquisition
        stop.set()
        thread.join(_JOIN)
        self.set_trait("acquiring", False)
        try:
            self._link().stop_stream()
        except LabkitError:
            if not quiet:
                raise

    def _acquire(self, link: GenICamLink, stop: threading.Event) -> None:
        """The acquisition thread: fetch, copy, publish, until stopped or the stream fails."""
        number = 0
        try:
            while not stop.is_set():
                raw = link.fetch()
                if raw is None:
                    stop.wait(_IDLE)
                    continue
                number += 1
                self.broadcaster.publish(self._frame(raw, number))
        except BaseException as error:
            failure = self._failure(error)
            self.set_trait("acquiring", False)
            if isinstance(failure, ConnectionLost):
                self._mark_connected(False)
            try:
                self._worker.submit(self._stop_on_worker, True)
            except RuntimeError:
                pass  # the instrument is closing; close() stops the stream
            self.broadcaster.fail(failure)

    def _failure(self, error: BaseException) -> LabkitError:
        if not isinstance(error, LabkitError):
            error = InstrumentError(
                f"acquisition failed: {error!r}", hint="See the traceback; reconnect() to go on"
            )
        self._attach(error)
        if isinstance(error, ConnectionLost):
            error.hint = f"Check the camera's cable and power, then call {self.name}.reconnect()"
        return error

    def _frame(self, raw: RawFrame, number: int) -> Frame:
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
        return Frame(
            pixels=raw.pixels,
            number=number,
            timestamp=raw.arrived,
            hardware_timestamp=raw.device_time,
            exposure=self._exposure_seconds(),
            regions=(region,),
            metadata=metadata,
        )

    def _binning(self, node: str) -> int:
        feature = self._features_by_node.get(node)
        value = self._trait_values.get(feature.attribute) if feature is not None else None
        return int(value) if isinstance(value, int) and value > 0 else 1

    def snap(self, timeout: float | None = None) -> Frame:
        """Acquire one frame and return it (from the live stream while acquiring).

        Waits at most ``timeout`` seconds (the camera's ``timeout`` by default), then raises
        ``InstrumentTimeout``: a camera waiting for a trigger sends nothing.
        """
        self._require_connected()
        wait = self._link().timeout if timeout is None else float(timeout)
        return self._on_worker(self._snap_on_worker, wait)

    def _snap_on_worker(self, timeout: float) -> Frame:
        if self._acquisition is not None:
            queue = self.subscribe(1)
            try:
                return queue.get(timeout)
            except TimeoutError:
                raise self._no_frame(timeout) from None
            finally:
                self.unsubscribe(queue)
        link = self._link()
        link.start_stream(buffers=2, chunks=self._chunk_nodes)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    raw = link.fetch()
                except ConnectionLost:
                    self._mark_connected(False)
                    raise
                if raw is not None:
                    return self._frame(raw, 1)
                if time.monotonic() > deadline:
                    raise self._no_frame(timeout)
                time.sleep(_IDLE)
        finally:
            try:
                link.stop_stream()
            except LabkitError:
                if self.connected:
                    raise

    def _no_frame(self, timeout: float) -> InstrumentTimeout:
        return InstrumentTimeout(
            f"no frame arrived within {timeout:g} s",
            instrument=self.name,
            resource=self.resource,
            hint="Is the camera waiting for a trigger (trigger_mode)? Give snap() a longer timeout",
        )

    # ------------------------------------------------------------------ closing

    def reconnect(self) -> Instrument:
        """Release the camera and open it again (after it was unplugged), re-reading settings."""
        if not self._closed:
            self._worker.call(self._stop_on_worker, True)
        return super().reconnect()

    def close(self) -> None:
        """Stop acquisition, destroy the acquirer and release the producer; no thread is left."""
        if self._closed:
            return
        try:
            self._worker.call(self._stop_on_worker, True)
            if not self.connected:  # the link dropped: still release what it holds
                self._worker.call(self._safe_close_transport)
        finally:
            super().close()
            self.broadcaster.close()


# ---------------------------------------------------------------------------------- the classes


class _NodeCall:
    """A setting's get/set or an action's callable: talks to the node on the worker."""

    def __init__(self, feature: Feature, operation: str) -> None:
        self.feature = feature
        self.operation = operation

    def __call__(self, instrument: GenICamCamera, *value: Any) -> Any:
        if self.operation == "read":
            return instrument._read_feature(self.feature)
        if self.operation == "write":
            return instrument._write_feature(self.feature, *value)
        return instrument._execute_feature(self.feature)

    def __repr__(self) -> str:
        return f"<GenICam {self.operation} {self.feature.node}>"


def _class_name(info: CameraInfo) -> str:
    words = re.findall(r"[A-Za-z0-9]+", f"{info.model}") or ["Camera"]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return f"GenICam{name}" if not name[0].isdigit() else f"GenICam_{name}"


def _camera_class(base: type[GenICamCamera], link: GenICamLink, visibility: str) -> type:
    """Open ``link`` and make the instrument class of that camera from its node map."""
    link.open()
    info = link.info
    reserved = set(dir(base)) | {
        "name",
        "resource",
        "parent",
        "identity",
        "settings",
        "readings",
        "actions",
        "transport",
        "broadcaster",
        "buffers",
        "command_timeout",
        "sensor_shape",
    }
    features = describe(link.node_map, visibility=visibility, reserved=reserved)
    namespace: dict[str, Any] = {
        "__module__": base.__module__,
        "__doc__": (
            f"{info.vendor} {info.model} (GenICam camera through {info.producer.path.name}): "
            "its settings, readings and actions are its node map's features."
        ),
        "_genicam_features": {f.attribute: f for f in features},
        "_genicam_info": info,
    }
    for feature in features:
        if feature.role == "chunk":
            continue
        limits = None
        if feature.role == "setting" and feature.kind in ("int", "float", "enum"):
            limits = link.read_node(feature.node, lambda node, f=feature: live_limits(node, f))
        namespace[feature.attribute] = declare(
            feature, limits, lambda operation, f=feature: _NodeCall(f, operation)
        )
    return type(base)(_class_name(info), (base,), namespace)
