"""labkit's driver conformance suite on a camera whose declarations come from its node map."""

from __future__ import annotations

from typing import Any, ClassVar

from labkit.drivers.cameras.genicam import GenICamCamera
from labkit.testing import DriverConformance

RED = "genicam://VikyTL_DEV_red@viky"
_RANGE_ONLY = "viky makes it available only while the Range (3D) component is selected"


class TestVikyConformance(DriverConformance):
    skip_settings: ClassVar[dict[str, str]] = {
        "component_selector": "a selector: choosing Range re-points PixelFormat and locks it, "
        "so it cannot be round-tripped independently of the other settings",
        "component_enable": "locked by viky for the selected component",
        "chunk_component_selector": _RANGE_ONLY,
        "chunk_scan3d_coordinate_selector": _RANGE_ONLY,
        "chunk_scan3d_coordinate_reference_selector": _RANGE_ONLY,
        "scan3d_coordinate_selector": _RANGE_ONLY,
        "scan3d_coordinate_reference_selector": _RANGE_ONLY,
    }
    _camera: GenICamCamera | None = None

    @property
    def driver(self) -> type:  # the class is made from the node map when a camera opens
        if self._camera is None:
            self.open_instrument().close()
        assert self._camera is not None
        return type(self._camera)

    def open_instrument(self) -> GenICamCamera:
        self._camera = GenICamCamera(RED, name="conformance_camera")
        return self._camera

    @property
    def values(self) -> dict[str, list[Any]]:
        """Ends and middle of each range, the middle on the node's increment (20.5 Hz is refused
        when AcquisitionFrameRate moves in steps of 1 Hz)."""
        assert self._camera is not None
        chosen: dict[str, list[Any]] = {}
        for handle in self._camera.settings:
            spec = handle.spec
            if spec.step is not None and spec.min is not None and spec.max is not None:
                middle = spec.min + round((spec.max - spec.min) / 2 / spec.step) * spec.step
                chosen[handle.name] = [spec.min, middle, spec.max]
        return chosen
