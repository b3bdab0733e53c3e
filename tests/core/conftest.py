"""A small SCPI power supply, its simulator beneath pyserial, and a thermometer, for core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit
from labkit import Action, Channel, Reading, Setting
from labkit.sim import ScpiSimulator, serve


class Output(labkit.MessageInstrument):
    """One output of a dual supply."""

    voltage = Setting(
        unit="V",
        min=0,
        max=6,
        header="OUT{self.index}:VOLT",
        doc="Output voltage",
    )


class Supply(labkit.ScpiInstrument):
    """A bench supply used throughout the core tests."""

    manufacturer = "ACME"
    models = ("PS30",)
    voltage = Setting(
        unit="V",
        min=0,
        max=30,
        header="VOLT",
        safe=0,
        readback="measured_voltage",
        doc="Voltage set-point",
    )
    current_limit = Setting(unit="A", min=0, max=3, soft_max=2, header="CURR", doc="Current limit")
    output = Setting(
        bool, header="OUTP", safe=False, bool_tokens=("ON", "OFF"), doc="Output switch"
    )
    mode = Setting(
        choices={"constant voltage": "CV", "constant current": "CC"},
        header="MODE",
        doc="Regulation mode",
    )
    averages = Setting(int, min=1, max=100, header="AVER", doc="Averages")
    label = Setting(str, header="DISP:TEXT", access="w", doc="Display text (write-only)")
    serial_number = Setting(str, header="SERN", access="r", doc="Serial number (read-only)")
    measured_voltage = Reading(unit="V", get="MEAS:VOLT?", doc="Measured voltage")
    zero = Action("CAL:ZERO", doc="Zero the meter")
    aux = Channel(Output, index=1)


class Thermometer(labkit.ScpiInstrument):
    """Reads a sample temperature."""

    models = ("T1",)
    temperature = Reading(unit="K", get="TEMP?", doc="Sample temperature")


@pytest.fixture
def supply_sim(unique_name: str, served: list[str]) -> ScpiSimulator:
    simulator = ScpiSimulator(Supply, unique_name, values={"serial_number": "SN42"})
    served.append(unique_name)
    return serve(unique_name, simulator)  # type: ignore[return-value]


@pytest.fixture
def supply(supply_sim: ScpiSimulator) -> Iterator[Supply]:
    instrument = Supply(f"labsim://{supply_sim.name}", name="psu", timeout=0.5)
    yield instrument
    instrument.close()


@pytest.fixture
def thermometer_sim(served: list[str]) -> ScpiSimulator:
    simulator = ScpiSimulator(Thermometer, "thermo", readings={"temperature": lambda s: 300.0})
    served.append("thermo")
    return serve("thermo", simulator)  # type: ignore[return-value]


@pytest.fixture
def thermometer(thermometer_sim: ScpiSimulator) -> Iterator[Thermometer]:
    instrument = Thermometer("labsim://thermo", name="tc", timeout=0.5)
    yield instrument
    instrument.close()
