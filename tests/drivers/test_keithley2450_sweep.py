"""Keithley 2450: its own sweep into its reading buffer, on the bench (frozen clock)."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import InstrumentError, LimitError
from labkit.drivers.keithley import Keithley2450
from labkit.sim.twins._keithley2450_sweep import point_overhead


@pytest.fixture
def on_bench(bench):
    smu = Keithley2450(bench.address("smu"), name="smu", timeout=1.0)
    smu.current_limit = "100 mA"
    smu.four_wire = True
    smu.output = True
    return smu, bench, bench.instrument("smu")


def test_a_buffered_sweep_measures_the_same_diode_as_stepping(on_bench):
    smu, _, _ = on_bench
    data = smu.sweep(0.3, 0.75, 10, delay=0.0)
    levels = np.linspace(0.3, 0.75, 10)
    assert data.source == pytest.approx(levels)
    stepped = []
    for level in levels:
        smu.source_voltage = level
        stepped.append(smu.read("current"))
    assert data.reading == pytest.approx(stepped, rel=2e-3)
    assert smu.read("buffer_count") == 10 + 10  # the sweep's readings, then :MEAS? ones


def test_the_buffer_times_follow_the_instruments_own_timing(on_bench):
    smu, _, _ = on_bench
    smu.nplc = 0.1
    data = smu.sweep(0, 0.5, 6, delay="1 ms")
    per_point = 1e-3 + 0.1 / 50 + point_overhead(0.1)
    assert np.diff(data.time) == pytest.approx(np.full(5, per_point), abs=1e-6)  # µs stamps
    assert data.time[0] == 0.0


def test_the_sweep_runs_on_bench_time_and_stops_on_abort(on_bench):
    smu, bench, _ = on_bench
    smu.nplc = 1
    plan = smu.plan_sweep(0, 0.5, 100, delay=0.0)
    smu.arm_sweep(plan)
    smu.start_sweep()
    per_point = 1 / 50 + point_overhead(1)
    bench.advance(per_point * 9.5)  # ten points are due (the first at the start)
    assert smu.read("buffer_count") == 10
    smu.run_action("abort")
    bench.advance(1.0)
    data = smu.read_buffer()
    assert len(data) == 10
    assert data.source == pytest.approx(np.linspace(0, 0.5, 100)[:10])


def test_every_level_is_checked_before_a_byte_is_sent(on_bench):
    smu, _, twin = on_bench
    sent = len(twin.received)
    with pytest.raises(LimitError, match="source_voltage"):
        smu.plan_sweep(0, 250, 11)
    smu.settings.source_voltage.limit(max=1.0)
    with pytest.raises(LimitError):
        smu.sweep(0, 2, 11)
    with pytest.raises(LimitError, match="sweep points"):
        smu.sweep(0, 1, 2_000_000)
    with pytest.raises(LimitError, match="buffer_size"):
        smu.sweep(0, 1, 10_001)
    assert len(twin.received) == sent


def test_a_dual_sweep_comes_back_and_fail_abort_stops_at_compliance(on_bench):
    smu, _, _ = on_bench
    data = smu.sweep(0, 0.5, 6, delay=0.0, dual=True)
    assert data.source == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0])
    smu.current_limit = "1 mA"
    stopped = smu.sweep(0, 2, 21, delay=0.0, fail_abort=True)
    assert 0 < len(stopped) < 21
    assert stopped.reading[-1] == pytest.approx(1e-3, rel=1e-2)
    whole = smu.sweep(0, 2, 21, delay=0.0, fail_abort=False)
    assert len(whole) == 21


def test_a_larger_buffer_holds_a_long_sweep_and_the_twin_refuses_a_bad_one(on_bench):
    smu, _, _ = on_bench
    smu.buffer_size = 20_000
    data = smu.sweep(0, 0.6, 15_000, delay=0.0)
    assert len(data) == 15_000
    # Sent raw (around labkit's checks, knowingly): the instrument's own refusal comes back.
    with smu.raw_access(), pytest.raises(InstrumentError) as caught:
        smu.write(":SOUR:SWE:VOLT:LIN 0,300,11")  # beyond the 2450's 210 V
    assert caught.value.code == -222


def test_the_twin_keeps_named_buffers_and_their_elements():
    from labkit.sim import Bench

    with Bench(seed=1, time_scale=0, instruments=["smu"]) as bench:
        twin = bench.instrument("smu")
        assert twin.handle(':TRAC:MAKE "iv", 100') is None
        assert twin.handle(':TRAC:POIN? "iv"') == "100"
        twin.handle(':SOUR:SWE:VOLT:LIN 0,1,5,0,1,BEST,OFF,OFF,"iv"')
        twin.handle(":OUTP ON")
        twin.handle(":INIT")
        assert twin.handle("*OPC?") == "1"
        assert twin.handle(':TRAC:ACT? "iv"') == "5"
        assert twin.handle(':TRAC:ACT? "defbuffer1"') == "0"
        reply = twin.handle(':TRAC:DATA? 2,3,"iv",SOUR,REL')
        source, rel = (float(v) for v in reply.split(",")[:2])
        assert (source, rel) == (
            pytest.approx(0.25),
            pytest.approx(1 / 50 + point_overhead(1), abs=1e-6),
        )
        twin.handle(':TRAC:DATA? 1,9,"iv"')  # more than it holds
        twin.handle(':TRAC:MAKE "big", 6875000')  # more than the memory left
        twin.handle(':TRAC:DEL "defbuffer1"')
        codes = [twin.next_error().split(",")[0] for _ in range(3)]
        assert codes == ["-222", "-225", "-221"]


def test_the_buffer_is_an_array_reading_recorded_in_a_run(on_bench, data_root):
    import labkit
    from labkit.runs import Read

    smu, _, _ = on_bench
    smu.clear_buffer()
    data = smu.sweep(0.3, 0.7, 11, delay=0.0)
    ds = labkit.run(Read(smu.readings.buffer), name="buffer").wait()
    assert ds.smu_buffer.dims == ("smu_buffer_point",)
    assert ds.smu_buffer.attrs["units"] == "A"
    np.testing.assert_allclose(ds.smu_buffer.values, data.reading)
    reopened = labkit.open_run("buffer")
    np.testing.assert_array_equal(reopened.smu_buffer_point.values, np.arange(11))


def test_the_twins_timing_follows_the_published_figures():
    from labkit.sim import Bench

    # SPEC-2602B sweep API to memory, 50 Hz: 3,700 and 49 points/s at NPLC 0.01 and 1
    assert 0.01 / 50 + point_overhead(0.01) == pytest.approx(1 / 3700)
    assert 1 / 50 + point_overhead(1) == pytest.approx(1 / 49)
    assert point_overhead(0.01) < point_overhead(0.03) < point_overhead(0.1)
    assert point_overhead(10) == point_overhead(1)  # held beyond the table
    with Bench(seed=1, time_scale=0, instruments=["smu"]) as bench:
        twin = bench.instrument("smu")
        twin.handle(":SENS:CURR:RANG 1e-6")
        assert twin.auto_delay("VOLT") == pytest.approx(3e-3)  # 2450 manual, 1 µA range
        twin.handle(":SENS:CURR:RANG 1e-2")
        assert twin.auto_delay("VOLT") == pytest.approx(1e-3)
