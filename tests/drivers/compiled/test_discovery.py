"""`labkit plugins` finds compiled plugins in folders and lists every unusable one with its
reason: read without running library code, then probed in a separate process, so no bad
library — not even one that crashes — takes labkit's process down."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import labkit
from labkit import plugins

BROKEN = {
    "wrong_abi": ("WRONG_ABI", "wrong ABI: built for labkit plugin ABI 2.0, this labkit loads 1.x"),
    "declines": ("DECLINE_ABI", "wrong ABI: labkit_plugin_entry() declined labkit's plugin ABI"),
    "no_entry": ("NO_ENTRY", "missing symbol: the library does not export labkit_plugin_entry"),
    "no_read": ("NULL_READ", "bad table: no read function (NULL in the table)"),
    "bad_json": ("BAD_JSON", "bad declarations: the meter plugin's declarations: not valid JSON"),
    "bad_limits": (
        "BAD_DECLARATIONS",
        "bad declarations: the meter plugin's declaration 'range': min 10 is above max 1",
    ),
    "crash_on_load": (
        "CRASH_IN_CONSTRUCTOR",
        "crashed: the probe process died of SIGSEGV while loading the library (its "
        "constructors run)",
    ),
    "crash_in_entry": (
        "CRASH_IN_ENTRY",
        "crashed: the probe process died of SIGSEGV while calling labkit_plugin_entry()",
    ),
    "hang_in_entry": (
        "HANG_IN_ENTRY",
        "timed out: the probe process hung for 3 s while calling labkit_plugin_entry()",
    ),
    "crash_in_open": (
        "CRASH_IN_OPEN",
        "crashed: the probe process died of SIGSEGV while open('meter://selftest')",
    ),
    "open_fails": (
        "OPEN_FAILS",
        "self-test failed: open('meter://selftest'): the meter plugin reports: the meter's USB "
        "cable is unplugged (simulated failure) (LABKIT_ERROR_NO_DEVICE)",
    ),
    "lies": ("LYING_TEXT", "self-test failed: the meter plugin broke labkit's plugin ABI: get"),
    "bad_describe": (
        "BAD_DESCRIBE",
        "self-test failed: open('meter://selftest'): the device's own declarations (describe): "
        "the meter plugin's declarations: not valid JSON",
    ),
}


@pytest.fixture(scope="module")
def plugin_folder(
    tmp_path_factory: pytest.TempPathFactory, build_plugin: Callable[..., Path]
) -> Path:
    folder = tmp_path_factory.mktemp("plugins")
    shutil.copy(build_plugin(), folder / "libmeter.so")
    os.symlink("libmeter.so", folder / "libmeter.so.1")  # one library, listed once
    for name, (variant, _) in BROKEN.items():
        shutil.copy(build_plugin(variant), folder / f"lib{name}.so")
    (folder / "libnotes.so").write_text("build notes: see README\n")
    (folder / "README.txt").write_text("not a plugin, and not named like one\n")
    other = bytearray(build_plugin().read_bytes())
    other[18:20] = (183).to_bytes(2, "little")  # e_machine: AArch64
    (folder / "libarm_meter.so").write_bytes(bytes(other))
    extension = glob.glob(os.path.join(os.path.dirname(labkit.native.__file__), "_cframes*.so"))
    if extension:
        shutil.copy(extension[0], folder / "cframes.so")
    (folder / "config.toml").write_text("[plugins]\nprobe_timeout = 3\n")
    return folder


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LABKIT_PLUGIN_PATH": str(folder),
        "LABKIT_CONFIG": str(folder / "config.toml"),
    }
    return subprocess.run(
        [sys.executable, "-m", "labkit", "plugins", "--kind", "driver", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_library_is_listed_with_its_reason_and_the_good_one_loads(
    plugin_folder: Path,
) -> None:
    listed = run_cli(plugin_folder, "--json")
    assert listed.returncode == 0, listed.stderr
    found = {p["name"]: p for p in json.loads(listed.stdout) if p["origin"].startswith("folder")}
    assert found["meter"]["status"] == "loaded"
    assert found["meter"]["target"] == str(plugin_folder / "libmeter.so")
    for name, (_, reason) in BROKEN.items():
        assert found[name]["status"] == "failed", found[name]
        assert found[name]["reason"].startswith(reason), (name, found[name]["reason"])
    assert found["notes"]["reason"] == "not a library: a text file"
    assert found["arm_meter"]["reason"].startswith(
        "wrong architecture: built for aarch64 (64-bit, little-endian), this Python runs on"
    )
    if "cframes" in found:
        assert found["cframes"]["reason"] == (
            "missing symbol: a Python extension module (it exports PyInit_…), not a labkit plugin"
        )
    expected = {"meter", "notes", "arm_meter", *BROKEN} | ({"cframes"} & set(found))
    assert set(found) == expected  # README.txt is not a plugin; libmeter.so.1 is libmeter.so


def test_the_table_says_why_and_how_many_cannot_be_used(plugin_folder: Path) -> None:
    table = run_cli(plugin_folder)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    for name, reason in (
        ("wrong_abi", "wrong ABI: built for labkit plugin ABI 2.0"),
        ("notes", "not a library: a text file"),
        ("crash_in_open", "crashed: the probe process died of SIGSEGV"),
    ):
        row = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
        assert " failed " in lines[row]
        assert lines[row + 1].strip().startswith(reason), lines[row : row + 3]
    assert f"{len(BROKEN) + 3} of " in table.stdout  # every broken library, "notes", "arm_meter"
    assert "cannot be used; the others work." in table.stdout


def test_listing_without_checking_runs_no_library_code(plugin_folder: Path) -> None:
    listed = run_cli(plugin_folder, "--json", "--no-check")
    assert listed.returncode == 0, listed.stderr
    found = {p["name"]: p for p in json.loads(listed.stdout)}
    assert found["crash_on_load"]["status"] == "found"  # its constructor never ran
    assert found["meter"]["status"] == "found"
    # What reading the file tells is told at once.
    assert found["no_entry"]["status"] == "failed"
    assert found["notes"]["reason"] == "not a library: a text file"
    assert found["arm_meter"]["reason"].startswith("wrong architecture")


@pytest.fixture
def folder_in_this_process(plugin_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_PLUGIN_PATH", str(plugin_folder))
    monkeypatch.setenv("LABKIT_CONFIG", str(plugin_folder / "config.toml"))
    plugins.refresh()
    yield plugin_folder
    plugins.refresh()


@pytest.mark.parametrize("name", ["crash_on_load", "crash_in_entry", "crash_in_open"])
def test_a_crashing_library_is_refused_without_harming_this_process(
    folder_in_this_process: Path, name: str
) -> None:
    with pytest.raises(labkit.PluginError) as caught:
        plugins.load_driver(name)
    assert "crashed: the probe process died of SIGSEGV" in str(caught.value)
    assert caught.value.hint == (
        "The plugin is faulty: report it to its authors; labkit will not load it"
    )
    assert plugins.find("driver", name).status == "failed"


def test_the_good_library_becomes_an_instrument_class(folder_in_this_process: Path) -> None:
    meter_class = plugins.load_driver("meter")
    assert issubclass(meter_class, labkit.Instrument)
    with meter_class("meter://discovered", name="meter") as meter:
        meter.range = "20 V"
        assert meter.read("signal") == pytest.approx(0.2)


def test_libraries_named_by_entry_points_are_listed_with_their_reasons(
    plugin_folder: Path, tmp_path: Path
) -> None:
    """A distribution's entry points may name libraries; bad ones are listed as a folder's are."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "vendor_drivers.py").write_text(
        f"GOOD = {str(plugin_folder / 'libmeter.so')!r}\n"
        f"WRONG_ABI = {str(plugin_folder / 'libwrong_abi.so')!r}\n"
        f"CRASHES = {str(plugin_folder / 'libcrash_in_open.so')!r}\n"
        f"NOTES = {str(plugin_folder / 'libnotes.so')!r}\n"
        f"GONE = {str(tmp_path / 'libgone.so')!r}\n"
    )
    info = site / "vendor_drivers-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-drivers\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[labkit.drivers]\n"
        "ep_good = vendor_drivers:GOOD\n"
        "ep_wrong_abi = vendor_drivers:WRONG_ABI\n"
        "ep_crashes = vendor_drivers:CRASHES\n"
        "ep_notes = vendor_drivers:NOTES\n"
        "ep_gone = vendor_drivers:GONE\n"
    )
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "LABKIT_PLUGIN_PATH": str(empty),
        "LABKIT_CONFIG": str(plugin_folder / "config.toml"),
    }
    listed = subprocess.run(
        [sys.executable, "-m", "labkit", "plugins", "--kind", "driver", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    found = {p["name"]: p for p in json.loads(listed.stdout) if p["name"].startswith("ep_")}
    assert found["ep_good"]["status"] == "loaded"
    assert found["ep_good"]["origin"] == "entry point of vendor-drivers 1.0"
    for name, reason in (
        ("ep_wrong_abi", "wrong ABI: built for labkit plugin ABI 2.0"),
        ("ep_crashes", "crashed: the probe process died of SIGSEGV while open("),
        ("ep_notes", "not a library: a text file"),
        ("ep_gone", "not a library: cannot read it (No such file or directory)"),
    ):
        assert found[name]["status"] == "failed", found[name]
        assert found[name]["reason"].startswith(reason), (name, found[name]["reason"])
