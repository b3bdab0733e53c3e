"""ScpiTwin: headers in the manual's notation, the SCPI path rule, errors and common commands."""

from __future__ import annotations

import pytest

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import ScpiTwin, boolean, mnemonic, number, scpi, split_parameters


class Twin(ScpiTwin):
    identity = "ACME,T2,1,1.0"
    error_queue_size = 3

    def __init__(self):
        super().__init__("twin")
        self.reset()

    def reset(self):
        self.voltage = 0.0
        self.source = "IMM"
        self.count = 1
        self.channel = {1: False, 2: False}
        self.triggered = 0

    @scpi("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_voltage(self, value=None):
        self.voltage = number(value, low=0, high=30, default=1.0)

    @scpi("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_voltage(self):
        return f"{self.voltage:+.6E}"

    @scpi(":TRIGger:SOURce")
    def _set_source(self, value=None):
        self.source = mnemonic(value, {"IMMediate": "IMM", "BUS": "BUS"})

    @scpi(":TRIGger:COUNt")
    def _set_count(self, value=None):
        self.count = int(number(value, low=1, high=100, integer=True))

    @scpi(":OUTPut#[:STATe]")
    def _set_output(self, value=None):
        self.channel[self.suffix()] = boolean(value)

    @scpi(":OUTPut#[:STATe]?")
    def _get_output(self):
        return "1" if self.channel[self.suffix()] else "0"

    def trigger(self):
        self.triggered += 1


@pytest.fixture
def twin():
    return Twin()


@pytest.mark.parametrize(
    "command",
    ["VOLT 2", "volt 2", ":SOUR:VOLT 2", "SOURce:VOLTage:LEVel 2", "SOUR:VOLT:LEV:IMM:AMPL 2"],
)
def test_short_long_and_optional_forms_all_match(twin, command):
    twin.handle(command)
    assert twin.voltage == 2
    assert not twin.errors


def test_a_header_that_is_neither_short_nor_long_is_undefined(twin):
    twin.handle("VOLTA 2")
    assert twin.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert twin.handle("SYST:ERR?") == '+0,"No error"'


def test_chained_commands_follow_the_scpi_path_rule(twin):
    assert twin.handle("TRIG:SOUR BUS;COUN 5;:VOLT 3;VOLT?") == "+3.000000E+00"
    assert (twin.source, twin.count, twin.voltage) == ("BUS", 5, 3.0)


def test_numeric_suffixes_select_channels(twin):
    twin.handle("OUTP2 ON;:OUTP1:STAT OFF")
    assert twin.channel == {1: False, 2: True}
    assert twin.handle("OUTP2?;:OUTP?") == "1;0"


def test_parameters_are_checked_like_an_instrument_does(twin):
    twin.handle("VOLT 31")
    twin.handle("VOLT volts")
    twin.handle("VOLT")
    codes = [twin.handle("SYST:ERR?").split(",")[0] for _ in range(3)]
    assert codes == ["-222", "-104", "-109"]
    twin.handle("VOLT MAX")
    assert twin.voltage == 30
    twin.handle("VOLT DEF")
    assert twin.voltage == 1


def test_a_full_error_queue_ends_with_queue_overflow(twin):
    for _ in range(5):
        twin.handle("NOPE")
    assert twin.handle("SYST:ERR:COUN?") == "3"
    replies = [twin.handle("SYST:ERR?") for _ in range(3)]
    assert replies[-1] == '-350,"Queue overflow"'


def test_common_commands(twin):
    twin.handle("VOLT 5;*RST")
    assert twin.voltage == 0
    assert twin.handle("*IDN?") == "ACME,T2,1,1.0"
    assert twin.handle("*OPC?") == "1"
    twin.handle("*TRG")
    assert twin.triggered == 1
    twin.handle("BAD")
    assert twin.handle("*ESR?") == "32"  # command error bit
    twin.handle("*CLS")
    assert twin.handle("SYST:ERR?") == '+0,"No error"'


def test_an_injected_error_refuses_the_next_command(twin):
    twin.faults.inject("error", code=-221, message="Settings conflict")
    twin.handle("VOLT 4")
    assert twin.voltage == 0
    assert twin.handle("SYST:ERR?") == '-221,"Settings conflict"'


def test_parameter_helpers():
    assert split_parameters('1, "a,b" ,x') == ["1", '"a,b"', "x"]
    assert boolean("on")
    assert not boolean("0")
    assert mnemonic('"volt"', {"VOLTage": 1}) == 1
    with pytest.raises(ScpiError):
        boolean("maybe")
