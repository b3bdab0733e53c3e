"""In a real kernel: the run widget is shown and the launching cell is in the run's metadata."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    "import sys\nsys.path.insert(0, {root!r})\nimport labkit\nfrom tests.simdevices import Lab\n"
    "lab = Lab(prefix='nb')",
    "run = labkit.sweep(lab.smu.settings.voltage, [0.1, 0.2, 0.3], "
    "read=[lab.dmm.readings.current], name='from-a-notebook')\nrun",
    "ds = run.wait()\nprint(ds.attrs['provenance']['kind'])\n"
    "print(ds.attrs['provenance']['source'].splitlines()[0])\nprint(ds.attrs['status'])",
]


@pytest.mark.slow
def test_a_run_started_in_a_notebook(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c.format(root=str(ROOT))) for c in CELLS]
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    env = {"LABKIT_DATA": str(tmp_path / "data")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client.execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    shown = notebook.cells[1].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert shown["text/plain"].startswith("<Run ")
    printed = "".join(o.get("text", "") for o in notebook.cells[2].outputs).splitlines()
    assert printed == [
        "notebook",
        "run = labkit.sweep(lab.smu.settings.voltage, [0.1, 0.2, 0.3], "
        "read=[lab.dmm.readings.current], name='from-a-notebook')",
        "completed",
    ]
