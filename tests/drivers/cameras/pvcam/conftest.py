"""The PVCAM binding tested against labkit's simulated libpvcam, loaded by path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labkit.core import MissingVendorLibrary
from labkit.drivers.cameras.pvcam import CallbackEvent, PvcamError, PvcamLibrary

try:
    from labkit.sim import pvcam as pvsim

    SIM_PATH = pvsim.library_path()
except MissingVendorLibrary:  # built without a C compiler
    SIM_PATH = None

requires_sim = pytest.mark.skipif(SIM_PATH is None, reason="simulated libpvcam not built")


@pytest.fixture(scope="session")
def lib() -> Iterator[PvcamLibrary]:
    if SIM_PATH is None:
        pytest.skip("simulated libpvcam not built")
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
