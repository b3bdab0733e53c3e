"""Frames a camera exposes at another instrument's trigger edges, for ``labkit.runs.Triggered``.

The camera is put in an external trigger mode by its driver (PVCAM ``EXT_TRIG_EDGE_RISING`` or
``EXT_TRIG_TRIG_FIRST``; GenICam ``TriggerMode=On``, ``TriggerSource=Line0``,
``TriggerActivation=RisingEdge``), subscribed to and started before the leader fires, so it
waits for the first edge. Collected, it takes its frames from its own queue and stops.

Where each frame lies on the run's time base: in *edge* mode frame ``n`` (the camera counts
from 1) was started by the leader's edge ``n - 1``, and exposes from that edge; in *first*
mode the first edge starts the sequence and the camera's own clock (its hardware timestamps)
times the frames after it. The camera's timestamps are recorded too (``<camera>_hardware_time``,
seconds on its own clock), so the spacing of the frames can be checked against the edges.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.core import Acquired, InstrumentTimeout, LimitError, RecordedQuantity, StreamClosed

__all__ = ["TriggeredFrames"]

MODES = ("edge", "first")
_PAUSE = 0.005  # s between looks at the queue when moving a frozen bench clock


class TriggeredFrames:
    """``frames`` frames exposed at a trigger input's edges, as a
    :class:`~labkit.core.TimedAcquisition` (its ``trigger`` is ``"external"``).

    ``configure`` puts the camera in the external trigger ``mode`` (on its worker);
    ``frame_seconds`` is the shortest time between edges the camera can follow in edge mode
    (its exposure and readout); ``details`` go into the run's description.
    """

    trigger = "external"
    setpoints = ()

    def __init__(
        self,
        camera: Any,
        frames: int,
        mode: str,
        *,
        configure: Callable[[], None],
        frame_seconds: float,
        details: dict[str, Any],
    ) -> None:
        if mode not in MODES:
            raise LimitError(
                f"{camera.name}: the trigger mode is 'edge' (a frame per edge) or 'first' (the "
                f"first edge starts the sequence), not {mode!r}",
                instrument=camera.name,
                setting="trigger_mode",
                value=mode,
            )
        if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= 65535:
            raise LimitError(
                f"{camera.name}: a triggered sequence has 1 to 65,535 frames, not {frames!r}",
                instrument=camera.name,
                setting="frames",
                value=frames,
                limit=(1, 65535),
            )
        self.instrument = camera
        self.name = camera.name
        self.points = frames
        self.mode = mode
        self.triggers = frames if mode == "edge" else 1  # edges it needs from the leader
        self.min_period = float(frame_seconds) if mode == "edge" else 0.0
        self.quantities = (
            RecordedQuantity("image", None, f"{camera.name} image", dims=("y", "x")),
            RecordedQuantity(
                "hardware_time", "s", f"{camera.name} start of exposure on the camera's clock"
            ),
        )
        self.frame_seconds = float(frame_seconds)
        self.details = details
        self._configure = configure
        self._queue: Any = None
        # How the wait for frames pauses: None blocks on the queue; a bench's ``advance``
        # moves a frozen bench clock on while waiting, as the others' ``sleep`` do.
        self.sleep: Callable[[float], None] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "instrument": self.name,
            "kind": f"camera frames on external trigger ({self.mode})",
            "frames": self.points,
            "triggers": self.triggers,
            "frame_seconds": self.frame_seconds,
            **self.details,
        }

    def seconds(self) -> float:
        return self.points * self.frame_seconds

    def arm(self) -> None:
        """Trigger mode set, a queue deep enough for every frame, acquisition started: the
        camera now waits for the first edge."""
        camera = self.instrument
        if camera.acquiring:
            camera.stop()
        self._configure()
        self._queue = camera.subscribe(self.points + 1)
        self._queue.track_dropped()
        camera.start()

    def start(self) -> None:
        """Nothing: the leader's edges start the exposures."""

    def collect(self, timeout: float) -> Acquired:
        """Wait for every frame (at most ``timeout`` s more than they need), stop, and return
        the images with where each lies on the leader's time base."""
        camera, queue = self.instrument, self._queue
        frames: list[Any] = []
        try:
            deadline = time.monotonic() + timeout + self.seconds()
            while len(frames) < self.points:
                frames.append(self._next(queue, deadline))
        except (StreamClosed, TimeoutError) as error:
            raise InstrumentTimeout(
                f"{camera.name}: {len(frames)} of {self.points} triggered frames came",
                instrument=camera.name,
                hint="Is the trigger cable connected and the leader firing? "
                f"({error or 'no frame in time'})",
            ) from None
        finally:
            camera.stop()
            camera.unsubscribe(queue)
        return self._acquired(frames)

    def _next(self, queue: Any, deadline: float) -> Any:
        while True:
            left = deadline - time.monotonic()
            if self.sleep is None or left <= 0:
                return queue.get(max(left, 0.0))
            frame = queue.get_nowait()
            if frame is not None:
                return frame
            self.sleep(min(left, _PAUSE))

    def _acquired(self, frames: list[Any]) -> Acquired:
        stamps = [f.hardware_timestamp for f in frames]
        clock = np.array([np.nan if s is None else s for s in stamps], dtype=float)
        numbers = np.array([f.number for f in frames], dtype=int)
        if self.mode == "edge":
            index, times = numbers - numbers[0], np.zeros(len(frames))
        else:
            index, times = np.zeros(len(frames), dtype=int), clock - clock[0]
        images = np.stack([np.asarray(f.pixels) for f in frames])
        return Acquired(
            {"image": images, "hardware_time": clock}, times, trigger_index=index.astype(int)
        )
