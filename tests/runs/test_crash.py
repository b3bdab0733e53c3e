"""A process killed with SIGKILL mid-run leaves a store that opens and shows how far it got.

A child process runs a long sweep; the test kills it at random moments (some while the store
is being created), then reopens what is on disk: the store opens, ``labkit.find_runs()`` says the
run was interrupted, and every point the store says was flushed is there and correct.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import labkit
from labkit.store import RunNotFound
from tests.simdevices import RESISTANCE

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, numpy as np, labkit
from tests.simdevices import Lab
lab = Lab(latency=0.001, prefix="crash")
print("ready", flush=True)
run = labkit.sweep(
    lab.smu.settings.voltage, np.linspace(0, 5, 5000),
    read=[lab.dmm.readings.current], name="crash", flush_interval=0.05,
)
print("path", run.path, flush=True)
run.wait()
print("finished", flush=True)
"""


def _points_written(store: Path) -> int:
    try:
        attrs = json.loads((store / "zarr.json").read_text())["attributes"]
    except (OSError, ValueError, KeyError):
        return 0
    return int(attrs.get("points_written", 0))


def _kill_at(root: Path, moment: str, delay: float) -> tuple[Path | None, int]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LABKIT_DATA": str(root)},
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("ready"), line
        store = None
        if moment == "running":
            line = child.stdout.readline()
            assert line.startswith("path"), line
            store = Path(line.split(" ", 1)[1].strip())
        time.sleep(delay)
        seen = _points_written(store) if store is not None else 0
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    if store is None:
        found = sorted(root.glob("*/*.zarr"))
        store = found[0] if found else None
    return store, seen


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_sigkill_at_a_random_moment_loses_nothing_flushed(tmp_path, seed):
    chance = random.Random(seed)
    # Two of the kills land while the run's store is being created, the rest mid-sweep.
    moment = "starting" if seed < 2 else "running"
    delay = chance.uniform(0.0, 0.05) if moment == "starting" else chance.uniform(0.0, 1.5)
    root = tmp_path / "data"
    store, seen = _kill_at(root, moment, delay)
    listed = labkit.find_runs(root=root)
    if store is None or not (store / "zarr.json").exists():
        # Killed before the store's metadata was written: nothing to open, nothing listed.
        assert moment == "starting"
        assert list(listed) == []
        if store is not None:
            with pytest.raises(RunNotFound):
                labkit.open_run(store)
        return
    assert [r.status for r in listed] == ["interrupted"]
    assert listed[0].stored_status == "running"
    ds = labkit.open_run(store)
    assert ds.attrs["status"] == "interrupted"
    written = int(ds.attrs["points_written"])
    assert written >= seen, "a point the store reported flushed was lost"
    assert written == listed[0].points
    voltages = ds.smu_voltage.values
    currents = ds.dmm_current.values
    times = ds.time.values
    assert np.isfinite(currents[:written]).all()
    np.testing.assert_allclose(currents[:written], voltages[:written] / RESISTANCE)
    assert not np.isnat(times[:written]).any()
    # Beyond the counter, values from a flush cut short may be there; any that are, are right
    # (each chunk file is replaced atomically: no torn or garbage values).
    later = np.isfinite(currents[written:])
    np.testing.assert_allclose(currents[written:][later], voltages[written:][later] / RESISTANCE)
