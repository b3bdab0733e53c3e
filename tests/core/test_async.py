"""The async face the run engine uses, on labkit's background loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from labkit.core import _loop


def test_the_async_face_runs_io_on_the_instruments_workers(supply, thermometer, supply_sim) -> None:
    threads: set[str] = set()
    original = supply._do_set

    def spy(*args):
        threads.add(threading.current_thread().name)
        return original(*args)

    supply._do_set = spy

    async def point() -> tuple[float, float]:
        await supply.settings.voltage.set_async("3 V")
        return await asyncio.gather(
            supply.readings.measured_voltage.read_async(),
            thermometer.readings.temperature.read_async(),
        )

    assert _loop.run_sync(point()) == [3.0, 300.0]
    assert threads == {next(iter(threads))}
    assert next(iter(threads)).startswith("labkit-psu")
    assert supply_sim.value("voltage") == 3.0


def test_readings_of_different_instruments_overlap(
    supply, thermometer, supply_sim, thermometer_sim
) -> None:
    # Each simulator answers only once both queries are in: read one after the other, the
    # first would wait for the second forever (the barrier breaks and the reading fails).
    both_asked = threading.Barrier(2, timeout=10)

    def answer_when_both_asked(value: float):
        def reading(_sim) -> float:
            both_asked.wait()
            return value

        return reading

    supply_sim.reading_functions["measured_voltage"] = answer_when_both_asked(3.0)
    thermometer_sim.reading_functions["temperature"] = answer_when_both_asked(300.0)
    for instrument in (supply, thermometer):
        instrument.transport.timeout = 20  # the barrier decides, not a clock

    async def both() -> list[float]:
        return await asyncio.gather(
            supply.read_async("measured_voltage"), thermometer.read_async("temperature")
        )

    assert _loop.run_sync(both()) == [3.0, 300.0]
    assert not both_asked.broken


def test_cancelling_a_set_stops_its_ramp_where_it_is(supply, supply_sim) -> None:
    supply.settings.voltage.ramp_rate = 10

    first_step = threading.Event()
    supply.observe(lambda change: first_step.set(), names="voltage")

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(supply.settings.voltage.set_async(20))
        await asyncio.to_thread(first_step.wait, 10)  # the ramp took its first 1 V step
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    _loop.run_sync(cancel_midway())
    assert 0 < supply.voltage < 20
    assert supply.voltage == supply_sim.value("voltage")


def test_the_blocking_face_refuses_to_run_on_the_loop_itself() -> None:
    async def nested() -> None:
        async def inner() -> int:
            return 1

        _loop.run_sync(inner())

    with pytest.raises(RuntimeError, match="deadlock"):
        _loop.run_sync(nested())


def test_submit_checks_at_once_and_writes_in_the_background(supply, supply_sim) -> None:
    import labkit

    with pytest.raises(labkit.LimitError):
        supply.settings.voltage.submit(99)
    future = supply.settings.voltage.submit(4)
    assert future.result(timeout=5) == 4.0
    assert supply_sim.value("voltage") == 4.0
