"""Keysight 34465A: timed sampling, reading memory and its external trigger, on the bench.

The bench's clock is frozen; the driver's pauses between reads of memory move it instead
(``sleep=bench.advance``), so the meter's own timing is what the test sees.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit import InstrumentError, LimitError
from labkit.drivers.keysight import Keysight33522B, Keysight34465A


@pytest.fixture
def dmm(bench):
    meter = Keysight34465A(bench.address("dmm"), name="dmm", timeout=1.0)
    meter.autozero = False
    return meter


def test_timed_samples_are_spaced_by_the_timer_and_all_arrive(dmm, bench):
    dmm.nplc = 0.02
    data = dmm.acquire_timed(5_000, "1 ms", sleep=bench.advance)
    assert len(data) == 5_000
    assert data.lost == 0
    assert data.times == pytest.approx(np.arange(5_000) * 1e-3)
    assert dmm.read("memory_overflowed") is False


def test_the_fastest_rate_streams_more_than_memory_holds_without_a_loss(dmm, bench):
    twin = bench.instrument("dmm")
    dmm.nplc = 0.001  # DIG (firmware A.03): 20 µs per reading at 50 Hz
    plan = dmm.plan_timed(150_000, None)
    assert plan.interval == pytest.approx(20e-6)
    twin.acquisition.capacity = 50_000  # the standard memory, to make streaming matter
    twin.acquisition.memory = type(twin.acquisition.memory)(maxlen=50_000)
    dmm.memory_size = 50_000
    dmm.arm_timed(plan)
    data = dmm.collect_timed(plan, sleep=bench.advance)
    assert len(data) == 150_000


def test_memory_that_overflows_is_reported_with_the_readings_lost(dmm, bench):
    twin = bench.instrument("dmm")
    dmm.nplc = 0.02
    plan = dmm.plan_timed(100, "1 ms")
    twin.acquisition.capacity = 60
    twin.acquisition.memory = type(twin.acquisition.memory)(maxlen=60)
    dmm.arm_timed(plan)
    bench.advance(1.0)  # nobody read memory while 100 readings came
    with pytest.raises(InstrumentError, match="40 of 100 readings were lost"):
        dmm.collect_timed(plan, sleep=bench.advance)


def test_a_timer_faster_than_one_reading_is_refused_before_sending(dmm, bench):
    twin = bench.instrument("dmm")
    dmm.nplc = 1  # 20 ms per reading at 50 Hz
    sent = len(twin.received)
    with pytest.raises(LimitError, match="sample_timer"):
        dmm.plan_timed(10, "1 ms")
    with pytest.raises(LimitError, match="sample_count"):
        dmm.plan_timed(0, "1 s")
    assert len(twin.received) == sent


def test_the_generators_trigger_out_paces_the_meter(dmm, bench):
    fg = Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)
    fg.ch1.burst_cycles = 1
    fg.ch1.trigger_source = "timer"
    fg.ch1.trigger_timer = "10 ms"
    fg.ch1.burst = True
    dmm.nplc = 0.02
    plan = dmm.plan_timed(2, "1 ms", trigger="external", triggers=20)
    dmm.arm_timed(plan)
    fg.trigger_output = True
    data = dmm.collect_timed(plan, sleep=bench.advance)
    assert len(data) == 40
    assert list(data.trigger[:4]) == [0, 0, 1, 1]
    assert bench.triggers.delivered["dmm.ext_trigger"] >= 20


def test_a_trigger_while_the_meter_samples_is_not_taken(bench):
    twin = bench.instrument("dmm")
    twin.handle("VOLT:ZERO:AUTO OFF;:VOLT:NPLC 1;:SAMP:COUN 10;:TRIG:SOUR BUS;:TRIG:COUN 2")
    twin.handle("INIT")
    twin.handle("*TRG")
    bench.advance(0.1)  # 5 of the 10 readings (20 ms each) are done
    twin.handle("*TRG")  # still sampling: ignored
    assert twin.acquisition.missed_triggers == 1
    bench.advance(1.0)
    twin.handle("*TRG")
    assert twin.handle("DATA:POIN?") == "11"  # the second burst's first reading is in
    bench.advance(1.0)
    assert twin.handle("DATA:POIN?") == "20"
