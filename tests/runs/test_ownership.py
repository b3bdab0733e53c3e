"""A setting belongs to one run at a time; waiting out a run is told apart from a failed one."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import labkit
from labkit.runs import Set, SettingInUse
from tests.runs.test_engine import wait_for


def test_a_second_run_setting_the_same_setting_is_refused_naming_the_first(slow_lab):
    lab = slow_lab
    first = labkit.sweep(
        lab.smu.settings.voltage, np.linspace(0, 1, 400), read=[lab.dmm.readings.current]
    )
    wait_for(lambda: first.points >= 2, what="the first run going")
    sent = len(lab.smu_sim.received)
    with pytest.raises(SettingInUse) as refused:
        labkit.sweep(lab.smu.settings.voltage, [0.5, 0.6], name="second")
    error = refused.value
    assert error.run_id == first.id
    assert (error.instrument, error.setting) == ("smu", "voltage")
    assert f"run {first.id}" in str(error)
    assert "'sweep'" in str(error)
    # Reading what the first run sets is fine: only setting is exclusive.
    other = labkit.timeseries([lab.smu.readings.current], count=3, name="monitor")
    other.wait(30)
    assert other.status == "completed"
    first.abort()
    # The refused run sent nothing and left no store behind in the catalog.
    assert "VOLT 0.5" not in list(lab.smu_sim.received)[sent:]
    assert [r.name for r in labkit.find_runs()].count("second") == 0
    # Once the first run ended (and made its outputs safe), the setting is free again.
    again = labkit.sweep(lab.smu.settings.voltage, [0.5, 0.6], name="second")
    assert again.wait(30).attrs["status"] == "completed"


def test_a_step_setting_an_undeclared_setting_claims_it_when_it_sets_it(slow_lab):
    lab = slow_lab

    class SetsOnTheQuiet:
        """A plugin step that sets a setting its prepare() did not declare."""

        def prepare(self, plan):
            pass

        async def run(self, ctx):
            await ctx.set(lab.smu.settings.voltage, 0.25)

    first = labkit.sweep(
        lab.smu.settings.voltage, np.linspace(0, 1, 400), read=[lab.dmm.readings.current]
    )
    wait_for(lambda: first.points >= 2, what="the first run going")
    sneaky = labkit.run(SetsOnTheQuiet(), name="sneaky")
    with pytest.raises(SettingInUse, match=f"run {first.id}"):
        sneaky.wait(30)
    assert sneaky.status == "failed"
    assert "VOLT 0.25" not in lab.smu_sim.received
    first.abort()


def test_claims_are_all_or_nothing_and_released_when_a_run_fails(lab):
    blocker = labkit.run(
        Set(lab.stage.settings.heater, 1), labkit.runs.Wait("30 s"), name="blocker"
    )
    wait_for(lambda: lab.stage_sim.value("heater") == 1.0, what="the heater set")
    with pytest.raises(SettingInUse):
        labkit.run(Set(lab.smu.settings.voltage, 1), Set(lab.stage.settings.heater, 2))
    # smu.voltage was not kept by the refused run.
    assert labkit.run(Set(lab.smu.settings.voltage, 1)).wait(30).attrs["status"] == "completed"
    blocker.abort()
    assert labkit.run(Set(lab.stage.settings.heater, 2)).wait(30).attrs["status"] == "completed"


def test_a_wait_that_times_out_is_not_a_failed_run(slow_lab):
    run = labkit.sweep(slow_lab.smu.settings.voltage, np.linspace(0, 1, 400))
    with pytest.raises(labkit.RunWaitTimeout) as waited:
        run.wait(0.05)
    assert isinstance(waited.value, TimeoutError), "except TimeoutError still means: running"
    assert waited.value.run_id == run.id
    assert waited.value.status == "running"
    assert "goes on" in str(waited.value)
    assert not run.done
    run.abort()


def test_a_run_failing_on_an_instrument_timeout_is_not_a_timeouterror(lab):
    lab.dmm_sim.faults.inject("timeout", count=None)
    lab.dmm.transport.timeout = 0.2
    run = labkit.sweep(lab.smu.settings.voltage, [0.1, 0.2], read=[lab.dmm.readings.current])
    caught: BaseException | None = None
    try:
        run.wait(30)
    except TimeoutError:  # what a script polling a run writes
        pytest.fail("a failed run was taken for one still going")
    except labkit.InstrumentTimeout as error:
        caught = error
    assert run.status == "failed"
    assert isinstance(caught, labkit.InstrumentTimeout)
    assert caught.command == "MEAS:CURR?"
    lab.dmm_sim.faults.clear()


def test_an_abort_that_outlasts_its_timeout_says_so(lab):
    lab.smu.settings.voltage.ramp_rate = 1  # V/s: back from 0.4 V to safe 0 V takes 0.4 s
    run = labkit.run(Set(lab.smu.settings.voltage, 0.4), labkit.runs.Wait("30 s"))
    wait_for(lambda: lab.smu_sim.value("voltage") == 0.4, what="the ramp up")
    with pytest.raises(labkit.RunWaitTimeout, match="still being aborted"):
        run.abort(timeout=0.01)
    assert run.wait(30) is not None
    assert run.status == "aborted"
    assert lab.smu_sim.value("voltage") == 0.0


def test_cancelling_the_task_awaiting_a_run_aborts_the_run(slow_lab):
    run = labkit.sweep(
        slow_lab.smu.settings.voltage, np.linspace(0, 1, 400), read=[slow_lab.dmm.readings.current]
    )
    outcome: list[BaseException] = []

    async def awaiting() -> None:
        task = asyncio.ensure_future(run._wait_async())
        while run.points < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as error:
            outcome.append(error)

    thread = threading.Thread(target=asyncio.run, args=(awaiting(),))
    thread.start()
    thread.join(60)
    assert outcome, "the cancellation went through"
    assert run.done
    assert run.status == "aborted"
    assert "cancelled" in run.dataset.attrs["abort_reason"]
