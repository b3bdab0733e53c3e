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

A page driven by Playwright is not a person's page: Playwright keeps a DevTools session on it
with the Network domain enabled, so Chromium copies every websocket frame — each 1 MiB
picture — base64-encoded to the Playwright driver (40-45 % of the browser's CPU per
picture at 1024², in Chromium's browser and renderer processes and in the driver). So each
size is measured a second time, in the same run, on the same notebook, kernel and camera: the
notebook is saved, Playwright's page closed, and the same Chromium binary with the same flags
opens it with no DevTools client attached while the pictures are counted. A DevTools
connection of a moment installs the same counter before and reads it after; the browser's CPU
is that Chromium's processes only. Both figures are printed, side by side.

Run: ``python benchmarks/bench_live_view.py [--seconds 10] [--fps 100] [--sizes 1024,512]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.harness import (
    CHROMIUM_ARGS,
    Lab,
    LabServer,
    find_chromium,
    launch_chromium,
    wait_until,
)

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
    mine = _tree(os.getpid())
    browser = sum(_cpu(p) for p in mine - {os.getpid(), kernel, server})
    return {"kernel": _cpu(kernel), "server": _cpu(server), "browser": browser}


def _tree(root: int) -> set[int]:
    """``root`` and every process descending from it."""
    parents = _children()
    tree = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return tree


def _sent(nb: Any) -> tuple[float, int]:
    """(the kernel's clock, updates the view sent so far), read in the kernel."""
    clock, sent = nb.execute("import time; print(time.monotonic(), view.channel.sent)").split()
    return float(clock), int(sent)


def _page_of(playwright: Any, profile: Path) -> tuple[Any, Any]:
    """A short DevTools connection to the plain Chromium using ``profile``, and its page."""
    active = profile / "DevToolsActivePort"
    wait_until(active.exists, timeout=30, what="the plain Chromium's DevTools port")
    port = active.read_text().split()[0]
    browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
    pages = [page for context in browser.contexts for page in context.pages]
    return browser, pages[0]


def measure_plain(
    lab: Lab, nb: Any, playwright: Any, chromium: str, seconds: float
) -> dict[str, float]:
    """The same notebook, kernel and camera, shown by a Chromium with no DevTools client
    attached while it streams (see the module's docstring)."""
    saved = lab.server.root / nb.path
    lab.page.keyboard.press("Control+s")
    wait_until(
        lambda: "application/vnd.jupyter.widget-view+json" in saved.read_text(),
        timeout=30,
        what="the notebook saved with its view",
    )
    lab.page.close()
    profile = Path(tempfile.mkdtemp(prefix="labkit-bench-plain-"))
    url = f"{lab.server.url}/lab/tree/{nb.path}?token={lab.server.token}"
    flags = ["--window-size=1400,1400", "--remote-debugging-port=0", f"--user-data-dir={profile}"]
    plain = subprocess.Popen(
        [chromium, "--headless", *CHROMIUM_ARGS, *flags, url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        browser, page = _page_of(playwright, profile)
        page.locator(PICTURE).first.wait_for(timeout=60_000)
        page.evaluate(COUNT, PICTURE)
        browser.close()  # disconnects; the page and its counter stay
        before, cpu_before = _sent(nb), sum(_cpu(p) for p in _tree(plain.pid))
        time.sleep(seconds)
        after, cpu_after = _sent(nb), sum(_cpu(p) for p in _tree(plain.pid))
        browser, page = _page_of(playwright, profile)
        times = page.evaluate("() => window.__stopCount()")
        browser.close()
    finally:
        plain.terminate()
        try:
            plain.wait(10)
        except subprocess.TimeoutExpired:
            plain.kill()
            plain.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return {
        "page": _rate(times),
        "sent": (after[1] - before[1]) / (after[0] - before[0]),
        "cpu_browser": (cpu_after - cpu_before) / seconds,
    }


def _rate(times: list[float]) -> float:
    """Pictures per second from the page's drawing times (ms)."""
    return (len(times) - 1) / ((times[-1] - times[0]) / 1000.0) if len(times) > 1 else 0.0


def measure(lab: Lab, size: int, seconds: float, fps: float) -> tuple[Any, dict[str, float]]:
    """The notebook (streaming on) and the figures of the page Playwright drives."""
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
    figures = {
        "page": _rate(times),
        "sent": (int(after[1]) - int(before[1])) / seconds,
        "camera": float(rate),
        "latency_ms": float(latency) * 1000 if latency != "None" else float("nan"),
        **{f"cpu_{k}": (cpu_after[k] - cpu_before[k]) / seconds for k in cpu_before},
    }
    return nb, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=100.0)
    parser.add_argument("--sizes", default="1024,512,256")
    parser.add_argument("--extra", default="")
    parser.add_argument(
        "--playwright-only",
        action="store_true",
        help="skip the second measurement in a Chromium with no DevTools client attached",
    )
    options = parser.parse_args()
    global EXTRA
    EXTRA = options.extra
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="labkit-bench-live-"))
    results: dict[int, dict[str, float]] = {}
    plain: dict[int, dict[str, float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, chromium)
            for size in (int(s) for s in options.sizes.split(",")):
                server = LabServer(home / f"lab{size}").start()
                context = browser.new_context(viewport={"width": 1400, "height": 1400})
                lab = Lab(server, context.new_page(), home / "artifacts")
                try:
                    nb, results[size] = measure(lab, size, options.seconds, options.fps)
                    if not options.playwright_only:
                        plain[size] = measure_plain(lab, nb, playwright, chromium, options.seconds)
                    nb.execute("cam.stop()")
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
    if plain:
        print(
            "the same notebook, kernel and camera in Chromium with no DevTools client attached "
            "(no Playwright)"
        )
        print(f"{'preview':>10} {'page upd/s':>11} {'kernel sent/s':>14} {'browser CPU':>12}")
        for size, r in plain.items():
            print(
                f"{size:>5}×{size:<4} {r['page']:>11.1f} {r['sent']:>14.1f} "
                f"{r['cpu_browser']:>7.2f} cores, "
                f"{1000 * r['cpu_browser'] / max(r['page'], 1e-9):.1f} ms per page update"
            )


if __name__ == "__main__":
    main()
