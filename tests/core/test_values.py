"""Values in (what people type) and out (what instruments answer): units, kinds, choices, replies."""

from __future__ import annotations

import math

import pint
import pytest

from labkit import ChoiceError, LimitError, ReplyError, Setting, SettingTypeError, UnitError
from labkit.core._units import to_number

VOLTS = Setting(unit="V", min=-10, max=10, set="V {}").spec


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1.5, 1.5),
        (2, 2.0),
        ("500 mV", 0.5),
        ("500mV", 0.5),
        ("-2.5e-1 V", -0.25),
        ("3", 3.0),
        (" 7 V ", 7.0),
        ("10000 µV", 0.01),
        (pint.get_application_registry().Quantity(250, "mV"), 0.25),
    ],
)
def test_values_are_stored_as_plain_numbers_in_the_declared_unit(given, expected) -> None:
    assert VOLTS.coerce(given) == pytest.approx(expected)
    assert isinstance(VOLTS.coerce(given), float)


def test_temperatures_convert_with_their_offsets() -> None:
    assert to_number("25 degC", "K", where="t") == pytest.approx(298.15)
    assert to_number("25 °C", "K", where="t") == pytest.approx(298.15)
    assert to_number("300 K", "degC", where="t") == pytest.approx(26.85)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ("5 A", UnitError, "cannot be converted to V"),
        ("5 blorps", UnitError, "not a unit pint knows"),
        ("1.2.3", SettingTypeError, "is not a number"),
        ("abc", SettingTypeError, "is not a number"),
        (True, SettingTypeError, "switch value, not a number"),
        (None, SettingTypeError, "a value is needed"),
        ([1], SettingTypeError, "is not a number"),
        ("nan", SettingTypeError, "NaN"),
    ],
)
def test_values_that_are_not_quantities_of_the_right_kind_are_refused(
    given, error, message
) -> None:
    with pytest.raises(error, match=message):
        VOLTS.coerce(given)


def test_integers_must_be_whole() -> None:
    spec = Setting(int, min=1, max=100, set="A {}").spec
    assert spec.coerce("12") == 12
    assert spec.coerce(3.0) == 3
    with pytest.raises(SettingTypeError, match="not a whole number"):
        spec.coerce(2.5)


def test_integer_limits_stay_integers_and_their_increment_is_enforced() -> None:
    """A camera's Width from 16 to 1024 in steps of 16: limits are ints (snapshots, panels and
    errors say 1024, not 1024.0) and a width off the increment is refused, naming the step."""
    from labkit.core._guards import check_value, hard_bounds

    spec = Setting(int, min=16, max=1024, step=16, set="W {}").spec
    assert spec.hard_range() == (16, 1024)
    assert all(type(v) is int for v in spec.hard_range())
    bounds = hard_bounds(spec)
    assert check_value(spec, 64, bounds, None) == 64
    with pytest.raises(LimitError, match=r"increment of 16 from 16.*nearest are 48 and 64"):
        check_value(spec, 50, bounds, None)
    with pytest.raises(LimitError, match=r"above the upper hard limit 1024") as caught:
        check_value(spec, 1040, bounds, None)
    assert "1024.0" not in str(caught.value)
    loose = Setting(int, min=1, max=100, set="A {}").spec  # no step: any whole number
    assert check_value(loose, 37, hard_bounds(loose), None) == 37


def test_switches_accept_words_and_refuse_other_numbers() -> None:
    spec = Setting(bool, set="O {}").spec
    assert spec.coerce("on") is True
    assert spec.coerce(0) is False
    with pytest.raises(SettingTypeError, match="not on/off"):
        spec.coerce(2)


def test_choices_match_labels_case_insensitively_and_list_the_alternatives() -> None:
    spec = Setting(choices={"sine": "SIN", "square": "SQU"}, set="FUNC {}").spec
    assert spec.coerce("SINE") == "sine"
    assert spec.token("square") == "SQU"
    with pytest.raises(ChoiceError, match="'sine', 'square'"):
        spec.coerce("triangle")


def test_discrete_numeric_choices_accept_units() -> None:
    spec = Setting(unit="s", choices={1e-3: 0, 3e-3: 1, 10e-3: 2}, set="OFLT {}").spec
    assert spec.coerce("3 ms") == 3e-3
    assert spec.token(3e-3) == "1"
    with pytest.raises(ChoiceError, match=r"1 ms, 3 ms, 10 ms"):
        spec.coerce("5 ms")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("+1.23456789E+00\n", 1.23456789), ("-5", -5.0), (".5", 0.5), ("  2.0e3 ", 2000.0)],
)
def test_numeric_replies_parse(reply, expected) -> None:
    assert VOLTS.from_reply(reply) == expected


@pytest.mark.parametrize("reply", ["", "abc", "1,2", "nan", "1.2.3", "1_000", "ERR"])
def test_a_reply_that_is_not_a_number_is_an_error_never_nan_or_zero(reply) -> None:
    with pytest.raises(ReplyError, match="expected a number"):
        VOLTS.from_reply(reply)


def test_replies_map_back_to_choices_and_switches() -> None:
    choice = Setting(choices={"sine": "SIN", "square": "SQU"}, set="F {}").spec
    assert choice.from_reply("SQU") == "square"
    assert choice.from_reply('"sin"') == "sine"
    with pytest.raises(ReplyError, match="none of the known tokens"):
        choice.from_reply("TRI")
    switch = Setting(bool, set="O {}", bool_tokens=("ON", "OFF")).spec
    assert switch.from_reply("ON") is True
    assert switch.from_reply("0") is False
    with pytest.raises(ReplyError, match="expected on/off"):
        switch.from_reply("maybe")


def test_formatted_tokens_round_trip_without_losing_precision() -> None:
    value = 1.234567891
    assert math.isclose(VOLTS.from_reply(VOLTS.token(value)), value, rel_tol=1e-10)
