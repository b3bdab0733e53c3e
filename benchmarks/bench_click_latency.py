"""Kernel responsiveness during a run: how long a click in the page takes to be handled by the
kernel and shown back, while a run goes, next to the same click on an idle kernel measured in
the same session.

A real JupyterLab (the browser tests' harness: a fresh server, Debian's headless Chromium) runs
a notebook with a button whose handler counts clicks into a label. The page clicks it and waits
for the label to show the new count, so one figure covers the whole path a user feels: the
click, the comm message to the kernel, the handler, the state update back, the redraw. Clicks
come at irregular intervals (so they do not beat with the view's throttle) in three states:

- ``idle``: no run (the floor: what Jupyter itself costs);
- ``sweep``: a sweep on the virtual bench (Keithley 2450 → diode ← Keysight 34465A through
  pyvisa and the real drivers) with its live line plot growing;
- ``camera``: a run streaming a simulated PVCAM camera (Prime BSI, 2048²) into the store and
  its live image view (the run's 512² preview) at full rate.

The target is every click handled within 100 ms during a run. Median, 95th percentile and worst
are printed for each state, for the whole round trip (click to the new count drawn in the page)
and for its first half (click to the handler running in the kernel; the page and the kernel
share the machine's clock).

Run: ``python benchmarks/bench_click_latency.py [--clicks 40]``
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.harness import Lab, LabServer, find_chromium, launch_chromium, wait_until

SETUP = """
import os, tempfile
os.environ["LABKIT_DATA"] = tempfile.mkdtemp(prefix="labkit-bench-click-")
import numpy as np
import ipywidgets as widgets
import labkit
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A
from labkit.runs import CameraStream
from labkit.sim import pvcam as pvsim

bench = labkit.sim.Bench(seed=0, dut="diode")
smu = Keithley2450(bench.address("smu"), name="smu")
dmm = Keysight34465A(bench.address("dmm"), name="dmm")
smu.current_limit = "10 mA"
smu.output = True
dmm.nplc = 1
cam = labkit.PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="bsi", library=pvsim.library_path())

clicks = widgets.Label("0", layout=widgets.Layout(width="200px"))
clicks.add_class("bench-count")
button = widgets.Button(description="click me")
button.add_class("bench-button")
import time
def count(_):
    # The count, and when the handler ran (ms since the epoch: the page's clock is the same).
    clicks.value = f"{int(clicks.value.split()[0]) + 1} {time.time() * 1000:.3f}"
button.on_click(count)
widgets.HBox([button, clicks])
"""

SWEEP = """
run = labkit.sweep(smu.settings.source_voltage, np.linspace(0, 0.8, 100000),
                   read=[smu.readings.current, dmm.readings.voltage], name="click-sweep")
run
"""

CAMERA = """
run = labkit.run(CameraStream(cam, duration="60 s", name="click-camera"))
run
"""

CLICK = """
async (count) => {
  const label = document.querySelector('.bench-count');
  const button = document.querySelector('.bench-button');
  const target = String(count + 1);
  return await new Promise(resolve => {
    const observer = new MutationObserver(() => {
      const [shown, handled] = label.textContent.trim().split(' ');
      if (shown === target) {
        observer.disconnect();
        const now = performance.now();
        const there = Number(handled) - (performance.timeOrigin + start);
        resolve([now - start, there]);
      }
    });
    observer.observe(label, {subtree: true, childList: true, characterData: true});
    const start = performance.now();
    button.click();
  });
}
"""


def clicks(lab: Lab, count: int, start: int) -> list[tuple[float, float]]:
    """Click ``count`` times at irregular intervals: milliseconds from the click to the new
    count in the page, and from the click to the handler running in the kernel."""
    chooser = random.Random(start)
    times = []
    for n in range(start, start + count):
        time.sleep(chooser.uniform(0.05, 0.25))
        total, there = lab.page.evaluate(CLICK, n)
        times.append((float(total), float(there)))
    return times


def measure(lab: Lab, count: int) -> dict[str, list[tuple[float, float]]]:
    nb = lab.open_notebook("click.ipynb", [SETUP])
    nb.run_all(timeout=120)
    lab.page.locator(".bench-button").wait_for()
    results: dict[str, list[tuple[float, float]]] = {}
    done = 0
    results["idle"] = clicks(lab, count, done)
    done += count

    nb.run_cell(SWEEP)
    wait_until(lambda: int(nb.execute("print(run.points)")) > 20, timeout=60, what="the sweep")
    results["sweep"] = clicks(lab, count, done)
    done += count
    points = int(nb.execute("print(run.points)"))
    nb.execute("run.abort()")
    print(f"  sweep: {points} points recorded while clicking", file=sys.stderr)

    nb.run_cell(CAMERA)
    lab.page.locator(".labkit-run .labkit-camera-picture canvas.labkit-canvas-image").wait_for(
        timeout=60_000
    )
    wait_until(lambda: int(nb.execute("print(run.points)")) > 20, timeout=60, what="frames")
    results["camera"] = clicks(lab, count, done)
    frames = int(nb.execute("print(run.points)"))
    nb.execute(
        "run.abort(); cam.close(); smu.close(); dmm.close(); bench.close()\n"
        "import shutil; shutil.rmtree(os.environ['LABKIT_DATA'], ignore_errors=True)"
    )
    print(f"  camera: {frames} frames recorded while clicking", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=40)
    options = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="labkit-bench-click-"))
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, chromium)
            server = LabServer(home / "lab").start()
            context = browser.new_context(viewport={"width": 1400, "height": 1400})
            lab = Lab(server, context.new_page(), home / "artifacts")
            try:
                results = measure(lab, options.clicks)
            finally:
                lab.close()
                context.close()
                server.stop()
                browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(
        f"load average of the machine (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"click → handler in the kernel → label redrawn, in JupyterLab/Chromium, "
        f"{options.clicks} clicks per state (target: ≤ 100 ms during a run)"
    )
    print(
        f"{'state':>8} {'median':>9} {'p95':>9} {'worst':>9} {'over 100 ms':>12}"
        f"   {'to the handler: median':>22} {'p95':>9} {'worst':>9} {'over 100 ms':>12}"
    )
    for state, pairs in results.items():
        total = sorted(t for t, _ in pairs)
        there = sorted(h for _, h in pairs)
        over = sum(t > 100 for t in total)
        print(
            f"{state:>8} {_ms(statistics.median(total))} {_ms(_p95(total))} {_ms(total[-1])} "
            f"{over:>6d}/{len(total):<5} {_ms(statistics.median(there)):>22} {_ms(_p95(there))} "
            f"{_ms(there[-1])} {sum(h > 100 for h in there):>6d}/{len(there)}"
        )


def _p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(value: float) -> str:
    return f"{value:>6.1f} ms"


if __name__ == "__main__":
    main()
