"""The feedback step settles a simulated thermal sample with a PID loop."""

from __future__ import annotations

import math

import pytest

import labkit
from labkit.runs import PID, Feedback, SettleTimeout, Sweep


def test_pid_settles_the_thermal_sample_within_tolerance(lab):
    stage = lab.stage
    step = Feedback(
        stage.settings.heater,
        stage.readings.temperature,
        "300 K",
        kp=0.6,
        ki=1.2,
        tolerance="0.1 K",
        hold="0.4 s",
        interval="30 ms",
        timeout="20 s",
        record=True,
    )
    run = labkit.run(step, name="settle")
    ds = run.wait()
    assert run.status == "completed"
    final = stage.read("temperature")
    assert abs(final - 300.0) < 0.3
    settled = [e for e in ds.attrs["events"] if e["event"] == "settled"]
    assert len(settled) == 1
    assert abs(settled[0]["value"] - 300.0) <= 0.1
    # The steady state needs 2 W (290 K ambient, 5 K/W): the loop found it.
    assert settled[0]["output"] == pytest.approx(2.0, abs=0.3)
    trajectory = ds.feedback_stage_temperature.values
    assert trajectory.size >= 5
    assert trajectory[0] < 295
    assert abs(trajectory[-1] - 300) <= 0.1
    assert ds.feedback_output.attrs["units"] == "W"
    assert (ds.feedback_output.values >= 0).all()
    assert (ds.feedback_output.values <= 20).all()


def test_pid_settles_at_each_point_of_a_sweep(lab):
    stage = lab.stage
    settle = Feedback(
        stage.settings.heater,
        stage.readings.temperature,
        300,
        kp=0.6,
        ki=1.2,
        tolerance=0.2,
        hold=0.2,
        interval=0.03,
        timeout=20,
    )
    ds = labkit.run(
        Sweep(lab.smu.settings.voltage, [0.1, 0.2], settle, read=[stage.readings.temperature])
    ).wait()
    # The read comes before the body at each point; the second point starts settled.
    assert abs(float(ds.stage_temperature[1]) - 300) < 0.5


def test_a_loop_that_cannot_reach_its_target_times_out_and_fails(lab):
    step = Feedback(
        lab.stage.settings.heater,
        lab.stage.readings.temperature,
        "400 K",  # 20 W gives at most 390 K
        kp=1.0,
        tolerance=0.1,
        interval=0.02,
        timeout=0.3,
    )
    run = labkit.run(step)
    with pytest.raises(SettleTimeout, match="did not settle at 400 K"):
        run.wait()
    assert run.status == "failed"
    assert lab.stage_sim.value("heater") == 0.0, "the heater went back to its safe value"


def test_pid_saturates_without_winding_up():
    controller = PID(kp=1.0, ki=1.0, low=0.0, high=1.0)
    controller.start(target=10.0, measured=0.0, output=0.0)
    for _ in range(50):
        assert controller.update(10.0, 0.0, 0.1) == 1.0
    windup = controller.integral
    # Once the measurement passes the target, the output comes off the limit at once.
    assert controller.update(10.0, 12.0, 0.1) < 1.0
    assert math.isfinite(windup)
    assert windup < 10


def test_pid_starts_without_a_bump():
    controller = PID(kp=2.0, ki=0.5)
    controller.start(target=5.0, measured=4.0, output=3.0)
    assert controller.update(5.0, 4.0, 0.0) == pytest.approx(3.0)
