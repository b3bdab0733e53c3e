"""The compiled example plugin in extensions/ (C, built by setuptools) installed with pip and
found as a user would find it: through its entry point, and as a library in a plugin folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NEEDS_NATIVE

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "extensions" / "labkit-acme-psu"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-install the example into a fresh site folder (its C library compiled by setuptools)."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip(f"{NEEDS_NATIVE}: no C compiler to build the example plugin")
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    shutil.copytree(EXAMPLE, build / "src", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            # labkit_plugin.h comes from the labkit installed here, not from a registry
            "--no-build-isolation",
            "--target",
            str(target),
            str(build / "src"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert list((target / "labkit_acme_psu").glob("_acme_psu*")), "no compiled library"
    return target


def environment(site: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(site),
        "LABKIT_CONFIG": str(site / "none.toml"),
        "LABKIT_PLUGIN_PATH": "",
        **extra,
    }


def plugins_json(env: dict[str, str]) -> dict[str, dict[str, str]]:
    listed = subprocess.run(
        [sys.executable, "-m", "labkit", "plugins", "--json", "--kind", "driver"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    return {entry["name"]: entry for entry in json.loads(listed.stdout)}


def test_the_installed_library_is_found_through_its_entry_point(site: Path) -> None:
    found = plugins_json(environment(site))["acme_psu"]
    assert found["origin"] == "entry point of labkit-acme-psu 0.1.0"
    assert found["target"] == "labkit_acme_psu:LIBRARY"
    assert found["status"] == "loaded", found["reason"]


def test_the_same_library_dropped_into_a_plugin_folder_is_found(site: Path, tmp_path: Path) -> None:
    built = next((site / "labkit_acme_psu").glob("_acme_psu*"))
    shutil.copy(built, tmp_path / "libacme_psu.so")
    env = {**environment(site), "PYTHONPATH": "", "LABKIT_PLUGIN_PATH": str(tmp_path)}
    found = plugins_json(env)["acme_psu"]
    assert found["origin"] == f"folder {tmp_path}"
    assert found["status"] == "loaded", found["reason"]


def test_the_plugins_own_tests_pass_with_labkits_conformance_suite(
    site: Path, tmp_path: Path
) -> None:
    # Run from elsewhere: in the source folder, `python -m` would import the source package,
    # which has no compiled library, instead of the installed one.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        env=environment(site),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    assert "failed" not in result.stdout
