"""Reopening a 1 MB run and a multi-GB run: the time should not depend on the data's size.

Both runs are camera streams written by labkit (the big one about 2.5 GB of 2048×2048 uint16
frames, generated once into a temporary folder). Reopening reads only metadata, so the two
should take about the same time (target: within 2×). Each figure is the median of repeated
``labkit.open_run`` calls, alternating between the two runs.

Run: ``python benchmarks/bench_reopen.py [--gigabytes 2.5] [--root DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import labkit
from labkit.core import Frame, FrameBroadcaster
from labkit.runs import CameraStream


class Source:
    """A camera publishing the same frame whenever the stream has room (no drops)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.name = "cam"
        self.sensor_shape = shape
        self._pixels = np.random.default_rng(0).integers(0, 4096, shape, dtype=np.uint16)
        self._broadcaster = FrameBroadcaster()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def acquiring(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snap(self, timeout=None):
        return Frame(self._pixels, 1, time.time())

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            if any(len(q) >= q.maxsize for q in list(self._broadcaster._queues)):
                time.sleep(0.0005)
                continue
            number += 1
            self._broadcaster.publish(Frame(self._pixels, number, time.time()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def subscribe(self, maxsize=8):
        return self._broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue) -> None:
        self._broadcaster.unsubscribe(queue)


def make_run(root: Path, shape: tuple[int, int], frames: int, name: str) -> Path:
    run = labkit.run(
        CameraStream(Source(shape), frames=frames, queue_size=8),
        name=name,
        data_root=root,
        progress=False,
    )
    run.wait()
    return run.path


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.5)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--root", help="folder for the two runs (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.root) as folder:
        root = Path(folder)
        small = make_run(root, (512, 512), 2, "small")
        frames = max(1, round(args.gigabytes * 1e9 / (2 * 2048 * 2048)))
        started = time.perf_counter()
        big = make_run(root, (2048, 2048), frames, "big")
        made = time.perf_counter() - started
        times: dict[Path, list[float]] = {small: [], big: []}
        for path in (small, big):
            labkit.open_run(path)  # warm the imports
        for _ in range(args.repeats):
            for path in (small, big):
                start = time.perf_counter()
                ds = labkit.open_run(path)
                times[path].append(time.perf_counter() - start)
                assert ds.cam.shape[0] in (2, frames)
        small_t, big_t = statistics.median(times[small]), statistics.median(times[big])
        print(f"reopen, median of {args.repeats} (the big run took {made:.1f} s to write)")
        print(f"  {size_of(small) / 1e6:8.1f} MB run: {small_t * 1e3:6.1f} ms")
        print(
            f"  {size_of(big) / 1e9:8.2f} GB run: {big_t * 1e3:6.1f} ms   ratio big/small {big_t / small_t:.2f}"
        )


if __name__ == "__main__":
    main()
