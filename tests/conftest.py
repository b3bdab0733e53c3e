"""Fixtures shared by the whole suite: every test starts with no instruments open and nothing
served that an earlier test served.

Tests that need labkit's compiled parts (the C extension, the simulated libpvcam, gcc and its
sanitizers) skip where they are missing, with a reason starting with :data:`NEEDS_NATIVE`.
With ``LABKIT_REQUIRE_NATIVE=1`` (CI sets it, and installs the compiler itself) such a skip is
a failure: a build that silently lost its C parts must not pass as green.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import labkit
from labkit import sim
from labkit.sim import _served

_names = itertools.count()

NEEDS_NATIVE = "needs labkit's compiled parts"
REQUIRE_NATIVE = os.environ.get("LABKIT_REQUIRE_NATIVE", "") not in ("", "0")


def _insist_on_native(report: Any) -> None:
    """Turn a skip for missing compiled parts into a failure, when CI asks for them."""
    if not (REQUIRE_NATIVE and report.skipped):
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if NEEDS_NATIVE in reason:
        report.outcome = "failed"
        report.longrepr = f"{reason}\n(LABKIT_REQUIRE_NATIVE is set, so this is a failure)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    _insist_on_native(report)
    return report


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
