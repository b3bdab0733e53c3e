"""The same C ABI from C++ and Rust: the examples in extensions/plugin-examples, built with the
machine's g++ and cargo (skipped where they are missing), found in a plugin folder and passing
labkit's conformance suite like any driver."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import plugins
from labkit.testing import DriverConformance
from tests.conftest import NEEDS_NATIVE

EXAMPLES = Path(__file__).resolve().parents[3] / "extensions" / "plugin-examples"


def build_cxx(folder: Path) -> None:
    compiler = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip(f"{NEEDS_NATIVE}: no C++ compiler here (apt-get install g++)")
    built = subprocess.run(
        [
            compiler,
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-shared",
            "-fPIC",
            "-fvisibility=hidden",
            f"-I{labkit.plugin_include_dir()}",
            str(EXAMPLES / "cxx" / "filter_wheel.cpp"),
            "-o",
            str(folder / "libfilter_wheel.so"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr


def build_rust(folder: Path, work: Path) -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("no cargo here (the Rust example is optional)")
    source = work / "rust"
    shutil.copytree(EXAMPLES / "rust", source, ignore=shutil.ignore_patterns("target"))
    built = subprocess.run(
        [cargo, "build", "--release", "--offline", "--quiet"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    shutil.copy(source / "target" / "release" / "libphoton_counter.so", folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("polyglot")


@pytest.fixture
def use_folder(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LABKIT_PLUGIN_PATH", str(folder))
    monkeypatch.setenv("LABKIT_CONFIG", str(folder / "none.toml"))
    plugins.refresh()
    yield folder
    plugins.refresh()


@pytest.fixture(scope="module")
def wheel_built(folder: Path) -> None:
    build_cxx(folder)


@pytest.fixture(scope="module")
def counter_built(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    build_rust(folder, tmp_path_factory.mktemp("cargo"))


class TestCxxFilterWheel(DriverConformance):
    @pytest.fixture(autouse=True)
    def _driver(self, wheel_built: None, use_folder: Path) -> None:
        found = plugins.find("driver", "filter_wheel").check()
        assert found.status == "loaded", found.reason
        type(self).driver = found.load()

    def open_instrument(self) -> labkit.Instrument:
        return self.driver("wheel://conformance", name="wheel")

    def test_exceptions_stay_inside_and_state_survives(self) -> None:
        with self.driver("wheel://behaviour", name="wheel") as wheel:
            wheel.filter = "red"
            wheel.filter = "blue"
            wheel.home()
            assert wheel.read("moves") == 3
            assert wheel.settings.filter.read() == "open"
            wheel.make_safe()
            assert wheel.settings.filter.read() == "ND2"


class TestRustPhotonCounter(DriverConformance):
    @pytest.fixture(autouse=True)
    def _driver(self, counter_built: None, use_folder: Path) -> None:
        found = plugins.find("driver", "photon_counter").check()
        assert found.status == "loaded", found.reason
        type(self).driver = found.load()

    def open_instrument(self) -> labkit.Instrument:
        return self.driver("counter://conformance", name="counter")

    def test_a_higher_threshold_counts_fewer_photons(self) -> None:
        with self.driver("counter://behaviour", name="counter") as counter:
            counter.gate_time = "100 ms"
            low = counter.read("counts")
            counter.threshold = "300 mV"
            assert counter.read("counts") < low / 2
            assert counter.identity == {"manufacturer": "labkit examples", "model": "PC-1 (Rust)"}
