"""One IEEE 488.2 engine: a twin written from a manual and a simulator made from a driver's
declarations keep the error queue, status bytes and common commands alike, as the standard
says (SCPI-99 §21.8 for the queue, IEEE 488.2 §10 for common commands)."""

from __future__ import annotations

import pytest

import labkit
from labkit import Reading, Setting
from labkit.sim import Ieee4882Instrument, ScpiSimulator
from labkit.sim._scpi_twin import ScpiTwin, number, scpi


class Supply(labkit.ScpiInstrument):
    """A supply declared for the generated simulator."""

    voltage = Setting(unit="V", min=0, max=30, get="VOLT?", set="VOLT {}", doc="Voltage")
    current = Reading(unit="A", get="CURR?", doc="Current")


class SupplyTwin(ScpiTwin):
    identity = "ACME,PS30,SN1,1.0"

    def __init__(self) -> None:
        super().__init__("twin")
        self.voltage = 0.0

    def reset(self) -> None:
        self.voltage = 0.0

    @scpi("VOLTage")
    def set_voltage(self, value: str) -> None:
        self.voltage = number(value, low=0, high=30)

    @scpi("VOLTage?")
    def get_voltage(self) -> str:
        return f"{self.voltage:g}"


@pytest.fixture(params=["twin", "generated"])
def instrument(request) -> Ieee4882Instrument:
    if request.param == "twin":
        return SupplyTwin()
    return ScpiSimulator(Supply, "generated")


def errors(instrument: Ieee4882Instrument) -> list[str]:
    out = []
    while True:
        reply = instrument.handle("SYST:ERR?")
        assert reply is not None
        out.append(reply)
        if reply.startswith("+0"):
            return out


def test_both_kinds_are_the_one_engine(instrument) -> None:
    assert isinstance(instrument, Ieee4882Instrument)


def test_a_full_queue_keeps_its_oldest_errors_and_ends_with_queue_overflow(instrument) -> None:
    size = instrument.error_queue_size
    for _ in range(size + 5):
        instrument.handle("NO:SUCH:COMMAND")
    found = errors(instrument)
    assert len(found) == size + 1  # the queue, then "No error"
    assert found[0] == '-113,"Undefined header"'  # the oldest kept
    assert found[size - 1] == '-350,"Queue overflow"'  # the newest replaced
    assert found[size] == '+0,"No error"'


def test_errors_set_their_event_status_bits_and_cls_clears_them(instrument) -> None:
    instrument.handle("NO:SUCH:COMMAND")  # -113: command error, bit 5
    instrument.handle("VOLT 99")  # -222: execution error, bit 4
    assert instrument.handle("*STB?") == "4"  # the error queue is not empty
    assert instrument.handle("*ESR?") == str(0x20 | 0x10)
    assert instrument.handle("*ESR?") == "0"  # read and cleared
    instrument.handle("*CLS")
    assert instrument.handle("*STB?") == "0"
    assert errors(instrument) == ['+0,"No error"']


def test_rst_resets_settings_but_leaves_the_error_queue(instrument) -> None:
    instrument.handle("VOLT 5")
    instrument.handle("NO:SUCH:COMMAND")
    instrument.handle("*RST")
    assert float(instrument.handle("VOLT?") or "nan") == 0
    assert errors(instrument)[0] == '-113,"Undefined header"'


def test_a_program_message_is_answered_in_order_and_goes_on_after_a_refusal(instrument) -> None:
    reply = instrument.handle("*IDN?;VOLT 99;VOLT 2;VOLT?")
    assert reply is not None
    identity, voltage = reply.split(";")
    assert "," in identity
    assert float(voltage) == 2
    assert errors(instrument)[0] == '-222,"Data out of range"'


def test_common_commands_answer_as_the_standard_says(instrument) -> None:
    assert instrument.handle("*OPC?") == "1"
    assert instrument.handle("*TST?") == "0"
    assert instrument.handle("*WAI") is None
    assert instrument.handle("*XYZ") is None
    assert errors(instrument)[0] == '-113,"Undefined header"'
