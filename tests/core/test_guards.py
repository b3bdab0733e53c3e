"""Safety below every UI: soft limits, instructor locks, interlocks and ramps."""

from __future__ import annotations

import pytest

from labkit import (
    ConfigurationError,
    InterlockError,
    LimitError,
    LockedError,
    RampInterrupted,
)
from labkit.testing import record


def test_soft_limits_narrow_within_the_hard_ones(supply) -> None:
    supply.settings.voltage.limit(min=1, max="5000 mV")
    assert supply.settings.voltage.limits == (1.0, 5.0)
    with pytest.raises(LimitError, match="upper soft limit 5 V"):
        supply.voltage = 6
    with pytest.raises(LimitError, match="beyond the hard limits"):
        supply.settings.voltage.limit(max=40)


def test_a_locked_value_cannot_change(supply, supply_sim) -> None:
    supply.settings.voltage.lock(value="2 V", reason="lab 3 uses 2 V", key="k")
    assert supply_sim.value("voltage") == 2.0  # locking sets it first
    with record(supply) as log, pytest.raises(LockedError, match="lab 3 uses 2 V"):
        supply.voltage = 3
    assert log.sent == []
    supply.voltage = 2  # the locked value itself is fine


def test_locked_limits_need_the_instructors_key(supply) -> None:
    handle = supply.settings.voltage
    handle.lock(max=10, reason="student station", key="instructor")
    with pytest.raises(LimitError, match=r"locked limit 10 V.*instructor"):
        supply.voltage = 11
    handle.limit(max=25)  # widening the soft limit does not lift the lock
    with pytest.raises(LimitError):
        supply.voltage = 11
    with pytest.raises(LockedError, match="wrong key"):
        handle.unlock("student")
    handle.unlock("instructor")
    supply.voltage = 11
    assert supply.voltage == 11


def test_the_key_holder_may_lock_again_and_nobody_else(supply) -> None:
    handle = supply.settings.voltage
    handle.lock(max=10, reason="student station", key="instructor")
    # The instructor's notebook cell run again: the same lock, or a new one, with the key.
    handle.lock(max=10, reason="student station", key="instructor")
    handle.lock(max=8, reason="a smaller rating", key="instructor")
    with pytest.raises(LimitError, match="locked limit 8 V"):
        supply.voltage = 9
    with pytest.raises(LockedError, match="already limits locked"):
        handle.lock(max=20, reason="a student's try", key="student")
    with pytest.raises(LockedError, match="already limits locked"):
        handle.lock(max=20, reason="no key at all")
    assert handle.state.lock.max == 8
    # A failed re-lock leaves the lock that was there.
    supply.voltage = 5
    with pytest.raises(LimitError, match="lies outside"):
        handle.lock(max=2, reason="too low for now", key="instructor")
    assert handle.state.lock.max == 8


def test_an_interlock_refuses_changes_while_its_condition_fails(
    supply, thermometer, thermometer_sim
) -> None:
    thermometer_sim.reading_functions["temperature"] = lambda s: 362.0
    interlock = supply.settings.output.interlock(
        thermometer.readings.temperature < "350 K", when=True, reason="sample too hot"
    )
    with record(supply) as log, pytest.raises(InterlockError) as raised:
        supply.output = True
    assert log.sent == []
    message = str(raised.value)
    assert "tc.temperature < 350 K" in message
    assert "tc.temperature is 362 K" in message
    assert "sample too hot" in message
    supply.output = False  # switching off never needs the condition
    thermometer_sim.reading_functions["temperature"] = lambda s: 300.0
    supply.output = True
    interlock.remove()
    assert supply.settings.output.interlocks == []


def test_an_interlock_that_cannot_be_checked_refuses(supply, thermometer, thermometer_sim) -> None:
    supply.settings.output.interlock(thermometer.readings.temperature < 350, when=True)
    thermometer_sim.faults.inject("timeout")
    with pytest.raises(InterlockError, match="could not be checked"):
        supply.output = True
    assert supply.output is False


def test_conditions_compose_and_accept_plain_functions(
    supply, thermometer, thermometer_sim
) -> None:
    band = thermometer.readings.temperature.between("280 K", "320 K")
    assert band.holds()[0]
    thermometer_sim.reading_functions["temperature"] = lambda s: 330.0
    holds, why = band.holds()
    assert not holds
    assert "330 K" in why
    supply.settings.voltage.interlock(lambda: False, when=lambda v: v > 10)
    supply.voltage = 5
    with pytest.raises(InterlockError):
        supply.voltage = 11


def test_a_ramp_moves_in_steps_no_larger_than_declared(supply, supply_sim) -> None:
    handle = supply.settings.voltage
    handle.ramp_rate = "100 V/s"  # 10 writes per second, 10 V apart at most
    with record(supply) as log:
        supply.voltage = 25
    steps = [float(m.split()[1]) for m in log.sent if str(m).startswith("VOLT ")]
    assert steps[-1] == 25
    assert len(steps) == 3
    assert all(b - a <= 10 + 1e-9 for a, b in zip([0.0, *steps], steps, strict=False))
    assert supply_sim.value("voltage") == 25


def test_a_stopped_ramp_says_where_it_stopped(supply, supply_sim) -> None:
    supply.settings.voltage.ramp_rate = 10  # 1 V steps every 0.1 s
    # Stop it once it has moved (from the observer, on the worker: no clock involved).
    supply.observe(lambda change: supply.stop() if change["new"] >= 2 else None, names="voltage")
    with pytest.raises(RampInterrupted) as raised:
        supply.voltage = 20
    reached = raised.value.reached
    assert 0 < reached < 20
    assert supply.voltage == reached == supply_sim.value("voltage")
    assert f"stopped at {reached:g} V" in str(raised.value)


def test_a_fault_during_a_ramp_leaves_it_reported_not_half_done_silently(
    supply, supply_sim
) -> None:
    supply.settings.voltage.ramp_rate = 20

    def fault_once_moving(change) -> None:
        if change["new"] >= 2 and not supply_sim.faults.active():
            supply_sim.faults.inject("error", code=-300)

    supply.observe(fault_once_moving, names="voltage")
    with pytest.raises(RampInterrupted) as raised:
        supply.voltage = 10
    assert raised.value.code == -300
    assert 0 < raised.value.reached < 10
    assert supply.voltage == raised.value.reached


def test_ramp_rates_are_validated(supply) -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        supply.settings.voltage.ramp_rate = -1
    with pytest.raises(ConfigurationError, match="cannot ramp"):
        supply.settings.averages.ramp_rate = 1
