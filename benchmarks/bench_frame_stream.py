"""Streaming 2048×2048 uint16 frames into a run store vs a raw sequential write of the same bytes.

A synthetic camera (labkit's Camera protocol, frames published from its own thread) publishes
the next frame as soon as the stream's queue has room, so the stream is limited only by how
fast labkit writes — one frame per Zarr chunk, uncompressed, from the stream's own thread —
and no frame is dropped. The comparison writes the same bytes with ``file.write`` to one file
in the same folder.

fsync policy: neither side fsyncs per frame; each timing ends with ``os.sync()``, so what is
compared is bytes on the disk, not in the page cache. A virtual machine's disk speed wanders
from one second to the next, so the runs are interleaved, and both the median of the paired
ratios and the best of each side are printed (noise only ever slows a write down). (Without the sync the raw write of one
big file lands in the page cache at memory speed, while one file per frame costs the kernel a
new inode each time: that compares page-cache bookkeeping, not disks.)

Run: ``python benchmarks/bench_frame_stream.py [--frames 200] [--root DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import labkit
from labkit.core import Frame, FrameBroadcaster
from labkit.runs import CameraStream

SHAPE = (2048, 2048)


class FastCamera:
    """Publishes a frame whenever its subscribers' queues have room (a source as fast as the
    consumer, which never makes it drop)."""

    def __init__(self) -> None:
        self.name = "cam"
        self._pixels = [
            np.random.default_rng(i).integers(0, 4096, SHAPE, dtype=np.uint16) for i in range(4)
        ]
        self._broadcaster = FrameBroadcaster()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def sensor_shape(self):
        return SHAPE

    @property
    def acquiring(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snap(self, timeout=None):
        return Frame(self._pixels[0], 1, time.time())

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            queues = list(self._broadcaster._queues)
            if any(len(q) >= q.maxsize for q in queues):
                time.sleep(0.0005)
                continue
            number += 1
            pixels = self._pixels[number % len(self._pixels)]
            self._broadcaster.publish(Frame(pixels, number, time.time(), number * 0.01, 1e-3))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def subscribe(self, maxsize=8):
        return self._broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue) -> None:
        self._broadcaster.unsubscribe(queue)


def raw_write(folder: Path, frames: int, sync: bool) -> float:
    pixels = np.random.default_rng(9).integers(0, 4096, SHAPE, dtype=np.uint16)
    target = folder / "raw.bin"
    start = time.perf_counter()
    with open(target, "wb") as handle:
        for _ in range(frames):
            handle.write(pixels)
    if sync:
        os.sync()
    elapsed = time.perf_counter() - start
    target.unlink()
    os.sync()
    return frames * pixels.nbytes / elapsed


def stream(folder: Path, frames: int, sync: bool) -> tuple[float, int]:
    camera = FastCamera()
    root = folder / "runs"
    start = time.perf_counter()
    run = labkit.run(CameraStream(camera, frames=frames, queue_size=16), data_root=root)
    run.wait()
    if sync:
        os.sync()
    elapsed = time.perf_counter() - start
    dropped = next(e["dropped"] for e in run.attrs["events"] if e["event"] == "camera stream")
    shutil.rmtree(root)
    os.sync()
    return frames * 2 * SHAPE[0] * SHAPE[1] / elapsed, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--root", help="folder on the disk to test (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.root) as name:
        folder = Path(name)
        frame_mb = 2 * SHAPE[0] * SHAPE[1] / 1e6
        print(
            f"{args.frames} frames of 2048×2048 uint16 ({args.frames * frame_mb:.0f} MB) "
            f"in {folder}, median of {args.repeats}"
        )
        raws, ours, ratios, dropped = [], [], [], 0
        for _ in range(args.repeats):
            # Interleaved, so both see the same (virtual) disk mood; paired ratios.
            raws.append(raw_write(folder, args.frames, True))
            rate, lost = stream(folder, args.frames, True)
            ours.append(rate)
            dropped = max(dropped, lost)
            ratios.append(rate / raws[-1])
        print(
            f"  raw sequential write  median {statistics.median(raws) / 1e6:6.0f} MB/s,"
            f" best {max(raws) / 1e6:6.0f} MB/s"
        )
        print(
            f"  labkit camera stream  median {statistics.median(ours) / 1e6:6.0f} MB/s,"
            f" best {max(ours) / 1e6:6.0f} MB/s"
        )
        print(
            f"  ratio: median of the paired runs {statistics.median(ratios):.2f}, best to best "
            f"{max(ours) / max(raws):.2f}   (pairs: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        print(f"  frames dropped by the stream's queue: {dropped}")


if __name__ == "__main__":
    main()
