"""Per-point cost of a long teaching-lab time series on the virtual bench, early and late.

A set + read + read loop (the 2450 sets a voltage and measures the current, the 34465A reads
the voltage), through the drivers and pyvisa exactly as a notebook runs it, for up to 200,000
points. The cost per point is measured in windows of 1,000 points ending at 2,000, 20,000 and
200,000 points: a simulator that keeps history, or repeats work as it grows, gets slower. (The
first 1,000 points are not in any window: labkit.core's worker settles how it runs quick
instruments during them.)

Compared with, in the same run:

- the window ending at 2,000 points (the ratios late / early should stay near 1);
- the twins' own cost per point (the same SCPI commands handed straight to the twins), so the
  share of pyvisa, the transports and labkit's worker threads shows;
- a peer simulator: pyvisa-sim answering one query through pyvisa (its default device),
  times the three queries of a point.

Run: ``python benchmarks/bench_twin_cost.py [--points 200000] [--window 1000]``
(about a minute per 100,000 points on an idle 2-core machine).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pyvisa

import labkit
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A


def per_point(step, count: int) -> float:
    """Seconds per call of ``step(i)`` over ``count`` calls."""
    start = time.perf_counter()
    for i in range(count):
        step(i)
    return (time.perf_counter() - start) / count


def pyvisa_sim_query(repeats: int) -> float:
    """Seconds per query of pyvisa-sim's default instrument, through pyvisa."""
    manager = pyvisa.ResourceManager("@sim")
    try:
        device = manager.open_resource("USB0::0x1111::0x2222::0x1234::0::INSTR")
        device.read_termination = device.write_termination = "\n"
        device.query("?IDN")
        return per_point(lambda _i: device.query("?IDN"), repeats)
    finally:
        manager.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=1_000)
    args = parser.parse_args()
    marks = sorted({m for m in (2_000, 20_000, 200_000, args.points) if m <= args.points})

    with labkit.sim.Bench(seed=0, dut="diode", time_scale=0) as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        dmm = Keysight34465A(bench.address("dmm"), name="dmm")
        smu.current_limit = "10 mA"
        smu.output = True
        dmm.nplc = 0.02

        def point(i: int) -> None:
            smu.source_voltage = 0.4 + (i % 400) * 1e-3
            smu.read("current")
            dmm.read("voltage")

        twins = bench["smu"], bench["dmm"]

        def twin_point(i: int) -> None:
            twins[0].handle(f":SOUR:VOLT {0.4 + (i % 400) * 1e-3:.3f}")
            twins[0].handle(":SYST:ERR?")
            twins[0].handle(":READ?")
            twins[1].handle("READ?")

        done, figures = 0, {}
        for mark in marks:
            while done < mark - args.window:  # run up to the window, unmeasured
                point(done)
                done += 1
            figures[mark] = per_point(lambda i, base=done: point(base + i), mark - done)
            done = mark
            print(f"  {mark:>8,} points: {figures[mark] * 1e6:7.1f} µs per point", flush=True)
        twin = statistics.median(per_point(twin_point, args.window) for _ in range(3))
        buffer = len(bench["smu"].buffer)
        smu.close()
        dmm.close()

    peer = pyvisa_sim_query(args.window) * 3
    first = figures[marks[0]]
    print()
    print(f"labkit drivers on the bench, per point (set + 2 reads), window of {args.window:,}:")
    for mark in marks:
        print(
            f"  ending at {mark:>8,}: {figures[mark] * 1e6:7.1f} µs  ({figures[mark] / first:.2f}× the first)"
        )
    print(f"the twins alone, same commands:      {twin * 1e6:7.1f} µs  "
          f"({twin / first:.2f}× the drivers' first window)")  # fmt: skip
    print(f"pyvisa-sim, 3 queries (peer):        {peer * 1e6:7.1f} µs  "
          f"(labkit's first window is {first / peer:.2f}× that)")  # fmt: skip
    print(f"2450 reading buffer after the run:   {buffer:,} readings (capacity 10,000)")


if __name__ == "__main__":
    main()
