"""Looking at a remote instrument never changes the served one: connecting, its panel (opened
and refreshed), its snapshot and refresh, and monitors send the serving instrument queries
only, and leave its configuration as it was. Readings whose measurement would change the
instrument (``side_effect``) are left unread here as they are locally, for the same reason."""

from __future__ import annotations

import time

import pytest

import labkit

pytest.importorskip("ipywidgets")

from tests.ui.test_panels_only_look import configuration, is_query


@pytest.mark.parametrize("name", ["smu", "dmm"])
def test_looking_at_a_remote_instrument_sends_the_served_one_only_queries(bench_server, name):
    station, server = bench_server
    twin = station.bench.instrument(name)
    local = station[name]
    before = configuration(twin)
    since = len(twin.received)
    remote = labkit.connect(server.address(name), name=f"look_remote_{name}")
    panel = remote.panel()
    panel.wait_idle(30)
    panel.refresh()
    panel.wait_idle(30)
    remote.snapshot(refresh=True)
    remote.refresh()
    for row in panel.rows.values():  # nothing failed on the way
        assert row.error.text == "", (name, row.spec.name, row.error.text)
    panel.close()
    sent = list(twin.received)[since:]
    assert sent, "the panel read the readings (through the server)"
    changing = [message for message in sent if not is_query(message)]
    assert not changing, f"{name}: looking sent commands that change things: {changing}"
    assert configuration(twin) == before
    # what the serving instrument would say of its side-effect readings, the remote one says
    effects = {
        handle.name: handle.spec.side_effect_of(local)
        for handle in local.readings
        if handle.spec.side_effect_of(local)
    }
    assert effects, "the served driver declares readings that change it"
    for reading, effect in effects.items():
        assert remote.readings[reading].spec.side_effect_of(remote) == effect


def test_a_side_effect_asked_for_by_name_is_read_and_the_remote_side_follows(bench_server):
    station, server = bench_server
    dmm = station.dmm
    remote = labkit.connect(server.address("dmm"), name="look_remote_dmm_named")
    function = dmm.function
    assert remote.readings.resistance.spec.side_effect_of(remote) is not None
    remote.read("resistance")  # a person asked for it by name: read, and it switches
    assert dmm.function == "resistance"
    assert dmm.function != function
    # the served one's side effects changed with its function; the remote one follows
    assert dmm.readings.resistance.spec.side_effect_of(dmm) is None
    voltage = dmm.readings.voltage.spec.side_effect_of(dmm)
    assert "now resistance" in voltage
    deadline = time.monotonic() + 20  # the server's update is on its way: a test's patience
    while remote.readings.voltage.spec.side_effect_of(remote) != voltage:
        assert time.monotonic() < deadline, remote.readings.voltage.spec.side_effect_of(remote)
        time.sleep(0.02)
    assert remote.readings.resistance.spec.side_effect_of(remote) is None
