"""The PVCAM binding tested against labkit's simulated libpvcam, loaded by path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.core import MissingVendorLibrary
from labkit.drivers.cameras.pvcam import CallbackEvent, PvcamCamera, PvcamError, PvcamLibrary

try:
    from labkit.sim import pvcam as pvsim

    SIM_PATH = pvsim.library_path()
except MissingVendorLibrary:  # built without a C compiler
    SIM_PATH = None

requires_sim = pytest.mark.skipif(
    SIM_PATH is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)


@pytest.fixture(scope="session")
def lib() -> Iterator[PvcamLibrary]:
    if SIM_PATH is None:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    library = PvcamLibrary.load(SIM_PATH)
    library.init()
    yield library
    library.uninit()


@pytest.fixture(scope="session")
def sim(lib: PvcamLibrary) -> pvsim.SimulatedPvcam:
    return pvsim.controls(lib.path)


def _open(lib: PvcamLibrary, name: str) -> Iterator[int]:
    hcam = lib.open_camera(name)
    yield hcam
    for event in CallbackEvent:
        try:
            lib.deregister_callback(hcam, event)
        except PvcamError:
            pass
    try:
        lib.close_camera(hcam)
    except PvcamError:
        pass


@pytest.fixture
def kinetix(lib: PvcamLibrary) -> Iterator[int]:
    """A freshly opened simulated Kinetix (opening resets every setting)."""
    yield from _open(lib, pvsim.KINETIX)


@pytest.fixture
def primebsi(lib: PvcamLibrary) -> Iterator[int]:
    """A freshly opened simulated Prime BSI."""
    yield from _open(lib, pvsim.PRIME_BSI)


# ---- the camera instrument ---------------------------------------------------------------------


@pytest.fixture
def open_camera() -> Iterator[Callable[..., PvcamCamera]]:
    """Opens simulated cameras through the driver, by path like the vendor's library; closes
    them after the test."""
    if SIM_PATH is None:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    opened: list[PvcamCamera] = []

    def opener(camera: str = pvsim.KINETIX, name: str = "cam", **options: Any) -> PvcamCamera:
        options.setdefault("library", SIM_PATH)
        made = PvcamCamera(f"pvcam://{camera}", name=name, **options)
        opened.append(made)
        return made

    yield opener
    for made in opened:
        made.close()


@pytest.fixture
def kinetix_cam(open_camera: Callable[..., PvcamCamera]) -> PvcamCamera:
    """The simulated Kinetix as a labkit instrument (opening resets the camera)."""
    return open_camera(pvsim.KINETIX, name="kinetix")


@pytest.fixture
def bsi_cam(open_camera: Callable[..., PvcamCamera]) -> PvcamCamera:
    """The simulated Prime BSI as a labkit instrument."""
    return open_camera(pvsim.PRIME_BSI, name="bsi")


@pytest.fixture
def controls() -> pvsim.SimulatedPvcam:
    """The simulator's own knobs (scene, header version, faults), by camera handle."""
    if SIM_PATH is None:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    return pvsim.controls(SIM_PATH)


@pytest.fixture
def sim_path() -> Path:
    """Path of the simulated libpvcam, which tests load exactly like the vendor's library."""
    if SIM_PATH is None:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    return SIM_PATH
