"""The simulated libpvcam under ThreadSanitizer: callbacks, readers, triggers, faults, stops."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "native" / "pvcam_sim").glob("*.c"))
STRESS = Path(__file__).with_name("pvsim_stress.c")


@pytest.mark.skipif(
    shutil.which("gcc") is None, reason="needs labkit's compiled parts: gcc is not installed"
)
@pytest.mark.skipif(not SOURCES, reason="C sources not in this checkout")
def test_no_data_races_under_thread_sanitizer(tmp_path: Path) -> None:
    binary = tmp_path / "pvsim_stress"
    build = subprocess.run(
        [
            "gcc",
            "-std=c11",
            "-O1",
            "-g",
            "-fsanitize=thread",
            "-pthread",
            f"-I{ROOT / 'native' / 'pvcam_sim'}",
            *map(str, SOURCES),
            str(STRESS),
            "-lm",
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0 and "tsan" in build.stderr.lower():
        pytest.skip(
            f"needs labkit's compiled parts: ThreadSanitizer unavailable: {build.stderr.strip()[:200]}"
        )
    assert build.returncode == 0, build.stderr
    run = subprocess.run(
        [str(binary)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TSAN_OPTIONS": "halt_on_error=0 exitcode=66"},
    )
    assert "ThreadSanitizer" not in run.stderr, run.stderr[:4000]
    assert run.returncode == 0, run.stdout + run.stderr
    assert "failures: 0" in run.stdout
