"""Interruptions end safely: Ctrl-C in ``run.wait()``, a notebook's interrupt, and exit.

Each test runs a real script (or a real kernel) on the simulated lab of ``tests/simdevices``:
the SMU's output is on and a long sweep is going when the interruption comes. Afterwards the
simulator must show the output off and the voltage at its safe value, and the run's store must
say ``aborted`` with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import labkit

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import atexit, json, sys
import numpy as np
import labkit
from tests.simdevices import Lab
from tests.runs.waiting import announce_when_waiting

lab = Lab(latency=0.002, prefix=sys.argv[1])


def report():  # registered before labkit's exit sequence ran, so it runs after it
    state = {n: lab.smu_sim.value(n) for n in ("output", "voltage")}
    state["heater"] = lab.stage_sim.value("heater")
    print("sim", json.dumps(state), flush=True)


atexit.register(report)
lab.smu.output = True
lab.stage.heater = 5
"""

SWEEP = """
run = labkit.sweep(
    lab.smu.settings.voltage, np.linspace(0, 1, 100000),
    read=[lab.dmm.readings.current], name="interrupted",
)
print("path", run.path, flush=True)
"""


def _script(tmp_path: Path, body: str, *, env: dict[str, str] | None = None, stop=None):
    """Run PRELUDE + body in a child; ``stop(child)`` is called once it printed 'waiting'."""
    child = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + body, f"p{os.getpid()}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LABKIT_DATA": str(tmp_path / "data"),
            **(env or {}),
        },
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("waiting") and stop is not None:
                stop(child)
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.stderr is not None
    return child.returncode, lines, child.stderr.read()


def _sim(lines: list[str]) -> dict:
    (found,) = [line for line in lines if line.startswith("sim ")]
    return json.loads(found[4:])


def _store(lines: list[str]) -> dict:
    (found,) = [line for line in lines if line.startswith("path ")]
    path = Path(found[5:])
    return labkit.open_run(path).attrs


@pytest.mark.slow
def test_ctrl_c_in_run_wait_aborts_the_run_and_makes_its_outputs_safe(tmp_path):
    code, lines, stderr = _script(
        tmp_path,
        SWEEP + "announce_when_waiting(run)\nrun.wait()\nprint('finished', flush=True)\n",
        stop=lambda child: child.send_signal(signal.SIGINT),
    )
    assert "finished" not in lines
    assert code == -signal.SIGINT, stderr  # the KeyboardInterrupt still ends the script
    assert "KeyboardInterrupt" in stderr
    assert "interrupted: aborting run" in stderr
    attrs = _store(lines)
    assert attrs["status"] == "aborted"
    assert "KeyboardInterrupt" in attrs["abort_reason"]
    assert 10 <= attrs["points_written"] < 100000
    assert attrs["made_safe"]["smu"] == {"voltage": 0.0, "output": False}
    sim = _sim(lines)
    assert sim["output"] is False
    assert sim["voltage"] == 0.0


@pytest.mark.slow
def test_a_run_still_going_when_the_script_ends_is_aborted_and_recorded(tmp_path):
    code, lines, stderr = _script(tmp_path, SWEEP + "import time\ntime.sleep(0.3)\n")
    assert code == 0, stderr
    assert "Python is exiting: aborting run" in stderr
    attrs = _store(lines)
    assert attrs["status"] == "aborted"
    assert attrs["abort_reason"] == "Python exited while the run was going"
    assert attrs["end_time"]
    assert _sim(lines) == {"output": False, "voltage": 0.0, "heater": 0.0}
    assert "stage made safe at exit (heater=0.0)" in stderr


@pytest.mark.slow
def test_an_uncaught_error_still_makes_instruments_safe_at_exit(tmp_path):
    code, lines, stderr = _script(tmp_path, "raise RuntimeError('the analysis crashed')\n")
    assert code == 1
    assert "the analysis crashed" in stderr
    assert _sim(lines) == {"output": False, "voltage": 0.0, "heater": 0.0}


@pytest.mark.slow
def test_opting_out_leaves_instruments_as_they_are_at_exit(tmp_path):
    _, lines, stderr = _script(tmp_path, "labkit.safe_on_exit(False, lab.stage)\n")
    assert _sim(lines) == {"output": False, "voltage": 0.0, "heater": 5.0}
    assert "stage made safe" not in stderr
    _, lines, _ = _script(tmp_path, "", env={"LABKIT_SAFE_ON_EXIT": "0"})
    assert _sim(lines) == {"output": True, "voltage": 0.0, "heater": 5.0}
    _, lines, _ = _script(tmp_path, "labkit.safe_on_exit(False)\n")
    assert _sim(lines)["output"] is True


nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = [
    "import sys\nsys.path.insert(0, ROOT)\n" + PRELUDE.replace("sys.argv[1]", "'nbint'"),
    SWEEP + "announce_when_waiting(run, marker=MARKER)",
    "run.wait()",
    "print(json.dumps({'status': run.status, 'message': run.message,"
    " 'output': lab.smu_sim.value('output'), 'voltage': lab.smu_sim.value('voltage'),"
    " 'stored': labkit.open_run(run.path).attrs['status']}))",
]


@pytest.mark.slow
def test_interrupting_the_kernel_in_run_wait_aborts_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "data"))
    marker = tmp_path / "waiting"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            c.replace("ROOT", repr(str(ROOT))).replace("MARKER", repr(str(marker)))
        )
        for c in NOTEBOOK
    ]
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )

    async def session() -> None:
        async with client.async_setup_kernel():
            for index in (0, 1):
                await client.async_execute_cell(notebook.cells[index], index)
            waiting = asyncio.ensure_future(client.async_execute_cell(notebook.cells[2], 2))
            for _ in range(6000):
                if marker.exists() or waiting.done():
                    break
                await asyncio.sleep(0.01)
            assert marker.exists(), "the kernel never reached run.wait()"
            await client.km.interrupt_kernel()
            await waiting
            await client.async_execute_cell(notebook.cells[3], 3)

    asyncio.run(session())
    (error,) = [o for o in notebook.cells[2].outputs if o["output_type"] == "error"]
    assert error["ename"] == "KeyboardInterrupt"
    printed = "".join(o.get("text", "") for o in notebook.cells[3].outputs)
    state = json.loads(printed)
    assert state["status"] == "aborted"
    assert state["stored"] == "aborted"
    assert "KeyboardInterrupt" in state["message"]
    assert state["output"] is False
    assert state["voltage"] == 0.0
