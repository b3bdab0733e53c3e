"""Clients labkit did not write: p4p's command-line client and a Bluesky RunEngine driving
ophyd-async's pvAccess signals get, put and monitor labkit's PVs, and are refused as anyone is."""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import threading

import pytest

from tests.remote.conftest import python_env, run_client_script

CLI = [sys.executable, "-m", "p4p.client.cli"]


def cli(server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=python_env(server), timeout=timeout
    )


def put_result(result: subprocess.CompletedProcess[str]) -> str:
    """What p4p's CLI said about a put. p4p 4.3.0's ``put`` sends the put, then fails printing
    the result on Python 3 (``izip``); the put itself has been done and answered by then."""
    if "NameError" in result.stderr and "izip" in result.stderr:
        return "p4p-cli-cannot-print"
    return result.stdout


def test_p4p_cli_gets_puts_and_is_refused(bench_server):
    station, server = bench_server
    got = cli(server, "get", "T:smu:source_voltage", "T:smu:source_function")
    assert got.returncode == 0, got.stderr
    assert "T:smu:source_voltage" in got.stdout
    assert "0.0" in got.stdout.splitlines()[0]
    assert "voltage" in got.stdout.splitlines()[1]

    done = put_result(cli(server, "put", "T:smu:source_voltage=0.4"))
    assert done == "p4p-cli-cannot-print" or "ok" in done
    assert station.smu.source_voltage == 0.4

    refused = cli(server, "put", "T:smu:source_voltage=5")
    said = put_result(refused)
    assert refused.returncode != 0
    assert said == "p4p-cli-cannot-print" or "above the upper soft limit 2 V" in said
    assert station.smu.source_voltage == 0.4


def test_p4p_cli_monitors_changes_made_anywhere(bench_server):
    station, server = bench_server
    watcher = subprocess.Popen(
        [*CLI, "monitor", "T:smu:nplc"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env(server),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in watcher.stdout], daemon=True).start()
    try:
        # the client says "disconnected" until it has found the server, then the value
        first = next(
            line for line in iter(lambda: lines.get(timeout=60), None) if "Error" not in line
        )
        assert first.startswith("T:smu:nplc")
        assert first.rstrip().endswith("1.0")
        station.smu.nplc = 5
        # (the busy flag's updates may come first, with the old value)
        update = next(
            line for line in iter(lambda: lines.get(timeout=60), None) if "1.0" not in line
        )
        assert update.startswith("T:smu:nplc")
        assert update.rstrip().endswith("5.0")
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
        watcher.stdout.close()
        watcher.stderr.close()


BLUESKY_PLAN = textwrap.dedent(
    """
    import json, sys
    from bluesky import RunEngine
    import bluesky.plans as bp
    import bluesky.plan_stubs as bps
    from ophyd_async.core import init_devices
    from ophyd_async.epics.core import epics_signal_r, epics_signal_rw

    RE = RunEngine(call_returns_result=True)
    documents = []
    RE.subscribe(lambda name, doc: documents.append((name, doc)))
    with init_devices():
        voltage = epics_signal_rw(float, "pva://T:smu:source_voltage", name="voltage")
        current = epics_signal_r(float, "pva://T:smu:current", name="current")
        output = epics_signal_rw(bool, "pva://T:smu:output", name="output")
    RE(bps.mv(output, True))
    RE(bp.scan([current], voltage, 0.0, 0.7, 8))
    refused = None
    try:
        RE(bps.mv(voltage, 5.0))
    except Exception as error:
        refused = f"{type(error).__name__}: {error}"
    events = [doc["data"] for name, doc in documents if name == "event"]
    keys = [doc["data_keys"] for name, doc in documents if name == "descriptor"][0]
    print(json.dumps({"events": events, "keys": keys, "refused": refused}, default=str))
    """
)


@pytest.mark.slow
def test_a_bluesky_plan_moves_a_setting_and_reads_a_reading_through_ophyd_async(bench_server):
    pytest.importorskip("bluesky")
    pytest.importorskip("ophyd_async")
    station, server = bench_server
    report = run_client_script(BLUESKY_PLAN, server)
    voltages = [event["voltage"] for event in report["events"]]
    assert voltages == pytest.approx([0.1 * i for i in range(8)])
    assert all(isinstance(event["current"], float) for event in report["events"])
    assert station.smu.output is True
    assert station.smu.source_voltage == pytest.approx(0.7)
    keys = report["keys"]
    assert keys["voltage"]["units"] == "V"
    assert keys["current"]["units"] == "A"
    assert keys["voltage"]["limits"]["control"] == {"low": -1.0, "high": 2.0}
    # the refusal came from the serving instrument and reached the plan as an error
    assert report["refused"] is not None
    assert "5 V is above the upper soft limit 2 V" in report["refused"]
    assert station.smu.source_voltage == pytest.approx(0.7)
