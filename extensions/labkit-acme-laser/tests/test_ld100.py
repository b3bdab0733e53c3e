"""The LD-100 driver: labkit's conformance suite, then the protocol itself."""

from __future__ import annotations

import pytest
from labkit_acme_laser import AcmeLD100, LD100Simulator, serve_simulator

import labkit
import labkit.sim
from labkit.testing import DriverConformance, record


class TestConformance(DriverConformance):
    driver = AcmeLD100

    def open_instrument(self) -> AcmeLD100:
        return AcmeLD100(serve_simulator("conformance"), name="laser")


@pytest.fixture
def laser():
    simulator = LD100Simulator("proto")
    labkit.sim.serve("proto", simulator)
    instrument = AcmeLD100("labsim://proto", name="laser_proto", timeout=0.5)
    instrument.settings.current.ramp_rate = None
    yield instrument, simulator
    instrument.close()
    labkit.sim.unserve("proto")


def test_commands_on_the_wire(laser) -> None:
    instrument, simulator = laser
    with record(instrument) as log:
        instrument.current = "120 mA"
        instrument.emission = True
        instrument.modulation = "ttl"
    assert log.sent == ["I=120.0", "EN=1", "MOD=TTL"]
    assert simulator.values == {"I": 120.0, "T": 25.0, "EN": 1, "MOD": "TTL"}


def test_light_above_threshold(laser) -> None:
    instrument, _ = laser
    instrument.current = 130
    instrument.emission = True
    assert instrument.read("optical_power") == pytest.approx(80.0)


def test_the_key_switch_error_comes_back_as_an_instrument_error(laser) -> None:
    instrument, simulator = laser
    simulator.key_switch = False
    with pytest.raises(labkit.InstrumentError, match="key switch off"):
        instrument.emission = True
    assert instrument.emission is False


def test_too_much_current_is_refused_before_the_laser_hears_of_it(laser) -> None:
    instrument, simulator = laser
    with record(instrument) as log, pytest.raises(labkit.LimitError, match="250 mA"):
        instrument.current = "0.3 A"
    assert log.sent == []
    assert simulator.values["I"] == 0.0


def test_the_wrong_baud_rate_is_noticed(laser) -> None:
    with pytest.raises(labkit.LabkitError):
        AcmeLD100("labsim://proto", name="slow_laser", baud_rate=9600, timeout=0.3)
