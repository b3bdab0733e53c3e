"""An analyst computes on a reopened run with a dask.distributed cluster."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.runs import Grid
from tests.simdevices import RESISTANCE

distributed = pytest.importorskip("distributed")


def test_a_local_cluster_computes_on_a_reopened_run(lab):
    vs = np.linspace(0, 1, 40)
    run = labkit.run(
        Grid(
            (lab.stage.settings.heater, [0.0, 1.0, 2.0]),
            (lab.smu.settings.voltage, vs),
            read=[lab.dmm.readings.current],
        ),
        name="for-dask",
    )
    run.wait()
    ds = labkit.open_run(run.id).chunk({"stage_heater": 1})
    assert ds.dmm_current.data.numblocks == (3, 1)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        biased = ds.isel(smu_voltage=slice(1, None))
        conductance = biased.dmm_current / biased.smu_voltage
        mean = conductance.mean("smu_voltage").compute()
        assert client.scheduler_info()["workers"]
    np.testing.assert_allclose(mean.values, [1 / RESISTANCE] * 3)
