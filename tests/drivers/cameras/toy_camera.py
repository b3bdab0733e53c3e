"""A third camera family, from the camera base alone: a toy SDK, its features as declarations,
a frame stream and a cropping rule. (``test_camera_family.py`` keeps this file under 150 lines.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from labkit.core import Frame, Region, TraitSpec, fit_span
from labkit.drivers.cameras import CameraInstrument


class ToyLink:
    """The SDK: a 96 × 128 sensor whose ROI starts on multiples of 4, at least 8 pixels wide."""

    FEATURES = (
        {"name": "exposure", "role": "setting", "unit": "s", "min": 1e-4, "max": 1.0,
         "doc": "Exposure time per frame"},
        {"name": "gain", "role": "setting", "kind": "int", "min": 1, "max": 16, "safe": 1,
         "doc": "Analog gain"},
        {"name": "temperature", "role": "reading", "unit": "degC", "doc": "Sensor temperature"},
    )  # fmt: skip
    opened = 0  # how many times any toy camera was opened (for the re-run test)

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.is_open = False
        self.shape = (96, 128)
        self.values: dict[str, float] = {"exposure": 1e-3, "gain": 1, "temperature": 21.5}
        self.roi = (0, 0, 128, 96)
        self.streaming = False
        self.number = 0
        self.lock = threading.Lock()

    def open(self) -> None:
        type(self).opened += 1
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def declarations(self) -> Iterator[TraitSpec]:
        for feature in self.FEATURES:
            name = feature["name"]
            yield TraitSpec.from_jsonable(
                feature,
                get=lambda camera, n=name: camera.link.values[n],
                set=lambda camera, value, n=name: camera.link.values.__setitem__(n, value),
            )

    def start(self) -> None:
        self.streaming, self.number = True, 0

    def stop(self) -> None:
        self.streaming = False

    def grab(self) -> tuple[int, np.ndarray, tuple[int, int, int, int]] | None:
        """The next frame (number, pixels, roi), or None when none is due yet."""
        with self.lock:
            if not self.streaming:
                return None
            self.number += 1
            _x, _y, width, height = self.roi
            pixels = np.full((height, width), self.number % 65536, dtype=np.uint16)
            return self.number, pixels, self.roi


class ToyStream:
    def __init__(self, link: ToyLink, exposure: float) -> None:
        self.link, self.exposure = link, exposure
        link.start()

    def frames(self, stop: threading.Event) -> Iterator[Frame | None]:
        while not stop.is_set():
            grabbed = self.link.grab()
            if grabbed is None:
                yield None
                continue
            number, pixels, (x, y, width, height) = grabbed
            yield Frame(pixels, number, time.time(), exposure=self.exposure,
                        regions=(Region(x, y, width, height),))  # fmt: skip
            stop.wait(0.002)  # the toy's frame period

    def close(self) -> None:
        self.link.stop()


class ToyCamera(CameraInstrument):
    """A toy camera: settings from its SDK at connect, frames on the base's thread."""

    declared_at_connect = True

    def make_link(self) -> ToyLink:
        return ToyLink(self.resource or "toy://")

    def _on_open(self) -> None:
        self.sensor_shape = self.link.shape

    def _open_stream(self, purpose: str) -> ToyStream:
        return ToyStream(self.link, float(self.last_value("exposure") or 0.0))

    @property
    def region(self) -> Region:
        return Region(*self.link.roi)

    def _fit_region(self, region: Region) -> Region:
        rows, columns = self.sensor_shape
        x, width = fit_span(region.x, region.width, extent=columns, step=4, size_step=4, minimum=8)
        y, height = fit_span(region.y, region.height, extent=rows, step=4, size_step=4, minimum=8)
        return Region(x, y, width, height)

    def _apply_region(self, region: Region) -> None:
        self.link.roi = (region.x, region.y, region.width, region.height)
