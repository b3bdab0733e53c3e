"""A camera's frames as an ``NTNDArray`` PV, throttled for viewers, never slowing the camera.

The publisher takes frames from a queue of one (the camera's newest frame wins; the camera's
thread never waits for it) and posts at most ``rate`` frames a second. A frame the camera made
while the publisher waited is counted as skipped, not queued. Each posted frame carries its
number (``uniqueId``), the host time it arrived (``dataTimeStamp``), the region of the sensor
it covers (each dimension's ``offset``, ``binning`` and ``fullSize``) and, as attributes, the
camera's own time stamp and exposure. pvAccess keeps a small queue per viewer on top of this;
a viewer slower than the posts loses the oldest of them there, without holding anyone up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from p4p.nt import NTNDArray
from p4p.server.thread import SharedPV

from labkit.core import Camera, Frame, StreamClosed
from labkit.remote._pvdata import Alarm, stamp
from labkit.remote._types import make_value

__all__ = ["FramePublisher", "frame_fields"]

log = logging.getLogger(__name__)

_NT = NTNDArray()
_INT32 = 2**31
# The NTNDArray value union's members, by NumPy type code (the normative type's own names).
_UNION = {
    "?": "booleanValue", "b": "byteValue", "h": "shortValue", "i": "intValue", "l": "longValue",
    "B": "ubyteValue", "H": "ushortValue", "I": "uintValue", "L": "ulongValue",
    "f": "floatValue", "d": "doubleValue",
}  # fmt: skip


def frame_fields(
    frame: Frame, *, sensor_shape: tuple[int, int] | None, skipped: int
) -> dict[str, Any]:
    """The NTNDArray fields for one frame (the pixels flattened, dimensions innermost first)."""
    pixels = np.ascontiguousarray(frame.pixels)
    code = pixels.dtype.char
    if code not in _UNION:
        pixels = pixels.astype(np.float64)
        code = "d"
    shape = pixels.shape
    region = frame.regions[0] if len(frame.regions) == 1 else None
    rows_full, cols_full = sensor_shape or shape[:2]
    dims = [
        {
            "size": shape[1] if len(shape) > 1 else shape[0],
            "offset": region.x if region else 0,
            "fullSize": cols_full,
            "binning": region.bin_x if region else 1,
            "reverse": False,
        }
    ]
    if len(shape) > 1:
        dims.append(
            {
                "size": shape[0],
                "offset": region.y if region else 0,
                "fullSize": rows_full,
                "binning": region.bin_y if region else 1,
                "reverse": False,
            }
        )
    if len(shape) == 3:  # colour: the innermost axis is the colour (RGB3)
        dims.insert(0, {"size": shape[2], "offset": 0, "fullSize": shape[2], "binning": 1})
    attributes: list[dict[str, Any]] = [
        {"name": "ColorMode", "value": 4 if len(shape) == 3 else 0},
        {"name": "FrameNumber", "value": int(frame.number)},
        {"name": "SkippedForViewers", "value": int(skipped)},
    ]
    if frame.hardware_timestamp is not None:
        attributes.append({"name": "HardwareTimestamp", "value": float(frame.hardware_timestamp)})
    if frame.exposure is not None:
        attributes.append({"name": "Exposure", "value": float(frame.exposure)})
    if len(frame.regions) > 1:
        regions = [vars(r) for r in frame.regions]
        attributes.append({"name": "Regions", "value": json.dumps(regions)})
    size = int(pixels.nbytes)
    return {
        "value": (_UNION[code], pixels.reshape(-1)),
        "codec": {"name": ""},
        "compressedSize": size,
        "uncompressedSize": size,
        "uniqueId": int(frame.number) % _INT32,
        "dataTimeStamp": stamp(frame.timestamp),
        "timeStamp": stamp(),
        "alarm": Alarm().fields(),
        "dimension": dims,
        "attribute": attributes,
    }


class FramePublisher:
    """Posts a camera's frames to an NTNDArray PV at most ``rate`` times a second."""

    def __init__(
        self,
        camera: Camera,
        *,
        rate: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.camera = camera
        self.rate = float(rate)
        self.pv = SharedPV(initial=make_value(_NT.type, self._empty()))
        self.posted = 0
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: Any = None
        self._skipped_before = 0  # frames skipped on queues that were replaced

    @property
    def skipped(self) -> int:
        """Frames the camera made that were not posted (the viewer rate is lower)."""
        queue = self._queue
        return self._skipped_before + (queue.dropped if queue is not None else 0)

    def _empty(self) -> dict[str, Any]:
        return {
            "value": ("ushortValue", np.zeros(0, dtype=np.uint16)),
            "timeStamp": stamp(),
            "alarm": Alarm.unknown("no frame yet: start the acquisition").fields(),
        }

    def start(self) -> None:
        self._queue = self.camera.subscribe(1)
        self._thread = threading.Thread(
            target=self._run, name=f"labkit-pva-frames-{self.camera.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._queue is not None:
            self.camera.unsubscribe(self._queue)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.pv.close()

    def _run(self) -> None:
        period = 1.0 / self.rate if self.rate > 0 else 0.0
        next_post = self._clock()
        while not self._stop.is_set():
            try:
                frame = self._queue.get(timeout=0.25)
            except TimeoutError:
                continue
            except StreamClosed:
                if self._stop.is_set():
                    return
                self._resubscribe(None)
                continue
            except Exception as error:  # the acquisition failed: say so, wait for the next one
                self._resubscribe(error)
                continue
            wait = next_post - self._clock()
            if wait > 0 and self._stop.wait(wait):
                return
            try:
                newer = self._queue.latest()
            except Exception:
                newer = None
            frame = newer or frame
            self._post(frame)
            next_post = max(next_post + period, self._clock())

    def _post(self, frame: Frame) -> None:
        try:
            sensor = tuple(self.camera.sensor_shape)
        except Exception:
            sensor = None
        try:
            fields = frame_fields(frame, sensor_shape=sensor, skipped=self.skipped)  # type: ignore[arg-type]
            self.pv.post(make_value(_NT.type, fields))
            self.posted += 1
        except Exception:
            log.exception("posting frame %s of %s failed", frame.number, self.camera.name)

    def _resubscribe(self, error: BaseException | None) -> None:
        if error is not None:
            message = f"acquisition of {self.camera.name} failed: {error}"
            try:
                self.pv.post(
                    make_value(
                        _NT.type, {"alarm": Alarm.fault(message).fields(), "timeStamp": stamp()}
                    )
                )
            except Exception:
                pass
        old = self._queue
        self._skipped_before += old.dropped if old is not None else 0
        self._queue = self.camera.subscribe(1)
