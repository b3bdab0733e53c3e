"""Applying a region selected in a camera view to the camera, whatever its driver.

Cameras say "read only this part of the sensor" differently: GenICam cameras through the
standard features ``Width``, ``Height``, ``OffsetX``, ``OffsetY`` (in binned pixels, with
increments, and only while not acquiring); PVCAM cameras through one ``roi`` setting and
``set_rois()`` (in sensor pixels, whole binned pixels). Neither changes the frames' shape while
acquiring, so the adapter stops acquisition around the change and starts it again.
A :class:`RoiControl` hides that from the view: :func:`roi_control` picks the first adapter
that fits the camera by what the camera offers (never by its class), and plugins add their
own with :func:`register_roi_adapter`.

Every write goes through the camera's settings, so limits are checked exactly as for a
value typed in a notebook; the adapter only rounds the selection outwards to what the camera
can read (its increments and binning), and returns the region the camera then reads.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

from labkit.core import ConfigurationError, Region

__all__ = [
    "GenICamRoi",
    "RegionsRoi",
    "RoiControl",
    "register_roi_adapter",
    "roi_adapters",
    "roi_control",
]


@runtime_checkable
class RoiControl(Protocol):
    """What a camera view needs to read and change a camera's region of interest."""

    note: str
    """A short remark on what the camera can do ("crops from its corner only"), or ''."""

    def region(self) -> Region:
        """The region the camera reads now, in unbinned sensor pixels."""

    def apply(self, region: Region) -> Region:
        """Read (at least) ``region`` from now on; returns the region the camera reads."""

    def full(self) -> Region:
        """Read the whole sensor again; returns the region."""


def register_roi_adapter(factory: Callable[[Any], RoiControl | None]) -> None:
    """Add an adapter: ``factory(camera)`` returns a :class:`RoiControl`, or None if the camera
    is not one it knows. Adapters registered later are tried first."""
    _adapters.insert(0, factory)


def roi_adapters() -> list[Callable[[Any], RoiControl | None]]:
    return list(_adapters)


def roi_control(camera: Any) -> RoiControl | None:
    """The ROI adapter for ``camera``, or None if no adapter knows how to crop it."""
    for factory in _adapters:
        control = factory(camera)
        if control is not None:
            return control
    return None


def _snap_down(value: float, origin: int, step: int) -> int:
    return origin + math.floor((value - origin) / step) * step


def _snap_up(value: float, origin: int, step: int) -> int:
    return origin + math.ceil((value - origin) / step) * step


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class GenICamRoi:
    """ROI through the GenICam standard features, reached with ``camera.feature(node)``.

    ``OffsetX``/``OffsetY`` are optional: a camera without them crops from its top-left
    corner, so the region applied is the smallest one from the corner that holds the
    selection (``note`` says so). Acquisition is stopped around the change and restarted.
    """

    def __init__(self, camera: Any) -> None:
        self.camera = camera
        self.width = camera.feature("Width")
        self.height = camera.feature("Height")
        self.offset_x = self._optional("OffsetX")
        self.offset_y = self._optional("OffsetY")
        self.note = (
            "" if self.offset_x and self.offset_y else "this camera crops from its corner only"
        )

    @classmethod
    def fits(cls, camera: Any) -> GenICamRoi | None:
        feature = getattr(camera, "feature", None)
        if not callable(feature):
            return None
        try:
            return cls(camera)
        except (AttributeError, KeyError):
            return None

    def _optional(self, node: str) -> Any:
        try:
            return self.camera.feature(node)
        except (AttributeError, KeyError):
            return None

    def _binning(self) -> tuple[int, int]:
        bins = []
        for node in ("BinningHorizontal", "BinningVertical"):
            handle = self._optional(node)
            bins.append(max(1, _int(handle.value if handle is not None else 1, 1)))
        return bins[0], bins[1]

    def region(self) -> Region:
        bx, by = self._binning()
        x = _int(self.offset_x.value, 0) if self.offset_x is not None else 0
        y = _int(self.offset_y.value, 0) if self.offset_y is not None else 0
        return Region(
            x * bx, y * by, _int(self.width.value, 0) * bx, _int(self.height.value, 0) * by, bx, by
        )

    @staticmethod
    def _axis(start: float, size: float, extent: Any, offset: Any) -> tuple[int, int]:
        """(offset, size) in binned pixels holding [start, start + size), on the increments,
        with ``extent`` (Width or Height) at its full size now."""
        sensor = _int(extent.value, 0)
        low = max(1, _int(extent.spec.min, 1))
        step = max(1, _int(extent.spec.step, 1))
        if offset is not None:
            begin = _snap_down(start, 0, max(1, _int(offset.spec.step, 1)))
            begin = min(max(0, begin), max(0, sensor - low))
        else:
            begin = 0  # crops from the corner: keep everything up to the selection's end
        end = min(start + size, sensor)
        length = max(low, _snap_up(end - begin, low, step))
        return begin, min(length, _snap_down(sensor - begin, low, step))

    def apply(self, region: Region) -> Region:
        bx, by = self._binning()
        with _stopped(self.camera):
            # Full size first (offsets to 0), so that any size and offset is then allowed.
            for offset in (self.offset_x, self.offset_y):
                if offset is not None and _int(offset.value, 0) != 0:
                    offset.set(0)
            for extent in (self.width, self.height):
                if extent.spec.max is not None and extent.value != extent.spec.max:
                    extent.set(extent.spec.max)
            x, width = self._axis(region.x / bx, region.width / bx, self.width, self.offset_x)
            y, height = self._axis(region.y / by, region.height / by, self.height, self.offset_y)
            self.width.set(width)
            self.height.set(height)
            if self.offset_x is not None:
                self.offset_x.set(x)
            if self.offset_y is not None:
                self.offset_y.set(y)
        return self.region()

    def full(self) -> Region:
        rows, columns = getattr(self.camera, "sensor_shape", (0, 0))
        return self.apply(Region(0, 0, max(1, columns), max(1, rows)))


class RegionsRoi:
    """ROI through ``camera.set_rois([(x, y, width, height)])`` and ``camera.regions`` (sensor
    pixels, keeping the camera's binning) — PVCAM's way."""

    note = ""

    def __init__(self, camera: Any) -> None:
        self.camera = camera

    @classmethod
    def fits(cls, camera: Any) -> RegionsRoi | None:
        if callable(getattr(camera, "set_rois", None)) and hasattr(camera, "regions"):
            return cls(camera)
        return None

    def region(self) -> Region:
        regions = tuple(self.camera.regions)
        if not regions:
            rows, columns = self.camera.sensor_shape
            return Region(0, 0, columns, rows)
        x = min(r.x for r in regions)
        y = min(r.y for r in regions)
        right = max(r.x + r.width for r in regions)
        bottom = max(r.y + r.height for r in regions)
        return Region(x, y, right - x, bottom - y, regions[0].bin_x, regions[0].bin_y)

    def apply(self, region: Region) -> Region:
        rows, columns = self.camera.sensor_shape
        current = self.region()
        bx, by = current.bin_x, current.bin_y
        x = max(0, _snap_down(region.x, 0, bx))
        y = max(0, _snap_down(region.y, 0, by))
        width = max(bx, _snap_up(region.x + region.width - x, 0, bx))
        height = max(by, _snap_up(region.y + region.height - y, 0, by))
        width = min(width, _snap_down(columns - x, 0, bx))
        height = min(height, _snap_down(rows - y, 0, by))
        if width < 1 or height < 1:
            raise ConfigurationError(
                f"the region {region} leaves no whole {bx}×{by} binned pixel on the sensor",
                instrument=getattr(self.camera, "name", None),
                hint="Select a larger region",
            )
        with _stopped(self.camera):
            self.camera.set_rois([(x, y, width, height)])
        return self.region()

    def full(self) -> Region:
        full_sensor = getattr(self.camera, "full_sensor", None)
        if not callable(full_sensor):
            rows, columns = self.camera.sensor_shape
            return self.apply(Region(0, 0, columns, rows))
        with _stopped(self.camera):
            full_sensor()
        return self.region()


@contextlib.contextmanager
def _stopped(camera: Any) -> Iterator[None]:
    """Stop acquisition around a change of the frames' shape (cameras refuse it while they
    acquire), and start again after it — also when the change was refused."""
    acquiring = bool(camera.acquiring)
    if acquiring:
        camera.stop()
    try:
        yield
    finally:
        if acquiring:
            camera.start()


_adapters: list[Callable[[Any], RoiControl | None]] = [RegionsRoi.fits, GenICamRoi.fits]
