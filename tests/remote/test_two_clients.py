"""Two client processes share one served bench: one runs a sweep, the other watches a reading
and is refused a write to the swept setting; both see the local instrument's values, units
and limits. Then the server goes away in the middle of a run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import labkit
from labkit.drivers.keithley import Keithley2450
from labkit.remote import ServerProcess
from labkit.runs import Read, Sweep, Wait
from tests.remote.conftest import ACCOUNT, python_env

STATION = f"""\
simulated: true
bench: {{seed: 5, dut: diode, time_scale: 0}}
serve:
  prefix: "S:"
  access:
    write:
      - {{account: {ACCOUNT}, host: 127.0.0.1}}
instruments:
  smu:
    driver: keithley2450
    limits: {{source_voltage: {{min: 0, max: 1 V}}}}
    serve:
      poll: {{current: 20}}
"""

SWEEPER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import labkit
    from labkit.runs import Read, Sweep, Wait

    smu = labkit.connect(sys.argv[1])
    smu.output = True
    run = labkit.run(
        Sweep(smu.settings.source_voltage, np.linspace(0, 0.8, 9), Wait(float(sys.argv[2])),
              Read(smu.readings.current)),
        name="shared-iv",
    )
    while run.points < 1 and not run.done:
        time.sleep(0.01)
    print("running", run.id, flush=True)
    try:
        data = run.wait()
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "status": run.status,
                          "points": run.points, "path": str(run.path)}), flush=True)
    else:
        print(json.dumps({"status": data.attrs["status"], "points": int(data.sizes["smu_source_voltage"]),
                          "remote": data.attrs["snapshot"]["smu"]["remote"],
                          "current": data.smu_current.values.tolist()}), flush=True)
    """
)

WATCHER = textwrap.dedent(
    """
    import json, sys, threading
    import labkit

    smu = labkit.connect(sys.argv[1])
    updates = threading.Event()
    seen = []
    smu.observe(lambda change: (seen.append(change["new"]), len(seen) > 3 and updates.set()),
                names=["current"])
    watched = updates.wait(30)
    try:
        smu.source_voltage = 0.3
        refused = None
    except labkit.LabkitError as error:
        refused = f"{type(error).__name__}: {error}"
    spec = smu.settings.source_voltage.spec
    print(json.dumps({
        "watched": watched, "updates": len(seen), "refused": refused,
        "unit": spec.unit, "hard": [spec.min, spec.max],
        "limits": list(smu.settings.source_voltage.limits),
        "current_unit": smu.readings.current.spec.unit,
        "doc": spec.doc,
    }), flush=True)
    """
)


@pytest.fixture
def server(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(STATION)
    process = ServerProcess(path).start()
    yield process
    if process.running:
        process.stop()


@pytest.mark.slow
def test_one_sweeps_the_other_watches_and_is_refused_the_swept_setting(server, data_root):
    env = python_env(server)
    env["LABKIT_DATA"] = str(data_root)
    sweeper = subprocess.Popen(
        [sys.executable, "-c", SWEEPER, server.address("smu"), "1.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert sweeper.stdout is not None
        started = sweeper.stdout.readline()
        assert started.startswith("running"), sweeper.stderr.read() if sweeper.stderr else ""
        run_id = started.split()[1]
        watcher = subprocess.run(
            [sys.executable, "-c", WATCHER, server.address("smu")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert watcher.returncode == 0, watcher.stderr[-3000:]
        seen = json.loads(watcher.stdout.strip().splitlines()[-1])
        result = json.loads(sweeper.stdout.readline())
    finally:
        sweeper.wait(timeout=120)
        sweeper.stdout.close()
        sweeper.stderr.close()
    assert seen["watched"], seen  # the polled reading reached the second client
    assert seen["refused"] is not None
    assert "RemoteRefused" in seen["refused"]
    assert f"run '{run_id}'" in seen["refused"]
    assert "is using it" in seen["refused"]
    local = Keithley2450.declarations()["source_voltage"]
    assert seen["unit"] == local.unit == "V"
    assert seen["hard"] == [local.min, local.max]
    assert seen["limits"] == [0, 1]  # the station's soft limits, as the serving instrument has them
    assert seen["doc"] == local.doc
    assert seen["current_unit"] == Keithley2450.declarations()["current"].unit
    assert result["status"] == "completed"
    assert result["points"] == 9
    assert result["remote"]["server"] == f"127.0.0.1:{server.port}"
    assert result["current"][-1] > result["current"][0]


@pytest.mark.slow
def test_a_run_whose_server_vanishes_fails_cleanly_with_its_data(server, data_root):
    smu = labkit.connect(server.address("smu"), timeout=2)
    smu.output = True
    run = labkit.run(
        Sweep(
            smu.settings.source_voltage,
            np.linspace(0, 0.8, 41),
            Wait(0.1),
            Read(smu.readings.current),
        ),
        name="doomed",
    )
    points = threading.Event()
    run.observe(lambda change: change["new"] >= 3 and points.set(), names=["points"])
    assert points.wait(60)
    server.kill()
    with pytest.raises(labkit.ConnectionLost) as failed:
        run.wait(timeout=120)
    assert f"127.0.0.1:{server.port}" in str(failed.value)
    assert run.status == "failed"
    data = labkit.open_run(run.path)
    assert data.attrs["status"] == "failed"
    assert data.attrs["error"]["message"]
    written = np.isfinite(data.smu_current.values).sum()
    assert written >= 3  # every point acquired before the server went is on disk
    assert not smu.connected
