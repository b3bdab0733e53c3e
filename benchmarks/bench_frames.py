"""Benchmarks of labkit.native: decode, recompose, preview and a simulated Kinetix stream.

Every figure is printed next to the thing it is compared with, measured in the same run, as a
ratio: memcpy of the same bytes (numpy.copyto between same-size arrays, and ctypes.memmove), the
NumPy twin, or the CPU cost of merely copying each frame of the stream.

    python benchmarks/bench_frames.py                     # everything, about a minute
    python benchmarks/bench_frames.py --only preview --repeat 100
    python benchmarks/bench_frames.py --only stream --seconds 10

Times are the best of ``--repeat`` runs, with the median in brackets (the spread says how busy
the machine was). Speed is never asserted in a test; this script only reports.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import time
from collections.abc import Callable

# numpy's OpenBLAS starts one busy-waiting thread per core at import. Nothing here uses BLAS, and
# on a 2-core machine those threads take the second core from the C kernels' own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import labkit.native as ln

KINETIX = (3200, 3200)  # 10.24 MP, 16-bit at 83 frames/s in Dynamic Range mode


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


def ms(timing: tuple[float, float]) -> str:
    return f"{timing[0] * 1e3:8.3f} ms [{timing[1] * 1e3:.3f}]"


def report(name: str, ours: tuple[float, float], ref_name: str, ref: tuple[float, float],
           target: str = "") -> None:  # fmt: skip
    """One line: our time, the reference time, and reference/ours (above 1: we are faster)."""
    ratio = ref[0] / ours[0]
    goal = f"  target {target}" if target else ""
    print(f"  {name:<46} {ms(ours)} | {ref_name:<22} {ms(ref)} | ratio {ratio:6.2f}x{goal}")


def memcpy_references(nbytes: int, repeat: int) -> dict[str, tuple[float, float]]:
    """numpy.copyto and ctypes.memmove of ``nbytes`` between two preallocated buffers."""
    src = np.random.default_rng(1).integers(0, 255, nbytes, np.uint8)
    dst = np.empty_like(src)
    return {
        "np.copyto": measure(lambda: np.copyto(dst, src), repeat),
        "ctypes.memmove": measure(
            lambda: ctypes.memmove(dst.ctypes.data, src.ctypes.data, nbytes), repeat
        ),
    }


def best_memcpy(refs: dict[str, tuple[float, float]]) -> tuple[str, tuple[float, float]]:
    name = min(refs, key=lambda k: refs[k][0])
    return name, refs[name]


def kinetix_frame(rng: np.random.Generator, frame_nr: int = 1) -> bytes:
    pixels = rng.integers(0, 65535, KINETIX, np.uint16)
    region = ln.Rgn.full(*KINETIX)
    return ln.build_frame([ln.RoiSpec(region, pixels)], frame_nr=frame_nr, bit_depth=16)


def grid_frame(rng: np.random.Generator) -> bytes:
    """15 user ROIs (PVCAM's maximum) of 600 × 1000 in a 5 × 3 grid on the Kinetix sensor."""
    specs = [
        ln.RoiSpec(
            (i * 640, i * 640 + 599, 1, j * 1066, j * 1066 + 999, 1),
            rng.integers(0, 65535, (1000, 600), np.uint16),
        )
        for i in range(5)
        for j in range(3)
    ]
    return ln.build_frame(specs)


def small_rois_frame(rng: np.random.Generator) -> bytes:
    """15 ROIs of 64 × 64: a multi-ROI frame where the per-ROI work dominates."""
    specs = [
        ln.RoiSpec((i * 70, i * 70 + 63, 1, 0, 63, 1), rng.integers(0, 65535, (64, 64)))
        for i in range(15)
    ]
    return ln.build_frame(specs)


def centroids_frame(rng: np.random.Generator, count: int = 512) -> bytes:
    """PrimeLocate-style: ``count`` 7 × 7 patches (radius 3) anywhere on the sensor."""
    corners = rng.integers(0, KINETIX[0] - 7, (count, 2))
    specs = [
        ln.RoiSpec((int(x), int(x) + 6, 1, int(y), int(y) + 6, 1), rng.integers(0, 65535, (7, 7)))
        for x, y in corners
    ]
    return ln.build_frame(specs)


def bench_decode(repeat: int) -> None:
    print("decode + recompose vs memcpy of the same bytes (C backend)")
    rng = np.random.default_rng(0)
    single = kinetix_frame(rng)
    out = np.empty(KINETIX, np.uint16)
    refs = memcpy_references(len(single), repeat)
    for name, timing in refs.items():
        print(f"  {'memcpy ' + name:<46} {ms(timing)}  ({len(single) / timing[0] / 1e9:.1f} GB/s)")
    ref_name, ref = best_memcpy(refs)
    ours = measure(lambda: ln.recompose(ln.decode_frame(single), out=out), repeat)
    report("3200x3200 MONO16, 1 ROI, into out", ours, ref_name, ref, ">= 0.8x")
    decode_only = measure(lambda: ln.decode_frame(single), repeat)
    report("  (decode alone: zero-copy views)", decode_only, ref_name, ref)

    grid = grid_frame(rng)
    refs = memcpy_references(len(grid), repeat)
    ref_name, ref = best_memcpy(refs)
    frame = ln.decode_frame(grid)
    canvas = np.empty(ln.recompose(frame).shape, np.uint16)
    ours = measure(lambda: ln.recompose(ln.decode_frame(grid), out=canvas), repeat)
    report(f"15 ROIs 600x1000, implied {canvas.shape}", ours, ref_name, ref, ">= 0.5x")
    ours = measure(
        lambda: ln.recompose(ln.decode_frame(grid), out=out, coordinates="sensor"), repeat
    )
    report("15 ROIs, full-sensor canvas 3200x3200", ours, ref_name, ref)


def bench_twin(repeat: int) -> None:
    if "c" not in ln.available_backends:
        print(f"C vs NumPy twin: skipped, no C extension ({ln.c_import_error})")
        return
    print("C vs NumPy twin (ratio = twin time / C time)")
    rng = np.random.default_rng(2)
    sensor = np.empty(KINETIX, np.uint16)
    cases = [
        ("15 ROIs of 64x64", small_rois_frame(rng), {}),
        ("512 centroids 7x7, sensor canvas", centroids_frame(rng), {"out": sensor,
                                                                    "coordinates": "sensor"}),
        ("15 ROIs of 600x1000 (20 MB)", grid_frame(rng), {}),
    ]  # fmt: skip
    for name, data, kwargs in cases:
        timings = {}
        for backend in ("c", "numpy"):
            frame = ln.decode_frame(data, backend=backend)
            out = kwargs.get("out", np.empty(ln.recompose(frame).shape, np.uint16))
            options = {**kwargs, "out": out}
            timings[backend] = (
                measure(lambda b=backend, d=data: ln.decode_frame(d, backend=b), repeat),
                measure(
                    lambda b=backend, d=data, o=options: ln.recompose(
                        ln.decode_frame(d, backend=b), backend=b, **o
                    ),
                    max(repeat // 4, 5),
                ),
            )
        report(f"decode {name}", timings["c"][0], "twin", timings["numpy"][0], ">= 10x")
        report(f"decode+recompose {name}", timings["c"][1], "twin", timings["numpy"][1], ">= 10x")


def bench_preview(repeat: int) -> None:
    print("preview 3200x3200 uint16 -> <= 800x800 uint8 (target <= 2 ms)")
    image = np.random.default_rng(3).integers(0, 65535, KINETIX, np.uint16)
    refs = memcpy_references(image.nbytes, repeat)
    ref_name, ref = best_memcpy(refs)
    variants = [
        ("mean, minmax", {}),
        ("mean, percentile 0.5-99.5", {"contrast": ("percentile", 0.5, 99.5)}),
        ("mean, manual levels (single pass)", {"contrast": (100, 60000)}),
        ("max binning, minmax", {"binning": "max"}),
        ("mean, minmax, gamma 0.5", {"gamma": 0.5}),
    ]
    out = np.empty((800, 800), np.uint8)
    for name, kwargs in variants:
        for threads in (None, 1):
            label = f"{name}, {'auto threads' if threads is None else '1 thread'}"
            ours = measure(
                lambda k=kwargs, t=threads: ln.preview(
                    image, max_size=800, out=out, threads=t, **k
                ),
                repeat,
            )
            report(label, ours, ref_name, ref)
    if "c" in ln.available_backends:
        c = measure(lambda: ln.preview(image, max_size=800, backend="c"), repeat)
        twin = measure(lambda: ln.preview(image, max_size=800, backend="numpy"), 5)
        report("mean, minmax: C vs twin", c, "twin", twin)


def bench_stream(seconds: float, fps: float = 83.0, slots: int = 8) -> None:
    """CPU time per second of a paced Kinetix stream, for what a live view does per frame."""
    print(f"simulated Kinetix stream: 3200x3200 MONO16 at {fps:g} frames/s for {seconds:g} s "
          "(CPU time / wall time, % of one core; target < 25%)")  # fmt: skip
    rng = np.random.default_rng(4)
    frames = [kinetix_frame(rng, frame_nr=k + 1) for k in range(slots)]
    ring = ln.pack_frames(frames)
    stride = len(frames[0])
    out = np.empty(KINETIX, np.uint16)
    shown = np.empty((800, 800), np.uint8)
    copy = np.empty(stride, np.uint8)

    def memcpy_each(slot: int) -> None:
        np.copyto(copy, ring[slot * stride : (slot + 1) * stride])

    def decode(slot: int) -> None:
        ln.decode_batch(ring, stride, start=slot, count=1)

    def decode_recompose(slot: int) -> None:
        frame = ln.decode_batch(ring, stride, start=slot, count=1)[0]
        ln.recompose(frame, out=out)

    def decode_preview(slot: int) -> None:
        frame = ln.decode_batch(ring, stride, start=slot, count=1)[0]
        ln.preview(frame.pixels, max_size=800, out=shown, contrast=("percentile", 0.5, 99.5))

    def decode_recompose_preview(slot: int) -> None:
        frame = ln.decode_batch(ring, stride, start=slot, count=1)[0]
        ln.preview(ln.recompose(frame, out=out), max_size=800, out=shown)

    shown_at = [0.0]

    def live_view(slot: int) -> None:
        """What labkit's live view does: every frame decoded, a preview at most 30 times/s."""
        frame = ln.decode_batch(ring, stride, start=slot, count=1)[0]
        now = time.perf_counter()
        if now - shown_at[0] >= 1 / 30:
            shown_at[0] = now
            ln.preview(frame.pixels, max_size=800, out=shown, contrast=("percentile", 0.5, 99.5))

    def paced(work: Callable[[int], None]) -> float:
        period = 1.0 / fps
        count = int(seconds * fps)
        cpu, wall = time.process_time(), time.perf_counter()
        for k in range(count):
            work(k % slots)
            delay = wall + (k + 1) * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        return 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)

    baseline = paced(memcpy_each)
    print(f"  {'memcpy of every frame (reference)':<46} {baseline:6.1f} % of a core")
    for name, work in [
        ("decode (zero-copy view)", decode),
        ("decode + recompose into out", decode_recompose),
        ("decode + preview 800x800 (percentile)", decode_preview),
        ("decode + recompose + preview 800x800", decode_recompose_preview),
        ("live view: decode all, preview at 30 Hz", live_view),
    ]:
        load = paced(work)
        print(f"  {name:<46} {load:6.1f} % of a core | memcpy/ours {baseline / load:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="decode,twin,preview,stream",
                        help="comma-separated: decode, twin, preview, stream")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per figure")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each stream run")
    args = parser.parse_args()
    backends = ", ".join(ln.available_backends)
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    print(
        f"labkit.native backend: {ln.backend} (available: {backends}); {os.cpu_count()} CPUs; "
        f"OPENBLAS_NUM_THREADS={blas}"
    )
    parts = {
        "decode": lambda: bench_decode(args.repeat),
        "twin": lambda: bench_twin(args.repeat),
        "preview": lambda: bench_preview(args.repeat),
        "stream": lambda: bench_stream(args.seconds),
    }
    for name in args.only.split(","):
        parts[name.strip()]()


if __name__ == "__main__":
    main()
