"""Camera drivers: the base every camera family shares, GenICam cameras through harvesters,
PVCAM cameras through libpvcam.

A new camera family subclasses :class:`CameraInstrument` with a link, a mapping from the
device's features to declarations, and a :class:`FrameStream` (see ``docs/concepts/
instrument-model.md``, "A new camera family").
"""

from labkit.drivers.cameras._base import CameraInstrument, FrameStream

__all__ = ["CameraInstrument", "FrameStream"]
