"""labkit's driver conformance suite, run on a camera whose declarations come from its node map."""

from __future__ import annotations

import math
from typing import Any

import pytest

from labkit.drivers.cameras.genicam import GenICamCamera
from labkit.testing import DriverConformance, round_trip_values

RED = "genicam://VikyTL_DEV_red@viky"


class TestVikyConformance(DriverConformance):
    skip_settings = {}

    _camera: GenICamCamera | None = None

    @property
    def driver(self) -> type:  # the class is made from the node map when a camera opens
        if self._camera is None:
            camera = self.open_instrument()
            camera.close()
        assert self._camera is not None
        return type(self._camera)

    def open_instrument(self) -> GenICamCamera:
        self._camera = GenICamCamera(RED, name="conformance_camera")
        return self._camera

    @property
    def values(self) -> dict[str, list[Any]]:
        return {}
