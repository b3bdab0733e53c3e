"""The feedback step settles a thermal sample with a PID loop: the virtual bench's, and ours."""

from __future__ import annotations

import math

import pytest

import labkit
from labkit.runs import PID, Feedback, SettleTimeout, Sweep
from tests.simdevices import Stage, serve_bench_stage


@pytest.fixture
def bench_stage(data_root):
    """The virtual bench's thermal stage (200× real time) behind a heater/thermometer stage."""
    with labkit.sim.Bench(seed=1, time_scale=200, prefix="pid") as bench:
        stage = Stage(serve_bench_stage(bench), name="stage")
        yield bench, stage
        stage.close()


def test_pid_settles_the_benchs_sample_within_tolerance(bench_stage):
    bench, stage = bench_stage
    step = Feedback(
        stage.settings.heater,
        stage.readings.temperature,
        "300 K",
        kp=0.8,
        ki=1.5,
        tolerance="0.05 K",
        hold="0.3 s",
        interval="20 ms",
        timeout="30 s",
        record=True,
    )
    run = labkit.run(step, name="settle")
    ds = run.wait()
    assert run.status == "completed"
    with bench.changing():
        assert abs(bench.thermal.sample_temperature - 300.0) < 0.1
    settled = [e for e in ds.attrs["events"] if e["event"] == "settled"]
    assert len(settled) == 1
    assert abs(settled[0]["value"] - 300.0) <= 0.05
    # The loop found the power that holds the sample at 300 K in the bench's physics.
    _, sample = bench.thermal.steady_state(settled[0]["output"])
    assert sample == pytest.approx(300.0, abs=0.2)
    trajectory = ds.feedback_stage_temperature.values
    assert trajectory.size >= 5
    assert trajectory[0] < 296
    assert abs(trajectory[-1] - 300) <= 0.05
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
