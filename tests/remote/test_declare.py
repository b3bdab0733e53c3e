"""Remote instruments: ``labkit.connect`` gives an instrument whose declarations are the
server's, checked here first and enforced there."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import labkit
from labkit import LimitError
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


def test_what_only_the_server_knows_is_still_enforced_there(bench_server):
    station, server = bench_server
    smu = labkit.connect(server.address("smu"), name="rsmu")
    station.smu.settings.source_voltage.lock(value=0.2, reason="calibrating", key="k")
    with pytest.raises(RemoteRefused, match=r"locked at 0\.2"):
        smu.source_voltage = 0.7  # a value lock: only the server holds it
    assert station.smu.source_voltage == 0.2


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
