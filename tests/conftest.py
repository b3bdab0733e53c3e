"""Fixtures shared by the whole suite: every test starts with no instruments open."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

import labkit
from labkit import sim

_names = itertools.count()


@pytest.fixture(autouse=True)
def _no_instruments_left() -> Iterator[None]:
    yield
    labkit.close_all()


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
