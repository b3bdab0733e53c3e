"""A run records where it came from: the notebook cell or script, versions, git state."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from labkit.runs import _provenance


class ZMQInteractiveShell:
    """Looks like ipykernel's shell to the provenance code."""

    def __init__(self, cells):
        self.user_ns = {"In": ["", *cells], "__session__": "/lab/notebooks/iv.ipynb"}
        self.execution_count = len(cells)


def test_in_a_notebook_the_launching_cell_is_recorded(monkeypatch, tmp_path):
    cell = "run = labkit.sweep(smu.settings.voltage, values, read=[dmm.readings.current])"
    monkeypatch.setattr(_provenance, "_ipython_shell", lambda: ZMQInteractiveShell(["x = 1", cell]))
    monkeypatch.chdir(tmp_path)
    found = _provenance.provenance()
    assert found["kind"] == "notebook"
    assert found["source"] == cell
    assert found["execution_count"] == 2
    assert found["notebook"] == "/lab/notebooks/iv.ipynb"
    assert "git" not in found  # not in a repository


def test_from_a_script_the_script_and_the_git_state_are_recorded(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "analysis"
    repo.mkdir()
    script = repo / "measure.py"
    script.write_text(
        "import json\nfrom labkit.runs._provenance import provenance\n"
        "print(json.dumps(provenance()))\n"
    )
    for command in (
        ["init", "-q"],
        ["add", "measure.py"],
        ["-c", "user.name=t", "-c", "user.email=t@example", "commit", "-qm", "first"],
    ):
        subprocess.run(["git", "-C", str(repo), *command], check=True)
    (repo / "notes.txt").write_text("uncommitted")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=repo
    )
    found = json.loads(done.stdout)
    assert found["kind"] == "script"
    assert found["script"] == str(script)
    assert "print(json.dumps(provenance()))" in found["source"]
    assert len(found["script_sha256"]) == 64
    assert found["git"]["root"] == str(repo)
    assert len(found["git"]["commit"]) == 40
    assert found["git"]["dirty"] is True
    assert "?? notes.txt" in found["git"]["changes"]
    assert found["versions"]["labkit"]
