"""Station files: a good one connects and configures; each malformed one names line and reason."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

import labkit
from labkit import ConnectionLost, LockedError
from labkit.station import StationError, load_station

GOOD = """\
name: teaching lab 3
simulated: true
bench:
  seed: 3
  dut: led
  time_scale: 0
instruments:
  smu:
    driver: keithley2450
    resource: GPIB0::18::INSTR
    timeout: 1
    limits:
      source_voltage: {min: 0, max: 3 V}
    ramps:
      source_voltage: 50 V/s
    settings:
      nplc: 1
      four_wire: true
    locks:
      current_limit: {value: 20 mA, reason: protects the LED, key_sha256: %s}
  dmm:
    driver: labkit.drivers.keysight:Keysight34465A
    resource: TCPIP::10.0.0.22::INSTR
    settings: {nplc: 10}
"""


def write(tmp_path, text, name="station.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_file_connects_and_configures_everything(tmp_path):
    digest = hashlib.sha256(b"s3cret").hexdigest()
    with load_station(write(tmp_path, GOOD % digest)) as station:
        assert list(station) == ["smu", "dmm"]
        smu = station.smu
        assert station["smu"] is smu
        assert smu.resource == station.bench.address("smu")  # simulated: the bench's twin
        assert smu.settings.source_voltage.limits == (0, 3)
        assert smu.settings.source_voltage.ramp_rate == 50
        assert (smu.nplc, smu.four_wire, smu.current_limit) == (1, True, 0.02)
        with pytest.raises(LockedError):
            smu.current_limit = "30 mA"
        with pytest.raises(LockedError):
            smu.settings.current_limit.unlock("guess")
        smu.settings.current_limit.unlock("s3cret")
        smu.current_limit = "30 mA"
        smu.output = True
        smu.source_voltage = 2
        assert station.dmm.read("voltage") == pytest.approx(2, abs=1e-3)
        snapshot = station.snapshot()
        assert snapshot["bench"]["seed"] == 3
        assert snapshot["instruments"]["smu"]["settings"]["nplc"]["value"] == 1
    assert labkit.instruments() == []


def test_simulated_can_be_chosen_by_the_caller(tmp_path):
    digest = hashlib.sha256(b"other").hexdigest()
    text = GOOD.replace("simulated: true", "simulated: false").replace("::INSTR", "::INSTR@labkit")
    path = write(tmp_path, text % digest)
    with pytest.raises(ConnectionLost):
        load_station(path)  # the real instruments are not here...
    assert labkit.instruments() == []  # ...and nothing is left open
    with load_station(path, simulated=True) as station:
        assert station.bench is not None


def test_an_instrument_can_name_its_twin_as_its_resource(tmp_path):
    path = write(
        tmp_path,
        """\
        bench: {time_scale: 0}
        instruments:
          meter:
            driver: keysight34465a
            resource: bench:dmm
        """,
    )
    with load_station(path) as station:
        assert station.meter.resource == station.bench.address("dmm")


MALFORMED = [
    (
        "unknown key",
        """\
        instruments:
          smu:
            driver: keithley2450
            resurce: GPIB0::18::INSTR
        """,
        4,
        r"unknown key 'resurce'",
    ),
    (
        "unknown top-level key",
        """\
        instrument:
          smu: {driver: keithley2450}
        """,
        1,
        r"unknown key 'instrument'",
    ),
    (
        "wrong type",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            timeout: fast
        """,
        5,
        r"timeout: expected a number of seconds, got 'fast'",
    ),
    (
        "unknown driver",
        """\
        instruments:
          smu:
            resource: GPIB0::18::INSTR
            driver: keithley2405
        """,
        4,
        r"no driver plugin named 'keithley2405'",
    ),
    (
        "limit beyond the hard limit",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            limits:
              source_voltage:
                min: -5
                max: 500 V
        """,
        8,
        r"upper limit 500 V is beyond the hard limits of Keithley2450.source_voltage",
    ),
    (
        "duplicate names",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
          dmm:
            driver: keysight34465a
            resource: GPIB0::22::INSTR
          smu:
            driver: keithley2450
            resource: GPIB0::19::INSTR
        """,
        8,
        r"duplicate key 'smu' \(first given on line 2\)",
    ),
    (
        "YAML syntax error",
        """\
        instruments:
          smu:
            driver: keithley2450
           resource: GPIB0::18::INSTR
        """,
        4,
        r"YAML syntax error",
    ),
    (
        "unknown setting",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            settings:
              nplcs: 1
        """,
        6,
        r"'nplcs' is not a setting of Keithley2450",
    ),
    (
        "a reading is not a setting",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            settings: {current: 1}
        """,
        5,
        r"'current' is a reading, not a setting",
    ),
    (
        "wrong unit",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            settings:
              current_limit: 5 V
        """,
        6,
        r"cannot be converted to A",
    ),
    (
        "not a choice",
        """\
        instruments:
          dmm:
            driver: keysight34465a
            resource: GPIB0::22::INSTR
            settings:
              nplc: 3
        """,
        6,
        r"not one of the allowed values",
    ),
    (
        "value outside the file's own limits",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            limits: {source_voltage: {max: 1}}
            settings:
              source_voltage: 2
        """,
        7,
        r"2 V is above the upper soft limit 1 V",
    ),
    (
        "lock of value and limits",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            locks:
              source_voltage: {value: 1, max: 2}
        """,
        6,
        r"lock either a value or limits",
    ),
    (
        "malformed key digest",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            locks:
              output:
                value: false
                key_sha256: abc
        """,
        8,
        r"64 hexadecimal digits",
    ),
    (
        "missing resource",
        """\
        instruments:
          smu:
            driver: keithley2450
        """,
        2,
        r"'resource' is missing",
    ),
    (
        "unknown address form",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: the one on the left
        """,
        4,
        r"not an address labkit recognises",
    ),
    (
        "no such twin",
        """\
        simulated: true
        instruments:
          laser:
            driver: keithley2450
        """,
        4,
        r"the bench has no instrument 'laser'",
    ),
    (
        "bad name",
        """\
        instruments:
          2nd-smu:
            driver: keithley2450
        """,
        2,
        r"'2nd-smu' is not a usable name",
    ),
    (
        "empty instruments",
        """\
        instruments: {}
        """,
        1,
        r"must not be empty",
    ),
    ("empty file", "", 1, r"the file is empty"),
]


@pytest.mark.parametrize(
    ("text", "line", "reason"), [case[1:] for case in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_file_is_rejected_with_its_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(StationError, match=reason) as caught:
        load_station(path)
    assert caught.value.line == line
    assert f"line {line}:" in str(caught.value)
    assert str(path) in str(caught.value)
    assert labkit.instruments() == []


def test_a_misspelt_driver_gets_a_suggestion(tmp_path):
    path = write(
        tmp_path,
        """\
        instruments:
          smu: {driver: keithley2405, resource: GPIB0::18::INSTR}
        """,
    )
    with pytest.raises(StationError) as caught:
        load_station(path)
    assert caught.value.hint == "Did you mean 'keithley2450'?"


def test_a_misspelt_key_gets_a_suggestion(tmp_path):
    path = write(
        tmp_path,
        """\
        instruments:
          smu: {driver: keithley2450, resource: GPIB0::18::INSTR, setings: {nplc: 1}}
        """,
    )
    with pytest.raises(StationError) as caught:
        load_station(path)
    assert caught.value.hint == "Did you mean 'settings'?"


def test_a_missing_file_is_a_station_error(tmp_path):
    with pytest.raises(StationError, match="cannot read the file"):
        load_station(tmp_path / "nowhere.yaml")


def test_channel_settings_are_reached_by_their_dotted_names(tmp_path):
    station_file = write(
        tmp_path,
        """\
        simulated: true
        bench: {seed: 1, time_scale: 0}
        instruments:
          fg:
            driver: keysight33522b
            limits:
              ch1.amplitude: {max: 2 V}
            settings:
              ch1.frequency: 1 kHz
            locks:
              ch2.output: {value: false, reason: channel 2 is not wired}
    """,
    )
    with load_station(station_file) as station:
        fg = station.fg
        assert fg.ch1.settings.amplitude.limits[1] == 2.0
        assert fg.ch1.frequency == 1000.0
        with pytest.raises(LockedError, match="not wired"):
            fg.ch2.output = True


def test_a_misspelt_channel_setting_names_its_line(tmp_path):
    station_file = write(
        tmp_path,
        """\
        simulated: true
        instruments:
          fg:
            driver: keysight33522b
            settings:
              ch1.frequencey: 1 kHz
    """,
    )
    with pytest.raises(StationError) as raised:
        load_station(station_file)
    assert raised.value.line == 6
    assert "ch1.frequency" in str(raised.value)


def test_camera_settings_are_checked_once_the_camera_declared_them(tmp_path):
    pytest.importorskip("harvesters")
    good = write(
        tmp_path,
        """\
        instruments:
          cam:
            driver: genicam
            resource: genicam://VikyTL_DEV_red@viky
            settings:
              width: 320
    """,
        name="good.yaml",
    )
    with load_station(good) as station:
        assert station.cam.width == 320
    bad = write(
        tmp_path,
        """\
        instruments:
          cam:
            driver: genicam
            resource: genicam://VikyTL_DEV_red@viky
            settings:
              widht: 320
    """,
        name="bad.yaml",
    )
    with pytest.raises(StationError) as raised:
        load_station(bad)
    assert raised.value.line == 6
    assert "'width'" in str(raised.value)
    assert not [i for i in labkit.instruments() if i.name == "cam"]  # closed again
