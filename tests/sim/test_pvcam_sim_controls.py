"""The pvsim_* controls of the simulated libpvcam, through labkit.sim.pvcam."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labkit.core import InstrumentError, MissingVendorLibrary

# The controls act on cameras opened through PVCAM's own calls; the binding is the easiest way.
from labkit.drivers.cameras.pvcam import Param, PvcamLibrary, Rgn
from labkit.sim import pvcam as pvsim

try:
    LIBRARY = pvsim.library_path()
except MissingVendorLibrary:  # installed without a C compiler
    LIBRARY = None
pytestmark = pytest.mark.skipif(
    LIBRARY is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)


@pytest.fixture(scope="module")
def lib() -> Iterator[PvcamLibrary]:
    library = PvcamLibrary.load(LIBRARY)
    with library:
        yield library


@pytest.fixture
def hcam(lib: PvcamLibrary) -> Iterator[int]:
    handle = lib.open_camera(pvsim.KINETIX)
    yield handle
    lib.close_camera(handle)


def test_controls_share_the_drivers_library(lib: PvcamLibrary) -> None:
    assert pvsim.controls() is pvsim.controls(LIBRARY)
    assert pvsim.controls().path == LIBRARY


def test_scene_round_trip_and_defaults(hcam: int) -> None:
    sim = pvsim.controls()
    assert sim.scene(hcam) == pvsim.Scene()  # opening a camera resets its scene
    changed = sim.set_scene(hcam, seed=9, spots=3)
    assert changed == pvsim.Scene(seed=9, spots=3)
    assert sim.scene(hcam) == changed
    with pytest.raises(TypeError, match="unknown scene fields: colour"):
        sim.set_scene(hcam, colour=1)
    with pytest.raises(InstrumentError, match="PL_ERR_VALUE_INVALID") as info:
        sim.set_scene(hcam, sigma_px=0.0)
    assert info.value.code == 164  # PL_ERR_VALUE_INVALID


def test_header_version_and_thermal_arguments(hcam: int) -> None:
    sim = pvsim.controls()
    with pytest.raises(InstrumentError, match="PL_ERR_VALUE_INVALID"):
        sim.set_header_version(hcam, 4)
    with pytest.raises(InstrumentError, match="PL_ERR_VALUE_INVALID"):
        sim.set_thermal(hcam, time_constant_s=0)
    with pytest.raises(InstrumentError, match="PL_ERR_VALUE_INVALID"):
        sim.inject_fault(hcam, 42)
    with pytest.raises(InstrumentError, match="PL_ERR_DEVICE_HANDLE_INVALID"):
        sim.scene(7)


def test_render_benchmark(lib: PvcamLibrary, hcam: int) -> None:
    sim = pvsim.controls()
    with pytest.raises(InstrumentError, match="PL_ERR_ACQUISITION_SETUP_REQUIRED"):
        sim.benchmark_render(hcam, 1)
    lib.set_param(hcam, Param.READOUT_PORT, "Dynamic Range")
    lib.setup_seq(hcam, 1, [Rgn.from_origin(0, 0, 3200, 3200)], 10)
    seconds = sim.benchmark_render(hcam, 3)
    assert seconds > 0  # speed is reported by benchmarks/, never asserted
    assert sim.stats(hcam) == pvsim.RenderStats(0, 0, 0.0)  # no acquisition ran


def test_missing_library_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pvsim.importlib.machinery, "EXTENSION_SUFFIXES", [".nowhere.so"])
    with pytest.raises(MissingVendorLibrary, match="has not been built") as info:
        pvsim.library_path()
    assert info.value.searched[0].endswith("_libpvcam_sim.nowhere.so")
