"""Build the test plugin (testplugin.c) and its broken variants with the system's C compiler."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import labkit
from tests.conftest import NEEDS_NATIVE

SOURCE = Path(__file__).with_name("testplugin.c")
EXAMPLE = Path(__file__).resolve().parents[3] / "extensions" / "labkit-acme-psu" / "src"


def compiler() -> str:
    found = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if found is None:
        pytest.skip(f"{NEEDS_NATIVE}: no C compiler to build test plugins (apt-get install gcc)")
    return found


def compile_library(sources: list[Path], target: Path, *flags: str) -> Path:
    """Compile ``sources`` into the shared library ``target`` against labkit_plugin.h."""
    command = [
        compiler(),
        "-std=c11",
        "-D_POSIX_C_SOURCE=200809L",
        "-shared",
        "-fPIC",
        "-fvisibility=hidden",
        "-O1",
        "-g",
        "-Wall",
        "-Werror",
        f"-I{labkit.plugin_include_dir()}",
        *flags,
        *map(str, sources),
        "-o",
        str(target),
        "-lm",
        "-pthread",
    ]
    built = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return target


@pytest.fixture(scope="session")
def plugin_builds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plugin-builds")


@pytest.fixture(scope="session")
def build_plugin(plugin_builds: Path) -> Callable[..., Path]:
    """``build_plugin("OPEN_FAILS")``: the test plugin built with that variant (cached)."""

    def build(variant: str | None = None, *, name: str | None = None) -> Path:
        target = plugin_builds / (name or f"lib{(variant or 'meter').lower()}.so")
        if not target.exists():
            flags = [f"-D{variant}"] if variant else []
            compile_library([SOURCE], target, *flags)
        return target

    return build


@pytest.fixture(scope="session")
def example_library(plugin_builds: Path) -> Path:
    """The example plugin of extensions/labkit-acme-psu, built directly (no pip)."""
    target = plugin_builds / "libacme_psu.so"
    if not target.exists():
        compile_library(sorted(EXAMPLE.glob("*.c")), target)
    return target
