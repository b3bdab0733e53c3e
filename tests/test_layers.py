"""The layers of DESIGN.md hold, and `import labkit` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = [
    "ipywidgets",
    "bqplot",
    "zarr",
    "pyvisa",
    "serial",
    "usb",
    "harvesters",
    "xarray",
    "dask",
    "pint",
    "numpy",
    "IPython",
    "p4p",
]


def test_import_labkit_loads_none_of_the_heavy_packages() -> None:
    code = (
        f"import sys, json, labkit; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_using_core_names_from_the_top_level_stays_light() -> None:
    code = (
        "import sys, json, labkit\n"
        "class M(labkit.Instrument):\n"
        "    v = labkit.Setting(unit='V', min=0, max=1, set='V {}')\n"
        "labkit.Setting; labkit.LimitError; labkit.instruments()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_the_layer_contracts_of_design_md_are_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
