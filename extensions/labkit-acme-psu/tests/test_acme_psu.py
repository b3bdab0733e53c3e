"""The ACME PS plugin as its users meet it: found by labkit, checked by labkit's conformance
suite, then the supply's own behaviour through the instrument."""

from __future__ import annotations

import itertools

import pytest

import labkit
from labkit import plugins
from labkit.testing import DriverConformance, record

AcmePsu = plugins.load_driver("acme_psu")
_names = itertools.count()


def fresh(load: str = "10") -> str:
    """A simulated supply no other test has touched."""
    return f"sim://psu{next(_names)}?load={load}"


class TestConformance(DriverConformance):
    driver = AcmePsu

    def open_instrument(self) -> labkit.Instrument:
        return AcmePsu(fresh(), name="psu")


@pytest.fixture
def psu():
    with AcmePsu(fresh(), name="psu") as instrument:
        yield instrument


def test_the_plugin_is_found_through_its_entry_point() -> None:
    found = plugins.find("driver", "acme_psu")
    assert found.origin.startswith("entry point of labkit-acme-psu")
    assert found.status == "loaded"
    assert "ACME PS-3005" in AcmePsu.__doc__


def test_constant_voltage_into_the_load(psu) -> None:
    psu.voltage = "5 V"
    psu.output = True
    assert psu.read("mode") == "CV"
    assert psu.read("current_out") == pytest.approx(5 / 10.04, abs=1e-3)  # 40 mΩ of leads
    assert psu.read("voltage_out") == pytest.approx(5.0, abs=0.01)


def test_remote_sensing_regulates_at_the_load(psu) -> None:
    psu.voltage = 5
    psu.sense = "remote"
    psu.averages = 100
    psu.output = True
    assert psu.read("current_out") == pytest.approx(0.5, abs=2e-4)


def test_the_current_limit_takes_over(psu) -> None:
    psu.voltage = 10
    psu.current_limit = "200 mA"
    psu.output = True
    assert psu.read("mode") == "CC"
    assert psu.read("current_out") == pytest.approx(0.2, abs=1e-3)
    assert psu.read("voltage_out") == pytest.approx(2.0, abs=0.02)


def test_over_voltage_trips_and_the_refusal_names_the_plugin(psu) -> None:
    psu.voltage = 12
    psu.output = True
    psu.ovp_level = 10  # below the output: trips at once
    assert psu.read("tripped") is True
    assert psu.read("mode") == "OFF"
    with pytest.raises(labkit.InstrumentError) as caught:
        psu.output = True
    error = caught.value
    assert error.code == 201
    assert error.instrument == "psu"
    assert "the acme_psu plugin reports: the over-voltage protection tripped" in str(error)
    assert psu.settings.output.read() is False  # the trip turned it off; nothing turned it on
    psu.clear_protection()
    psu.ovp_level = 20
    psu.output = True
    assert psu.read("mode") == "CV"


def test_values_out_of_range_never_reach_the_library(psu) -> None:
    with record(psu) as log, pytest.raises(labkit.LimitError, match="30 V"):
        psu.voltage = "45 V"
    with record(psu) as log2, pytest.raises(labkit.ChoiceError):
        psu.sense = "sideways"
    assert log.sent == log2.sent == []
    with record(psu) as log3:
        psu.voltage = "1500 mV"
    assert log3.sent == [repr(("set", ("voltage", 1.5))).encode()]


def test_a_ps6010_declares_its_own_wider_range() -> None:
    with AcmePsu(f"{fresh()}&model=PS-6010", name="big") as big:
        assert big.identity["model"] == "PS-6010"
        assert big.settings.voltage.limits == (0, 60)  # from the supply's describe()
        big.voltage = "45 V"
        big.output = True
        assert big.read("voltage_out") == pytest.approx(45.0, abs=0.05)
        with record(big) as log, pytest.raises(labkit.LimitError, match="60 V"):
            big.voltage = "65 V"
        assert log.sent == []


def test_the_supply_keeps_its_state_across_a_reconnect() -> None:
    resource = fresh()
    with AcmePsu(resource, name="first") as first:
        first.voltage = 3.3
        first.output = True
    with AcmePsu(resource, name="second") as second:
        assert second.voltage == pytest.approx(3.3)
        assert second.output is True  # a real supply's output stays on when the host leaves


def test_one_host_at_a_time() -> None:
    resource = fresh()
    with AcmePsu(resource, name="first"):
        with pytest.raises(labkit.InstrumentError, match="already open"):
            AcmePsu(resource, name="second")


def test_a_resource_it_cannot_open_says_what_it_can() -> None:
    with pytest.raises(labkit.InstrumentError, match="use sim://NAME"):
        AcmePsu("COM3", name="psu")
