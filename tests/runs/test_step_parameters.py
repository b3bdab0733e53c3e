"""Every parameter of every built-in step, fed bad values: refused when the plan is made, with
a clear message naming the parameter, before any byte reaches an instrument (the simulator's
own log of what arrived proves it) and before any run store is made.

Set-point values are the business of ``tests/test_bad_input.py`` (every setting of every
driver); here are the other numbers a plan holds: durations, counts, rates, gains,
tolerances, targets and limits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import labkit
from labkit import LabkitError
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A
from labkit.runs import Feedback, Read, Repeat, Set, Settle, Sweep, TimeSeries, Wait

BAD = {
    "inf": math.inf,
    "-inf": -math.inf,
    "NaN": math.nan,
    "'inf'": "inf",
    "'nan s'": "nan s",
    "-1": -1,
    "2**70": 2**70,
    "-(2**70)": -(2**70),
    "a NUL": "1\x00",
    "an injected command": "1\n*RST",
    "text": "abc",
    "None-like text": "None",
    "a megabyte": "1" * 1_000_000,
    "a list": [1, 2],
    "True": True,
}
WRONG_DIMENSION = {"'1 V' for a time": "1 V", "'3 count' for a time": "3 count"}


@pytest.fixture
def lab(bench, data_root):
    smu = Keithley2450(bench.address("smu"), name="smu", timeout=2.0)
    dmm = Keysight34465A(bench.address("dmm"), name="dmm", timeout=2.0)
    yield smu, dmm, bench
    smu.close()
    dmm.close()


def _steps(smu: Any, dmm: Any) -> dict[str, Callable[[Any], Any]]:
    """Each parameter, by name, as a step with that one parameter bad."""
    voltage = smu.settings.source_voltage
    current = dmm.readings.voltage
    settled = current.between(-1, 1)

    def feedback(**bad: Any) -> Any:
        given: dict[str, Any] = {"target": 0.1, "kp": 1.0, "tolerance": 0.01, **bad}
        return Feedback(voltage, current, given.pop("target"), **given)

    return {
        "Wait(duration)": lambda v: Wait(v),
        "Sweep(settle)": lambda v: Sweep(voltage, [0, 0.1], read=[current], settle=v),
        "Grid(settle)": lambda v: labkit.runs.Grid({voltage: [0, 0.1]}, read=[current], settle=v),
        "Repeat(count)": lambda v: Repeat(v, Read(current)),
        "TimeSeries(count)": lambda v: TimeSeries([current], count=v),
        "TimeSeries(duration)": lambda v: TimeSeries([current], duration=v),
        "TimeSeries(rate)": lambda v: TimeSeries([current], count=2, rate=v),
        "TimeSeries(interval)": lambda v: TimeSeries([current], count=2, interval=v),
        "Settle(hold)": lambda v: Settle(settled, hold=v),
        "Settle(timeout)": lambda v: Settle(settled, timeout=v),
        "Settle(interval)": lambda v: Settle(settled, interval=v),
        "Feedback(target)": lambda v: feedback(target=v),
        "Feedback(kp)": lambda v: feedback(kp=v),
        "Feedback(ki)": lambda v: feedback(ki=v),
        "Feedback(kd)": lambda v: feedback(kd=v),
        "Feedback(tolerance)": lambda v: feedback(tolerance=v),
        "Feedback(hold)": lambda v: feedback(hold=v),
        "Feedback(interval)": lambda v: feedback(interval=v),
        "Feedback(timeout)": lambda v: feedback(timeout=v),
        "Feedback(output_limits)": lambda v: feedback(output_limits=(v, 1)),
    }


# Which bad values are in fact fine for a parameter: a gain may be negative or huge (any finite
# number is a gain), a rate of 2**70 Hz means "as fast as the instruments answer", and a
# target, a tolerance or an output limit is a voltage, where -1 V is a value like any other
# (and the meter's reading declares no range, so a target or tolerance is any finite voltage;
# the output limits are checked against the source's range).
GAIN = {"-1", "2**70", "-(2**70)"}
ALLOWED = {
    "TimeSeries(rate)": {"2**70"},
    "Feedback(target)": GAIN,
    "Feedback(kp)": GAIN,
    "Feedback(ki)": GAIN,
    "Feedback(kd)": GAIN,
    "Feedback(tolerance)": GAIN,  # its size is what counts
    "Feedback(output_limits)": {"-1"},
}
NOT_TIMES = {"Repeat(count)", "TimeSeries(count)", "TimeSeries(rate)"} | {name for name in ALLOWED}


def _refusal(attempt: Callable[[], Any]) -> BaseException | None:
    try:
        accepted = attempt()
    except Exception as error:  # which one is the test's to judge
        return error
    accepted.abort()  # it must not hold the setting for the next attempt
    return None


def test_every_step_parameter_refuses_bad_values_before_any_byte(lab, data_root):
    smu, dmm, bench = lab
    steps = _steps(smu, dmm)
    before = {twin: list(bench.instrument(twin).received) for twin in ("smu", "dmm")}
    refusals = 0
    accepted = []
    for parameter, make in steps.items():
        values = dict(BAD)
        if parameter not in NOT_TIMES:
            values.update(WRONG_DIMENSION)
        for why, value in values.items():
            if why in ALLOWED.get(parameter, ()):
                continue
            where = f"{parameter} = {why}"
            error = _refusal(
                lambda make=make, value=value: labkit.run(
                    Set(smu.settings.source_voltage, 0), make(value)
                )
            )
            if error is None:
                accepted.append(where)
                continue
            if not isinstance(error, LabkitError):
                pytest.fail(f"{where}: a raw {type(error).__name__} escaped: {error!r}"[:500])
            text = str(error)
            assert len(text) < 600, f"{where}: the message quotes too much: {text[:200]}…"
            assert error.hint or "must" in text or "not" in text, f"{where}: {text}"
            refusals += 1
    assert accepted == []
    assert refusals > 200
    after = {twin: list(bench.instrument(twin).received) for twin in ("smu", "dmm")}
    assert after == before, "a refused plan sent something"
    assert not list(data_root.glob("**/*.zarr")), "a refused plan made a run store"
