"""Camera frames to disk: a run's ``CameraStream`` beside a plain writer, zarr's store and ``dd``.

The question: does a run keep every frame a camera delivers while the disk can take it, and
say exactly which it could not keep? A synthetic camera (labkit's Camera protocol, frames
published from its own thread, pixels from a small pool so the source costs no CPU) publishes
2048 × 2048 uint16 frames (8.4 MB; ``--shape`` for others: small frames go into shards) either **paced** — at 0.25, 0.5, 1 and 2 GB/s by default,
on an absolute schedule like a real camera's clock (late frames are published in a burst, never
skipped) — or **unpaced** (the next frame as soon as the consumer's queue has room).

Each measurement is paired within a repeat with, on the same source, in an order that rotates from
repeat to repeat (see :func:`rotated`: each writer takes each place equally often):

- ``plain``: a Python thread taking frames off a queue and writing one file per frame
  (``open(..., "wb").write(pixels)``), with as many frames of buffering as the run has
  (its queue plus its disk backlog). Its one ``write`` per frame is what a plain loop does,
  and for frames of several MB it is slower here than labkit's calls of at most 512 KiB
  (see ``labkit.store._frames._write_all``): with 8.4 MB frames at 2 GB/s, plain loses
  frames where labkit keeps them all;
- ``zarr``: the same loop calling zarr's ``LocalStore.set`` with each frame's bytes;
- ``dd`` (unpaced only): ``dd`` copying a file of the same bytes (cached in memory) to the disk;
- ``labkit+lz4`` (with ``--compression lz4``): the same run with its frames Blosc lz4 +
  bit-shuffle compressed, beside the uncompressed run in the same repeat (the rate counts the
  bytes the camera delivered, so compression wins only if it beats writing them raw).

Every timing ends with ``os.sync()``, so bytes are on the disk, not in the page cache. Paced,
the figure is frames stored and lost (a run also says where: driver, queue, disk — and the
count is checked against the source's own count); unpaced, MB/s and each writer's ratio to
``plain``. A virtual machine's disk wanders from one second to the next: look at the medians
of the *paired* ratios and at the spread (min–max) over the repeats.

Paced above the disk's rate (2 GB/s here), what decides the losses is how much the page cache
takes at memory speed before writes wait for the disk (``balance_dirty_pages``); each file
write of every writer is timed alike, and each measurement says after how many GB its writes
began to wait. On this VM that comes after 0.5–1 GB in the measurement right after the
unpaced ones and after 2–2.7 GB in the others, whichever the writer: hence the rotating order,
and the losses by place in the repeat.

Page faults: minor faults per frame (``ru_minflt``) of each writer, and of the first run
after start-up (the libraries imported beforehand, so the figure is the run's own).

Run: ``python benchmarks/bench_frame_stream.py [--repeats 5] [--rates 0.25,0.5,1,2]
[--frames 120] [--seconds 1.5] [--root DIR] [--compression lz4] [--shape 2048x2048]``
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import labkit
from labkit.core import Frame, FrameBroadcaster, FrameQueue, StreamClosed
from labkit.runs import CameraStream
from labkit.runs._frame_writer import backlog_slots

SHAPE = (2048, 2048)  # --shape
FRAME_BYTES = 2 * SHAPE[0] * SHAPE[1]
QUEUE = 64  # CameraStream's default queue
WRITERS = ("plain", "zarr", "labkit")


class PacedCamera:
    """Publishes ``count`` frames at ``rate`` bytes/s (None: whenever every queue has room)."""

    def __init__(self, count: int, rate: float | None, pixels: list[np.ndarray]) -> None:
        self.name = "cam"
        self.count = count
        self.fps = None if rate is None else rate / FRAME_BYTES
        self._pixels = pixels
        self._broadcaster = FrameBroadcaster()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()

    @property
    def sensor_shape(self) -> tuple[int, int]:
        return SHAPE

    @property
    def acquiring(self) -> bool:
        # Until stop(), as a real camera whose frames merely stop coming: a paced stream runs
        # a while past the source's last frame, and a camera that stopped fails a run.
        return self._thread is not None and not self._stop.is_set()

    @property
    def frame_rate(self) -> float:
        return self.fps or 0.0

    def snap(self, timeout: float | None = None) -> Frame:
        return Frame(self._pixels[0], 1, time.time())

    def start(self) -> None:
        self._stop.clear()
        self._broadcaster.start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = time.perf_counter()
        number = 0
        while number < self.count and not self._stop.is_set():
            if self.fps is None:
                if any(len(q) >= q.maxsize for q in list(self._broadcaster._queues)):
                    time.sleep(0.0002)
                    continue
            else:
                due = start + number / self.fps
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            number += 1
            pixels = self._pixels[number % len(self._pixels)]
            self._broadcaster.publish(Frame(pixels, number, time.time(), number * 1e-3, 1e-3))
        self.done.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def subscribe(self, maxsize: int = 8) -> FrameQueue:
        return self._broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue: FrameQueue) -> None:
        self._broadcaster.unsubscribe(queue)


STALL_RATE = 1e9
"""A write slower than this (bytes/s) waited for the disk: the page cache took no more at
memory speed (8.4 MB frames are copied into it in 2–3 ms here, 10 times this)."""
WRITES: list[tuple[float, int]] = []  # (seconds, bytes) of each file write of a measurement


def timed(write: Callable[..., None], nbytes: Callable[..., int]) -> Callable[..., None]:
    """``write`` noting its duration and bytes in :data:`WRITES`."""

    def timed_write(*args: Any) -> None:
        start = time.perf_counter()
        write(*args)
        WRITES.append((time.perf_counter() - start, nbytes(*args)))

    return timed_write


def time_labkit_writes() -> None:
    """Time labkit's frame files as the other writers' are: its chunk writer's one call
    that writes a frame's (or a shard's) file, wrapped."""
    import labkit.store._arrays as arrays
    import labkit.store._frames as frames

    def size(path: str, data: Any) -> int:
        return memoryview(data).nbytes

    arrays.write_file = frames.write_file = timed(frames.write_file, size)


def stalled_after(writes: list[tuple[float, int]], run: int = 3) -> float | None:
    """GB written before the writes began to wait for the disk — the first of ``run`` slow
    writes in a row (one slow write is a hiccup) — or None if they never did."""
    slow = [nbytes < seconds * STALL_RATE for seconds, nbytes in writes]
    written = 0
    for i, (_, nbytes) in enumerate(writes):
        if len(slow) - i >= run and all(slow[i : i + run]):
            return written / 1e9
        written += nbytes
    return None


class FastCamera(PacedCamera):
    """Unpaced frames with no end in sight, as fast as its queues take them (the source of
    ``bench_object_store.py``, whose stream stops after the frames it asks for)."""

    def __init__(self) -> None:
        pixels = [
            np.random.default_rng(i).integers(0, 4096, SHAPE, dtype=np.uint16) for i in range(4)
        ]
        super().__init__(1 << 62, None, pixels)


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _synced(folder: Path, job: Callable[[], tuple[int, int]]) -> dict[str, Any]:
    """Run ``job`` (→ stored, lost), sync the disk, time it all; then clean ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    os.sync()
    WRITES.clear()
    faults = _faults()
    start = time.perf_counter()
    stored, lost = job()
    os.sync()
    elapsed = time.perf_counter() - start
    faults = _faults() - faults
    writes = list(WRITES)
    shutil.rmtree(folder)
    os.sync()
    return {
        "stored": stored,
        "lost": lost,
        "rate": stored * FRAME_BYTES / elapsed,
        "faults": faults / max(1, stored),
        "stalled_after": stalled_after(writes),
    }


def loop_writer(camera: PacedCamera, depth: int, write: Callable[[int, Any], None]) -> tuple:
    """A thread-free loop: take frames off a queue of ``depth`` and ``write`` each one."""
    queue = camera.subscribe(depth)
    camera.start()
    stored = 0
    try:
        while True:
            try:
                frame = queue.get(timeout=0.05)
            except TimeoutError:
                if camera.done.is_set() and not len(queue):
                    break
                continue
            except StreamClosed:
                break
            write(stored, frame.pixels)
            stored += 1
    finally:
        camera.stop()
        camera.unsubscribe(queue)
    return stored, camera.count - stored


def plain(folder: Path, camera: PacedCamera, depth: int) -> dict[str, Any]:
    def write(i: int, pixels: Any) -> None:
        with open(folder / f"f{i}", "wb") as handle:
            handle.write(pixels)

    write = timed(write, lambda i, pixels: pixels.nbytes)
    return _synced(folder, lambda: loop_writer(camera, depth, write))


def zarr_store(folder: Path, camera: PacedCamera, depth: int) -> dict[str, Any]:
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync
    from zarr.storage import LocalStore

    store = LocalStore(str(folder))
    buffers = default_buffer_prototype().buffer

    def write(i: int, pixels: Any) -> None:
        sync(store.set(f"c.{i}.0.0", buffers.from_array_like(pixels.reshape(-1).view(np.uint8))))

    write = timed(write, lambda i, pixels: pixels.nbytes)
    return _synced(folder, lambda: loop_writer(camera, depth, write))


def labkit_run(
    folder: Path, camera: PacedCamera, seconds: float | None, compression: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def job() -> tuple[int, int]:
        options: dict[str, Any] = {"queue_size": QUEUE, "compression": compression}
        if seconds is None:
            step = CameraStream(camera, frames=camera.count, **options)
        else:  # the source stops after its frames; the stream ends a while later
            step = CameraStream(camera, duration=seconds, **options)
        run = labkit.run(step, data_root=folder)
        run.wait()
        accounting = run.attrs["frames"]["cam"]
        out.update(accounting)
        return accounting["stored"], camera.count - accounting["stored"]

    result = _synced(folder, job)
    result["lost_in"] = out.get("lost_in", {})
    result["accounted"] = out.get("stored", 0) + out.get("lost", 0)
    return result


def dd(folder: Path, source: Path, count: int) -> dict[str, Any]:
    def job() -> tuple[int, int]:
        subprocess.run(
            [
                "dd",
                f"if={source}",
                f"of={folder / 'dd.bin'}",
                f"bs={FRAME_BYTES}",
                f"count={count}",
            ],
            check=True,
            capture_output=True,
        )
        return count, 0

    return _synced(folder, job)


def rotated(items: list[Any], repeat: int) -> list[Any]:
    """``items`` in the order of ``repeat``: rotated by one place per repeat, then reversed
    for as many repeats, so that over ``2 × len(items)`` repeats each item takes each place,
    and follows each other item, equally often. On a disk whose state depends on what was
    written just before (the first writer after the unpaced ones met a stalled disk in 7 of
    10 repeats, whichever it was), a random order leaves a writer first more often than the
    others, and its losses look like its own."""
    n = len(items)
    turn = repeat % n
    order = items[turn:] + items[:turn]
    return order[::-1] if (repeat // n) % 2 else order


def _gb(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def spread(values: list[float], scale: float = 1.0, fmt: str = "{:.0f}") -> str:
    med = fmt.format(statistics.median(values) / scale)
    return f"{med} [{fmt.format(min(values) / scale)}–{fmt.format(max(values) / scale)}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=120, help="frames per unpaced measurement")
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds per paced measurement")
    parser.add_argument("--rates", default="0.25,0.5,1,2", help="paced rates in GB/s ('' for none)")
    parser.add_argument("--root", help="folder on the disk to test (default: a temp folder)")
    parser.add_argument(
        "--compression", help="also a run with its frames compressed: lz4 (bit-shuffle), zstd"
    )
    parser.add_argument("--shape", default="2048x2048", help="frame shape, uint16 (HxW)")
    args = parser.parse_args()
    global SHAPE, FRAME_BYTES
    SHAPE = tuple(int(n) for n in args.shape.lower().split("x"))  # type: ignore[assignment]
    FRAME_BYTES = 2 * SHAPE[0] * SHAPE[1]
    packed = f"labkit+{args.compression}" if args.compression else None
    unpaced = ["plain", "zarr", "dd", "labkit"] + ([packed] if packed else [])
    paced = list(WRITERS) + ([packed] if packed else [])
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    pixels = [np.random.default_rng(i).integers(0, 4096, SHAPE, dtype=np.uint16) for i in range(4)]
    with tempfile.TemporaryDirectory(dir=args.root) as name:
        base = Path(name)
        source = base / "source.bin"
        with open(source, "wb") as handle:
            for i in range(args.frames):
                handle.write(pixels[i % len(pixels)])
        os.sync()
        print(
            f"{SHAPE[0]}×{SHAPE[1]} uint16 frames ({FRAME_BYTES / 1e6:.3g} MB) in {base}; "
            f"{args.repeats} repeats, writers in a rotating order within each; "
            "median [min–max] over the repeats"
        )
        results: dict[str, list[dict[str, Any]]] = {}
        # Warm-up, not counted: the first run after start-up (its libraries imported first,
        # so what it faults in is the run's own doing) is shown apart.
        # (dask too: the run's Dataset, opened at its end, imports it: ~6,400 faults alone).
        import dask.array  # noqa: F401
        import xarray  # noqa: F401
        import zarr  # noqa: F401

        import labkit.runs._engine
        import labkit.store._open
        import labkit.store._writer  # noqa: F401

        time_labkit_writes()

        first = labkit_run(base / "runs", PacedCamera(args.frames, None, pixels), None)
        second = labkit_run(base / "runs", PacedCamera(args.frames, None, pixels), None)
        plain(base / "plain", PacedCamera(8, None, pixels), QUEUE)
        zarr_store(base / "zarr", PacedCamera(8, None, pixels), QUEUE)
        print(
            f"first labkit run after start-up (libraries imported before): "
            f"{first['faults'] * first['stored']:.0f} minor faults for {first['stored']} frames "
            f"({first['faults']:.1f} per frame); the second run "
            f"{second['faults'] * second['stored']:.0f} ({second['faults']:.1f} per frame)"
        )

        def measure(key: str, function: Callable[[], dict[str, Any]]) -> None:
            results.setdefault(key, []).append(function())

        for repeat in range(args.repeats):
            jobs: list[tuple[str, Callable[[], dict[str, Any]]]] = []
            for gbs in [None, *rates]:
                rate = None if gbs is None else gbs * 1e9
                count = (
                    args.frames
                    if gbs is None
                    else max(12, round(rate * args.seconds / FRAME_BYTES))
                )
                fps = 0.0 if rate is None else rate / FRAME_BYTES
                depth = QUEUE + backlog_slots(FRAME_BYTES, fps)
                seconds = None if gbs is None else count / fps + 1.0
                tag = "unpaced" if gbs is None else f"{gbs:g} GB/s"

                def cam(count: int = count, rate: float | None = rate) -> PacedCamera:
                    return PacedCamera(count, rate, pixels)

                jobs += [
                    (f"{tag}|plain", lambda d=depth, c=cam: plain(base / "plain", c(), d)),
                    (f"{tag}|zarr", lambda d=depth, c=cam: zarr_store(base / "zarr", c(), d)),
                    (f"{tag}|labkit", lambda s=seconds, c=cam: labkit_run(base / "runs", c(), s)),
                ]
                if packed:
                    jobs.append(
                        (
                            f"{tag}|{packed}",
                            lambda s=seconds, c=cam: labkit_run(
                                base / "runs", c(), s, args.compression
                            ),
                        )
                    )
                if gbs is None:
                    jobs.append((f"{tag}|dd", lambda n=count: dd(base / "dd", source, n)))
            # Pairs stay together (one rate's writers back to back), in a rotating order.
            by_tag: dict[str, list[Any]] = {}
            for key, job in jobs:
                by_tag.setdefault(key.split("|")[0], []).append((key, job))
            for group in by_tag.values():
                for position, (key, job) in enumerate(rotated(group, repeat)):
                    measure(key, job)
                    results[key][-1]["position"] = position
            done = len(results["unpaced|plain"])
            line = ", ".join(
                f"{w} {results[f'unpaced|{w}'][-1]['rate'] / 1e6:.0f}" for w in unpaced
            )
            lost = "; ".join(
                f"{g:g} GB/s "
                + "/".join(str(results[f"{g:g} GB/s|{w}"][-1]["lost"]) for w in paced)
                for g in rates
            )
            load = "/".join(f"{v:.1f}" for v in os.getloadavg())
            print(
                f"repeat {done} (load {load}): unpaced MB/s {line}; lost {'/'.join(paced)} {lost}",
                flush=True,
            )

        print("\nunpaced (MB/s; ratio to plain paired within each repeat; minor faults/frame)")
        plains = [r["rate"] for r in results["unpaced|plain"]]
        for writer in unpaced:
            runs = results[f"unpaced|{writer}"]
            rates_ = [r["rate"] for r in runs]
            ratios = [r / p for r, p in zip(rates_, plains, strict=True)]
            faults = [r["faults"] for r in runs]
            print(
                f"  {writer:11s} {spread(rates_, 1e6):>22s} MB/s   ratio {spread(ratios, 1, '{:.2f}'):>18s}"
                f"   faults/frame {spread(faults, 1, '{:.1f}')}"
            )
        for gbs in rates:
            tag = f"{gbs:g} GB/s"
            count = results[f"{tag}|plain"][0]["stored"] + results[f"{tag}|plain"][0]["lost"]
            print(f"\npaced {tag}: {count} frames per measurement (frames lost)")
            for writer in paced:
                runs = results[f"{tag}|{writer}"]
                lost = [r["lost"] for r in runs]
                line = f"  {writer:11s} lost {spread(lost, 1, '{:.0f}'):>16s}   per repeat {lost}"
                line += f" (its place {[r['position'] for r in runs]})"
                stalls = [_gb(r["stalled_after"]) for r in runs]
                line += f"   its writes waited for the disk after (GB) {stalls}"
                if writer.startswith("labkit"):
                    stages = {
                        s: [r["lost_in"].get(s, 0) for r in runs]
                        for s in ("driver", "queue", "disk")
                    }
                    line += f"   where: {stages}"
                    unaccounted = [count - r["accounted"] for r in runs]
                    line += f"   unaccounted {unaccounted}"
                    # The criterion: wherever the plain writer kept up, 0 lost (paired).
                    kept_up = [
                        r["lost"]
                        for r, p in zip(runs, results[f"{tag}|plain"], strict=True)
                        if p["lost"] == 0
                    ]
                    line += f"   where plain lost 0: {kept_up}"
                print(line)
            # A disk that wanders makes the order matter: frames lost by the place each writer
            # had in its repeat (0 = first of the rate's writers, right after another rate's).
            places = range(len(paced))
            by_place = {
                w: [
                    sum(r["lost"] for r in results[f"{tag}|{w}"] if r["position"] == p)
                    for p in places
                ]
                for w in paced
            }
            lossy = [
                sum(
                    r["lost"] > 0
                    for w in paced
                    for r in results[f"{tag}|{w}"]
                    if r["position"] == p
                )
                for p in places
            ]
            print(
                f"  by place in the repeat (first..last): frames lost {by_place}; "
                f"measurements with losses {lossy}"
            )
            # What decides: how much the page cache took before writes waited for the disk.
            every = sorted(
                (
                    (r["stalled_after"] if r["stalled_after"] is not None else math.inf, w, r)
                    for w in paced
                    for r in results[f"{tag}|{w}"]
                ),
                key=lambda item: item[0],
            )
            print(
                "  every measurement by the GB written before its writes waited for the disk: "
                + ", ".join(f"{_gb(r['stalled_after'])} {w} lost {r['lost']}" for _, w, r in every)
            )


if __name__ == "__main__":
    main()
