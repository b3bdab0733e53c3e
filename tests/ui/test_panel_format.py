"""How panels word values: slider steps and readouts, dropdown labels, units."""

from __future__ import annotations

import pytest

from labkit import Setting
from labkit.ui._format import (
    choice_label,
    format_quantity,
    format_value,
    nice_step,
    plain_text,
    readout_format,
    unit_label,
)


@pytest.mark.parametrize(
    ("low", "high", "step"),
    [(0, 30, 0.05), (0, 1, 0.001), (-10, 10, 0.02), (0, 5000, 5), (1e-6, 2e-6, 1e-9)],
)
def test_a_slider_gets_about_a_thousand_round_steps(low: float, high: float, step: float) -> None:
    found = nice_step(low, high, "float")
    assert found == pytest.approx(step)
    assert 200 <= (high - low) / found <= 1000


def test_integer_sliders_step_by_one_and_show_whole_numbers() -> None:
    assert nice_step(0, 100_000, "int") == 1
    assert readout_format(1, "int") == "d"


@pytest.mark.parametrize(
    ("step", "fmt"), [(0.05, ".2f"), (0.5, ".1f"), (0.25, ".2f"), (5, ".0f"), (1e-4, ".4f")]
)
def test_the_readout_shows_one_step_and_no_more(step: float, fmt: str) -> None:
    assert readout_format(step, "float") == fmt


def test_discrete_numbers_are_labelled_with_prefixed_units() -> None:
    spec = Setting(float, unit="s", choices={1e-3: 0, 3e-3: 1, 1: 2}, get="T?", set="T {}").spec
    assert [choice_label(c, spec) for c in spec.choices] == ["1 ms", "3 ms", "1 s"]
    enum_spec = Setting(choices={"fast": "F", "slow": "S"}, get="M?", set="M {}").spec
    assert [choice_label(c, enum_spec) for c in enum_spec.choices] == ["fast", "slow"]


def test_units_read_as_people_write_them() -> None:
    assert [unit_label(u) for u in ("degC", "uA", "ohm", "V/s", None)] == [
        "°C",
        "µA",
        "Ω",
        "V/s",
        "",
    ]


def test_values_read_plainly() -> None:
    switch = Setting(bool, get="O?", set="O {}").spec
    volts = Setting(unit="V", get="V?", set="V {}").spec
    stepped = Setting(unit="V", step=0.5, get="V?", set="V {}").spec
    assert format_value(True, switch) == "on"
    assert format_value(None, volts) == "—"
    assert format_value(2.0000000001, volts) == "2 V"
    assert format_value(1234567.0, volts) == "1.23457 MV"
    assert format_value(12.0, stepped) == "12 V"


@pytest.mark.parametrize(
    ("value", "unit", "resolution", "text"),
    [
        (105e-6, "A", None, "105 µA"),
        (0.63, "V", None, "0.63 V"),
        (0.6300000001, "V", None, "0.63 V"),
        (1e-9, "A", None, "1 nA"),
        (0.05, "A", None, "50 mA"),
        (1.05, "A", None, "1.05 A"),
        (-3, "A", None, "-3 A"),
        (0, "V", None, "0 V"),
        (2.5e-3, "V", None, "2.5 mV"),
        (20e3, "Hz", None, "20 kHz"),
        (1e4, "ohm", None, "10 kΩ"),
        (3600, "s", None, "3600 s"),  # seconds take no prefix above one
        (25, "degC", None, "25 °C"),
        (532, "nm", None, "532 nm"),
        (12.25, "V", 0.5, "12.2 V"),
        (0.125, "V", 0.001, "0.125 V"),
        (7, None, None, "7"),
        (float("inf"), "A", None, "∞ A"),
    ],
)
def test_numbers_read_with_si_prefixes_at_their_resolution(
    value: float, unit: str | None, resolution: float | None, text: str
) -> None:
    assert format_quantity(value, unit, resolution=resolution) == text


def test_plain_text_is_what_the_html_shows() -> None:
    assert plain_text('<span class="x">3 &amp; 4</span>  <i>V</i>') == "3 & 4 V"
