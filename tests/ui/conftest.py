"""Fixtures for headless panel tests: a fresh simulated supply per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import labkit
from tests.ui.panel_bench import Bench, Supply


@pytest.fixture
def bench() -> Iterator[Bench]:
    bench = Bench(Supply, timeout=1.0)
    yield bench
    bench.close()


@pytest.fixture
def make_bench() -> Iterator[Callable[..., Bench]]:
    made: list[Bench] = []

    def make(driver: type[labkit.Instrument], **options: Any) -> Bench:
        made.append(Bench(driver, **options))
        return made[-1]

    yield make
    for bench in made:
        bench.close()
