"""Fixtures shared by the whole suite: every test starts with no instruments open and nothing
served that an earlier test served."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import sim
from labkit.sim import _served

_names = itertools.count()


@pytest.fixture(autouse=True)
def _no_instruments_left() -> Iterator[None]:
    before = set(_served.served())
    yield
    labkit.close_all()
    for name in set(_served.served()) - before:
        _served.unserve(name)


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses, for served simulators and instruments."""
    return f"t{next(_names)}"


@pytest.fixture
def served() -> Iterator[list[str]]:
    """Names appended here are unserved after the test."""
    names: list[str] = []
    yield names
    for name in names:
        sim.unserve(name)


@pytest.fixture
def bench() -> Iterator[sim.Bench]:
    """A bench with a frozen clock: readings depend on the seed only."""
    with sim.Bench(seed=7, time_scale=0) as made:
        yield made


# -- runs and storage ------------------------------------------------------------------------

_lab_prefixes = itertools.count()


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """A fresh LABKIT_DATA for the test: runs are written there."""
    root = tmp_path / "data"
    monkeypatch.setenv("LABKIT_DATA", str(root))
    return root


@pytest.fixture
def lab(data_root):
    """SMU, DMM (a 1 kΩ resistor between them) and a thermal stage of ``tests/simdevices``."""
    from tests.simdevices import Lab

    made = Lab(prefix=f"lab{next(_lab_prefixes)}")
    yield made
    made.close()


@pytest.fixture
def slow_lab(data_root):
    """The same instruments with 5 ms of latency, so runs take a while."""
    from tests.simdevices import Lab

    made = Lab(prefix=f"slow{next(_lab_prefixes)}", latency=0.005)
    yield made
    made.close()
