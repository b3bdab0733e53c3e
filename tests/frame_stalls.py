"""Stalls injected into a camera stream's path to disk, for tests of its frame accounting.

No timing: a stall holds a thread on an event until the test lets it go, and the test waits
for what the stall must cause (frames lost at the disk, in the queue) before it does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from labkit.core import FrameQueue
from labkit.store._writer import RunWriter


class Gate:
    """Closed: whoever reaches it waits (``reached`` is set) until it is opened."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.reached = threading.Event()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def pass_(self) -> None:
        if not self._open.is_set():
            self.reached.set()
            self._open.wait(120)


def stall_disk(monkeypatch: pytest.MonkeyPatch, name: str) -> Gate:
    """A disk that stops taking ``name``'s frames while the gate is closed (the store's write
    of the frame waits: every frame written goes through ``RunWriter.record``)."""
    gate = Gate()
    record = RunWriter.record

    def slow_record(self: RunWriter, index: Any, values: Any, *, point: bool = True) -> int:
        if name in values:
            gate.pass_()
        return record(self, index, values, point=point)

    monkeypatch.setattr(RunWriter, "record", slow_record)
    return gate


def stall_consumer(monkeypatch: pytest.MonkeyPatch, maxsize: int) -> Gate:
    """A stream that stops taking frames off its queue (the one of ``maxsize``) while the gate
    is closed: the queue then drops its oldest frames."""
    gate = Gate()
    get = FrameQueue.get

    def slow_get(self: FrameQueue, timeout: float | None = None) -> Any:
        if self.maxsize == maxsize:
            gate.pass_()
        return get(self, timeout)

    monkeypatch.setattr(FrameQueue, "get", slow_get)
    return gate


def wait_until(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("the condition never came true")


def check_accounting(ds: Any, name: str) -> dict[str, Any]:
    """Every number from the first to the last is either stored or lost at exactly one stage,
    the stored ones are those in the dataset, and the counts agree; returns the accounting."""
    accounting = ds.attrs["frames"][name]
    stored = [int(n) for n in ds[f"{name}_frame_number"].values]
    lost: dict[str, set[int]] = {}
    for stage, ranges in accounting["lost_ranges"].items():
        lost[stage] = {n for first, last in ranges for n in range(first, last + 1)}
        assert len(lost[stage]) == accounting["lost_in"][stage]
    every = set(stored)
    assert len(every) == len(stored) == accounting["stored"]
    for stage, numbers in lost.items():
        assert not every & numbers, f"frames both stored and lost in the {stage}"
        every |= numbers
    expected = set(range(accounting["first"], accounting["last"] + 1))
    assert every == expected, f"unaccounted: {sorted(expected - every)[:10]}"
    assert accounting["lost"] == sum(len(v) for v in lost.values())
    assert (np.diff(stored) > 0).all()
    event = next(e for e in ds.attrs["events"] if e["event"] == "camera stream")
    assert event["stored"] == accounting["stored"]
    assert event["lost_in"] == accounting["lost_in"]
    accounting["numbers"] = {"stored": stored, **{k: sorted(v) for k, v in lost.items()}}
    return accounting
