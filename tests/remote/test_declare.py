"""The declarations a remote instrument is made of: the server's, with I/O over pvAccess.

The instrument class here is made by hand from them; the instrument model's
declarations-at-connect will make it for ``labkit.connect`` the same way.
"""

from __future__ import annotations

import pytest

from labkit import Instrument, LimitError
from labkit.remote._declare import remote_declarations
from labkit.remote._describe import fetch
from labkit.remote._link import PvaLink, RemoteRefused


def remote(server, name: str, prefix: str = "T:") -> Instrument:
    link = PvaLink(server.address(name))
    description = fetch(link, f"{prefix}{name}")
    traits = dict(remote_declarations(description, lambda inst: inst.transport))
    cls = type(Instrument)(f"Remote_{name}", (Instrument,), traits)
    return cls(server.address(name), name=f"remote_{name}", transport=link)


def test_a_remote_instrument_validates_locally_and_sets_through_the_server(bench_server):
    station, server = bench_server
    smu = remote(server, "smu")
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
    smu = remote(server, "smu")
    station.smu.settings.source_voltage.lock(value=0.2, reason="calibrating", key="k")
    with pytest.raises(RemoteRefused, match=r"locked at 0\.2"):
        smu.source_voltage = 0.7  # the lock came after this client connected
    assert station.smu.source_voltage == 0.2


def test_readings_not_polled_are_read_on_demand(bench_server):
    station, server = bench_server
    station.smu.output = True
    station.smu.source_voltage = 0.6
    dmm = remote(server, "dmm")
    assert dmm.read("voltage") == pytest.approx(station.dmm.voltage)
    dmm.trigger_count = 3
    assert station.dmm.trigger_count == 3
