"""Faults: an instrument failing mid-run, an unwritable data root."""

from __future__ import annotations

import time

import numpy as np
import pytest

import labkit
from labkit.core import ConfigurationError, ConnectionLost, InstrumentTimeout
from labkit.runs import Sweep
from tests.simdevices import RESISTANCE


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_instrument_fault_mid_run_fails_the_run_and_keeps_the_points(slow_lab):
    lab = slow_lab
    lab.smu.output = True
    run = labkit.run(
        Sweep(lab.smu.settings.voltage, np.linspace(0, 2, 200), read=[lab.dmm.readings.current]),
        name="faulty",
    )
    wait_for(lambda: run.points >= 10)
    lab.dmm_sim.faults.inject("disconnect")
    with pytest.raises(ConnectionLost) as caught:
        run.wait()
    assert run.status == "failed"
    assert run.error is caught.value
    ds = run.dataset
    assert ds.attrs["status"] == "failed"
    error = ds.attrs["error"]
    assert error["type"].endswith("ConnectionLost")
    assert error["instrument"] == "dmm"
    assert "Sweep(smu.voltage)" in error["step"]
    assert "disconnected" in error["message"] or "lost" in error["message"].lower()
    written = int(ds.attrs["points_written"])
    assert written >= 10
    acquired = ds.dmm_current.values
    assert np.isfinite(acquired[:written]).all()
    np.testing.assert_allclose(acquired[:written], ds.smu_voltage.values[:written] / RESISTANCE)
    assert np.isnan(acquired[written:]).all()
    assert ds.time.isnull().values[written:].all()
    # The outputs the run touched went to their safe values.
    assert lab.smu_sim.value("voltage") == 0.0
    assert lab.smu_sim.value("output") is False
    assert ds.attrs["made_safe"]["smu"]["voltage"] == 0.0
    assert labkit.find_runs(status="failed")[0].id == run.id


def test_a_timeout_mid_run_is_recorded_with_the_command(lab):
    lab.dmm_sim.faults.inject("timeout", count=None)
    lab.dmm._options["timeout"] = 0.2
    lab.dmm.transport.timeout = 0.2
    run = labkit.sweep(lab.smu.settings.voltage, [0.1, 0.2], read=[lab.dmm.readings.current])
    with pytest.raises(InstrumentTimeout):
        run.wait()
    error = run.dataset.attrs["error"]
    assert error["command"] == "MEAS:CURR?"
    assert error["resource"].startswith("labsim://")
    lab.dmm_sim.faults.clear()


def test_an_unwritable_data_root_is_refused_before_the_run_starts(lab, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data root should be")
    before = [m for m in lab.smu_sim.received if m.startswith("VOLT")]
    with pytest.raises(ConfigurationError, match="not writable") as caught:
        labkit.sweep(
            lab.smu.settings.voltage,
            [0, 1],
            read=[lab.dmm.readings.current],
            data_root=blocker / "data",
        )
    assert "LABKIT_DATA" in str(caught.value)
    assert [m for m in lab.smu_sim.received if m.startswith("VOLT")] == before


def test_a_failing_step_of_a_plugin_fails_the_run_with_its_error(lab):
    class Broken:
        def prepare(self, plan):
            pass

        async def run(self, ctx):
            raise ValueError("the plugin could not compute")

    run = labkit.run(Sweep(lab.smu.settings.voltage, [0.5, 1], Broken()))
    with pytest.raises(ValueError, match="could not compute"):
        run.wait()
    error = run.dataset.attrs["error"]
    assert error["type"] == "builtins.ValueError"
    assert "Broken" in error["step"]
    assert lab.smu_sim.value("voltage") == 0.0
