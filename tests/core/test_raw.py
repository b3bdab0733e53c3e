"""Raw messages are read before they are sent: a declared set command is checked like a set,
and a locked instrument takes unknown commands only with the instructor's key."""

from __future__ import annotations

import pytest

import labkit
from labkit import InterlockError, LimitError, LockedError, Setting, ValidationError
from labkit.core._raw import (
    RawCommand,
    check_raw,
    guards_in_force,
    split_commands,
    split_parameters,
)


def test_compound_commands_follow_scpi_header_paths():
    assert split_commands("SOUR:VOLT 1;CURR 2\n*OPC?") == ["SOUR:VOLT 1", "SOUR:CURR 2", "*OPC?"]
    assert split_commands(":SOUR:VOLT 1;:OUTP ON") == ["SOUR:VOLT 1", "OUTP ON"]
    assert split_commands('DISP:TEXT "a;b";*CLS') == ['DISP:TEXT "a;b"', "*CLS"]


def test_parameters_split_at_commas_outside_quotes():
    assert split_parameters(' 10, "def,buf";ONCE') == ["10", '"def,buf";ONCE']
    assert split_parameters("1,'a,b' ,  C") == ["1", "'a,b'", "C"]


class _Spec:
    def __init__(self, template: str) -> None:
        self.set = template


class _Handle:
    def __init__(self, template: str) -> None:
        self.spec = _Spec(template)
        self.instrument = None


@pytest.mark.parametrize(
    ("template", "parameters", "value"),
    [
        ('TRAC:POIN {}, "defbuffer1"', '100, "defbuffer1"', "100"),
        ('TRAC:POIN {}, "defbuffer1"', "100,'defbuffer1'", "100"),
        ('TRAC:POIN {}, "defbuffer1"', '100, "defbuffer2"', None),
        ('TRAC:POIN {}, "defbuffer1"', "100", None),
        ("SOUR:LIST CH1, {}", "ch1, 1,2,3", "1,2,3"),  # a value with commas keeps them
        ("SOUR:LIST CH1, {}", "CH2, 1", None),
        ("VOLT {}", "1,5", "1,5"),  # the whole parameter text, as before
    ],
)
def test_fixed_parameters_beside_the_value_must_be_the_templates(template, parameters, value):
    command = RawCommand.of(_Handle(template))
    assert command is not None
    assert command.value_in(parameters) == value


@pytest.mark.parametrize("template", ["APPL {}, {}", "DISP:TEXT pre{}", "{}:VOLT 1"])
def test_a_template_whose_value_is_not_one_whole_parameter_is_not_recognised(template):
    assert RawCommand.of(_Handle(template)) is None


@pytest.mark.parametrize(
    ("message", "error", "why"),
    [
        ("VOLT 50", LimitError, "above the upper hard limit 30 V"),
        ("voltage 31", LimitError, "30 V"),  # long form, lower case
        (":VOLT 5;CURR 2.5", LimitError, "soft limit 2 A"),
        ("OUT1:VOLTAGE 7", LimitError, "6 V"),  # a channel's own command
        ("VOLT MAX", ValidationError, "cannot tell which value 'MAX' is"),
        ("MODE XX", ValidationError, "cannot tell which value"),
    ],
)
def test_a_declared_set_command_is_checked_like_a_set(supply, message, error, why):
    with pytest.raises(error, match=why):
        check_raw(supply, message, key=None)


def test_good_values_pass_and_say_what_they_set(supply):
    found = check_raw(supply, "VOLTage 5;OUTP ON;MODE CC;*OPC?", key=None)
    assert [(h.full_name, v) for h, v in found] == [
        ("psu.voltage", 5.0),
        ("psu.output", True),
        ("psu.mode", "constant current"),
    ]
    # Unknown: the declared soft limit on the current limit is a guard labkit cannot check it
    # against, so it needs raw_access (without a key: nobody locked anything).
    with pytest.raises(LockedError, match="cannot check it"):
        check_raw(supply, "*RST", key=None)
    assert check_raw(supply, "*RST", key=None, raw_access=True) == []


def test_a_locked_instrument_takes_unknown_commands_only_with_the_key(supply):
    supply.settings.current_limit.lock(value=1, reason="LED lab", key="s3cret")
    for message in ("*RST", "SYST:PRES", "*TST?", b"\x01\x02"):
        with pytest.raises(LockedError, match="instructor's key") as refused:
            check_raw(supply, message, key=None)
        assert refused.value.instrument == "psu"
        with pytest.raises(LockedError):
            check_raw(supply, message, key="guess")
        check_raw(supply, message, key="s3cret")
    for query in ("*IDN?", "SYST:ERR?", "MEAS:VOLT?"):
        check_raw(supply, query, key=None)
    with pytest.raises(LockedError, match="locked at 1"):
        check_raw(supply, "CURR 1.5", key="s3cret")  # the key opens raw I/O, not the lock


def test_interlocks_guard_raw_commands_too(supply, thermometer, thermometer_sim):
    thermometer_sim.reading_functions["temperature"] = lambda sim: 400.0
    supply.settings.voltage.interlock(thermometer.readings.temperature < 350)
    with pytest.raises(InterlockError, match=r"tc\.temperature < 350 K"):
        check_raw(supply, "VOLT 1", key=None)


def test_every_shipped_scpi_driver_has_its_set_commands_recognised():
    """A driver whose templates labkit cannot pick values out of would slip past the check."""
    from importlib.metadata import entry_points

    unrecognised = []
    for point in entry_points(group="labkit.drivers"):
        cls = point.load()
        if not issubclass(cls, labkit.ScpiInstrument):
            continue
        for name, spec in cls._labkit_specs.items():
            if spec.role == "setting" and isinstance(spec.set, str) and "{self." not in spec.set:
                fake = type("H", (), {"spec": spec, "instrument": None})()
                if RawCommand.of(fake) is None:
                    unrecognised.append(f"{cls.__name__}.{name}: {spec.set!r}")
    assert unrecognised == []


class _Relay(labkit.ScpiInstrument):
    """Nothing limited: a switch and a word."""

    models = ("R1",)
    engaged = Setting(bool, get="ENG?", set="ENG {}", bool_tokens=("ON", "OFF"), doc="Relay")


def test_the_drivers_own_limits_guard_raw_io_and_a_ramp_is_one(supply):
    guards = guards_in_force(supply)
    assert "psu.voltage is limited to 0 V … 30 V" in guards
    assert "psu.current_limit has soft limits (0 A … 2 A)" in guards
    assert "psu.aux.voltage is limited to 0 V … 6 V" in guards  # channels too
    supply.settings.voltage.ramp_rate = 1
    assert "psu.voltage ramps at 1 V/s" in guards_in_force(supply)
    assert guards_in_force(supply)[0] == "psu.current_limit has soft limits (0 A … 2 A)"


def test_only_an_instrument_with_nothing_to_guard_takes_unknown_commands_unasked(
    unique_name, served
):
    from labkit.sim import ScpiSimulator, serve

    served.append(unique_name)
    serve(unique_name, ScpiSimulator(_Relay, unique_name))
    relay = _Relay(f"labsim://{unique_name}", name="relay", timeout=0.5)
    try:
        assert guards_in_force(relay) == []
        assert check_raw(relay, "*RST;SYST:PRES", key=None) == []
        found = check_raw(relay, "ENG ON", key=None)
        assert [(h.full_name, v) for h, v in found] == [("relay.engaged", True)]
    finally:
        relay.close()
