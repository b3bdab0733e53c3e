"""Finding libpvcam: explicit path, PVCAM_LIBRARY, configuration, standard places."""

from __future__ import annotations

import ctypes.util
from pathlib import Path

import pytest

from labkit.core import MissingVendorLibrary
from labkit.drivers.cameras.pvcam import ENV_VAR, _library, find_library, standard_locations


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PVCAM anywhere: env var unset, standard places empty, loader search fruitless."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(
        _library, "standard_locations", lambda system=None: [str(tmp_path / "lib*.so*")]
    )
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    return tmp_path


def test_nothing_found_lists_every_place_and_the_fix(nowhere: Path) -> None:
    with pytest.raises(MissingVendorLibrary) as info:
        find_library()
    error = info.value
    assert f"{ENV_VAR} environment variable (not set)" in error.searched
    assert str(nowhere / "lib*.so*") in error.searched
    assert any("system library search" in place for place in error.searched)
    text = str(error)
    assert "PVCAM library not found" in text
    assert ENV_VAR in text
    assert "labkit.sim.pvcam.library_path()" in text
    assert isinstance(error, OSError)


def test_env_var_pointing_to_a_missing_file(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = nowhere / "gone" / "libpvcam.so"
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(MissingVendorLibrary) as info:
        find_library()
    assert str(missing) in str(info.value)
    assert ENV_VAR in info.value.searched[0]
    assert "Correct the path" in str(info.value)


def test_explicit_path_wins_and_must_exist(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = nowhere / "libpvcam.so.3"
    real.write_bytes(b"")
    monkeypatch.setenv(ENV_VAR, str(nowhere / "other.so"))
    assert find_library(real) == real
    with pytest.raises(MissingVendorLibrary, match="the path argument"):
        find_library(nowhere / "absent.so")


def test_env_var_then_configuration(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env = nowhere / "env.so"
    from_config = nowhere / "config.so"
    from_env.write_bytes(b"")
    from_config.write_bytes(b"")
    assert find_library(configured=from_config) == from_config
    monkeypatch.setenv(ENV_VAR, str(from_env))
    assert find_library(configured=from_config) == from_env


def test_standard_location_prefers_the_unversioned_name(
    nowhere: Path,
) -> None:
    for name in ("libpvcam.so.2.1", "libpvcam.so", "libpvcam.so.2"):
        (nowhere / name).write_bytes(b"")
    assert find_library() == nowhere / "libpvcam.so"


def test_standard_locations_per_platform() -> None:
    linux = standard_locations("linux")
    assert any(p.startswith("/opt/pvcam/library/") and "libpvcam.so" in p for p in linux)
    assert "/usr/lib/libpvcam.so*" in linux
    windows = standard_locations("win32")
    assert any(p.endswith("Photometrics\\PVCam64\\pvcam64.dll") or "PVCam64" in p for p in windows)
    assert all(p.endswith("pvcam64.dll") for p in windows)


def test_a_file_that_is_not_a_library(nowhere: Path) -> None:
    from labkit.drivers.cameras.pvcam import load_library

    bogus = nowhere / "libpvcam.so"
    bogus.write_text("not an ELF file")
    with pytest.raises(MissingVendorLibrary, match="cannot be loaded"):
        load_library(bogus)
