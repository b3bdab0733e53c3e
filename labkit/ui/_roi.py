"""Handing a region selected in a camera view to the camera.

The camera does the work (the :class:`~labkit.core.Camera` protocol: ``region``,
``set_region``, ``full_sensor``): it checks the region, rounds it outwards to what its sensor
can read and pauses acquisition around the change. A view only draws the rectangle and calls
this adapter. Plugins may register adapters for objects that crop otherwise
(:func:`register_roi_adapter`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from labkit.core import Camera, Region
from labkit.core._moved import moved_names

__all__ = ["CameraRoi", "RoiControl", "register_roi_adapter", "roi_adapters", "roi_control"]


@runtime_checkable
class RoiControl(Protocol):
    """What a camera view needs to read and change a camera's region of interest."""

    @property
    def note(self) -> str:
        """A short remark on what the camera can do ("crops from its corner only"), or ''."""

    def region(self) -> Region:
        """The region the camera reads now, in unbinned sensor pixels."""

    def apply(self, region: Region) -> Region:
        """Read (at least) ``region`` from now on; returns the region the camera reads."""

    def full(self) -> Region:
        """Read the whole sensor again; returns the region."""


class CameraRoi:
    """The region of interest of any :class:`~labkit.core.Camera`."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    @classmethod
    def fits(cls, camera: Any) -> RoiControl | None:
        return cls(camera) if isinstance(camera, Camera) else None

    @property
    def note(self) -> str:
        return self.camera.region_note

    def region(self) -> Region:
        return self.camera.region

    def apply(self, region: Region) -> Region:
        return self.camera.set_region(region)

    def full(self) -> Region:
        return self.camera.full_sensor()


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


_adapters: list[Callable[[Any], RoiControl | None]] = [CameraRoi.fits]


__getattr__ = moved_names(
    "labkit.ui",
    {
        old: ("labkit.ui.CameraRoi: cameras crop themselves (Camera.set_region)", lambda: CameraRoi)
        for old in ("GenICamRoi", "RegionsRoi")
    },
)
