"""Remote instruments: ``labkit.connect`` gives an instrument whose declarations are the
server's, checked here first and enforced there."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import labkit
from labkit import LimitError, LockedError
from labkit.remote import RemoteInstrument
from labkit.remote._link import RemoteRefused


def test_a_remote_instrument_validates_locally_and_sets_through_the_server(bench_server):
    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")  # "smu" is the served one here
    assert isinstance(smu, RemoteInstrument)
    assert smu.connected
    assert smu.source_voltage == station.smu.source_voltage
    assert smu.settings.source_voltage.limits == (-1, 2)  # the soft limits in force there
    assert smu.settings.source_voltage.unit == "V"
    with pytest.raises(LimitError, match=r"2\.5 V is above the upper soft limit 2 V"):
        smu.source_voltage = 2.5  # refused here, before anything is sent
    smu.source_voltage = "500 mV"  # units convert here; the server gets volts
    assert station.smu.source_voltage == 0.5
    smu.source_function = "current"
    assert station.smu.source_function == "current"
    with pytest.raises(LimitError):
        smu.current_limit = "30 mA"  # the instructor's locked limit, 20 mA, in force here too
    smu.output = True
    station.smu.source_function = "voltage"
    assert smu.read("current") > 0  # polled by the server: its next value


def test_an_instructors_lock_on_the_server_is_a_lock_here(bench_server):
    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")
    state = smu.settings.source_voltage.state
    locked = threading.Event()
    state.observe(lambda change: change["new"] is not None and locked.set(), names=["lock"])
    station.smu.settings.source_voltage.lock(value=0.2, reason="calibrating", key="k")
    assert locked.wait(20)
    with pytest.raises(LockedError, match=r"locked at 0\.2 \(calibrating, on the server\)"):
        smu.source_voltage = 0.7  # refused here, before anything is sent
    unlocked = threading.Event()
    state.observe(lambda change: change["new"] is None and unlocked.set(), names=["lock"])
    station.smu.settings.source_voltage.unlock("k")
    assert unlocked.wait(20)
    smu.source_voltage = 0.7
    assert station.smu.source_voltage == 0.7


def test_what_only_the_server_knows_is_enforced_there(bench_server):
    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")
    dmm = station.dmm
    # an interlock in the serving process: the output may come on only below 0.1 V on the DMM
    station.smu.settings.output.interlock(dmm.readings.voltage < -1, when=True, reason="test")
    with pytest.raises(RemoteRefused, match="refused by an interlock"):
        smu.output = True
    assert station.smu.output is False


def test_readings_not_polled_are_read_on_demand(bench_server):
    station, server = bench_server
    station.smu.output = True
    station.smu.source_voltage = 0.6
    dmm = labkit.connect(server.address("dmm"), name="rdmm")
    assert dmm.read("voltage") == pytest.approx(station.dmm.voltage)
    dmm.trigger_count = 3
    assert station.dmm.trigger_count == 3


def test_changes_made_anywhere_reach_the_remote_instrument(bench_server):
    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")
    nplc = threading.Event()
    smu.observe(lambda change: change["new"] == 4 and nplc.set(), names=["nplc"])
    station.smu.nplc = 4  # the instructor, in the serving process
    assert nplc.wait(20)
    limited = threading.Event()
    state = smu.settings.source_voltage.state
    state.observe(lambda change: change["new"] == 0.5 and limited.set(), names=["soft_max"])
    station.smu.settings.source_voltage.limit(-0.5, 0.5)
    assert limited.wait(20)
    assert smu.settings.source_voltage.limits == (-0.5, 0.5)
    with pytest.raises(LimitError, match="upper soft limit"):
        smu.source_voltage = 0.7


def test_a_run_on_a_remote_instrument_records_where_it_was(bench_server, data_root):
    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")
    dmm = labkit.connect(server.address("dmm"), name="rdmm")
    smu.output = True
    run = labkit.sweep(
        smu.settings.source_voltage,
        np.linspace(0, 0.7, 8),
        read=[smu.readings.current, dmm.readings.voltage],
    )
    data = run.wait()
    assert data.attrs["status"] == "completed"
    assert data.rsmu_current.attrs["units"] == "A"
    assert data.rdmm_voltage.values[-1] == pytest.approx(0.7, abs=0.01)
    remote = data.attrs["snapshot"]["rsmu"]["remote"]
    assert remote["url"] == server.address("smu")
    assert remote["served_driver"].endswith("Keithley2450")
    assert station.smu.source_voltage == 0.7


def test_a_station_names_a_remote_instrument(bench_server, tmp_path):
    station, server = bench_server
    path = tmp_path / "client.yaml"
    path.write_text(
        f"""\
instruments:
  bench_smu:
    remote: {server.address("smu")}
    settings: {{nplc: 2}}
    limits: {{source_voltage: {{min: 0, max: 0.5 V}}}}
"""
    )
    with labkit.load_station(path) as client:
        smu = client["bench_smu"]
        assert isinstance(smu, RemoteInstrument)
        assert station.smu.nplc == 2  # set through the server
        assert smu.settings.source_voltage.limits == (0, 0.5)  # narrowed here, for this client
        with pytest.raises(LimitError):
            smu.source_voltage = 0.7
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"instruments:\n  x:\n    remote: {server.address('smu')}\n    driver: keithley2450\n"
    )
    with pytest.raises(labkit.station.StationError, match="'driver' does not go with remote"):
        labkit.load_station(bad)


def test_a_remote_instrument_has_the_panel_a_local_one_has(bench_server):
    pytest.importorskip("ipywidgets")
    from labkit.ui import instrument_panel

    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")
    panel = instrument_panel(smu)
    local = instrument_panel(station.smu)
    assert list(panel.rows) == list(local.rows)  # the buffer, an array reading, too
    assert type(panel.rows["buffer"]) is type(local.rows["buffer"])
    control = panel.rows["source_voltage"].control
    assert type(control.slider) is type(local.rows["source_voltage"].control.slider)
    assert (control.slider.min, control.slider.max) == (-1, 2)  # the limits in force there
    assert control.entry.placeholder == "V"
    choices = panel.rows["source_function"].control.widget.options
    assert choices == local.rows["source_function"].control.widget.options
    changed = threading.Event()
    station.smu.observe(lambda c: c["new"] == 0.4 and changed.set(), names=["source_voltage"])
    control.entry.value = "0.4"  # what a person types, then Enter
    assert changed.wait(20)
    panel.close()
    local.close()


def test_a_remote_instrument_comes_back_with_its_server(tmp_path):
    from labkit.remote import ServerProcess
    from tests.remote.serving import STATION

    path = tmp_path / "station.yaml"
    path.write_text(STATION)
    server = ServerProcess(path, prefix="T:").start()
    try:
        smu = labkit.connect(server.address("smu"), timeout=2)
        lost, back = threading.Event(), threading.Event()
        smu.observe(lambda c: (back if c["new"] else lost).set(), names=["connected"])
        server.kill()
        assert lost.wait(30)
        with pytest.raises(labkit.ConnectionLost, match=f"127.0.0.1:{server.port}"):
            smu.nplc = 3
        server.start()  # on the same ports
        assert back.wait(60)
        smu.nplc = 3
        assert smu.read("nplc") == 3
    finally:
        server.stop()


def test_a_read_only_client_reads_the_servers_next_polled_value(serve_station):
    from tests.remote.conftest import BENCH_STATION

    text = BENCH_STATION.replace("      - {account: %(account)s, host: 127.0.0.1}\n", "").replace(
        "    write:\n", "    write: []\n"
    )
    station, server = serve_station(text)
    station.smu.output = True
    station.smu.source_voltage = 0.65
    smu = labkit.connect(server.address("smu"), name="rsmu")
    assert smu.read("current") == pytest.approx(station.smu.read("current"), rel=0.05)
    with pytest.raises(RemoteRefused, match="read-only"):
        smu.nplc = 2
    assert station.smu.nplc == 1
