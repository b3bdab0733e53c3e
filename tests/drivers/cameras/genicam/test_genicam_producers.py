"""Finding GenTL producers, and refusing files that are not producers by name, never by a crash."""

from __future__ import annotations

import _ctypes
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkit import ConfigurationError, MissingVendorLibrary
from labkit.drivers.cameras.genicam import (
    ENV_VAR,
    GenICamCamera,
    check_producer,
    find_producers,
    list_cameras,
    parse_address,
)


@pytest.fixture
def text_cti(tmp_path: Path) -> Path:
    path = tmp_path / "renamed.cti"
    path.write_text("this is a README, not a GenTL producer\n")
    return path


@pytest.fixture
def library_cti(tmp_path: Path) -> Path:
    """A real shared library that is not a GenTL producer (GenICam's loader crashes on one)."""
    path = tmp_path / "not_a_producer.cti"
    shutil.copy(_ctypes.__file__, path)
    return path


def test_viky_by_name_is_the_genicam_package_producer(no_configuration: Path, viky: Path) -> None:
    (producer,) = find_producers("viky")
    assert producer.path == viky
    assert producer.spec == "viky"
    assert producer.explicit


def test_producers_are_found_in_the_environment_folders(
    no_configuration: Path, viky: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "vendor"
    folder.mkdir()
    (folder / "vendor.cti").symlink_to(viky)
    (folder / "readme.txt").write_text("not a producer, not a .cti")
    stale = tmp_path / "uninstalled_sdk"
    monkeypatch.setenv(ENV_VAR, os.pathsep.join([str(stale), str(folder)]))
    (producer,) = find_producers()
    assert producer.path == folder / "vendor.cti"
    assert producer.origin == ENV_VAR
    assert not producer.explicit


def test_producers_named_in_the_configuration_are_found(
    no_configuration: Path, viky: Path, tmp_path: Path
) -> None:
    link = tmp_path / "configured.cti"
    link.symlink_to(viky)
    no_configuration.write_text(f'[genicam]\nproducers = ["{link}"]\n')
    (producer,) = find_producers()
    assert producer.path == link
    assert producer.origin == "configuration"
    infos = list_cameras()
    assert {info.id for info in infos} == {
        "VikyTL_DEV_red",
        "VikyTL_DEV_green",
        "VikyTL_DEV_blue",
    }
    assert all(info.address == f"genicam://{info.id}" for info in infos)


def test_named_producers_decide_over_the_environment(
    no_configuration: Path, text_cti: Path, viky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(text_cti.parent))
    assert [p.path for p in find_producers(["viky"])] == [viky]
    with pytest.raises(MissingVendorLibrary, match=str(text_cti)):
        find_producers()


def test_a_missing_producer_file_is_named(no_configuration: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "vendor.cti"
    with pytest.raises(MissingVendorLibrary, match="does not exist") as caught:
        find_producers([missing])
    assert str(missing) in str(caught.value)
    assert caught.value.searched == [str(missing)]
    no_configuration.write_text(f'[genicam]\nproducers = "{missing}"\n')
    with pytest.raises(MissingVendorLibrary, match="configuration"):
        find_producers()


def test_a_text_file_renamed_cti_is_refused_by_name(text_cti: Path) -> None:
    with pytest.raises(MissingVendorLibrary, match="cannot be loaded as a shared library") as e:
        check_producer(text_cti)
    assert str(text_cti) in str(e.value)


def test_a_library_that_is_not_a_producer_is_refused_by_name(library_cti: Path) -> None:
    with pytest.raises(
        MissingVendorLibrary, match="is not a GenTL producer: it does not export GC"
    ) as e:
        check_producer(library_cti)
    assert str(library_cti) in str(e.value)


def test_opening_a_camera_through_a_bogus_producer_raises_and_never_crashes(
    library_cti: Path, text_cti: Path
) -> None:
    # In a child process: before the check, GenICam's loader took this process down (SIGSEGV).
    code = textwrap.dedent(
        f"""
        import labkit
        from labkit.drivers.cameras.genicam import GenICamCamera
        for path in ({str(library_cti)!r}, {str(text_cti)!r}):
            try:
                GenICamCamera("genicam://VikyTL_DEV_red@" + path, name="cam")
            except labkit.MissingVendorLibrary as error:
                assert path in str(error), error
                print("refused", path)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("refused") == 2


def test_without_any_producer_the_driver_says_where_it_looked(no_configuration: Path) -> None:
    with pytest.raises(MissingVendorLibrary, match="no GenTL producer found") as caught:
        GenICamCamera.check_available()
    assert any(ENV_VAR in place for place in caught.value.searched)
    assert any(str(no_configuration) in place for place in caught.value.searched)
    assert "viky" in str(caught.value)  # the way to the simulated cameras is in the hint
    with pytest.raises(MissingVendorLibrary):
        list_cameras()


def test_check_available_passes_with_a_producer_in_the_environment(
    no_configuration: Path, viky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(viky.parent))
    GenICamCamera.check_available()


def test_the_driver_is_registered_as_the_genicam_plugin(
    no_configuration: Path, viky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit import plugins

    plugins.refresh()
    plugin = plugins.find("driver", "genicam")
    assert plugin.load() is GenICamCamera
    assert plugin.check().status == "unavailable"
    assert "no GenTL producer found" in (plugin.reason or "")
    monkeypatch.setenv(ENV_VAR, str(viky.parent))
    plugins.refresh()
    assert plugins.find("driver", "genicam").check().status == "loaded"
    plugins.refresh()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("VikyTL_DEV_red", "not a GenICam camera address"),
        ("labsim://cam", "not a GenICam camera address"),
        ("genicam://VikyTL_DEV_red@", "names no producer"),
    ],
)
def test_malformed_addresses_are_refused(address: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_address(address)


def test_addresses_name_a_device_and_optionally_a_producer() -> None:
    assert parse_address("genicam://VikyTL_DEV_red@viky") == ("VikyTL_DEV_red", "viky")
    assert parse_address("genicam://1234") == ("1234", None)
    assert parse_address("genicam://@/opt/x/y.cti") == ("", "/opt/x/y.cti")
