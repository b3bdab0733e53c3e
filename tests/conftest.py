"""Shared fixtures: a data root per test, and the simulated bench of ``simdevices``."""

from __future__ import annotations

import itertools

import pytest

_prefixes = itertools.count()


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A fresh LABKIT_DATA for the test."""
    root = tmp_path / "data"
    monkeypatch.setenv("LABKIT_DATA", str(root))
    return root


@pytest.fixture
def bench(data_root):
    """SMU, DMM (a 1 kΩ resistor between them) and a thermal stage, connected."""
    from simdevices import Bench

    made = Bench(prefix=f"b{next(_prefixes)}")
    yield made
    made.close()


@pytest.fixture
def slow_bench(data_root):
    """The same bench with 5 ms of instrument latency, so runs take a while."""
    from simdevices import Bench

    made = Bench(prefix=f"s{next(_prefixes)}", latency=0.005)
    yield made
    made.close()
