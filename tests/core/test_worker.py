"""The worker: one thread per instrument, and the inline path for instruments that prove instant."""

from __future__ import annotations

import threading
import time

import pytest

import labkit
from labkit import Reading, Setting
from labkit.core import _loop, _worker
from labkit.core._worker import INSTANT_WINDOW


class Clock:
    """The worker's clock, injected: an operation takes exactly as long as the test says, so
    "fast" and "slow" never depend on how loaded the machine is."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def perf_counter(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


CLOCK = Clock()


class Memory(labkit.Instrument):
    """An instrument whose far end is this process (like a simulator or a memory map)."""

    level = Setting(unit="V", min=-1, max=1, doc="Level")
    value = Reading(unit="V", doc="Value")
    delay = 0.0
    fail = False

    def _get_level(self) -> float:
        return getattr(self, "_level", 0.0)

    def _set_level(self, value: float) -> None:
        self._level = value

    def _get_value(self) -> float:
        if self.delay:
            CLOCK.advance(self.delay)
        if self.fail:
            raise labkit.InstrumentTimeout("no reply", command="VAL?")
        self.seen_on = threading.current_thread().name
        return 0.5


@pytest.fixture
def memory(monkeypatch):
    monkeypatch.setattr(_worker, "time", CLOCK)
    instrument = Memory(name="memory", connect=False)
    instrument._transport = None
    instrument.connected = True
    yield instrument
    instrument.close()


def test_an_in_process_instrument_proves_instant_and_then_reads_on_the_callers_thread(memory):
    for _ in range(INSTANT_WINDOW):
        memory.read("value")
        assert memory.seen_on.startswith("labkit-memory")  # still the worker's thread
    assert memory.instant
    memory.read("value")
    assert memory.seen_on == threading.current_thread().name


def test_a_slow_instrument_keeps_its_io_on_the_worker(memory):
    memory.delay = 0.002
    for _ in range(2 * INSTANT_WINDOW):
        memory.read("value")
    assert not memory.instant
    assert memory.seen_on.startswith("labkit-memory")


def test_one_descheduled_operation_does_not_make_an_instrument_slow(memory):
    for _ in range(INSTANT_WINDOW):
        memory.read("value")
    memory.delay = 0.002  # one operation loses its core for a while
    memory.read("value")
    memory.delay = 0.0
    assert memory.instant


def test_a_failure_sends_the_instrument_back_to_its_worker(memory):
    for _ in range(INSTANT_WINDOW):
        memory.read("value")
    memory.fail = True
    with pytest.raises(labkit.InstrumentTimeout):
        memory.read("value")
    memory.fail = False
    assert not memory.instant
    memory.read("value")
    assert memory.seen_on.startswith("labkit-memory")


def test_nothing_overtakes_an_operation_queued_for_the_worker(memory):
    for _ in range(INSTANT_WINDOW):
        memory.read("value")
    order: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.05)
        order.append("queued first")

    memory._worker.submit(slow)
    started.wait()
    memory.level = 0.25  # must wait for the queued operation, not run inline before it
    order.append("set")
    assert order == ["queued first", "set"]


def test_the_async_face_uses_the_same_rule(memory):
    async def reads() -> str:
        for _ in range(INSTANT_WINDOW + 1):
            await memory.readings.value.read_async()
        return memory.seen_on

    assert _loop.run_sync(reads()) == "labkit-loop"
