"""Deep scope traces in a run: a DS1000Z's 24 M-point memory (float32 volts) per point.

labkit's run writer (the real ``RunWriter``, as a run uses it: the trace split into chunks of
4 MiB, each compressed with the default codec) writes ``--traces`` traces of ``--points``
points each; compared, in the same run, with a raw sequential write of the same bytes to a
local file (``ndarray.tofile``), the floor any store pays. The traces are what the scope
sends: 8-bit codes scaled to volts (a 3 kHz sine and noise), so the codec sees real data.

Then the run is reopened with ``labkit.open_run`` (lazily, Dask chunks) and a window of 1000
points read from the middle of the last trace — which reads one chunk, not the trace —
beside reading the whole trace.

Run: ``python benchmarks/bench_deep_trace.py [--points 24000000] [--traces 3]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import labkit
from labkit.store import RunWriter, Variable, new_run_id, store_path


def _trace(points: int, seed: int) -> np.ndarray:
    """What a DS1000Z's RAW transfer becomes: (code − y origin − y reference) × y increment."""
    rng = np.random.default_rng(seed)
    t = np.arange(points) * 1e-9
    volts = 0.8 * np.sin(2 * np.pi * 3e3 * t) + rng.normal(0, 0.01, points)
    codes = np.clip(np.round(volts / 0.008 + 127), 0, 255).astype(np.uint8)
    return ((codes.astype(np.float32) - 127) * 0.008).astype(np.float32)


def _labkit(root: Path, traces: list[np.ndarray]) -> tuple[float, Path]:
    points = len(traces[0])
    variable = Variable(
        "raw_trace", ("shot", "memory_time"), (None, points), "float32", item_ndim=1
    )
    run_id = new_run_id()
    attrs = {"run_id": run_id, "name": "deep", "start_time": "2026-01-01T00:00:00+00:00"}
    writer = RunWriter(store_path(root, run_id, "deep"), [variable], attrs).create()
    start = time.perf_counter()
    for shot, trace in enumerate(traces):
        writer.record((shot,), {"raw_trace": trace})
    writer.finish("completed")
    return time.perf_counter() - start, writer.path


def _raw(root: Path, traces: list[np.ndarray]) -> float:
    path = root / "raw.bin"
    start = time.perf_counter()
    with open(path, "wb") as out:
        for trace in traces:
            trace.tofile(out)
        out.flush()
        os.fsync(out.fileno())
    return time.perf_counter() - start


def _size(path: Path) -> tuple[int, int]:
    """Chunk files of the trace's array (everything but its zarr.json) and their bytes."""
    chunks = [p for p in (path / "raw_trace").rglob("*") if p.is_file() and p.name != "zarr.json"]
    return len(chunks), sum(p.stat().st_size for p in chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=24_000_000)
    parser.add_argument("--traces", type=int, default=3)
    args = parser.parse_args()
    traces = [_trace(args.points, seed) for seed in range(args.traces)]
    megabytes = sum(t.nbytes for t in traces) / 1e6
    with tempfile.TemporaryDirectory(prefix="labkit-deep-") as folder:
        root = Path(folder)
        raw = _raw(root, traces)
        seconds, path = _labkit(root, traces)
        chunks, stored = _size(path)
        print(f"{args.traces} traces of {args.points:,} points (float32, {megabytes:.0f} MB)")
        print(f"  raw sequential write : {megabytes / raw:8.0f} MB/s ({raw:.2f} s)")
        print(
            f"  labkit run writer    : {megabytes / seconds:8.0f} MB/s ({seconds:.2f} s), "
            f"{seconds / raw:.1f}× the raw write"
        )
        print(
            f"  stored               : {chunks} chunks ({chunks // args.traces} per trace), "
            f"{stored / 1e6:.0f} MB on disk ({megabytes * 1e6 / max(stored, 1):.1f}× smaller)"
        )
        ds = labkit.open_run(path)
        array = ds.raw_trace
        _ = array[0, :10].values  # the first read imports and sets up Dask: not the store's cost
        middle = args.points // 2
        start = time.perf_counter()
        window = array[-1, middle : middle + 1000].values
        window_s = time.perf_counter() - start
        start = time.perf_counter()
        whole = array[-1].values
        whole_s = time.perf_counter() - start
        assert np.array_equal(window, traces[-1][middle : middle + 1000])
        assert np.array_equal(whole, traces[-1])
        print(
            f"  reopened: 1000 points from the middle in {window_s * 1e3:.1f} ms, "
            f"the whole trace in {whole_s * 1e3:.0f} ms ({whole_s / window_s:.0f}×)"
        )


if __name__ == "__main__":
    main()
