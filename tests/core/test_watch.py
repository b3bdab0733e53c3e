"""Interlocks are watched: re-checked at their rate while engaged, tripping outputs to safe.

The watcher's clock is injected: a test moves time forward and runs one pass of the checks
that are due, so nothing here waits on a wall clock except the one test of the real loop,
which only waits (generously) for something to happen.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

import labkit
from labkit.core import _loop, _watch
from labkit.core._watch import InterlockWatcher
from tests.runs.test_engine import wait_for


class FakeClock:
    """Time moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()  # the test runs the checks itself

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def watcher(clock):
    made = InterlockWatcher(clock)
    old = _watch.set_watcher(made)
    yield made
    _watch.set_watcher(old)


@pytest.fixture
def hot(thermometer_sim):
    """The thermometer's temperature, settable by the test."""
    state = {"kelvin": 300.0}
    thermometer_sim.reading_functions["temperature"] = lambda sim: state["kelvin"]
    return state


def check(watcher) -> list:
    return _loop.run_sync(watcher.check_due())


def temperature_queries(thermometer_sim) -> int:
    return sum(1 for m in thermometer_sim.received if m.startswith("TEMP?"))


def test_an_engaged_interlock_is_rechecked_and_trips_the_output_off(
    supply, supply_sim, thermometer, thermometer_sim, hot, watcher, clock
):
    interlock = supply.settings.output.interlock(
        thermometer.readings.temperature < "350 K", when=True, reason="the sample melts"
    )
    supply.output = True
    supply.voltage = 2
    assert check(watcher) == []  # not due yet
    clock.advance(0.5)
    assert check(watcher) == []  # due, and the sample is cold
    hot["kelvin"] = 400.0
    clock.advance(0.4)
    assert check(watcher) == []  # hot, but not due: the rate is the interlock's
    clock.advance(0.1)
    (trip,) = check(watcher)
    assert supply_sim.value("output") is False  # the outputs went to their safe values
    assert supply_sim.value("voltage") == 0.0
    assert trip.made_safe == {"voltage": 0.0, "output": False}
    assert "400 K" in trip.reason
    assert interlock.tripped is trip
    message = supply.settings.output.state.error
    assert "interlock tripped" in message
    assert "tc.temperature < 350 K" in message
    # Off now, so no longer engaged: nothing more is read or tripped.
    asked = temperature_queries(thermometer_sim)
    clock.advance(5)
    assert check(watcher) == []
    assert temperature_queries(thermometer_sim) == asked


def test_a_disengaged_interlock_costs_nothing(
    supply, thermometer, thermometer_sim, hot, watcher, clock
):
    supply.settings.output.interlock(thermometer.readings.temperature < 350, when=True)
    supply.output = False
    hot["kelvin"] = 900.0
    asked = temperature_queries(thermometer_sim)
    for _ in range(4):
        clock.advance(0.5)
        assert check(watcher) == []
    assert temperature_queries(thermometer_sim) == asked


def test_a_condition_that_cannot_be_read_trips_it(
    supply, supply_sim, thermometer, thermometer_sim, watcher, clock
):
    supply.settings.output.interlock(thermometer.readings.temperature < 350, when=True)
    supply.output = True
    thermometer_sim.faults.inject("disconnect")
    clock.advance(0.5)
    (trip,) = check(watcher)
    assert "could not be checked" in trip.reason or "unknown" in trip.reason
    assert supply_sim.value("output") is False
    thermometer_sim.faults.clear()


def test_a_trip_under_a_run_fails_the_run_and_is_recorded(
    supply, supply_sim, thermometer, hot, watcher, clock, data_root
):
    supply.settings.output.interlock(thermometer.readings.temperature < 350, when=True)
    run = labkit.run(
        labkit.runs.Set(supply.settings.output, True),
        labkit.runs.Set(supply.settings.voltage, 3),
        labkit.runs.Wait("60 s"),
        name="heating",
    )
    wait_for(lambda: supply_sim.value("voltage") == 3.0, what="the run's set-points")
    hot["kelvin"] = 360.0
    clock.advance(0.5)
    assert len(check(watcher)) == 1
    with pytest.raises(labkit.InterlockError, match="interlock tripped") as failed:
        run.wait(30)
    assert failed.value.setting == "output"
    assert run.status == "failed"
    attrs = run.dataset.attrs
    assert attrs["status"] == "failed"
    (event,) = [e for e in attrs["events"] if e["event"] == "interlock tripped"]
    assert event["setting"] == "psu.output"
    assert event["made_safe"] == {"voltage": 0.0, "output": False}
    assert supply_sim.value("output") is False


def test_during_a_run_it_is_watched_even_at_its_safe_value(
    supply, supply_sim, thermometer, thermometer_sim, hot, watcher, clock, data_root
):
    supply.settings.voltage.interlock(thermometer.readings.temperature < 350)
    run = labkit.run(labkit.runs.Set(supply.settings.voltage, 0), labkit.runs.Wait("60 s"))
    wait_for(lambda: "VOLT 0" in supply_sim.received, what="the run's set-point")
    asked = temperature_queries(thermometer_sim)
    clock.advance(0.5)
    assert check(watcher) == []
    assert temperature_queries(thermometer_sim) > asked  # checked: the run uses the supply
    run.abort()


def test_the_real_loop_checks_on_its_own(supply, supply_sim, thermometer, hot):
    tripped = threading.Event()

    def heard(trip) -> None:
        tripped.set()

    _watch.on_trip(heard)
    live = InterlockWatcher()
    old = _watch.set_watcher(live)
    try:
        live.start()
        supply.settings.output.interlock(
            thermometer.readings.temperature < 350, when=True, check_every=0.02
        )
        supply.output = True
        hot["kelvin"] = 500.0
        assert tripped.wait(20), "the watcher never tripped it"
        assert supply_sim.value("output") is False
    finally:
        live.stop()
        _watch.set_watcher(old)
        _watch._trip_hooks.remove(heard)


def test_a_closed_instruments_interlocks_are_forgotten(supply, thermometer, watcher, clock):
    interlock = supply.settings.output.interlock(thermometer.readings.temperature < 350)
    supply.close()
    clock.advance(1)
    assert check(watcher) == []
    assert interlock not in watcher.watched()


def test_every_interlock_is_watched_from_the_moment_it_is_made(supply, thermometer, watcher, clock):
    interlock = supply.settings.output.interlock(
        thermometer.readings.temperature < 350, when=True, check_every=2
    )
    assert (interlock, 2.0) in watcher.rates()
    interlock.remove()
    assert interlock not in watcher.watched()
    assert interlock not in supply.settings.output.interlocks
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(labkit.ConfigurationError, match="check_every"):
            supply.settings.output.interlock(
                thermometer.readings.temperature < 350, check_every=bad
            )


def test_going_to_the_safe_value_never_needs_the_condition(
    supply, supply_sim, thermometer, hot, watcher, clock
):
    """A trip brings outputs to safe values even under an interlock on every value."""
    supply.voltage = 2
    supply.settings.voltage.interlock(thermometer.readings.temperature < 350)
    hot["kelvin"] = 400.0
    with pytest.raises(labkit.InterlockError):
        supply.voltage = 3
    clock.advance(0.5)
    (trip,) = check(watcher)
    assert trip.error is None
    assert supply_sim.value("voltage") == 0.0
    supply.voltage = 0  # by hand too


def test_a_watcher_put_back_after_a_swap_watches_again():
    # A test (or a tool) swaps in its own watcher and puts the process's back: the one put
    # back must check again, or no interlock trips for the rest of the session.
    first = InterlockWatcher()
    first.start()
    old = _watch.set_watcher(first)
    try:
        assert _watch.set_watcher(InterlockWatcher(FakeClock())) is first
        assert first._task is None, "swapped out: stopped"
        _watch.set_watcher(first)
        assert first._task is not None, "put back: running again"
        assert not first._task.done()
        unstarted = InterlockWatcher(FakeClock())
        _watch.set_watcher(unstarted)
        assert unstarted._task is None, "a watcher never started is not started by the swap"
    finally:
        first.stop()
        _watch.set_watcher(old)
