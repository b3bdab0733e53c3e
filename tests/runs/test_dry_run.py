"""Before anything moves, every set-point of the plan is checked against the limits."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.core import (
    ChoiceError,
    ConfigurationError,
    LimitError,
    LockedError,
    NotConnectedError,
    SettingTypeError,
    UnitError,
)
from labkit.runs import Feedback, Grid, Set, Sweep


def volt_commands(lab):
    return [m for m in lab.smu_sim.received if m.upper().startswith("VOLT ")]


def test_a_plan_with_a_point_outside_the_limits_is_refused_before_anything_moves(lab, data_root):
    before = volt_commands(lab)
    values = np.r_[np.linspace(0, 9, 10), 12.0, 1.0]
    with pytest.raises(LimitError) as caught:
        labkit.sweep(lab.smu.settings.voltage, values, read=[lab.dmm.readings.current])
    error = caught.value
    assert error.instrument == "smu"
    assert error.setting == "voltage"
    assert error.value == 12.0
    assert error.limit == 10
    message = str(error)
    assert "Sweep(smu.voltage)" in message
    assert "point 10" in message
    assert "12 V" in message
    assert volt_commands(lab) == before, "nothing was sent to the instrument"
    assert not list(data_root.glob("*/*.zarr")), "no run was created"


def test_the_whole_nested_plan_is_checked_not_only_the_first_step(lab):
    plan = [
        Set(lab.smu.settings.voltage, 1),
        Grid(
            (lab.stage.settings.heater, [0, 5, 25]),
            (lab.smu.settings.voltage, [0, 1]),
            read=[lab.dmm.readings.current],
        ),
    ]
    with pytest.raises(LimitError, match=r"Grid\(stage.heater, smu.voltage\).*25 W"):
        labkit.run(*plan)
    assert volt_commands(lab) == []


def test_soft_limits_and_locks_in_force_now_are_respected(lab):
    lab.smu.settings.voltage.limit(max=2)
    with pytest.raises(LimitError, match="soft limit"):
        labkit.dry_run(Sweep(lab.smu.settings.voltage, [0, 1, 3]))
    lab.smu.settings.voltage.limit(max=10)
    lab.smu.settings.voltage.lock(value=0.5, key="k")
    try:
        with pytest.raises(LockedError):
            labkit.dry_run(Sweep(lab.smu.settings.voltage, [0.5, 1]))
    finally:
        lab.smu.settings.voltage.unlock("k")


def test_bad_values_are_refused_with_their_own_error(lab):
    with pytest.raises(UnitError):
        labkit.dry_run(Sweep(lab.smu.settings.voltage, ["1 A"]))
    with pytest.raises(SettingTypeError):
        labkit.dry_run(Sweep(lab.smu.settings.voltage, [0.0, float("nan")]))
    with pytest.raises(ChoiceError):
        labkit.dry_run(Sweep(lab.dmm.settings.mode, ["dc", "rms"]))
    with pytest.raises(LimitError, match="20 V"):
        labkit.dry_run(Sweep(lab.smu.settings.voltage, ["1 V", "20 V"]))


def test_dry_run_reports_what_it_checked(lab):
    report = labkit.dry_run(
        Sweep(lab.smu.settings.voltage, np.linspace(-1, 2, 31)),
        Set(lab.smu.settings.output, True),
    )
    assert len(report) == 2
    first = report[0]
    assert (first.setting, first.count, first.low, first.high) == ("smu.voltage", 31, -1.0, 2.0)
    assert "smu.voltage: 31 values in -1 V … 2 V" in repr(report)
    plan = labkit.runs.plan(
        Sweep(lab.smu.settings.voltage, [0, 1], read=[lab.dmm.readings.current])
    )
    assert plan.total == 2
    assert plan.check()[0].count == 2


def test_a_feedback_output_range_outside_the_limits_is_refused(lab):
    step = Feedback(
        lab.stage.settings.heater,
        lab.stage.readings.temperature,
        "300 K",
        kp=1,
        tolerance=0.1,
        output_limits=(0, 30),
    )
    with pytest.raises(LimitError, match="30 W"):
        labkit.dry_run(step)


def test_a_closed_instrument_is_refused_before_the_run(lab):
    lab.dmm.close()
    with pytest.raises(NotConnectedError, match="dmm"):
        labkit.sweep(lab.smu.settings.voltage, [0, 1], read=[lab.dmm.readings.current])


def test_plans_must_be_made_of_steps_and_handles(lab):
    with pytest.raises(ConfigurationError, match="not an experiment step"):
        labkit.run("smu.voltage")
    with pytest.raises(ConfigurationError, match="setting handle"):
        Sweep(lab.smu.voltage, [0, 1])
    with pytest.raises(ConfigurationError, match="at least one step"):
        labkit.run()


def test_a_plan_value_that_overflows_an_int_setting_is_a_limit_error(data_root):
    with labkit.sim.Bench(seed=0, time_scale=0, instruments=["dmm"]) as bench:
        from labkit.drivers.keysight import Keysight34465A

        dmm = Keysight34465A(bench.address("dmm"), name="dmm", timeout=5)
        try:
            for huge in (2**70, 10**400, "1e30"):
                with pytest.raises(LimitError) as caught:
                    labkit.run(Set(dmm.settings.trigger_count, huge))
                error = caught.value
                assert (error.instrument, error.setting) == ("dmm", "trigger_count")
                assert "step Set(dmm.trigger_count)" in str(error)
                assert len(str(error)) < 400
            with pytest.raises(LimitError, match=r"above the upper hard limit 1000000000"):
                labkit.sweep(dmm.settings.trigger_count, [1, 2**40])
        finally:
            dmm.close()
    assert not list(data_root.glob("*/*.zarr"))
