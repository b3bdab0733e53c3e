"""Every fault, through every library: a typed error naming instrument, resource and command;
the instrument works again once the fault is gone.

The same simulated instrument is reached through pyserial (``labsim://``), pyvisa
(``@labkit``) and pyusb (``usb:...@labkit``), so each row of the matrix runs the real library.
"""

from __future__ import annotations

import contextlib
import math

import pytest

import labkit
from labkit import (
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    NotConnectedError,
    RampInterrupted,
    Reading,
    ReplyError,
    Setting,
)
from labkit.sim import ScpiSimulator, serve
from labkit.sim._usb import UsbMessageDevice

TIMEOUT = 5.0
"""What every exchange gets: no reply that is merely slow on a loaded machine times out."""

SHORT = 0.15
"""The timeout in force only where a test makes a reply come late or never."""


class Meter(labkit.ScpiInstrument):
    """A small SCPI instrument for the matrix."""

    models = ("M1",)
    level = Setting(unit="V", min=0, max=10, get="LEV?", set="LEV {}")
    ramped = Setting(unit="V", min=0, max=10, get="RAMP?", set="RAMP {}", ramp=100, ramp_step=1)
    value = Reading(unit="V", get="MEAS?")


ADDRESSES = {
    "serial": "labsim://meter",
    "visa": "TCPIP::meter::INSTR@labkit",
    "usb": "usb:0x1209:0x0d0d@labkit",
}


@pytest.fixture(params=sorted(ADDRESSES))
def setup(request):
    simulator = ScpiSimulator(Meter, "meter", readings={"value": lambda sim: 1.25})
    serve("meter", simulator)
    serve("meter-usb", UsbMessageDevice(simulator, vendor_id=0x1209, product_id=0x0D0D))
    address = ADDRESSES[request.param]
    meter = Meter(address, name="meter", timeout=TIMEOUT)
    return meter, simulator, address


@contextlib.contextmanager
def short_timeout(meter):
    """Only for the exchange that must time out (the reply never comes, or comes 3x late)."""
    meter.transport.timeout = SHORT
    try:
        yield
    finally:
        meter.transport.timeout = TIMEOUT


def _names_everything(error, address, command):
    assert error.instrument == "meter"
    assert error.resource == address
    assert error.command == command
    text = str(error)
    assert "meter" in text
    assert address in text
    assert command in text


def test_a_reply_that_never_comes(setup):
    meter, simulator, address = setup
    simulator.faults.inject("timeout")
    with short_timeout(meter), pytest.raises(InstrumentTimeout) as caught:
        meter.read("value")
    _names_everything(caught.value, address, "MEAS?")
    assert meter.read("value") == 1.25


def test_a_reply_slower_than_the_timeout_is_not_taken_for_the_next_one(setup):
    meter, simulator, address = setup
    meter.level = 4
    simulator.faults.inject("slow", delay=3 * SHORT)
    with short_timeout(meter), pytest.raises(InstrumentTimeout) as caught:
        meter.read("value")
    _names_everything(caught.value, address, "MEAS?")
    assert meter.read("level") == 4  # not the late 1.25


def test_a_slow_reply_within_the_timeout_is_fine(setup):
    meter, simulator, _ = setup
    simulator.faults.inject("slow", delay=SHORT)  # slow, and far within the timeout
    assert meter.read("value") == 1.25


def test_a_garbled_reply_is_an_error_never_a_number(setup):
    meter, simulator, address = setup
    simulator.faults.inject("garbled")
    with pytest.raises(ReplyError) as caught:
        meter.read("value")
    _names_everything(caught.value, address, "MEAS?")
    assert caught.value.reply is not None
    assert meter.value is None or not math.isnan(meter.value)
    assert meter.read("value") == 1.25


def test_a_pulled_cable_then_reconnect(setup):
    meter, simulator, address = setup
    simulator.faults.inject("disconnect")
    with pytest.raises(ConnectionLost) as caught:
        meter.read("value")
    _names_everything(caught.value, address, "MEAS?")
    assert "reconnect" in str(caught.value)
    assert not meter.connected
    with pytest.raises(NotConnectedError):
        meter.read("value")
    with pytest.raises(ConnectionLost):
        meter.reconnect()  # still unplugged
    simulator.faults.clear()
    meter.reconnect()
    assert meter.connected
    assert meter.read("value") == 1.25


def test_an_error_the_instrument_reports(setup):
    meter, simulator, address = setup
    meter.level = 2
    simulator.faults.inject("error", code=-222, message="Data out of range")
    with pytest.raises(InstrumentError) as caught:
        meter.level = 3
    error = caught.value
    assert error.code == -222
    assert error.setting == "level"
    _names_everything(error, address, "LEV 3")
    assert meter.level == 2  # the refused value was not stored
    meter.level = 3
    assert meter.read("level") == 3


def test_a_ramp_stopped_by_a_fault_says_where(setup):
    meter, simulator, address = setup

    def fail_at_three(name, value):
        if name == "ramped" and value >= 3:
            simulator.faults.inject("timeout")  # the error check after "RAMP 3" gets no reply

    simulator.on_set = fail_at_three
    with short_timeout(meter), pytest.raises(RampInterrupted) as caught:
        meter.ramped = 5
    error = caught.value
    assert (error.reached, error.target) == (2, 5)
    assert error.resource == address
    assert "stopped at 2 V" in str(error)
    assert meter.ramped == 2
    simulator.on_set = lambda name, value: None
    meter.ramped = 5
    assert meter.read("ramped") == 5
