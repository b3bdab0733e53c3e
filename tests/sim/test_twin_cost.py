"""Simulated instruments cost the same on the millionth point as on the first (issue 19).

Not timed: what makes a point cost more later is work that grows with the history (a list that
grows, a search that scans more) or work repeated for nothing (matching the same header again,
solving the same circuit twice). These tests count that work.

- the 2450's reading buffer is the instrument's, bounded (10,000 readings at power-on,
  continuous fill: the newest overwrites the oldest; ``ONCE`` keeps the first and discards);
- a SCPI header is matched against the command tree once, then looked up;
- the circuit is solved once per state, however many instruments read it.
"""

from __future__ import annotations

import pytest

from labkit.sim import Bench
from labkit.sim import _scpi_twin as twin_module
from labkit.sim.bench import _circuit
from labkit.sim.twins._keithley2450 import BUFFER_DEFAULT


@pytest.fixture
def bench():
    with Bench(seed=3, dut="diode", time_scale=0) as made:
        yield made


def test_the_2450_buffer_is_bounded_and_keeps_the_newest(bench) -> None:
    smu = bench["smu"]
    assert smu.handle(":TRAC:POIN?") == str(BUFFER_DEFAULT) == "10000"
    assert smu.handle(":TRAC:FILL:MODE?") == "CONT"
    smu.handle(":SOUR:VOLT 0.5;:OUTP ON")
    for _ in range(BUFFER_DEFAULT + 2500):
        smu.handle(":READ?")
    assert smu.handle(':TRAC:ACT? "defbuffer1"') == "10000"
    assert len(smu.buffer) == BUFFER_DEFAULT
    newest = smu.handle(':READ? "defbuffer1", SEC')
    assert smu.handle(':FETC? "defbuffer1", SEC') == newest  # the last reading is kept


def test_a_once_buffer_keeps_its_first_readings(bench) -> None:
    smu = bench["smu"]
    smu.handle(":TRAC:POIN 10")
    smu.handle(":TRAC:FILL:MODE ONCE")
    assert smu.handle(":SYST:ERR?").startswith("0,")
    for _ in range(25):
        smu.handle(":READ?")
    assert smu.handle(":TRAC:ACT?") == "10"
    assert smu.discarded == 15
    smu.handle(":TRAC:FILL:MODE CONT")  # not on a buffer holding readings
    assert smu.handle(":SYST:ERR?").startswith("-221,")
    smu.handle(":TRAC:CLE;:TRAC:FILL:MODE CONT")
    assert smu.handle(":TRAC:FILL:MODE?") == "CONT"
    smu.handle(":TRAC:POIN 5")  # below the manual's 10 readings
    assert smu.handle(":SYST:ERR?").startswith("-222,")


def test_headers_are_matched_once(bench, monkeypatch) -> None:
    smu, dmm = bench["smu"], bench["dmm"]
    commands = [(smu, ":SOUR:VOLT 0.1"), (smu, ":READ?"), (dmm, "READ?"), (smu, "SYST:ERR?")]
    for twin, command in commands:  # every header seen once
        twin.handle(command)
    matches = []
    original = twin_module._Pattern.match
    monkeypatch.setattr(
        twin_module._Pattern,
        "match",
        lambda self, words: matches.append(1) or original(self, words),
    )
    for _ in range(2000):
        for twin, command in commands:
            twin.handle(command)
    assert matches == []  # looked up, never matched again


def test_the_dispatch_table_stays_bounded(bench) -> None:
    fg = bench["fg"]
    table = type(fg)._dispatch
    for n in range(6000):  # endless numeric suffixes: SOUR1, SOUR2, ... (each an error)
        fg.handle(f":SOUR{n}:FREQ?")
    assert len(table) <= type(fg)._DISPATCH_LIMIT


def test_the_circuit_is_solved_once_per_state(bench, monkeypatch) -> None:
    smu, dmm = bench["smu"], bench["dmm"]
    smu.handle(":SENS:CURR:PROT 0.01;:OUTP ON")
    solves = []
    original = _circuit.Circuit._solve
    monkeypatch.setattr(
        _circuit.Circuit, "_solve", lambda self, t: solves.append(t) or original(self, t)
    )
    for step in range(50):
        smu.handle(f":SOUR:VOLT {0.4 + step * 0.005:.3f}")
        for _ in range(3):
            smu.handle(":READ?")
            dmm.handle("READ?")
    assert len(solves) == 50  # one per set point, not one per reading
    bench.circuit.dut.series = 1.0  # a device parameter is part of the state
    smu.handle(":READ?")
    assert len(solves) == 51
