"""What refusing a bad value costs, beside what accepting a good one costs.

A Keithley 2450 on the virtual bench (pyvisa, the ``@labkit`` backend, the 2450's twin). For
each kind of bad value — infinities and NaN, a unit of another kind, a control character,
huge integers, text a few characters over the length limit, 40 kB and 1 MB of text — the time
to refuse it through the sync API (``smu.source_voltage = value``) and through a plan
(``labkit.run(Set(...))``, which builds and dry-runs the plan), beside the time of one
accepted set of the same setting (a round trip to the twin, error queue checked). A refusal
should cost a small fraction of an accepted set, and a megabyte no more than a few bytes.

Run: ``python benchmarks/bench_refusals.py [--repeats 200]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import labkit
from labkit.core._units import MAX_TEXT
from labkit.runs import Set

BAD = {
    "inf": math.inf,
    "NaN": math.nan,
    "'1 dB' (a level)": "1 dB",
    "'1\\x00V' (NUL)": "1\x00V",
    "2**70": 2**70,
    "10**400": 10**400,
    f"{MAX_TEXT + 1:,} characters": "1" * (MAX_TEXT + 1),
    "40 kB ('1 V', spaces, 'x')": "1 V" + " " * 40_000 + "x",
    "1 MB of digits": "1" * 1_000_000,
}


def _median_seconds(action: Callable[[], Any], repeats: int, *, refused: bool) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            action()
        except labkit.LabkitError:
            if not refused:
                raise
        else:
            if refused:
                raise AssertionError("a bad value was accepted")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    from labkit.drivers.keithley import Keithley2450

    with (
        tempfile.TemporaryDirectory() as root,
        labkit.sim.Bench(seed=0, time_scale=0, instruments=["smu"]) as bench,
    ):
        smu = Keithley2450(bench.address("smu"), name="smu", timeout=5)
        handle = smu.settings.source_voltage
        good = [0.1, 0.2]
        flip = iter(range(10**9))
        accepted = _median_seconds(
            lambda: handle.set(good[next(flip) % 2]), args.repeats, refused=False
        )
        print(f"accepted set of smu.source_voltage (round trip):  {accepted * 1e3:8.3f} ms")
        print(f"{'refused value':32} {'sync API':>12} {'ratio':>7} {'plan':>12} {'ratio':>7}")
        for label, value in BAD.items():
            sync = _median_seconds(lambda v=value: handle.set(v), args.repeats, refused=True)
            plan = _median_seconds(
                lambda v=value: labkit.run(Set(handle, v), data_root=root),
                args.repeats,
                refused=True,
            )
            print(
                f"{label:32} {sync * 1e3:9.4f} ms {sync / accepted:7.3f} "
                f"{plan * 1e3:9.4f} ms {plan / accepted:7.3f}"
            )
        smu.close()


if __name__ == "__main__":
    main()
