"""The run engine: non-blocking, pausable, abortable, suspended by conditions, awaitable."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

import labkit
from labkit.runs import Suspender, Sweep
from tests.simdevices import RESISTANCE


def wait_for(predicate, timeout=20.0, what="condition"):
    """Poll until ``predicate()`` is true (a test's patience, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_the_call_returns_at_once_and_the_calling_thread_stays_free(slow_lab):
    run = labkit.sweep(
        slow_lab.smu.settings.voltage,
        np.linspace(0, 1, 60),
        read=[slow_lab.dmm.readings.current],
    )
    assert not run.done
    assert run.status == "running"
    # The calling thread does its own work while the run advances on labkit's loop.
    seen, work = set(), 0
    while not run.done:
        work += sum(range(1000))
        seen.add(run.points)
    assert len(seen) > 2, "the run progressed while this thread was busy"
    assert work > 0
    ds = run.wait()
    assert run.points == 60
    assert run.progress == 1.0
    np.testing.assert_allclose(ds.dmm_current.values, np.linspace(0, 1, 60) / RESISTANCE)


def test_pause_holds_between_points_and_resume_carries_on(slow_lab):
    run = labkit.sweep(
        slow_lab.smu.settings.voltage,
        np.linspace(0, 1, 80),
        read=[slow_lab.dmm.readings.current],
    )
    wait_for(lambda: run.points >= 5, what="five points")
    run.pause()
    wait_for(lambda: run.status == "paused", what="pause")
    held = run.recorded
    time.sleep(0.3)
    assert run.recorded == held, "no point is acquired while paused"
    assert run.status == "paused"
    # Everything acquired is stored while paused, and readable there (a second reader).
    wait_for(lambda: run.points == held, what="the points acquired to be stored")
    live = run.dataset
    assert live.attrs["status"] == "running"
    assert live.attrs["points_written"] == held
    assert np.isfinite(live.dmm_current.values[:held]).all()
    run.resume()
    ds = run.wait()
    assert run.status == "completed"
    assert ds.attrs["points_written"] == 80
    events = [e["event"] for e in ds.attrs["events"]]
    assert events[:2] == ["paused", "resumed"]
    np.testing.assert_allclose(ds.dmm_current.values, np.linspace(0, 1, 80) / RESISTANCE)


def test_abort_brings_touched_outputs_to_safe_values(slow_lab):
    lab = slow_lab
    lab.smu.output = True
    run = labkit.run(
        Sweep(lab.smu.settings.voltage, np.linspace(1, 5, 200), read=[lab.dmm.readings.current]),
    )
    wait_for(lambda: run.points >= 5, what="five points")
    ds = run.abort()
    assert run.status == "aborted"
    assert ds.attrs["status"] == "aborted"
    assert lab.smu_sim.value("voltage") == 0.0
    assert lab.smu_sim.value("output") is False
    assert lab.smu.voltage == 0.0
    written = ds.attrs["points_written"]
    assert 5 <= written < 200
    recorded = ds.dmm_current.values[: int(written)]
    np.testing.assert_allclose(recorded, ds.smu_voltage.values[: int(written)] / RESISTANCE)
    assert ds.attrs["made_safe"]["smu"] == {"voltage": 0.0, "output": False}


def test_abort_stops_a_ramp_where_it_is_then_ramps_to_safe(lab):
    lab.smu.settings.voltage.ramp_rate = 20  # V/s: 0 → 5 V takes 0.25 s
    try:
        run = labkit.run(
            Sweep(lab.smu.settings.voltage, [5.0, 0.0], read=[lab.dmm.readings.current])
        )
        wait_for(lambda: 0.2 < lab.smu_sim.value("voltage") < 4.0, what="the ramp to start")
        run.abort()
        assert run.status == "aborted"
        assert run.points == 0
        assert lab.smu_sim.value("voltage") == 0.0
        commands = [m for m in lab.smu_sim.received if m.startswith("VOLT ")]
        assert float(commands[-1].split()[1]) == 0.0
        assert max(float(c.split()[1]) for c in commands) < 5.0, "the ramp never reached 5 V"
    finally:
        lab.smu.settings.voltage.ramp_rate = None


def test_a_suspender_pauses_while_its_condition_fails(slow_lab):
    lab = slow_lab
    sample = lab.sample
    temperature = lab.stage.readings.temperature
    run = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 120),
        read=[lab.dmm.readings.current],
        suspenders=[Suspender(temperature.between(280, 300), interval=0.02)],
    )
    wait_for(lambda: run.points >= 5, what="five points")
    sample.ambient = 320.0  # the sample warms out of the band
    wait_for(lambda: run.status == "suspended", what="suspension")
    assert "stage.temperature" in run.message
    held = run.recorded
    time.sleep(0.2)
    assert run.recorded <= held + 1
    sample.ambient = 290.0
    ds = run.wait()
    assert run.status == "completed"
    events = [e["event"] for e in ds.attrs["events"]]
    assert "suspended" in events
    assert "resumed" in events
    assert ds.attrs["suspenders"] == [
        "(stage.temperature >= 280 K) and (stage.temperature <= 300 K)"
    ]
    np.testing.assert_allclose(ds.dmm_current.values, np.linspace(0, 1, 120) / RESISTANCE)
    assert ds.attrs["points_written"] == 120


def test_a_suspender_failing_at_the_start_holds_the_first_point(lab):
    lab.sample.ambient = 350.0
    lab.sample.temperature = 350.0
    run = labkit.sweep(
        lab.smu.settings.voltage,
        [0.1, 0.2],
        read=[lab.dmm.readings.current],
        suspenders=[lab.stage.readings.temperature < 300],
    )
    wait_for(lambda: run.status == "suspended", what="suspension")
    assert run.points == 0
    run.abort()
    assert run.status == "aborted"
    assert run.points == 0


def test_a_run_can_be_awaited(lab):
    async def main():
        run = labkit.sweep(lab.smu.settings.voltage, [0.1, 0.2], read=[lab.dmm.readings.current])
        return await run

    ds = asyncio.run(main())
    np.testing.assert_allclose(ds.dmm_current.values, [1e-4, 2e-4])


def test_run_traits_can_be_observed_from_another_thread(slow_lab):
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    run = labkit.sweep(
        slow_lab.smu.settings.voltage,
        np.linspace(0, 1, 30),
        read=[slow_lab.dmm.readings.current],
    )

    def observer(change):
        with lock:
            seen.append((change["name"], threading.current_thread().name))

    run.observe(observer, names=["points", "status", "progress"])
    run.wait()
    names = {name for name, _ in seen}
    assert {"points", "status", "progress"} <= names
    assert run.total == 30
    assert repr(run).startswith(f"<Run {run.id} 'sweep' completed 100%, 30/30 points")


def test_wait_returns_only_once_the_status_says_how_the_run_ended(slow_lab):
    """A script reading ``run.status`` right after a failed ``wait()`` never sees ``running``
    (CI saw it once: the waiter woke while the traits were still being set)."""
    slow_lab.smu.output = True
    run = labkit.sweep(
        slow_lab.smu.settings.voltage, np.linspace(0, 1, 200), read=[slow_lab.dmm.readings.current]
    )
    returned = threading.Event()
    update = run._update

    def slow_final_update(**changes):
        if "status" in changes:
            # Observers are slow here: a waiter woken now would read the old status.
            returned.wait(1.0)
            assert run.done, "observers of the final status know the run is done"
        update(**changes)

    run._update = slow_final_update
    seen: list[str] = []

    def waiter():
        with pytest.raises(labkit.ConnectionLost):
            run.wait()
        seen.append(run.status)
        returned.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    wait_for(lambda: run.points >= 3)
    slow_lab.dmm_sim.faults.inject("disconnect")
    thread.join(60)
    assert seen == ["failed"]


def test_a_terminal_progress_bar_on_request(lab, capsys):
    labkit.sweep(
        lab.smu.settings.voltage,
        [0.0, 0.5, 1.0],
        read=[lab.dmm.readings.current],
        progress=True,
    ).wait()
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "sweep" in err


def test_run_metadata_names_where_it_came_from(lab):
    ds = labkit.sweep(lab.smu.settings.voltage, [0.0], read=[lab.dmm.readings.current]).wait()
    provenance = ds.attrs["provenance"]
    assert provenance["kind"] in ("script", "interactive")
    assert provenance["host"]
    assert provenance["versions"]["zarr"]
    assert "python" in provenance["versions"]
    assert ds.attrs["start_time"] < ds.attrs["end_time"]


def test_wait_from_the_loop_thread_is_refused(lab):
    from labkit.core import _loop

    run = labkit.sweep(lab.smu.settings.voltage, [0.0], read=[lab.dmm.readings.current])

    async def inside():
        with pytest.raises(RuntimeError, match="await run"):
            run.wait()
        return await run

    _loop.run_sync(inside())


def test_readings_of_different_instruments_are_read_concurrently(lab):
    """Each instrument answers only once the other one was asked too: read one after the
    other, the first would wait forever (the barrier breaks and the run fails)."""
    both_asked = threading.Barrier(2, timeout=20)
    for sim, instrument in ((lab.smu_sim, lab.smu), (lab.dmm_sim, lab.dmm)):
        original = sim.handle

        def answer_when_both_asked(message, _original=original):
            if message.upper().startswith("MEAS"):
                both_asked.wait()
            return _original(message)

        sim.handle = answer_when_both_asked
        instrument.transport.timeout = 30  # the barrier decides, not a clock
    ds = labkit.sweep(
        lab.smu.settings.output, [True], read=[lab.smu.readings.current, lab.dmm.readings.current]
    ).wait()
    assert ds.smu_current.size == 1
    assert ds.dmm_current.size == 1
    assert not both_asked.broken


def test_a_setting_belongs_to_one_run_at_a_time_and_the_instrument_knows_which(lab):
    from labkit.runs import SettingInUse, Wait

    first = labkit.run(Sweep(lab.smu.settings.voltage, [0.1, 0.2], Wait(600)), name="first")
    try:
        with pytest.raises(SettingInUse, match=f"being set by run {first.id} \\('first'"):
            labkit.sweep(lab.smu.settings.voltage, [0.5], read=[lab.dmm.readings.current])
        # one record, on the instrument, where a server sharing it looks
        assert lab.smu.run_holds.holder("voltage") == first.id
    finally:
        first.abort(timeout=60)
    assert lab.smu.run_holds.holder("voltage") is None  # released when the run ended
    second = labkit.sweep(lab.smu.settings.voltage, [0.5], read=[lab.dmm.readings.current])
    assert second.wait().attrs["status"] == "completed"
