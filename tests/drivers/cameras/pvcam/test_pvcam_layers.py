"""Layer rules of DESIGN.md for the PVCAM parts: drivers never import sim, sim never drivers."""

from __future__ import annotations

import ast
from pathlib import Path

import labkit

PACKAGE = Path(labkit.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_pvcam_driver_never_imports_sim() -> None:
    files = sorted((PACKAGE / "drivers" / "cameras").rglob("*.py"))
    assert files
    for path in files:
        offending = {m for m in imported_modules(path) if m.startswith("labkit.sim")}
        assert not offending, f"{path} imports {offending}"


def test_the_simulated_library_loader_never_imports_drivers() -> None:
    imports = imported_modules(PACKAGE / "sim" / "pvcam.py")
    assert not {m for m in imports if m.startswith("labkit.drivers")}
