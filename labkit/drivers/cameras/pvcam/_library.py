"""Finding and loading libpvcam by path.

The driver never imports a simulator: which library it talks to is decided only by the path it
loads, so the vendor's libpvcam and labkit's simulated one go through the same code. Places are
tried in this order, and the first one given decides:

1. the ``path`` argument;
2. the ``PVCAM_LIBRARY`` environment variable (a full path);
3. the path from labkit's configuration (passed in as ``configured``);
4. the standard install locations of the PVCAM SDK, then the system loader's search.

A path named explicitly (1–3) that does not exist is an error of its own rather than a reason to
fall back to some other library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import platform
import sys
from pathlib import Path

from labkit.core import MissingVendorLibrary

__all__ = ["ENV_VAR", "find_library", "load_library", "standard_locations"]

ENV_VAR = "PVCAM_LIBRARY"

_HOW_TO_FIX = (
    "Install PVCAM from Teledyne Photometrics, or set the PVCAM_LIBRARY environment variable "
    "to the full path of libpvcam (pvcam64.dll on Windows). To use labkit's simulated cameras "
    "instead, load the path returned by labkit.sim.pvcam.library_path()."
)


def _linux_arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64", "i386": "i686", "x86": "i686"}.get(
        machine, machine
    )


def standard_locations(system: str | None = None) -> list[str]:
    """Glob patterns of the places PVCAM installers put the library on this ``system``."""
    system = system or sys.platform
    if system.startswith("win"):
        program_files = os.environ.get("PROGRAMFILES", r"C:\Program Files")
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return [
            os.path.join(program_files, "Photometrics", "PVCam64", "pvcam64.dll"),
            os.path.join(system_root, "System32", "pvcam64.dll"),
        ]
    return [
        f"/opt/pvcam/library/{_linux_arch()}/libpvcam.so*",
        "/usr/lib/libpvcam.so*",
        "/usr/local/lib/libpvcam.so*",
    ]


def _loader_name(system: str) -> str:
    return "pvcam64" if system.startswith("win") else "pvcam"


def _explicit(path: str | os.PathLike[str], where: str, searched: list[str]) -> Path:
    candidate = Path(path).expanduser()
    searched.append(f"{candidate} ({where})")
    if candidate.is_file():
        return candidate
    raise MissingVendorLibrary(
        f"PVCAM library not found: {candidate} (from {where}) does not exist",
        searched=searched,
        hint=f"Correct the path, or unset it to search the standard locations. {_HOW_TO_FIX}",
    )


def find_library(
    path: str | os.PathLike[str] | None = None,
    *,
    configured: str | os.PathLike[str] | None = None,
    system: str | None = None,
) -> Path:
    """Return the path of the PVCAM library to load, or raise :class:`MissingVendorLibrary`.

    The error lists every place searched and says how to fix it.
    """
    system = system or sys.platform
    searched: list[str] = []
    if path is not None:
        return _explicit(path, "the path argument", searched)
    env = os.environ.get(ENV_VAR)
    if env:
        return _explicit(env, f"the {ENV_VAR} environment variable", searched)
    searched.append(f"{ENV_VAR} environment variable (not set)")
    if configured is not None:
        return _explicit(configured, "labkit's configuration", searched)
    for pattern in standard_locations(system):
        searched.append(pattern)
        matches = sorted(glob.glob(pattern))
        # Prefer the unversioned name (a symlink to the current version), then the newest.
        for match in sorted(matches, key=lambda m: (m.endswith(".so"), m), reverse=True):
            if os.path.isfile(match):
                return Path(match)
    name = _loader_name(system)
    searched.append(f"the system library search for '{name}'")
    found = ctypes.util.find_library(name)
    if found:
        return Path(found)
    raise MissingVendorLibrary("PVCAM library not found", searched=searched, hint=_HOW_TO_FIX)


def load_library(
    path: str | os.PathLike[str] | None = None,
    *,
    configured: str | os.PathLike[str] | None = None,
) -> tuple[ctypes.CDLL, Path]:
    """Find the library (see :func:`find_library`) and load it; return it with its path.

    PVCAM's calling convention is the platform's C default (``PV_DECL`` is empty on Linux and
    64-bit Windows has a single convention), so ``CDLL`` fits both.
    """
    found = find_library(path, configured=configured)
    try:
        return ctypes.CDLL(str(found)), found
    except OSError as exc:
        raise MissingVendorLibrary(
            f"PVCAM library {found} was found but cannot be loaded: {exc}",
            searched=[str(found)],
            hint="Check that it matches this Python's architecture and that the libraries it "
            f"depends on are installed. {_HOW_TO_FIX}",
        ) from exc
