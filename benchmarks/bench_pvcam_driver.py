"""Sustained decoding of a simulated Kinetix 16-bit stream through the PVCAM driver.

The simulated Kinetix streams 3200 x 3200 MONO16 frames with metadata on its Dynamic Range port
at 83 frames/s (12 ms exposure = readout) into the driver's NO_OVERWRITE ring; the driver's
acquisition thread decodes each frame, copies (or recomposes) its pixels out of the ring, builds
the labkit Frame and publishes it. Printed per scenario, as CPU time per second of an 83 fps
stream in % of one core:

  * driver      the acquisition thread's CPU time (decode + copy/recompose + Frame + publish);
  * decode      the part of it spent in labkit.native.decode_frame (metadata only, no pixels);
  * memcpy      the yardstick, same run, same load: a consumer thread np.copyto's every frame it
                receives (the same number of bytes) into a preallocated array.

Each is measured in thread CPU time per frame, then scaled to 83.3 frames/s, so a machine too busy
to render the full rate still gives comparable figures (the rate reached is printed too). Each
scenario streams ``--repeat`` times; figures are the best run with the median in brackets (on a
shared 2-core machine the simulator's renderer, the driver and the yardstick compete for the
same cores and memory bandwidth, so medians wander; the best-of figures are the stable ones).

Run: python benchmarks/bench_pvcam_driver.py [--seconds 4] [--repeat 3] [--only full,rois15]
     LABKIT_NATIVE=numpy python benchmarks/bench_pvcam_driver.py   # the NumPy twin
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import labkit.native
from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.drivers.cameras.pvcam import _frames as frames_module
from labkit.sim import pvcam as pvsim

RATE = 1000 / 12  # frames/s of a 12 ms Kinetix Dynamic Range stream

FIFTEEN = "; ".join(
    f"{x},{y},600,1000" for y in (0, 1100, 2200) for x in (0, 640, 1280, 1920, 2560)
)
SCENARIOS = {
    "full": ("1 ROI, 3200 x 3200 (copy out of the ring)", "full", "implied"),
    "rois15": ("15 ROIs of 600 x 1000, recomposed (implied ROI)", FIFTEEN, "implied"),
    "sensor15": ("15 ROIs of 600 x 1000, recomposed (full sensor)", FIFTEEN, "sensor"),
}


class DecodeClock:
    """Adds up the thread CPU time spent in FrameDecoder.decode (the metadata walk)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._original = frames_module.FrameDecoder.decode

    def __enter__(self) -> DecodeClock:
        original, clock = self._original, self

        def timed(decoder: frames_module.FrameDecoder, buffer: object) -> object:
            started = time.thread_time()
            try:
                return original(decoder, buffer)
            finally:
                clock.seconds += time.thread_time() - started
                clock.calls += 1

        frames_module.FrameDecoder.decode = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        frames_module.FrameDecoder.decode = self._original  # type: ignore[method-assign]


def run(cam: PvcamCamera, seconds: float) -> dict[str, float]:
    queue = cam.subscribe(maxsize=4)
    copy = {"seconds": 0.0, "frames": 0}
    stop = threading.Event()
    target: list[np.ndarray] = []

    def memcpy_consumer() -> None:
        while not stop.is_set():
            try:
                frame = queue.get(timeout=0.1)
            except TimeoutError:
                continue
            if not target or target[0].shape != frame.pixels.shape:
                target[:] = [np.empty_like(frame.pixels)]
                target[0].fill(0)
            started = time.thread_time()
            np.copyto(target[0], frame.pixels)
            copy["seconds"] += time.thread_time() - started
            copy["frames"] += 1

    consumer = threading.Thread(target=memcpy_consumer)
    consumer.start()
    with DecodeClock() as clock:
        cam.start()
        time.sleep(seconds)
        cam.stop()
    stop.set()
    consumer.join()
    cam.unsubscribe(queue)
    stats = cam.stats or {}
    frames = max(stats.get("frames", 0), 1)
    return {
        "frames": stats.get("frames", 0),
        "lost": stats.get("lost", 0),
        "rate": stats.get("frames", 0) / max(stats.get("seconds", seconds), 1e-9),
        "driver": stats.get("cpu_seconds", 0.0) / frames,
        "decode": clock.seconds / max(clock.calls, 1),
        "memcpy": copy["seconds"] / max(copy["frames"], 1),
        "bytes": int(np.asarray(target[0]).nbytes) if target else 0,
    }


def percent(values: list[float]) -> str:
    best, median = min(values), statistics.median(values)
    return (
        f"{100 * best * RATE:5.1f} % of a core [{100 * median * RATE:5.1f}]"
        f"  ({1e3 * best:5.2f} ms/frame [{1e3 * median:5.2f}])"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each stream")
    parser.add_argument("--repeat", type=int, default=3, help="streams per scenario")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    args = parser.parse_args()
    print(
        f"simulated Kinetix, Dynamic Range port (16-bit MONO16, metadata on), 12 ms exposure = "
        f"{RATE:.1f} frames/s; labkit.native backend: {labkit.native.backend}; "
        f"{os.cpu_count()} CPUs; best of {args.repeat} x {args.seconds:g} s [median]"
    )
    cam = PvcamCamera(f"pvcam://{pvsim.KINETIX}", library=pvsim.library_path(), name="bench")
    try:
        cam.set_readout("Dynamic Range")
        cam.metadata = True
        cam.exposure = "12 ms"
        cam.buffer_frames = 16
        for key in args.only.split(","):
            label, roi, coordinates = SCENARIOS[key.strip()]
            cam.roi = roi
            cam.roi_coordinates = coordinates
            runs = [run(cam, args.seconds) for _ in range(args.repeat)]
            column = {name: [r[name] for r in runs] for name in runs[0]}
            print(f"\n{label}: {runs[0]['bytes'] / 1e6:.2f} MB per image")
            rates = ", ".join(f"{r['rate']:.1f}" for r in runs)
            lost = ", ".join(str(int(r["lost"])) for r in runs)
            print(f"  stream    {rates} fps; frames lost before the driver: {lost}")
            print(f"  driver    {percent(column['driver'])}  decode + copy/recompose + publish")
            print(f"  decode    {percent(column['decode'])}  metadata walk only")
            print(f"  memcpy    {percent(column['memcpy'])}  same frames, same run")
            ratio = min(column["driver"]) / min(column["memcpy"])
            print(f"  ratio     driver / memcpy = {ratio:.2f} (best of each)")
    finally:
        cam.close()


if __name__ == "__main__":
    main()
