"""Simulated stand-ins for drivers whose vendor software is not installed.

``labkit plugins`` asks here before it calls a driver unavailable: the PVCAM driver without
Teledyne's libpvcam still works on labkit's simulated libpvcam, and the GenICam driver without a
vendor's GenTL producer on the ``genicam`` package's simulated cameras (``viky``). Drivers are
named by their entry-point target (``module:Class``): simulators never import drivers.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

__all__ = ["simulated_alternative"]


def _pvcam() -> str | None:
    from labkit.core import MissingVendorLibrary
    from labkit.sim.pvcam import library_path

    try:
        path = library_path()
    except MissingVendorLibrary:
        return None  # labkit was installed without a C compiler
    return (
        "labkit's simulated libpvcam: pvcam://pvsim-kinetix with "
        f"library=labkit.sim.pvcam.library_path() ({path.name})"
    )


def _viky() -> str | None:
    if importlib.util.find_spec("harvesters") is None:
        return None
    spec = importlib.util.find_spec("genicam")
    if spec is None or spec.origin is None:
        return None
    if not (Path(spec.origin).resolve().parent / "viky.cti").is_file():
        return None
    return "the genicam package's simulated cameras: genicam://VikyTL_DEV_red@viky"


_ALTERNATIVES: dict[str, Callable[[], str | None]] = {
    "labkit.drivers.cameras.pvcam:PvcamCamera": _pvcam,
    "labkit.drivers.cameras.genicam:GenICamCamera": _viky,
}


def simulated_alternative(target: str) -> str | None:
    """How to use the driver ``target`` (``module:Class``) on a simulator here, or None."""
    finder = _ALTERNATIVES.get(target)
    return None if finder is None else finder()
