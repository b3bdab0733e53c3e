"""Station files that fail: every error names the file and the line, and nothing is left on.

A file is checked whole before any instrument is contacted; then every instrument is
connected (questions only) before any is configured; a failure while configuring brings
back to safe values what was already configured and closes everything.
"""

from __future__ import annotations

import textwrap

import pytest

import labkit
from labkit import ConnectionLost, InstrumentError
from labkit.station import StationError, load_station
from tests.simdevices import Lab

SMU = "tests.simdevices:Smu"


def write(tmp_path, text: str | bytes, name="station.yaml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MALFORMED = [
    (
        "a python tag",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: !!python/object/apply:os.system ["echo hi"]
        """,
        4,
        r"the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
    ),
    (
        "a local tag",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            settings:
              nplc: !include other.yaml
        """,
        6,
        r"the YAML tag '!include' is not allowed",
    ),
    (
        "a date",
        """\
        description: 2024-05-01
        instruments:
          smu: {driver: keithley2450, resource: GPIB0::18::INSTR}
        """,
        1,
        r"reads as a date",
    ),
    (
        "deep nesting",
        "instruments:\n  smu:\n    options:\n      x: " + "[" * 200 + "]" * 200 + "\n",
        4,
        r"nesting is deeper than 32 levels",
    ),
    (
        "an alias bomb",
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(
            f"{x}: &{x} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, x in zip("abcdefg", "bcdefgh", strict=True)
        )
        + "instruments: {smu: {driver: keithley2450, resource: GPIB0::1::INSTR}}\n",
        1,
        r"expands to more than 100,000 values",
    ),
    (
        "an infinite ramp",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            ramps:
              source_voltage: .inf
        """,
        6,
        r"got inf",
    ),
    (
        "an infinite limit",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            limits:
              source_voltage: {min: -.inf}
        """,
        6,
        r"got -inf",
    ),
    (
        "a NaN setting",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            settings: {nplc: .nan}
        """,
        5,
        r"got nan",
    ),
    (
        "an infinite timeout",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            timeout: .inf
        """,
        5,
        r"got inf",
    ),
    (
        "an infinite quantity",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            ramps: {source_voltage: inf V/s}
        """,
        5,
        r"not finite",
    ),
    (
        "baud rate on a VISA resource",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: TCPIP::10.0.0.5::INSTR
            options:
              timeout: 2
              baud_rate: 9600
        """,
        7,
        r"serial options \(baud_rate\) only apply to ASRL resources",
    ),
    (
        "an unknown transport option",
        """\
        instruments:
          tc:
            driver: tc200
            resource: COM3
            options: {baudrate: 115200}
        """,
        5,
        r"the serial transport has no option 'baudrate'",
    ),
    (
        "a transport option of the wrong type",
        """\
        instruments:
          tc:
            driver: tc200
            resource: COM3
            options:
              parity: none
              baud_rate: fast
        """,
        7,
        r"baud_rate must be a whole number, not 'fast'",
    ),
    (
        "a control character",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: GPIB0::18::INSTR
            settings: {source_function: "voltage\\x00"}
        """,
        5,
        r"control character '\\x00'",
    ),
    (
        "a control character YAML itself refuses",
        "instruments:\n  smu:\n    driver: keithley2450\x07\n",
        3,
        r"the character '\\x07' \(code 0x7\) is not allowed in YAML",
    ),
    (
        "an unclosed double quote",
        """\
        instruments:
          smu:
            driver: "keithley2450
            resource: GPIB0::18::INSTR
            timeout: 2
        """,
        3,
        r"the quote opened here is never closed",
    ),
    (
        "an unclosed single quote",
        """\
        instruments:
          smu:
            driver: keithley2450
            resource: 'GPIB0::18::INSTR
            timeout: 2
            settings: {nplc: 1}
        """,
        4,
        r"the quote opened here is never closed",
    ),
    (
        "an unclosed bracket",
        """\
        instruments:
          smu:
            driver: keithley2450
            settings: {nplc: 1
            resource: GPIB0::18::INSTR
        """,
        4,
        r"the bracket opened here is never closed",
    ),
    (
        "a merge key that is not a mapping",
        """\
        instruments:
          smu:
            <<: [1, 2]
            driver: keithley2450
        """,
        3,
        r"a merge key \(<<\) takes a mapping",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "reason"), [case[1:] for case in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_file_names_its_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(StationError, match=reason) as caught:
        load_station(path)
    assert caught.value.line == line
    assert str(path) in str(caught.value)
    assert labkit.instruments() == []


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path):
    path = write(tmp_path, b"instruments:\n  smu:\n    driver: keithley2450 # caf\xe9\n")
    with pytest.raises(StationError, match=r"byte 0xe9 at offset \d+ is not UTF-8") as caught:
        load_station(path)
    assert caught.value.line == 3


def test_an_alias_that_contains_itself_is_refused(tmp_path):
    path = write(tmp_path, "instruments: &loop\n  smu: {driver: keithley2450, x: *loop}\n")
    with pytest.raises(StationError, match=r"contains it|deeper"):
        load_station(path)


def test_merge_keys_share_a_block_and_keys_written_win(tmp_path):
    path = write(
        tmp_path,
        """\
        simulated: true
        bench: {time_scale: 0}
        defaults: &smu
          driver: keithley2450
          timeout: 1
          settings: {nplc: 1}
        instruments:
          smu:
            <<: *smu
            settings: {nplc: 2}
            limits:
              source_voltage: {max: 500 V}
        """,
    )
    # "defaults" is not a station key: the merge source has to live somewhere the schema
    # knows, so this file is refused — at the unknown key, with its line...
    with pytest.raises(StationError, match="unknown key 'defaults'") as caught:
        load_station(path)
    assert caught.value.line == 3
    # ... while a merge inside the instruments works, lines included.
    path = write(
        tmp_path,
        """\
        simulated: true
        bench: {time_scale: 0}
        instruments:
          smu: &smu
            driver: keithley2450
            timeout: 1
            settings: {nplc: 2}
          smu2:
            <<: *smu
            twin: smu
            settings: {nplc: 5}
            limits:
              source_voltage: {max: 500 V}
        """,
    )
    with pytest.raises(StationError, match="upper limit 500 V") as caught:
        load_station(path)
    assert caught.value.line == 13


def test_an_unreachable_later_instrument_leaves_the_earlier_one_untouched(tmp_path):
    lab = Lab(prefix="st1")
    try:
        path = write(
            tmp_path,
            f"""\
            instruments:
              source:
                driver: {SMU}
                resource: labsim://st1smu
                settings: {{output: true, voltage: 0.5 V}}
              meter:
                driver: tests.simdevices:Dmm
                resource: labsim://nobody-here
            """,
        )
        lab.smu_sim.received.clear()
        with pytest.raises(ConnectionLost) as caught:
            load_station(path)
        error = caught.value
        assert error.line == 8  # the type is kept (except ConnectionLost works) and the line said
        assert f"{path}, line 8 (instruments.meter.resource)" in str(error)
        sent = list(lab.smu_sim.received)
        assert sent, "the SMU was connected (identified, read)..."
        assert not [m for m in sent if m.startswith(("OUTP 1", "VOLT 0.5"))], "...not configured"
        assert labkit.instruments() == [lab.smu, lab.dmm, lab.stage]  # only the Lab's own
    finally:
        lab.close()


def test_a_failure_while_configuring_brings_back_what_was_configured(tmp_path):
    lab = Lab(prefix="st2")
    try:
        path = write(
            tmp_path,
            f"""\
            instruments:
              source:
                driver: {SMU}
                resource: labsim://st2smu
                settings: {{output: true, voltage: 0.5 V}}
              hot:
                driver: tests.simdevices:Stage
                resource: labsim://st2stage
                settings:
                  heater: 5
            """,
        )
        # The stage reports an error for the first command it is sent (a *CLS when connected),
        # so the first setting it is given is refused: after the SMU was configured.
        lab.stage_sim.faults.inject("error", code=-222, message="Data out of range")
        with pytest.raises(InstrumentError, match="Data out of range") as caught:
            load_station(path)
        error = caught.value
        assert error.line == 10
        assert "instruments.hot.settings.heater" in str(error)
        assert "source, hot went back to safe values" in str(error)
        assert "VOLT 0.5" in lab.smu_sim.received  # it was configured...
        assert lab.smu_sim.value("output") is False  # ...and made safe again
        assert lab.smu_sim.value("voltage") == 0.0
    finally:
        lab.stage_sim.faults.clear()
        lab.close()


def test_a_library_exception_does_not_escape_bare(tmp_path, monkeypatch):
    import serial

    def broken(*args, **kwargs):
        raise serial.SerialException("device reports readiness to read but returned no data")

    monkeypatch.setattr(serial, "serial_for_url", broken)
    monkeypatch.setattr("labkit.transports._serial.SerialTransport.open", lambda self: broken())
    path = write(
        tmp_path,
        """\
        instruments:
          tc:
            driver: tc200
            resource: /dev/ttyUSB7
        """,
    )
    with pytest.raises(StationError, match="SerialException: device reports") as caught:
        load_station(path)
    assert caught.value.line == 4
    assert isinstance(caught.value.__cause__, serial.SerialException)


def test_a_camera_setting_typo_is_found_before_anything_is_configured(tmp_path):
    pytest.importorskip("harvesters")
    lab = Lab(prefix="st3")
    try:
        path = write(
            tmp_path,
            f"""\
            instruments:
              source:
                driver: {SMU}
                resource: labsim://st3smu
                settings: {{output: true}}
              cam:
                driver: genicam
                resource: genicam://VikyTL_DEV_red@viky
                settings:
                  widht: 320
            """,
        )
        with pytest.raises(StationError, match="'width'") as caught:
            load_station(path)
        assert caught.value.line == 10
        assert "OUTP 1" not in lab.smu_sim.received
    finally:
        lab.close()
