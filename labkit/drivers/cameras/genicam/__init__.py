"""GenICam cameras through harvesters and a GenTL producer.

::

    from labkit.drivers.cameras.genicam import GenICamCamera, list_cameras

    list_cameras("viky")                                  # the genicam package's simulated cameras
    cam = GenICamCamera("genicam://VikyTL_DEV_red@viky", name="cam")
    cam.width = 640; cam.pixel_format = "Mono8"           # checked against the node map first
    frame = cam.snap()                                    # a labkit Frame: pixels, number, times
    queue = cam.subscribe(maxsize=16); cam.start() ...    # live frames; cam.stop(); cam.close()

Producers come from ``GENICAM_GENTL64_PATH``, labkit's configuration (``[genicam] producers``),
explicit paths, or ``"viky"`` (see :func:`find_producers`). harvesters is imported only when a
camera is listed or opened.
"""

from labkit.drivers.cameras.genicam._camera import GenICamCamera
from labkit.drivers.cameras.genicam._features import ALWAYS_INCLUDED, Feature
from labkit.drivers.cameras.genicam._pixels import decode, frame_bytes
from labkit.drivers.cameras.genicam._producers import (
    ENV_VAR,
    Producer,
    check_producer,
    find_producers,
    simulated_producer,
)
from labkit.drivers.cameras.genicam._system import CameraInfo, list_cameras, parse_address

__all__ = [
    "ALWAYS_INCLUDED",
    "ENV_VAR",
    "CameraInfo",
    "Feature",
    "GenICamCamera",
    "Producer",
    "check_producer",
    "decode",
    "find_producers",
    "frame_bytes",
    "list_cameras",
    "parse_address",
    "simulated_producer",
]
