"""A station file's ``interlocks:`` build the same watched interlocks as ``handle.interlock``.

The bench is frozen (``time_scale: 0``) and heated by the test; the interlock watcher runs on
an injected clock, so a check happens when the test says and nothing waits on a wall clock.
"""

from __future__ import annotations

import textwrap

import pytest

import labkit
from labkit.station import StationError, load_station
from tests.core.test_watch import FakeClock, check
from tests.runs.test_engine import wait_for

HEADER = """\
simulated: true
bench: {time_scale: 0}
instruments:
  smu:
    driver: keithley2450
  tc:
    driver: tc200
"""


def write(tmp_path, interlocks: str):
    path = tmp_path / "station.yaml"
    path.write_text(HEADER + textwrap.dedent(interlocks), "utf-8")
    return path


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def watcher(clock):
    made = labkit.core._watch.InterlockWatcher(clock)
    old = labkit.core._watch.set_watcher(made)
    yield made
    labkit.core._watch.set_watcher(old)


def heat(station, celsius: float) -> None:
    """The TC200 heats the sample block for ten bench minutes (it settles at ``celsius``)."""
    station.tc.setpoint = f"{celsius} degC"
    station.tc.enabled = True
    station.bench.advance(600)


def test_a_station_interlock_trips_the_output_when_the_condition_fails_later(
    tmp_path, watcher, clock, data_root
):
    path = write(
        tmp_path,
        """\
        interlocks:
          - setting: smu.output
            when: true
            requires: tc.temperature < 80 °C
            reason: the sample must stay below 80 °C
            check_every: 200 ms
        """,
    )
    with load_station(path) as station:
        (interlock,) = station.interlocks
        assert interlock.describe() == (
            "smu.output may change to True only while tc.temperature < 80 °C "
            "(the sample must stay below 80 °C)"
        )
        assert station.snapshot()["interlocks"] == [interlock.describe()]
        twin = station.bench.instrument("smu").smu
        run = labkit.run(
            labkit.runs.Set(station.smu.settings.output, True),
            labkit.runs.Set(station.smu.settings.source_voltage, 0.5),
            labkit.runs.Wait("1 h"),
            name="warming",
        )
        wait_for(lambda: twin.voltage == 0.5, what="the run's set-points")
        clock.advance(0.2)
        assert check(watcher) == []  # due, and the sample is at room temperature
        heat(station, 90)
        clock.advance(0.1)
        assert check(watcher) == []  # hot, but not due: its rate is the file's 200 ms
        clock.advance(0.1)
        (trip,) = check(watcher)
        assert "tc.temperature is 90 °C" in trip.reason
        assert twin.output is False  # the trip switched the output off
        with pytest.raises(labkit.InterlockError, match="interlock tripped") as failed:
            run.wait(30)
        assert failed.value.setting == "output"
        attrs = run.dataset.attrs
        assert attrs["status"] == "failed"
        (event,) = [e for e in attrs["events"] if e["event"] == "interlock tripped"]
        assert event["setting"] == "smu.output"
        assert event["made_safe"]["output"] is False
        # Switching it on again is refused while the sample is hot; off is always allowed.
        with pytest.raises(labkit.InterlockError, match=r"tc\.temperature < 80 °C"):
            station.smu.output = True
        station.smu.output = False


def test_every_condition_of_a_list_must_hold(tmp_path, watcher, clock):
    path = write(
        tmp_path,
        """\
        interlocks:
          - setting: smu.source_voltage
            requires:
              - tc.temperature <= 353.15 K
              - tc.enabled == off
        """,
    )
    with load_station(path) as station:
        station.smu.source_voltage = 1  # cold and the heater off
        station.tc.setpoint = "25 degC"
        station.tc.enabled = True
        with pytest.raises(labkit.InterlockError, match=r"tc\.enabled == False"):
            station.smu.source_voltage = 2
        assert station.smu.source_voltage == 1.0
        station.smu.source_voltage = 0  # its safe value never needs the condition


def test_the_files_own_settings_must_satisfy_its_interlocks(tmp_path, watcher):
    path = tmp_path / "station.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            simulated: true
            bench: {time_scale: 0}
            instruments:
              smu:
                driver: keithley2450
                settings: {source_voltage: 0.5 V, output: true}
              tc:
                driver: tc200
            interlocks:
              - setting: smu.output
                when: true
                requires: tc.temperature < 10 degC
            """
        ),
        "utf-8",
    )
    with pytest.raises(labkit.InterlockError, match="refused by an interlock") as refused:
        load_station(path)
    assert refused.value.line == 6  # the smu's settings
    assert "smu went back to safe values" in refused.value.hint


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("- setting: smu.output\n  requires: tx.temperature < 80 degC", 10, "'tx' is not an"),
        ("- setting: smu.output\n  requires: tc.temperatur < 80 degC", 10, "tc.temperature"),
        ("- setting: smu.output\n  requires: tc.temperature < 80 V", 10, "80 V"),
        ("- setting: smu.output\n  requires: tc.temperature is hot", 10, "not a condition"),
        ("- setting: smu.output\n  requires: tc.enabled < 1", 10, "compare it with =="),
        ("- setting: tc.temperature\n  requires: tc.enabled == off", 9, "guards a setting"),
        ("- setting: smu.outptu\n  requires: tc.enabled == off", 9, "smu.output"),
        ("- setting: smu.output\n  when: maybe\n  requires: tc.enabled == off", 10, "maybe"),
        (
            "- setting: smu.output\n  requires: tc.enabled == off\n  check_every: -1 s",
            11,
            "positive",
        ),
        ("- setting: smu.output\n  requires: []", 10, "must not be empty"),
        ("- setting: smu.output\n  require: tc.enabled == off", 10, "Did you mean 'requires'"),
        (
            "- setting: smu.output\n  requires:\n    - tc.enabled == off\n    - tc.temp > 1 K",
            12,
            "'temp' is not declared",
        ),
    ],
)
def test_a_bad_interlock_names_file_and_line_before_anything_is_contacted(
    tmp_path, entry, line, message
):
    text = "interlocks:\n" + textwrap.indent(entry, "  ") + "\n"
    path = write(tmp_path, text)
    with pytest.raises(StationError) as refused:
        load_station(path)
    assert refused.value.source == str(path)
    assert refused.value.line == line, str(refused.value)
    assert message in str(refused.value)
