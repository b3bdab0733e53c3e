"""Input hygiene: only finite numbers, units of the same kind, printable text of sensible size.

What reaches ``coerce`` may be a typo, a station file or a fuzzer's output. Each refusal here
happens before any I/O (``coerce`` does none) and must be cheap even for hostile input.
"""

from __future__ import annotations

import math
import time

import pint
import pytest

from labkit import LimitError, Setting, SettingTypeError, UnitError
from labkit.core._units import MAX_TEXT, shorten, to_number

Q = pint.get_application_registry().Quantity
PHASE = Setting(unit="deg", min=-360, max=730, set="PHAS {}").spec
NPLC = Setting(min=0.01, max=10, set="NPLC {}").spec
LEVEL = Setting(unit="V", set="LEV {}").spec  # no limits at all
DUTY = Setting(unit="%", min=0, max=100, set="DCYC {}").spec
RATE = Setting(unit="Hz", set="FREQ {}").spec
POWER = Setting(unit="W", set="POW {}").spec
COUNT = Setting(int, set="COUN {}").spec
TEXT = Setting(str, set="TEXT {}").spec
MODE = Setting(choices=["dc", "ac"], set="MODE {}").spec


@pytest.mark.parametrize(
    ("spec", "given"),
    [
        (LEVEL, math.inf),
        (LEVEL, -math.inf),
        (LEVEL, math.nan),
        (LEVEL, "inf"),
        (LEVEL, "-Infinity V"),
        (LEVEL, "1e999 V"),
        (LEVEL, 10**400),
        (LEVEL, Q(math.inf, "mV")),
        (LEVEL, Q(1e308, "kV")),  # finite in kV, infinite in V
        (RATE, "nan Hz"),
        (COUNT, math.inf),
        (COUNT, "nan"),
    ],
)
def test_non_finite_numbers_are_refused_even_without_limits(spec, given) -> None:
    with pytest.raises(SettingTypeError, match=r"finite|NaN|beyond") as refused:
        spec.coerce(given)
    assert refused.value.limit == "a finite number"


@pytest.mark.parametrize(
    ("spec", "given", "why"),
    [
        (PHASE, "1 dB", "is a level, and .* is an angle"),
        (PHASE, "50 %", "is a ratio, and .* is an angle"),
        (PHASE, "3 count", "is a count quantity"),
        (NPLC, "1 %", "takes a plain number"),
        (NPLC, "2 rad", "takes a plain number"),
        (NPLC, "1 dB", "takes a plain number"),
        (NPLC, Q(1, "percent"), "takes a plain number"),
        (DUTY, "1 dB", "is a level, and .* is a ratio"),
        (DUTY, "1 rad", "is an angle, and .* is a ratio"),
        (RATE, "1 rad/s", "radian"),
        (LEVEL, "5 A", "cannot be converted to V"),
    ],
)
def test_units_of_another_kind_never_convert_silently(spec, given, why) -> None:
    with pytest.raises(UnitError, match=why) as refused:
        spec.coerce(given, where="lockin.phase")
    assert refused.value.limit in (spec.unit, "a plain number")


@pytest.mark.parametrize(
    ("spec", "given", "expected"),
    [
        (PHASE, "1 rad", 57.29577951308232),
        (PHASE, "0.25 turn", 90.0),
        (DUTY, "5000 ppm", 0.5),
        (DUTY, 50, 50.0),  # a plain number is already in the declared unit
        (NPLC, "2", 2.0),
        (NPLC, Q(2), 2.0),  # a bare pint number too
        (POWER, "10 dBm", 0.01),  # a level of a power is a power
        (RATE, "1 kHz", 1000.0),
    ],
)
def test_units_of_the_same_kind_still_convert(spec, given, expected) -> None:
    assert spec.coerce(given) == pytest.approx(expected)


@pytest.mark.parametrize("given", ["1\x00V", "1 V\n", "1\rV", "\x1b[2J1 V", "1\u2028V", "1\x85V"])
def test_control_characters_are_refused(given) -> None:
    with pytest.raises(SettingTypeError, match="control character"):
        LEVEL.coerce(given)


@pytest.mark.parametrize("given", ["hello\n*RST", "A\x00", "line\u2029two"])
def test_text_settings_refuse_control_characters_too(given) -> None:
    with pytest.raises(SettingTypeError, match="control character"):
        TEXT.coerce(given)
    with pytest.raises(SettingTypeError, match="control character"):
        MODE.coerce(given)


def test_whole_numbers_stay_exact_and_must_fit_64_bits() -> None:
    assert COUNT.coerce(2**60 + 1) == 2**60 + 1  # not rounded through a float
    assert COUNT.coerce(2**63 - 1) == 2**63 - 1
    with pytest.raises(LimitError, match="does not fit a 64-bit integer") as refused:
        COUNT.coerce(2**70)
    assert refused.value.limit == (-(2**63), 2**63 - 1)
    with pytest.raises(LimitError, match="64-bit"):
        COUNT.coerce("1e30")


HOSTILE = [
    "1 V" + " " * 40_000 + "x",  # backtracked for seconds in the old unit regex
    "1 " + "V" * 30_000,  # pint alone took 17.5 s on this
    "1" * 1_000_000,
    "1 " + "µ" * 200_000 + "V",
    "(" * 100_000,
]


@pytest.mark.parametrize("given", HOSTILE, ids=["spaces", "units", "digits", "prefixes", "parens"])
def test_huge_text_is_refused_at_once_with_a_short_message(given) -> None:
    for spec in (LEVEL, TEXT, MODE, NPLC):
        with pytest.raises(SettingTypeError, match="too long") as refused:
            spec.coerce(given, where="inst.setting")
        message = str(refused.value)
        assert len(message) < 300, message
        assert f"{len(given):,} characters" in message


def _seconds_to_refuse(text: str, repeat: int = 5) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal
            LEVEL.coerce(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_refusing_text_takes_time_linear_in_its_length() -> None:
    """Linear, not merely fast: the cost per character does not grow with the length.

    Compared within this test (the best of several tries each), so the machine's load cancels;
    the bound is a factor, not a wall-clock margin. Each shape is the worst kind for a
    backtracking parser: a long run that almost matches, then fails at the end.
    """
    shapes = [
        lambda n: "1 V" + " " * n + "x",
        lambda n: "1" + " " * n + "V x",
        lambda n: "1 " + "V" * n + "@",
        lambda n: "1" * n + "e",
    ]
    for shape in shapes:
        short = _seconds_to_refuse(shape(MAX_TEXT // 8))
        long = _seconds_to_refuse(shape(MAX_TEXT - 8))
        huge = _seconds_to_refuse(shape(1_000_000))
        # 8x the characters may cost at most a little over 8x (quadratic would be 64x)...
        assert long < 24 * short + 2e-4, (shape(8), short, long)
        # ... and a megabyte is refused without being looked at.
        assert huge < 24 * short + 2e-4, (shape(8), short, huge)


def test_messages_never_embed_a_huge_value() -> None:
    assert len(shorten("x" * 1_000_000)) < 80
    assert shorten(10**5000) == "an integer of 16,610 bits"
    with pytest.raises(SettingTypeError) as refused:
        to_number(10**5000, "V", where="smu.voltage")
    assert len(str(refused.value)) < 200
