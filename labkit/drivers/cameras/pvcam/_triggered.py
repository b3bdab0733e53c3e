"""A PVCAM camera's frames on external trigger edges (``PvcamCamera.triggered_frames``).

PVCAM's exposure modes (``PARAM_EXPOSURE_MODE``, reference ``pvcam-frames.md``):
``EXT_TRIG_EDGE_RISING`` ("Edge Trigger") starts one exposure at each rising edge of the
trigger input; ``EXT_TRIG_TRIG_FIRST`` ("Trigger First") starts the whole sequence at the first
edge and times the rest on the camera's own clock. The camera names its modes itself, so the
mode is found by its value among the ones it reports. Frame metadata is turned on: its header
carries the start of each exposure on the camera's clock (``timestampBOF``).
"""

from __future__ import annotations

from typing import Any

from labkit.core import ConfigurationError
from labkit.drivers.cameras._triggered import TriggeredFrames
from labkit.drivers.cameras.pvcam._controls import PvcamControls
from labkit.drivers.cameras.pvcam._describe import CameraDescription
from labkit.drivers.cameras.pvcam._params import ExposureMode, Param

__all__ = ["triggered_frames"]

_MODES = {"edge": ExposureMode.EXT_TRIG_EDGE_RISING, "first": ExposureMode.EXT_TRIG_TRIG_FIRST}


def triggered_frames(
    camera: Any, frames: int, mode: str, description: CameraDescription, controls: PvcamControls
) -> TriggeredFrames:
    """``frames`` frames of ``camera`` exposed at the edges of its trigger input."""
    wanted = _MODES.get(mode)
    found = next((m.name for m in description.trigger_modes if m.value == wanted), None)
    if wanted is not None and found is None:
        have = ", ".join(m.name for m in description.trigger_modes) or "none"
        raise ConfigurationError(
            f"{camera.name} has no {wanted.name} exposure mode (it has: {have})",
            instrument=camera.name,
            hint="Use a camera with an external trigger input",
        )
    readout = camera.run_io(controls.read_param, Param.READOUT_TIME, default=0) * 1e-6
    exposure = float(camera.last_value("exposure") or controls.exposure)

    def configure() -> None:
        camera.set("trigger_mode", found)
        if "metadata" in camera.settings:
            camera.set("metadata", True)  # the camera's own timestamp of each exposure

    return TriggeredFrames(
        camera,
        frames,
        mode,
        configure=configure,
        frame_seconds=exposure + readout,
        details={"exposure_mode": found, "exposure": exposure, "readout_time": readout},
    )
