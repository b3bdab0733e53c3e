"""The camera contract runs and live views rely on, kept by the PVCAM camera on both models."""

from __future__ import annotations

from typing import ClassVar

import pytest

from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.sim import pvcam as pvsim
from labkit.testing import CameraConformance

try:
    SIM_PATH = pvsim.library_path()
except Exception:  # built without a C compiler
    SIM_PATH = None

pytestmark = pytest.mark.skipif(
    SIM_PATH is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)


class _Contract(CameraConformance):
    model: ClassVar[str]
    metadata: ClassVar[bool]

    def open_camera(self) -> PvcamCamera:
        cam = PvcamCamera(f"pvcam://{self.model}", library=SIM_PATH, name="contract")
        cam.metadata = self.metadata
        cam.roi = "64,32,320,96"
        cam.exposure = "2 ms"
        return cam

    def check_frame(self, frame) -> None:  # type: ignore[no-untyped-def]
        super().check_frame(frame)
        assert frame.pixels.shape == (96, 320)
        assert (frame.hardware_timestamp is not None) == self.metadata


class TestKinetixWithMetadata(_Contract):
    model, metadata = pvsim.KINETIX, True


class TestPrimeBsiWithoutMetadata(_Contract):
    model, metadata = pvsim.PRIME_BSI, False
