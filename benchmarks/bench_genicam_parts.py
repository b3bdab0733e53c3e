"""Benchmark: copying every part of a GenICam multi-part buffer out of it, against memcpy.

A 3D camera's buffer (viky's range component: a Mono8 intensity and three float32 coordinate
planes) is decoded part by part with labkit's GenICam decoder, each part a new NumPy array the
buffer can go back to the camera from; the comparison is one memcpy of the whole buffer
(``numpy.copyto`` into a preallocated array), measured in the same run.

    python benchmarks/bench_genicam_parts.py                 # 400 × 400, as viky sends it
    python benchmarks/bench_genicam_parts.py --size 2048 --repeat 50

Times are the best of ``--repeat`` runs with the median in brackets. Speed is never asserted in
a test; this script only reports.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from labkit.drivers.cameras.genicam import decode

PARTS = (("Mono8", 1), ("Coord3D_A32f", 4), ("Coord3D_B32f", 4), ("Coord3D_C32f", 4))


def measure(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best, median) seconds over ``repeat`` calls, after two warm-up calls."""
    function()
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400, help="width and height of each part")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    side = args.size
    layout, offset = [], 0
    for pixel_format, depth in PARTS:
        layout.append((pixel_format, offset))
        offset += side * side * depth
    buffer = np.random.default_rng(0).integers(0, 256, offset, dtype=np.uint8)
    raw = buffer.tobytes()
    target = np.empty_like(buffer)

    def every_part() -> object:
        return [decode(raw, f, side, side, offset=o) for f, o in layout]

    def memcpy() -> object:
        return np.copyto(target, buffer)

    ours, ours_median = measure(every_part, args.repeat)
    copy, copy_median = measure(memcpy, args.repeat)
    megabytes = offset / 1e6
    print(f"a {side} × {side} four-part buffer ({megabytes:.2f} MB)")
    print(f"  every part decoded: {ours * 1e6:8.0f} µs  [{ours_median * 1e6:.0f}]")
    print(f"  memcpy of it:       {copy * 1e6:8.0f} µs  [{copy_median * 1e6:.0f}]")
    print(f"  ratio (memcpy / decode, 1 = as fast as a copy): {copy / ours:.2f}")


if __name__ == "__main__":
    main()
