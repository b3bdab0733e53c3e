"""Instrument-timed acquisition on the virtual bench, on the twins' real-time timing.

Two parts, through the drivers and pyvisa exactly as a notebook runs them, with the bench's
clock at real time (``time_scale=1``), so every twin takes as long as it models:

- ``iv``: a 1000-point IV curve on the 2450 at NPLC 0.01, software-stepped (set the level,
  measure the current, one exchange pair per point) against the 2450's own linear sweep into
  its buffer (``:SOUR:SWE:VOLT:LIN``, ``:INIT``, ``*OPC?``, ``:TRAC:DATA?``). Printed: both
  wall times, the speed-up, and beside them what the real instrument needs: points × NPLC ÷
  50 Hz of integration, and the twin's published timing (the 2450's manual gives no reading
  rate, so query processing and trigger-model work per point come from Keithley's Series
  2600B data sheet, SPEC-2602B: 1,200 single source-measures/s over GPIB and 3,700 sweep
  points/s to memory at NPLC 0.01, 50 Hz). The software-stepped figure expected from those
  alone (two messages per point, one answered) is printed beside the measured one: the
  difference is the host's own time (pyvisa, the driver, the simulator's Python).
- ``dmm``: the 34465A's timed sampling at its fastest rate (DIG: NPLC 0.001 = 20 µs per
  reading at 50 Hz, autozero off, 50,000 readings/s) for ``--seconds``, streamed out of reading
  memory with ``R?`` while it runs. Printed: readings expected, received, lost (memory
  overflow) and the wall time beside the acquisition's own time (readings × 20 µs).

Run: ``python benchmarks/bench_timed_acquisition.py [--only iv,dmm] [--points 1000]
[--seconds 4]`` (about 15 s on an idle 2-core machine).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import labkit
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A
from labkit.sim.twins._keithley2450 import COMMAND_SECONDS
from labkit.sim.twins._keithley2450_sweep import point_overhead

NPLC = 0.01
LINE = 50.0


def iv(points: int) -> None:
    with labkit.sim.Bench(seed=1, dut="resistor", time_scale=1.0, prefix="bench-iv") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu_iv", timeout=5.0)
        smu.current_limit = "10 mA"
        smu.nplc = NPLC
        smu.measure_function = "current"
        smu.output = True
        levels = np.linspace(0.0, 1.0, points)

        start = time.perf_counter()
        stepped = []
        for level in levels:
            smu.source_voltage = float(level)
            stepped.append(smu.read("current"))
        software = time.perf_counter() - start

        start = time.perf_counter()
        data = smu.sweep(0.0, 1.0, points, delay=0.0)
        buffered = time.perf_counter() - start
        smu.output = False
        smu.close()

    assert len(data) == points
    assert len(stepped) == points
    integration = points * NPLC / LINE
    print(f"IV, {points} points at NPLC {NPLC} (2450 twin, real-time bench)")
    print(f"  software-stepped      {software:8.3f} s   ({software / points * 1e3:.2f} ms/point)")
    print(f"  the 2450's own sweep  {buffered:8.3f} s   ({buffered / points * 1e3:.3f} ms/point)")
    print(f"  speed-up              {software / buffered:8.1f} x")
    modelled_sweep = points * (NPLC / LINE + point_overhead(NPLC))
    modelled_steps = points * (NPLC / LINE + COMMAND_SECONDS)
    print(f"  integration alone     {integration:8.3f} s (points x NPLC / 50 Hz)")
    print(
        f"  published timing      {modelled_steps:8.3f} s stepped ({COMMAND_SECONDS * 1e3:.3f} ms "
        f"per query), {modelled_sweep:.3f} s swept ({point_overhead(NPLC) * 1e6:.0f} us per "
        f"point): {modelled_steps / modelled_sweep:.1f} x (SPEC-2602B figures, see above)"
    )


def dmm(seconds: float) -> None:
    with labkit.sim.Bench(seed=2, time_scale=1.0, prefix="bench-dmm") as bench:
        meter = Keysight34465A(bench.address("dmm"), name="dmm_fast", timeout=5.0)
        meter.autozero = False
        meter.nplc = 0.001
        plan = meter.plan_timed(round(seconds / 20e-6))
        start = time.perf_counter()
        meter.arm_timed(plan)
        data = meter.collect_timed(plan)
        wall = time.perf_counter() - start
        overflowed = meter.read("memory_overflowed")
        meter.close()
    print(f"34465A timed sampling at {1 / plan.interval:,.0f} readings/s for {plan.seconds:g} s")
    print(f"  readings expected     {plan.total:,}")
    print(f"  received              {len(data):,}   lost {plan.total - len(data):,}")
    print(f"  memory overflowed     {overflowed}   (memory {meter.memory_size:,} readings)")
    print(f"  wall time             {wall:8.3f} s   vs the meter's own {plan.seconds:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="iv,dmm")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "iv" in parts:
        iv(args.points)
    if "dmm" in parts:
        dmm(args.seconds)


if __name__ == "__main__":
    main()
