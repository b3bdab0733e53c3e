"""The simulated libpvcam: where it is, and the knobs PVCAM itself does not have.

labkit builds a real shared library with PVCAM's C entry points (``native/pvcam_sim``). A PVCAM
driver uses it by loading :func:`library_path` instead of the vendor's libpvcam — for example
``PvcamLibrary.load(library_path())`` or ``PVCAM_LIBRARY=$(python -c ...)`` — so the driver code
is the same with and without hardware. It simulates two cameras, :data:`KINETIX` (3200 × 3200,
8/12/16-bit ports) and :data:`PRIME_BSI` (2048 × 2048, 11/16-bit).

:class:`SimulatedPvcam` drives the library's extra ``pvsim_*`` functions: the scene (seed, moving
spots, background), the metadata header version, faults (camera unplugged, readout failure, slow
frames), external triggers, and a render benchmark. They take the handle of an open camera, the
same ``hcam`` the driver got from ``pl_cam_open``. This module never imports a driver.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
import threading
from ctypes import POINTER, c_double, c_int16, c_int32, c_int64, c_uint16, c_uint32, c_uint64
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from labkit.core import InstrumentError, MissingVendorLibrary

__all__ = [
    "KINETIX",
    "PRIME_BSI",
    "Fault",
    "RenderStats",
    "Scene",
    "SimulatedPvcam",
    "controls",
    "library_path",
]

KINETIX = "pvsim-kinetix"
PRIME_BSI = "pvsim-primebsi"

_STEM = "_libpvcam_sim"


def library_path() -> Path:
    """Path of the simulated libpvcam built with labkit (``pip install .`` builds it)."""
    here = Path(__file__).resolve().parent
    candidates = [here / f"{_STEM}{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MissingVendorLibrary(
        "The simulated libpvcam has not been built",
        searched=[str(c) for c in candidates],
        hint="Reinstall labkit with a C compiler available (pip install -e . in a checkout); "
        "the extension is optional, so an install without a compiler skips it",
    )


class Fault(IntEnum):
    """Faults :meth:`SimulatedPvcam.inject_fault` can cause."""

    #: Clear every fault; an unplugged camera comes back (CAM_RESUMED callback).
    NONE = 0
    #: Unplug the camera: CAM_REMOVED callback, then every call on it fails until it is closed.
    CAM_REMOVED = 1
    #: The next frame's readout fails: status READOUT_FAILED, the acquisition ends.
    READOUT_FAILED = 2
    #: Delay every frame by ``value`` milliseconds.
    SLOW_FRAMES = 3
    #: The next ``value`` frames (at least one) arrive damaged: their metadata signature is
    #: garbled, as by a transfer error; frames without metadata are not touched.
    CORRUPT_FRAMES = 4


@dataclass(frozen=True)
class Scene:
    """What the simulated sensor looks at; frames depend only on this, the frame number and
    the camera settings."""

    seed: int = 1
    spots: int = 12
    sigma_px: float = 2.0
    peak_e_per_ms: float = 500.0
    background_e_per_ms: float = 2.0
    speed_px_per_s: float = 40.0


@dataclass(frozen=True)
class RenderStats:
    """How the acquisition thread kept up with the camera's schedule."""

    frames: int
    late_frames: int
    mean_render_ms: float


_PROTOTYPES = {
    "pvsim_set_scene": [c_int16, c_uint32, c_uint16, c_double, c_double, c_double, c_double],
    "pvsim_get_scene": [
        c_int16,
        POINTER(c_uint32),
        POINTER(c_uint16),
        POINTER(c_double),
        POINTER(c_double),
        POINTER(c_double),
        POINTER(c_double),
    ],
    "pvsim_set_header_version": [c_int16, c_uint16],
    "pvsim_inject_fault": [c_int16, c_int32, c_uint32],
    "pvsim_set_thermal": [c_int16, c_int16, c_uint32],
    "pvsim_hardware_trigger": [c_int16, POINTER(c_uint32)],
    "pvsim_hardware_trigger_at": [c_int16, c_int64, POINTER(c_uint32)],
    "pvsim_get_trigger_stats": [c_int16, POINTER(c_uint64), POINTER(c_uint64)],
    "pvsim_benchmark_render": [c_int16, c_uint32, POINTER(c_double)],
    "pvsim_get_stats": [c_int16, POINTER(c_uint64), POINTER(c_uint64), POINTER(c_double)],
}


class SimulatedPvcam:
    """The ``pvsim_*`` controls of the simulated library loaded from ``path``.

    Loading the same path as the driver gives the same library instance (the dynamic loader
    shares it), so these calls act on the cameras the driver opened.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else library_path()
        self._lib = ctypes.CDLL(str(self.path))
        for name, argtypes in _PROTOTYPES.items():
            function = getattr(self._lib, name)
            function.argtypes = argtypes
            function.restype = c_uint16
        self._lib.pl_error_code.restype = c_int16
        self._lib.pl_error_code.argtypes = []
        self._lib.pl_error_message.restype = c_uint16
        self._lib.pl_error_message.argtypes = [c_int16, ctypes.c_char_p]

    def _call(self, name: str, *args: object) -> None:
        if getattr(self._lib, name)(*args):
            return
        code = int(self._lib.pl_error_code())
        text = ctypes.create_string_buffer(256)
        self._lib.pl_error_message(code, text)
        raise InstrumentError(
            f"{name} failed: {text.value.decode()}",
            code=code,
            command=name,
            resource=str(self.path),
        )

    def scene(self, hcam: int) -> Scene:
        """The camera's current scene."""
        seed, spots = c_uint32(), c_uint16()
        values = [c_double() for _ in range(4)]
        self._call(
            "pvsim_get_scene",
            hcam,
            ctypes.byref(seed),
            ctypes.byref(spots),
            *(ctypes.byref(v) for v in values),
        )
        return Scene(seed.value, spots.value, *(v.value for v in values))

    def set_scene(self, hcam: int, scene: Scene | None = None, **changes: Any) -> Scene:
        """Replace the scene, or change some of its fields (``seed=7, spots=40``).

        Refused while an acquisition runs. Returns the scene now in effect.
        """
        known = {f.name for f in fields(Scene)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown scene fields: {', '.join(sorted(unknown))}")
        new = replace(scene or self.scene(hcam), **changes)
        self._call(
            "pvsim_set_scene",
            hcam,
            int(new.seed),
            int(new.spots),
            float(new.sigma_px),
            float(new.peak_e_per_ms),
            float(new.background_e_per_ms),
            float(new.speed_px_per_s),
        )
        return new

    def set_header_version(self, hcam: int, version: int) -> None:
        """Write frame metadata with header version 1, 2 or 3 (the default).

        Version 1 predates image formats, so the camera then delivers 16-bit containers only.
        Takes effect at the next acquisition setup.
        """
        self._call("pvsim_set_header_version", hcam, version)

    def inject_fault(self, hcam: int, fault: Fault | int, value: int = 0) -> None:
        """Cause a :class:`Fault`; while acquiring it strikes at the next frame boundary."""
        self._call("pvsim_inject_fault", hcam, int(fault), value)

    def set_thermal(self, hcam: int, ambient_c: float = 25.0, time_constant_s: float = 3.0) -> None:
        """Set the ambient temperature and how fast the sensor approaches its set-point."""
        self._call("pvsim_set_thermal", hcam, round(ambient_c * 100), round(time_constant_s * 1000))

    def hardware_trigger(self, hcam: int) -> bool:
        """Fire the external trigger input; False when the camera ignored it (still exposing)."""
        flags = c_uint32()
        self._call("pvsim_hardware_trigger", hcam, ctypes.byref(flags))
        return flags.value == 0

    def hardware_trigger_at(self, hcam: int, at_ns: int) -> bool:
        """An edge on the external trigger input at ``at_ns`` (``time.monotonic_ns()`` clock),
        told now or a little later (a bench delivers edges in batches on a frozen clock): the
        frame it starts begins exposing at that time if the camera is ready by then, else the
        camera ignores it. False when the edge could not even be queued."""
        flags = c_uint32()
        self._call("pvsim_hardware_trigger_at", hcam, int(at_ns), ctypes.byref(flags))
        return flags.value == 0

    def trigger_stats(self, hcam: int) -> tuple[int, int]:
        """Edges the trigger input received in the current or last acquisition, and how many
        of them started a frame (the others came while the camera was busy)."""
        received, started = c_uint64(), c_uint64()
        self._call("pvsim_get_trigger_stats", hcam, ctypes.byref(received), ctypes.byref(started))
        return received.value, started.value

    def handle_of(self, name: str) -> int | None:
        """The handle of the camera called ``name`` (the simulator hands out its index, as
        ``pl_cam_open`` gives it), or None while the library is not initialised."""
        self._lib.pl_cam_get_total.argtypes = [POINTER(c_int16)]
        self._lib.pl_cam_get_name.argtypes = [c_int16, ctypes.c_char_p]
        total = c_int16()
        if not self._lib.pl_cam_get_total(ctypes.byref(total)):
            return None
        text = ctypes.create_string_buffer(64)
        for index in range(total.value):
            if self._lib.pl_cam_get_name(index, text) and text.value.decode() == name:
                return index
        return None

    def benchmark_render(self, hcam: int, frames: int) -> float:
        """Seconds to render ``frames`` frames of the current setup, with no pacing."""
        seconds = c_double()
        self._call("pvsim_benchmark_render", hcam, frames, ctypes.byref(seconds))
        return seconds.value

    def stats(self, hcam: int) -> RenderStats:
        """Frames delivered, frames delivered late and mean render time of the last acquisition."""
        frames, late, mean = c_uint64(), c_uint64(), c_double()
        self._call(
            "pvsim_get_stats", hcam, ctypes.byref(frames), ctypes.byref(late), ctypes.byref(mean)
        )
        return RenderStats(frames.value, late.value, mean.value)


_controls: dict[str, SimulatedPvcam] = {}
_controls_lock = threading.Lock()


def controls(path: str | os.PathLike[str] | None = None) -> SimulatedPvcam:
    """The :class:`SimulatedPvcam` for ``path`` (default :func:`library_path`), made once."""
    resolved = str(Path(path).resolve() if path is not None else library_path())
    with _controls_lock:
        if resolved not in _controls:
            _controls[resolved] = SimulatedPvcam(resolved)
        return _controls[resolved]
