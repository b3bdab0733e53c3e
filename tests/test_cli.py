"""The `labkit` command as a newcomer meets it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


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


def test_plugins_fit_a_100_column_terminal_and_call_simulators_available() -> None:
    import os

    from labkit.core import MissingVendorLibrary
    from labkit.sim.pvcam import library_path

    result = labkit("plugins", env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    rows = {
        line.split()[0]: line.split() for line in lines if line.startswith(("genicam", "pvcam"))
    }
    assert rows["genicam"][2] == "simulated"
    assert "genicam://VikyTL_DEV_red@viky" in result.stdout
    try:
        library_path()
    except MissingVendorLibrary:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    assert rows["pvcam"][2] == "simulated"
    assert "labkit's simulated libpvcam" in result.stdout
    assert "cannot be used" not in result.stdout


def test_plugins_json_says_which_work_on_simulators() -> None:
    entries = {e["name"]: e for e in json.loads(labkit("plugins", "--json").stdout)}
    assert entries["genicam"]["status"] == "simulated"
    assert "viky" in entries["genicam"]["simulator"]
    assert entries["keithley2450"]["status"] == "loaded"
    assert entries["keithley2450"]["simulator"] is None


def test_runs_show_prints_a_readable_summary_and_json_on_request(tmp_path) -> None:
    import os

    env = {**os.environ, "LABKIT_DATA": str(tmp_path)}
    assert labkit("demo", env=env).returncode == 0
    result = labkit("runs", "show", "diode-iv", env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    lines = text.splitlines()
    assert len(lines) < 40, "a screenful, not the whole metadata"
    assert max(len(line) for line in lines if str(tmp_path) not in line) <= 100  # paths whole
    assert lines[0].startswith("diode-iv  (")
    assert "completed, 41 of 41 points" in text
    assert "Sweep(smu.source_voltage)" in text
    assert "smu_current[41] in A" in text
    assert "current_limit 10 mA" in text  # settings with SI prefixes, from the snapshot
    assert "labkit runs show diode-iv --json" in text
    shown = json.loads(labkit("runs", "show", "diode-iv", "--json", env=env).stdout)
    assert shown["name"] == "diode-iv"
    assert shown["snapshot"]["smu"]["settings"]["current_limit"]["value"] == 0.01


def test_labkit_lab_allows_root_and_says_so(monkeypatch) -> None:
    from pathlib import Path

    from labkit import cli

    monkeypatch.setattr(cli, "_is_root", lambda: True)
    command = cli.lab_command(Path("/nb"), port=0, no_browser=True)
    assert "--allow-root" in command
    assert command[-4:] == ["00-quickstart.ipynb", "--port=0", "--no-browser", "--allow-root"]
    monkeypatch.setattr(cli, "_is_root", lambda: False)
    assert "--allow-root" not in cli.lab_command(Path("/nb"))


@pytest.mark.slow
def test_labkit_lab_starts_serves_and_opens_the_quickstart(tmp_path) -> None:
    """`labkit lab` for real (as root here, when the suite runs as root): a server that
    answers, holds the quickstart, and whose start page opens it."""
    import os
    import re
    import time
    import urllib.request

    home = tmp_path / "jupyter"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "labkit", "lab", "--no-browser", "--port", "0"),
            *("--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=labkit-test"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        info: dict = {}
        deadline = time.monotonic() + 90
        while not info and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "lab.log").read_text()
            for found in (home / "runtime").glob("jpserver-*.json"):
                info = json.loads(found.read_text())
            time.sleep(0.2)
        assert info, "JupyterLab wrote no server file"
        base = f"http://127.0.0.1:{info['port']}"
        headers = {"Authorization": "token labkit-test"}

        def get(path: str) -> bytes:
            request = urllib.request.Request(base + path, headers=headers)
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.read()

        contents = json.loads(get("/api/contents/00-quickstart.ipynb"))
        assert contents["type"] == "notebook"
        assert "labkit quickstart" in json.dumps(contents["content"]["cells"][0]["source"])
        assert b"JupyterLab" in get("/lab/tree/00-quickstart.ipynb")
        opener = next((home / "runtime").glob("jpserver-file-to-run-*-open.html")).read_text()
        assert re.search(r"/lab/tree/00-quickstart\.ipynb", opener), "the browser opens on it"
        printed = (tmp_path / "lab.log").read_text()
        assert "Starting JupyterLab on" in printed
        if os.geteuid() == 0:
            assert "running as root" in printed
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
