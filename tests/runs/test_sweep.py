"""Sweeps, grids, repeats and sequences store what a user expects, where they expect it."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import dask.array
import numpy as np
import pytest

import labkit
from labkit.core import ConfigurationError
from labkit.runs import Read, Repeat, Sequence, Set, Sweep, Wait, grid_positions
from tests.simdevices import RESISTANCE


@pytest.fixture
def resistor_bench(data_root):
    """The virtual bench with a resistor, a Keithley 2450 and a Keysight 34465A across it."""
    from labkit.drivers.keithley import Keithley2450
    from labkit.drivers.keysight import Keysight34465A

    with labkit.sim.Bench(seed=3, dut="resistor", time_scale=0, prefix="iv") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        dmm = Keysight34465A(bench.address("dmm"), name="dmm")
        smu.current_limit = "10 mA"
        smu.output = True
        yield smu, dmm
        smu.close()
        dmm.close()


def test_iv_sweep_on_the_bench_returns_a_dataset_with_units_and_the_snapshot(resistor_bench):
    smu, dmm = resistor_bench
    voltages = np.linspace(-1, 1, 21)
    run = labkit.sweep(
        smu.settings.source_voltage,
        voltages,
        read=[smu.readings.current, dmm.readings.voltage],
        name="iv",
        metadata={"sample": "R1"},
    )
    ds = run.wait()
    assert run.status == "completed"
    assert ds.attrs["status"] == "completed"
    assert list(ds.dims) == ["smu_source_voltage"]
    np.testing.assert_allclose(ds.smu_source_voltage.values, voltages)
    # The bench's resistor is 1 kΩ (with seeded noise): Ohm's law, and the DMM across it.
    np.testing.assert_allclose(ds.smu_current.values, voltages / 1000, atol=2e-6)
    np.testing.assert_allclose(ds.dmm_voltage.values, voltages, atol=2e-3)
    assert ds.smu_source_voltage.attrs["units"] == "V"
    assert ds.smu_current.attrs["units"] == "A"
    assert ds.dmm_voltage.attrs["units"] == "V"
    assert ds.smu_current.attrs["long_name"] == "smu current"
    assert ds.smu_current.attrs["source"] == "smu.current"
    assert isinstance(ds.smu_current.data, dask.array.Array)
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert bool((ds.time.diff("smu_source_voltage") >= np.timedelta64(0, "ns")).all())
    snapshot = ds.attrs["snapshot"]
    assert snapshot["smu"]["settings"]["current_limit"]["value"] == pytest.approx(0.01)
    assert snapshot["smu"]["settings"]["output"]["value"] is True
    assert snapshot["smu"]["identity"]["model"].endswith("2450")
    assert snapshot["dmm"]["identity"]["model"] == "34465A"
    assert ds.attrs["metadata"] == {"sample": "R1"}
    assert ds.attrs["instruments"] == ["dmm", "smu"]
    assert ds.attrs["points_written"] == 21
    assert ds.attrs["provenance"]["versions"]["labkit"] == labkit.__version__
    assert ds.attrs["plan"]["steps"][0]["step"] == "Sweep"

    # A new process finds the run by id and reads the same values.
    script = (
        "import json, sys, labkit\n"
        "ds = labkit.open_run(sys.argv[1])\n"
        "print(json.dumps({k: ds[k].values.tolist() for k in "
        "('smu_source_voltage', 'smu_current', 'dmm_voltage')} | "
        "{'units': ds.smu_current.attrs['units'], 'time': ds.time.values.astype('int64').tolist(),"
        " 'snapshot': ds.attrs['snapshot']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, run.id],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    other = json.loads(done.stdout)
    for name in ("smu_source_voltage", "smu_current", "dmm_voltage"):
        assert other[name] == ds[name].values.tolist(), name
    assert other["time"] == ds.time.values.astype("int64").tolist()
    assert other["units"] == "A"
    assert other["snapshot"] == snapshot


def test_values_may_carry_units(lab):
    run = labkit.sweep(
        lab.smu.settings.voltage, ["0 mV", "250 mV", "0.5 V"], read=[lab.dmm.readings.current]
    )
    ds = run.wait()
    np.testing.assert_allclose(ds.smu_voltage.values, [0, 0.25, 0.5])
    np.testing.assert_allclose(ds.dmm_current.values, [0, 0.25e-3, 0.5e-3])


def test_readings_can_be_named(lab):
    ds = labkit.sweep(
        lab.smu.settings.voltage, [0.1, 0.2], read={"I": lab.dmm.readings.current}
    ).wait()
    assert "I" in ds.data_vars
    assert ds.I.attrs["units"] == "A"
    np.testing.assert_allclose(ds.I.values, [1e-4, 2e-4])


def test_the_same_data_twice_in_one_place_is_refused(lab):
    with pytest.raises(ConfigurationError, match="recorded twice"):
        labkit.sweep(
            lab.smu.settings.voltage,
            [0, 1],
            Read(lab.dmm.readings.current),
            read=[lab.dmm.readings.current],
        )


def test_grid_stores_every_point_at_its_place_in_snake_order(lab):
    vs = np.linspace(0, 1, 4)
    heats = [0.0, 1.0, 2.0]
    run = labkit.grid(
        {lab.stage.settings.heater: heats, lab.smu.settings.voltage: vs},
        read=[lab.dmm.readings.current],
        snake=True,
    )
    ds = run.wait()
    assert ds.dmm_current.dims == ("stage_heater", "smu_voltage")
    expected = np.broadcast_to(vs / RESISTANCE, (3, 4))
    np.testing.assert_allclose(ds.dmm_current.values, expected)
    # Acquisition order (by time stamp) is the snake: the voltage runs back on odd rows.
    order = np.argsort(ds.time.values.ravel(), kind="stable")
    walked = [np.unravel_index(i, (3, 4)) for i in order]
    assert [tuple(int(x) for x in p) for p in walked] == list(grid_positions((3, 4), True))
    assert [p[1] for p in walked[:8]] == [0, 1, 2, 3, 3, 2, 1, 0]


def test_grid_positions_snake_keeps_neighbours_adjacent():
    positions = list(grid_positions((2, 3, 2), snake=True))
    assert len(positions) == len(set(positions)) == 12
    for a, b in itertools.pairwise(positions):
        assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) == 1
    assert list(grid_positions((2, 2), snake=False)) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_nested_sweeps_and_repeats_make_dimensions(lab):
    outer = Sweep(
        lab.stage.settings.heater,
        [0.0, 2.0],
        Sweep(lab.smu.settings.voltage, [0.1, 0.2, 0.3], read=[lab.dmm.readings.current]),
    )
    ds = labkit.run(Repeat(2, outer), name="nested").wait()
    assert ds.dmm_current.dims == ("repeat", "stage_heater", "smu_voltage")
    assert ds.dmm_current.shape == (2, 2, 3)
    np.testing.assert_allclose(ds.dmm_current.values[1, 1], [1e-4, 2e-4, 3e-4])
    np.testing.assert_array_equal(ds.repeat.values, [0, 1])


def test_sequences_of_set_wait_and_read(lab):
    plan = Sequence(
        Set(lab.smu.settings.voltage, "0.7 V"),
        Wait("10 ms"),
        Read(lab.dmm.readings.current, name="after"),
    )
    run = labkit.run(plan, Set(lab.smu.settings.output, True), name="sequence")
    ds = run.wait()
    assert ds.dmm_current.dims == ()
    assert float(ds.dmm_current) == pytest.approx(0.7e-3)
    assert lab.smu.output is True
    assert lab.smu_sim.value("output") is True
    assert ds.attrs["name"] == "sequence"


def test_several_read_steps_get_their_own_time_coordinates(lab):
    sweep = Sweep(
        lab.smu.settings.voltage,
        [0.1, 0.2],
        Read(lab.dmm.readings.current, name="before"),
        Wait(0.001),
        Read(after=lab.dmm.readings.current, name="after"),
    )
    ds = labkit.run(sweep).wait()
    assert {"time_before", "time_after"} <= set(ds.coords)
    assert bool((ds.time_after > ds.time_before).all())


def test_choice_settings_are_stored_as_strings(lab):
    ds = labkit.sweep(
        lab.dmm.settings.mode, ["dc", "ac", "dc"], read=[lab.dmm.settings.mode]
    ).wait()
    assert ds.dmm_mode.values.tolist() == ["dc", "ac", "dc"]
    assert ds.dmm_mode_readback.values.tolist() == ["dc", "ac", "dc"]


def test_a_run_lists_in_the_catalog_and_opens_by_name(lab, data_root):
    run = labkit.sweep(lab.smu.settings.voltage, [0, 1], read=[lab.dmm.readings.current], name="iv")
    run.wait()
    found = labkit.find_runs(name="iv")
    assert [r.id for r in found] == [run.id]
    assert found.latest.status == "completed"
    assert found.latest.points == 2
    assert labkit.open_run("iv").attrs["run_id"] == run.id
    assert str(data_root) in str(run.path)
