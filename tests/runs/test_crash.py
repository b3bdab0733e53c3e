"""SIGKILL at a random moment loses nothing reported stored, and publishes no half point.

Each kind of run (sweep, time series, PVCAM stream, GenICam stream) is killed at random
moments by :mod:`tests.runs.crash`: every point the run reported stored before the kill is in
the store, equal; every point the store publishes has its data; plain ``xr.open_zarr`` opens
every store. ``LABKIT_CRASH_KILLS`` kills per kind (3 by default; 20 for issue 13's 80).
"""

from __future__ import annotations

import os

import pytest

import labkit
from labkit.core import MissingVendorLibrary
from tests.runs.crash import kill_at_random

KILLS = int(os.environ.get("LABKIT_CRASH_KILLS", "3"))


def _pvcam_missing() -> bool:
    try:
        from labkit.sim import pvcam

        pvcam.library_path()
    except MissingVendorLibrary:
        return True
    return False


def _genicam_missing() -> bool:
    try:
        import harvesters.core  # noqa: F401

        from labkit.drivers.cameras.genicam import simulated_producer

        simulated_producer()
    except Exception:
        return True
    return False


KINDS = [
    "sweep",
    "timeseries",
    pytest.param(
        "pvcam", marks=pytest.mark.skipif(_pvcam_missing(), reason="simulated libpvcam not built")
    ),
    pytest.param(
        "genicam",
        marks=pytest.mark.skipif(_genicam_missing(), reason="harvesters or viky not available"),
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(KILLS))
@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_at_a_random_moment(tmp_path, kind, seed):
    root = tmp_path / "data"
    outcome = kill_at_random(kind, seed, str(root))
    assert outcome.opened, f"plain xr.open_zarr could not open {outcome.store} cleanly"
    assert outcome.lost == [], "points reported stored were lost"
    assert outcome.torn == [], "points published with data missing"
    listed = labkit.runs(root=root)
    if outcome.store is None or not list(listed):
        assert outcome.reported == 0
        return
    (info,) = listed
    assert info.status == "interrupted"
    assert info.stored_status == "running"
    assert info.points >= outcome.reported
    reopened = labkit.open_run(info)
    assert reopened.attrs["status"] == "interrupted"
