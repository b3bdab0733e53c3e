"""Shared test fixtures: every test starts with no instrument open and nothing served."""

from __future__ import annotations

import pytest

import labkit
from labkit.sim import _served


@pytest.fixture(autouse=True)
def _isolated_instruments():
    """Close what a test opened and forget what it served (even when it failed)."""
    before = _served.served()
    yield
    labkit.close_all()
    for name in set(_served.served()) - set(before):
        _served.unserve(name)


@pytest.fixture
def bench():
    """A bench with a frozen clock: readings depend on the seed only."""
    from labkit.sim import Bench

    with Bench(seed=7, time_scale=0) as made:
        yield made
