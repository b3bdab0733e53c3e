"""The example plugin in extensions/ installed with pip and found as a user would find it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "extensions" / "labkit-acme-laser"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pip-install the example into a fresh site folder; return an environment that uses it."""
    site = tmp_path_factory.mktemp("site")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (site / "labkit_acme_laser").is_dir()
    return {**os.environ, "PYTHONPATH": str(site), "LABKIT_CONFIG": str(site / "none.toml")}


def test_the_installed_plugin_is_found_by_its_entry_point_beside_folder_plugins(
    installed: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "shutter.py").write_text(
        "import labkit\n"
        "class Shutter(labkit.Instrument):\n"
        "    '''A shutter.'''\n"
        "    open_ = labkit.Setting(bool, set=lambda self, v: None, doc='Open')\n"
    )
    (tmp_path / "vendor_stage.py").write_text(
        "import acme_motion_sdk\n"
        "import labkit\n"
        "class VendorStage(labkit.Instrument):\n"
        "    '''Needs the vendor SDK.'''\n"
    )
    env = {**installed, "LABKIT_PLUGIN_PATH": str(tmp_path)}
    listed = subprocess.run(
        [sys.executable, "-m", "labkit", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    plugins = {entry["name"]: entry for entry in json.loads(listed.stdout)}
    assert plugins["acme_ld100"]["origin"] == "entry point of labkit-acme-laser 0.1.0"
    assert plugins["acme_ld100"]["status"] == "loaded"
    assert plugins["shutter"]["origin"] == f"folder {tmp_path}"
    assert plugins["shutter"]["status"] == "loaded"
    assert plugins["vendor_stage"]["status"] == "failed"
    assert plugins["vendor_stage"]["reason"] == "missing package 'acme_motion_sdk'"

    table = subprocess.run(
        [sys.executable, "-m", "labkit", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "acme_ld100" in table
    row = next(line for line in table.splitlines() if line.startswith("vendor_stage "))
    assert row.split()[2] == "failed"
    assert "\n    missing package 'acme_motion_sdk'" in table  # the reason, under its row
    failed = [e for e in plugins.values() if e["status"] in ("failed", "unavailable")]
    assert f"{len(failed)} of {len(plugins)} plugins cannot be used; the others work." in table


def test_the_plugins_own_tests_pass_with_labkits_conformance_suite(
    installed: dict[str, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        env=installed,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXAMPLE,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
