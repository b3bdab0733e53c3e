"""Live camera view rate in a real browser: updates per second the page shows at a 1024 × 1024
preview, next to the camera's frame rate and the view's throttle, measured in the same run.

A real JupyterLab (the browser tests' harness: a fresh server, Debian's headless Chromium) runs
a notebook with a camera publishing 1024 × 1024 uint16 frames of noise and a moving bar at
``--fps`` from its own thread, and ``labkit.ui.camera_view(cam, size=1024)``. In the page, a
``MutationObserver`` counts the pictures the view's ``<canvas>`` drew (its ``data-picture``
number, set after ``putImageData``; the ``href`` of bqplot's SVG ``<image>`` in labkit before
the canvas), with no decoding or hashing: the page does only what a user's page does. In the kernel the view reports its own
send rate and the median acknowledgement latency (kernel → page → kernel).

The target is ≥ 25 updates/s — the default throttle, i.e. the view keeps up with it. Runs at
a 512 × 512 preview and at a 256 × 256 preview are printed too, for the bandwidth's share.

Run: ``python benchmarks/bench_live_view.py [--seconds 10] [--fps 100] [--sizes 1024,512]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.harness import Lab, LabServer, find_chromium, launch_chromium, wait_until

CAMERA = '''
import threading, time
import numpy as np
import labkit
from labkit.core import Frame, FrameBroadcaster, Region

class NoiseCamera:
    """Publishes 1024 x 1024 uint16 frames (noise and a moving bar) at a steady rate."""
    name = "bench"
    sensor_shape = (1024, 1024)

    def __init__(self, fps):
        rng = np.random.default_rng(1)
        self.frames = []
        for i in range(16):
            frame = rng.integers(100, 1000, self.sensor_shape, dtype=np.uint16)
            frame[:, i * 60:(i * 60) + 40] = 4000
            self.frames.append(frame)
        self.period = 1.0 / fps
        self.broadcaster = FrameBroadcaster()
        self._stop = threading.Event()
        self._thread = None

    @property
    def acquiring(self):
        return self._thread is not None and self._thread.is_alive()

    def snap(self, timeout=None):
        return Frame(self.frames[0], 1, time.time())

    def start(self):
        self._stop.clear()
        self.broadcaster.start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        number, due = 0, time.monotonic()
        while not self._stop.is_set():
            number += 1
            pixels = self.frames[number % len(self.frames)]
            self.broadcaster.publish(
                Frame(pixels, number, time.time(), regions=(Region(0, 0, 1024, 1024),)))
            due += self.period
            self._stop.wait(max(0.0, due - time.monotonic()))

    def stop(self):
        self._stop.set()
        self._thread.join()

    def subscribe(self, maxsize=8):
        return self.broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue):
        self.broadcaster.unsubscribe(queue)

cam = NoiseCamera(FPS)
'''

COUNT = """
(selector) => new Promise(resolve => {
  const image = document.querySelector(selector);
  const times = [];
  const observer = new MutationObserver(records => {
    const now = performance.now();
    for (const _ of records) times.push(now);
  });
  observer.observe(image, {attributes: true, attributeFilter: ['href', 'data-picture']});
  window.__stopCount = () => { observer.disconnect(); return times; };
  resolve(true);
})
"""


EXTRA = ""
PICTURE = (
    ".labkit-camera-view .labkit-camera-picture canvas.labkit-canvas-image, "
    ".labkit-camera-view .labkit-camera-figure image"
)
"""The view's picture: its canvas (or, in labkit before the canvas, bqplot's SVG ``<image>``,
so the same benchmark measures both)."""
TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except OSError:
                continue
    return parents


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def cpu_by_part(kernel: int, server: int) -> dict[str, float]:
    """CPU seconds so far of the kernel, the Jupyter server, and the browser (Playwright's
    driver and Chromium's processes: every other process descending from this one)."""
    parents = _children()
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    browser = sum(_cpu(p) for p in mine - {os.getpid(), kernel, server})
    return {"kernel": _cpu(kernel), "server": _cpu(server), "browser": browser}


def measure(lab: Lab, size: int, seconds: float, fps: float) -> dict[str, float]:
    show = f"view = labkit.camera_view(cam, start=True, size={size})\n{EXTRA}\nview"
    nb = lab.open_notebook(f"live{size}.ipynb", [CAMERA.replace("FPS", str(fps)), show])
    nb.run_all()
    image = PICTURE
    lab.page.locator(image).first.wait_for()
    wait_until(lambda: int(nb.execute("print(view.channel.sent)")) > 10, timeout=60, what="updates")
    kernel = int(nb.execute("import os; print(os.getpid())"))
    server = lab.server._process.pid  # type: ignore[union-attr]
    lab.page.evaluate(COUNT, image)
    before = nb.execute("print(view.source.counters.frames, view.channel.sent)").split()
    cpu_before = cpu_by_part(kernel, server)
    time.sleep(seconds)
    times = lab.page.evaluate("() => window.__stopCount()")
    cpu_after = cpu_by_part(kernel, server)
    after = nb.execute("print(view.source.counters.frames, view.channel.sent)").split()
    latency = nb.execute("print(view.channel.latency)")
    rate = nb.execute("print(view.source.counters.rate())")
    nb.execute("cam.stop()")
    page_rate = (len(times) - 1) / ((times[-1] - times[0]) / 1000.0) if len(times) > 1 else 0.0
    return {
        "page": page_rate,
        "sent": (int(after[1]) - int(before[1])) / seconds,
        "camera": float(rate),
        "latency_ms": float(latency) * 1000 if latency != "None" else float("nan"),
        **{f"cpu_{k}": (cpu_after[k] - cpu_before[k]) / seconds for k in cpu_before},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=100.0)
    parser.add_argument("--sizes", default="1024,512,256")
    parser.add_argument("--extra", default="")
    options = parser.parse_args()
    global EXTRA
    EXTRA = options.extra
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="labkit-bench-live-"))
    results = {}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, chromium)
            for size in (int(s) for s in options.sizes.split(",")):
                server = LabServer(home / f"lab{size}").start()
                context = browser.new_context(viewport={"width": 1400, "height": 1400})
                lab = Lab(server, context.new_page(), home / "artifacts")
                try:
                    results[size] = measure(lab, size, options.seconds, options.fps)
                finally:
                    lab.close()
                    context.close()
                    server.stop()
            browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    throttle = 25.0
    load = os.getloadavg()[0]
    print(f"load average of the machine (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
    print(
        f"camera view in JupyterLab/Chromium, {options.seconds:g} s per size, camera at "
        f"{options.fps:g} fps, throttle {throttle:g}/s (target: page ≥ 25 updates/s at 1024²)"
    )
    print(
        f"{'preview':>10} {'page upd/s':>11} {'kernel sent/s':>14} {'camera fps':>11} "
        f"{'page/throttle':>14} {'page/camera':>12} {'ack latency':>12}"
    )
    for size, r in results.items():
        print(
            f"{size:>5}×{size:<4} {r['page']:>11.1f} {r['sent']:>14.1f} {r['camera']:>11.1f} "
            f"{r['page'] / throttle:>14.2f} {r['page'] / r['camera']:>12.2f} "
            f"{r['latency_ms']:>9.0f} ms"
        )
    print("CPU (cores busy) while streaming: kernel / Jupyter server / browser")
    for size, r in results.items():
        print(
            f"{size:>5}×{size:<4} {r['cpu_kernel']:.2f} / {r['cpu_server']:.2f} / "
            f"{r['cpu_browser']:.2f}   per page update: "
            f"{1000 * r['cpu_kernel'] / max(r['page'], 1e-9):.1f} / "
            f"{1000 * r['cpu_server'] / max(r['page'], 1e-9):.1f} / "
            f"{1000 * r['cpu_browser'] / max(r['page'], 1e-9):.1f} ms"
        )


if __name__ == "__main__":
    main()
