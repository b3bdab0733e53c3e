"""A station served on loopback: the PVs say what the instruments say, and only the
instruments' own guards (and the station's grants) decide what a client may change."""

from __future__ import annotations

import json
import math

import pytest
from p4p.client.thread import RemoteError

from tests.remote.conftest import ACCOUNT


def fields(value) -> dict:
    return value.todict()


def test_settings_carry_value_units_limits_description_alarm_and_time(bench_server, client):
    station, _ = bench_server
    smu = station.smu
    pv = fields(client.get("T:smu:source_voltage"))
    assert pv["value"] == smu.source_voltage
    assert pv["display"]["units"] == "V"
    assert pv["display"]["description"] == smu.settings.source_voltage.spec.doc
    assert (pv["display"]["limitLow"], pv["display"]["limitHigh"]) == (-210, 210)  # hard
    assert (pv["control"]["limitLow"], pv["control"]["limitHigh"]) == (-1, 2)  # in force
    assert pv["alarm"]["severity"] == 0
    assert pv["timeStamp"]["secondsPastEpoch"] > 1_600_000_000
    assert pv["labkit"]["role"] == "setting"
    assert pv["labkit"]["access"] == "rw"
    locked = fields(client.get("T:smu:current_limit"))
    assert locked["control"]["limitHigh"] == pytest.approx(0.02)
    assert json.loads(locked["labkit"]["lock"])["reason"] == "the diode is rated 20 mA"


def test_enumerations_are_ntenum_and_switches_booleans(bench_server, client):
    station, _ = bench_server
    function = client.get("T:smu:source_function")
    assert function.getID() == "epics:nt/NTEnum:1.0"
    choices = list(function["value.choices"])
    assert choices == list(station.smu.settings.source_function.spec.choices)
    assert choices[function["value.index"]] == station.smu.source_function
    output = client.get("T:smu:output")
    assert output.type()["value"] == "?"
    assert output["value"] is False


def test_a_put_is_set_through_the_instrument_and_completes_when_acknowledged(bench_server, client):
    station, _ = bench_server
    client.put("T:smu:source_voltage", 0.6, wait=True)
    assert station.smu.source_voltage == 0.6  # acknowledged before the put returned
    assert client.get("T:smu:source_voltage")["value"] == 0.6
    client.put("T:smu:source_function", {"value.index": 1}, wait=True)
    assert station.smu.source_function == "current"
    client.put("T:smu:output", True, wait=True)
    assert station.smu.output is True


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (2.5, ["2.5 V is above the upper soft limit 2 V"]),
        (-300, ["below the lower", "-1 V"]),
        (float("nan"), ["not a number"]),
    ],
)
def test_a_value_the_instrument_refuses_is_refused_with_its_reason(
    bench_server, client, value, words
):
    station, _ = bench_server
    before = station.smu.source_voltage
    with pytest.raises(RemoteError) as refused:
        client.put("T:smu:source_voltage", value, wait=True)
    for word in words:
        assert word in str(refused.value)
    assert station.smu.source_voltage == before
    pv = client.get("T:smu:source_voltage")
    assert pv["value"] == before
    assert pv["alarm.severity"] == 1  # MINOR: the value was refused, the PV keeps its value
    assert words[0] in pv["alarm.message"]
    client.put("T:smu:source_voltage", 0.1, wait=True)
    assert client.get("T:smu:source_voltage")["alarm.severity"] == 0


def test_an_instructors_lock_holds_against_remote_clients(bench_server, client):
    station, _ = bench_server
    with pytest.raises(RemoteError, match="locked limit"):
        client.put("T:smu:current_limit", 0.05, wait=True)
    assert station.smu.current_limit == pytest.approx(0.01)


def test_readings_cannot_be_written_and_unknown_choices_are_refused(bench_server, client):
    with pytest.raises(RemoteError, match="is a reading and cannot be written"):
        client.put("T:smu:current", 1.0, wait=True)
    with pytest.raises(RemoteError, match="choice number 7"):
        client.put("T:smu:source_function", {"value.index": 7}, wait=True)


def test_polled_readings_update_by_monitor_at_the_declared_rate(bench_server, monitor):
    station, _ = bench_server
    station.smu.output = True
    station.smu.source_voltage = 0.7
    current = monitor("T:smu:current")
    update = current.wait_for(lambda v: v["value"] > 1e-4)
    assert update["display.units"] == "A"
    # each read is a new update, with its own time stamp, even when the value repeats
    current.wait_for(lambda v: len({u["timeStamp.nanoseconds"] for u in current.seen}) > 3)


def test_a_reading_not_polled_changes_only_when_read(bench_server, client, monitor):
    station, _ = bench_server
    voltage = monitor("T:dmm:voltage")
    first = voltage.wait_for(lambda v: True)
    assert first["alarm.severity"] == 3  # INVALID: nobody read it yet
    assert "not read yet" in first["alarm.message"]
    measured = station.dmm.read("voltage")  # a read in the serving process is published
    update = voltage.wait_for(lambda v: v["alarm.severity"] == 0)
    assert update["value"] == measured


def test_read_now_is_an_rpc_for_clients_allowed_to_command(bench_server, client):
    station, _ = bench_server
    station.smu.output = True
    station.smu.source_voltage = 0.65
    fresh = client.rpc("T:dmm:voltage", client.get("T:dmm:voltage"))
    assert fresh["value"] == pytest.approx(station.dmm.voltage)
    assert fresh["value"] > 0.5


def test_a_ramp_is_seen_step_by_step_and_the_put_waits_for_its_end(bench_server, client, monitor):
    station, _ = bench_server
    station.smu.settings.source_voltage.ramp_rate = 2  # V/s, in steps of 0.2 V: 0 → 1 V in 0.5 s
    values = monitor("T:smu:source_voltage")
    values.wait_for(lambda v: v["value"] == 0)  # subscribed
    client.put("T:smu:source_voltage", 1.0, wait=True, timeout=10)
    assert station.smu.source_voltage == 1.0
    values.wait_for(lambda v: v["value"] == 1.0)
    steps = [v["value"] for v in values.seen]
    assert any(0 < s < 1 for s in steps), steps  # the steps on the way, as they happened
    assert steps == sorted(steps)


def test_a_change_made_in_the_serving_process_reaches_monitors(bench_server, monitor):
    station, _ = bench_server
    limits = monitor("T:smu:source_voltage")
    station.smu.settings.source_voltage.limit(-0.5, 0.5)
    update = limits.wait_for(lambda v: v["control.limitHigh"] == 0.5)
    assert update["labkit.soft_max"] == 0.5
    station.smu.nplc = 2
    monitor("T:smu:nplc").wait_for(lambda v: v["value"] == 2)


def test_actions_run_on_put_and_count_their_runs(bench_server, client):
    _station, _ = bench_server
    assert client.get("T:dmm:trigger")["labkit.role"] == "action"
    client.put("T:dmm:initiate", 1, wait=True)
    assert client.get("T:dmm:initiate")["value"] == 1


def test_status_and_identity(bench_server, client, monitor):
    station, _ = bench_server
    status = client.get("T:smu:_status")
    assert status["value.choices"][status["value.index"]] == "idle"
    identity = json.loads(client.get("T:smu:_identity")["value"])
    assert identity["identity"]["model"] == station.smu.identity["model"]
    assert identity["driver"].endswith("Keithley2450")
    info = json.loads(client.get("T:smu:_info")["value"])
    assert {m["name"]: m["role"] for m in info["members"]}["current"] == "reading"
    assert info["poll"] == {"current": 20.0}
    watch = monitor("T:smu:_status")
    station.smu.close()
    update = watch.wait_for(lambda v: v["value.index"] == 0)
    assert update["alarm.severity"] == 3


def test_writes_are_refused_unless_granted_naming_account_and_host(serve_station):
    from p4p.client.thread import Context

    text = (
        __import__("tests.remote.conftest", fromlist=["BENCH_STATION"])
        .BENCH_STATION.replace("      - {account: %(account)s, host: 127.0.0.1}\n", "")
        .replace("    write:\n", "    write: []\n")
    )
    station, server = serve_station(text)
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
        assert client.get("T:smu:source_voltage")["value"] == station.smu.source_voltage
        with pytest.raises(RemoteError) as refused:
            client.put("T:smu:source_voltage", 0.5, wait=True)
    message = str(refused.value)
    assert f"account '{ACCOUNT}' at 127.0.0.1" in message
    assert "read-only" in message
    assert station.smu.source_voltage == 0
    with (
        Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client,
        pytest.raises(RemoteError, match="Reading on demand sends a command"),
    ):
        client.rpc("T:smu:current", client.get("T:smu:current"))


def test_reads_can_be_restricted_by_host_and_the_refusal_is_named(serve_station):
    from p4p.client.thread import Context

    text = __import__("tests.remote.conftest", fromlist=["BENCH_STATION"]).BENCH_STATION.replace(
        "    write:\n", "    read:\n      - {host: 10.9.8.7}\n    write:\n"
    )
    station, server = serve_station(text)
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
        refused = client.get("T:smu:source_voltage")
        with pytest.raises(RemoteError, match=r"read of smu\.source_voltage refused"):
            client.put("T:smu:source_voltage", 0.5, wait=True)
    assert refused["alarm.severity"] == 3
    assert "refused for a client at 127.0.0.1" in refused["alarm.message"]
    assert station.smu.source_voltage == 0


def test_unbounded_sides_are_nan(bench_server, client):
    pv = fields(client.get("T:dmm:trigger_delay"))
    station, _ = bench_server
    spec = station.dmm.settings.trigger_delay.spec
    for side, bound in (("limitLow", spec.min), ("limitHigh", spec.max)):
        if bound is None:
            assert math.isnan(pv["display"][side])
