"""labkit's driver conformance suite on the PVCAM camera, whose declarations come from the camera.

Run on both simulated models: their speed tables differ (one speed per Kinetix port, two speeds
and four gains on the Prime BSI's single port), so both shapes of the table are exercised.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.sim import pvcam as pvsim
from labkit.testing import DriverConformance

try:
    SIM_PATH = pvsim.library_path()
except Exception:  # built without a C compiler
    SIM_PATH = None

pytestmark = pytest.mark.skipif(
    SIM_PATH is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)


class _Conformance(DriverConformance):
    camera: ClassVar[str]
    skip_settings: ClassVar[dict[str, str]] = {
        "centroids": "needs metadata on and a single unbinned ROI: coupled to the layout "
        "settings (test_pvcam_camera_rois covers it)",
    }
    _camera: PvcamCamera | None = None

    @property
    def driver(self) -> type:  # the class is made from the camera when it opens
        if self._camera is None:
            self.open_instrument().close()
        assert self._camera is not None
        return type(self._camera)

    def open_instrument(self) -> PvcamCamera:
        self._camera = PvcamCamera(
            f"pvcam://{self.camera}", library=SIM_PATH, name="conformance_camera"
        )
        return self._camera

    @property
    def values(self) -> dict[str, list[Any]]:
        """Speeds of the port in force and gains of the speed in force (the others are refused
        with a ChoiceError naming the valid ones, as test_pvcam_camera_settings shows); ROIs as
        the text the setting takes; metadata left on, as several ROIs need it."""
        cam = self._camera
        assert cam is not None
        port = cam.description.port(cam.readout_port)
        speed = port.speed(cam.speed)
        assert speed is not None
        return {
            "speed": [s.name for s in port.speeds],
            "gain": [g.name for g in speed.gains],
            "roi": ["0,0,64,64; 128,128,32,32", "0,0,256,256"],
            "metadata": [False, True],
        }

    def test_settings_round_trip(self, instrument: Any) -> None:
        instrument.metadata = True  # several ROIs need it; its own round trip ends on True
        # "full" reads back as the sensor's rectangle: compare in that form.
        instrument.roi = "full"
        assert instrument.roi == f"0,0,{instrument.sensor_shape[1]},{instrument.sensor_shape[0]}"
        super().test_settings_round_trip(instrument)


class TestKinetixConformance(_Conformance):
    camera = pvsim.KINETIX


class TestPrimeBsiConformance(_Conformance):
    camera = pvsim.PRIME_BSI
