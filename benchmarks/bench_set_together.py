"""Setting two instruments at once: two 1 V ramps at 1 V/s, one after the other and with
``Set({...})``, on the virtual bench through pyvisa and the real drivers (a Keithley 2450's
source voltage and an Agilent E3631A's 6 V output).

The figure to compare with, measured in the same run: the two ramps one after the other (two
``Set`` steps), which is what a plan without a coordination step costs; the ideal is the
longer ramp alone: ten steps 0.1 s apart (labkit's ten updates a second), 0.9 s of pauses
plus the writes. A warm-up run first keeps the first run's imports out of the figures.

Run: ``python benchmarks/bench_set_together.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("LABKIT_DATA", tempfile.mkdtemp(prefix="labkit-bench-set-"))

import labkit
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.keithley import Keithley2450
from labkit.runs import Set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with labkit.sim.Bench(seed=0, dut="resistor") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        psu = AgilentE3631A(bench.address("psu"), name="psu")
        smu.current_limit = "10 mA"
        a, b = smu.settings.source_voltage, psu.p6v.settings.voltage
        labkit.run(Set(a, 0.0), name="warm-up").wait()  # the first run imports zarr, xarray...
        timings: dict[str, list[float]] = {"one after the other": [], "Set({...}) together": []}
        for _ in range(args.repeats):
            for label, steps in (
                ("one after the other", [Set(a, 1.0), Set(b, 1.0)]),
                ("Set({...}) together", [Set({a: 1.0, b: 1.0})]),
            ):
                a.ramp_rate = b.ramp_rate = None
                a.set(0.0)
                b.set(0.0)
                a.ramp_rate = b.ramp_rate = 1.0  # V/s
                begun = time.perf_counter()
                labkit.run(*steps, name="set-together").wait()
                timings[label].append(time.perf_counter() - begun)
        smu.close()
        psu.close()
    sequential = statistics.median(timings["one after the other"])
    together = statistics.median(timings["Set({...}) together"])
    print("two 1 V ramps at 1 V/s (median of", args.repeats, "runs, whole run included)")
    print(f"  one after the other : {sequential:6.2f} s")
    print(f"  Set({{...}}) together : {together:6.2f} s   ({sequential / together:.2f}× faster)")
    print("  ideal (one ramp)    :   0.90 s + its ten writes")


if __name__ == "__main__":
    main()
