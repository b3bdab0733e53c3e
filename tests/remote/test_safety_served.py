"""Safety lives in the serving process, so no client can get around it.

The client here is p4p's own (no labkit code on its side): whatever it puts meets the
instrument's guards (limits, locks, interlocks, ramps) and one run per setting, whoever runs
that run — a notebook in the serving process or a labkit client of the server.
"""

from __future__ import annotations

import threading

import pytest
from p4p.client.thread import RemoteError

import labkit
from labkit.core import InterlockError, SettingInUse
from labkit.remote._link import PvaLink, RemoteRefused
from labkit.runs import Set, Sweep, Wait


def _runs_in(root) -> list:
    return list(root.rglob("zarr.json")) if root.exists() else []


def test_a_run_in_the_serving_process_keeps_every_client_off_its_settings(
    bench_server, client, monitor, data_root
):
    station, server = bench_server
    smu = station.smu
    voltage = monitor("T:smu:source_voltage")
    run = labkit.run(Sweep(smu.settings.source_voltage, [0.1, 0.2], Wait(600)), name="local-iv")
    try:
        held = voltage.wait_for(lambda v: run.id in v["labkit.claim"])
        assert held["labkit.claim"] == f"run {run.id!r} in the serving process"
        with pytest.raises(RemoteError) as refused:
            client.put("T:smu:source_voltage", 0.7, wait=True)
        assert f"run {run.id!r} in the serving process is using it" in str(refused.value)
        with pytest.raises(RemoteError, match="cannot command smu until that run has ended"):
            client.put("T:smu:reset", 1, wait=True)  # an action would disturb the sweep
        client.put("T:smu:nplc", 2, wait=True)  # what the run does not move stays free
        assert smu.nplc == 2

        with (  # nor may a client's run claim it
            PvaLink(server.address("smu")) as link,
            pytest.raises(RemoteRefused, match="in the serving process is using it"),
        ):
            link.call(
                "T:smu:_claim", {"action": "claim", "settings": "source_voltage", "run": "theirs"}
            )
        remote = labkit.connect(server.address("smu"), name="rsmu_held")
        stores = _runs_in(data_root)
        with pytest.raises(SettingInUse, match="in the serving process is using it") as refused:
            labkit.run(Sweep(remote.settings.source_voltage, [0.5, 0.6]), name="theirs")
        assert refused.value.run_id == run.id
        assert refused.value.setting == "source_voltage"
        assert _runs_in(data_root) == stores  # refused before anything was written
        assert smu.source_voltage == pytest.approx(0.1)
    finally:
        run.abort(timeout=60)
    voltage.wait_for(lambda v: v["labkit.claim"] == "")
    client.put("T:smu:source_voltage", 0.7, wait=True)  # free once the run has ended
    assert smu.source_voltage == 0.7


def test_a_clients_run_keeps_runs_in_the_serving_process_off_its_settings(bench_server, data_root):
    station, server = bench_server
    remote = labkit.connect(server.address("smu"), name="rsmu_claims")
    theirs = labkit.run(Sweep(remote.settings.source_voltage, [0.1, 0.2], Wait(600)), name="iv")
    try:
        stores = _runs_in(data_root)
        with pytest.raises(SettingInUse) as refused:
            labkit.run(Sweep(station.smu.settings.source_voltage, [0.3]), name="mine")
        assert (refused.value.run_id, refused.value.setting) == (theirs.id, "source_voltage")
        message = str(refused.value)
        assert f"smu.source_voltage is held by run {theirs.id!r} of account" in message
        assert "a pvAccess client of this server" in message
        assert _runs_in(data_root) == stores
        # a second run of the same client process is refused by its own instrument first
        with pytest.raises(SettingInUse, match=f"being set by run {theirs.id} \\('iv'"):
            labkit.run(Sweep(remote.settings.source_voltage, [0.3]), name="again")
    finally:
        theirs.abort(timeout=60)
    mine = labkit.run(Sweep(station.smu.settings.source_voltage, [0.3]), name="mine")
    assert mine.wait().attrs["status"] == "completed"
    assert station.smu.source_voltage == pytest.approx(0.3)


def test_a_foreign_client_meets_the_interlocks_of_the_serving_process(bench_server, client):
    station, _ = bench_server
    smu, dmm = station.smu, station.dmm
    interlock = smu.settings.output.interlock(
        dmm.readings.voltage < -1, when=True, reason="the DUT's supply must be off"
    )
    with pytest.raises(RemoteError, match="refused by an interlock"):
        client.put("T:smu:output", True, wait=True)
    assert smu.output is False
    pv = client.get("T:smu:output")
    assert pv["alarm.severity"] == 1
    assert "interlock" in pv["alarm.message"]
    client.put("T:smu:output", False, wait=True)  # what the interlock allows still goes
    interlock.remove()
    client.put("T:smu:output", True, wait=True)
    assert smu.output is True


def test_an_interlock_tripping_under_a_clients_run_makes_it_safe_shows_the_fault_and_fails_the_run(
    bench_server, monitor
):
    station, server = bench_server
    smu = station.smu
    cooling = threading.Event()
    cooling.set()
    interlock = smu.settings.output.interlock(
        cooling.is_set, when=True, reason="the DUT needs its cooling", check_every=0.05
    )
    output = monitor("T:smu:output")  # p4p's own client: no labkit code on its side
    remote = labkit.connect(server.address("smu"), name="rsmu_trip")
    run = labkit.run(
        Set(remote.settings.output, True),
        Sweep(remote.settings.source_voltage, [0.1, 0.2], Wait(600)),
        name="remote-iv",
    )
    try:
        output.wait_for(lambda v: bool(v["value"]))
        cooling.clear()  # the cooling stops while the client's run goes
        tripped = output.wait_for(lambda v: v["alarm.severity"] == 2)
        assert "interlock tripped" in tripped["alarm.message"]
        with pytest.raises(InterlockError, match=r"on the server: .*interlock tripped") as failed:
            run.wait(60)
        assert failed.value.instrument == "rsmu_trip"
        assert run.status == "failed"
        events = [e["event"] for e in run.attrs["events"]]
        assert "interlock tripped" in events
        assert smu.output is False  # made safe in the serving process, whoever ran the run
        assert remote.output is False  # and the client follows it
        assert server.claims.targets() == []  # the failed run gave its claim back
    finally:
        interlock.remove()
        if not run.done:
            run.abort(timeout=60)


def test_a_station_files_interlocks_hold_for_every_client_of_the_served_station(
    serve_station, data_root
):
    from p4p.client.thread import Context

    from tests.remote.conftest import BENCH_STATION

    text = BENCH_STATION + (
        "interlocks:\n"
        "  - setting: smu.output\n"
        "    when: true\n"
        "    requires: dmm.voltage < -1 V\n"
        "    reason: the DUT's supply must be off\n"
    )
    station, server = serve_station(text=text)
    (interlock,) = station.interlocks
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
        with pytest.raises(RemoteError, match="refused by an interlock"):
            client.put("T:smu:output", True, wait=True)
        assert station.smu.output is False
        interlock.remove()
        client.put("T:smu:output", True, wait=True)
    assert station.smu.output is True
