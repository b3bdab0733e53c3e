"""The `labkit` command as a newcomer meets it."""

from __future__ import annotations

import json
import subprocess
import sys


def labkit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_help_lists_the_commands() -> None:
    result = labkit("--help")
    assert result.returncode == 0
    for command in ("lab", "demo", "plugins", "version"):
        assert command in result.stdout


def test_version() -> None:
    import labkit as package

    assert labkit("version").stdout.startswith(f"labkit {package.__version__}")


def test_demo_runs_the_quickstart_sweep_and_says_where_the_run_is(tmp_path) -> None:
    import os
    import re

    from labkit._demo import SWEEP
    from labkit.store import open_run

    result = labkit("demo", env={**os.environ, "LABKIT_DATA": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "Refused before anything was sent" in result.stdout
    written = re.search(r"written to (.+\.zarr)$", result.stdout, re.M)
    assert written, result.stdout
    path = written.group(1)
    assert path.startswith(str(tmp_path))
    data = open_run(path)
    assert data.attrs["status"] == "completed"
    assert data.sizes["smu_source_voltage"] == SWEEP[2]
    assert f"{SWEEP[2]} points" in result.stdout
    ideality = float(re.search(r"ideality factor .*: ([0-9.]+)", result.stdout).group(1))
    assert 1.5 < ideality < 2.0  # the bench's diode has n = 1.75


def test_the_demo_runs_the_quickstart_notebooks_sweep() -> None:
    from pathlib import Path

    from labkit._demo import SWEEP

    start, stop, points = SWEEP
    notebook = Path(__file__).resolve().parent.parent / "notebooks" / "00-quickstart.ipynb"
    source = json.loads(notebook.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in source["cells"] if c["cell_type"] == "code")
    assert "labkit.sim.Bench(seed=0" in code
    assert f"np.linspace({start:g}, {stop:g}, {points})" in code
    assert "smu.settings.source_voltage" in code


def test_unknown_arguments_are_refused() -> None:
    result = labkit("plugins", "--bogus")
    assert result.returncode == 2
    assert "bogus" in result.stderr


def test_plugins_json_is_machine_readable(tmp_path) -> None:
    import os

    (tmp_path / "lamp.py").write_text(
        "import labkit\n"
        "class Lamp(labkit.Instrument):\n"
        "    '''A lamp.'''\n"
        "    power = labkit.Setting(bool, set=lambda self, v: None, doc='On/off')\n"
    )
    result = labkit("plugins", "--json", env={**os.environ, "LABKIT_PLUGIN_PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    entries = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert entries["lamp"]["status"] == "loaded"
    assert entries["lamp"]["origin"] == f"folder {tmp_path}"
