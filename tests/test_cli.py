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


def test_demo_runs_an_experiment_on_simulated_instruments() -> None:
    result = labkit("demo")
    assert result.returncode == 0, result.stderr
    assert "Refused before anything was sent" in result.stdout


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
