"""Array readings in a real JupyterLab: a sweep recording the bench spectrometer's spectra shows
the latest spectrum, whole, against its wavelengths, and a waterfall of the history, in the page;
and the spectrometer's panel shows its small plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.ui._image import COLORMAPS
from tests.browser.harness import Lab, wait_until
from tests.browser.live_page import line_points

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]

SETUP = f"""
import os, sys, tempfile
sys.path.insert(0, {str(REPO)!r})
os.environ["LABKIT_DATA"] = tempfile.mkdtemp(prefix="labkit-traces-")
import numpy as np
import labkit
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.oceanoptics import USB2000Plus
bench = labkit.sim.Bench(seed=0, prefix="webspec")
psu = AgilentE3631A(bench.address("psu"), name="psu")
spec = USB2000Plus(bench.address("spectrometer"), name="spec")
spec.integration_time = "1 ms"
psu.output = True
"""


def test_spectra_show_live_as_a_trace_and_a_waterfall(lab: Lab) -> None:
    from playwright.sync_api import expect

    sweep = (
        "run = labkit.sweep(psu.p25v.settings.voltage, np.linspace(4, 12, 12),\n"
        "                   read=[spec.readings.spectrum], settle=0.05, name='spectra')\n"
        "run"
    )
    nb = lab.open_notebook("spectra.ipynb", [SETUP, sweep, "spec.panel()"])
    nb.run_all()
    widget = nb.output(1).locator(".labkit-run")
    trace = widget.locator(".labkit-traceplot")
    expect(trace.locator("svg.svg-figure")).to_be_visible()
    expect(trace).to_contain_text("wavelength (nm)")
    expect(trace).to_contain_text("spec spectrum (counts)")
    waterfall = widget.locator(".labkit-waterfall")
    expect(waterfall.locator("svg.svg-figure")).to_be_visible()
    wait_until(lambda: nb.execute("print(run.status)") == "completed", timeout=90, what="the run")
    # The whole spectrum (2048 points fit the page's budget) drawn in the page.
    wait_until(
        lambda: line_points(lab.page, ".labkit-run .labkit-traceplot") == [2048],
        what="the last spectrum, whole",
    )
    expect(widget).to_contain_text("12 / 12 points")
    lab.screenshot("spectra-done", widget)
    panel = nb.output(2)
    expect(panel.locator(".labkit-smalltrace svg.svg-figure")).to_be_visible()
    expect(panel).to_contain_text("2048 wavelength")
    lab.screenshot("spectrometer-panel", panel)
    nb.execute("spec.close(); psu.close(); bench.close()")


SCOPE = f"""
import os, sys, tempfile
sys.path.insert(0, {str(REPO)!r})
os.environ["LABKIT_DATA"] = tempfile.mkdtemp(prefix="labkit-image-")
import numpy as np
import labkit
from labkit.drivers.keysight import Keysight33522B
from labkit.drivers.rigol import RigolDS1000Z
bench = labkit.sim.Bench(seed=1, prefix="webimg")
fg = Keysight33522B(bench.address("fg"), name="fg")
scope = RigolDS1000Z(bench.address("scope"), name="scope")
fg.ch1.load = "high Z"
fg.ch1.amplitude = 1.6
fg.ch1.output = True
scope.ch1.probe = 1
scope.ch1.scale = 0.2
scope.ch2.display = True
scope.timebase_scale = 1e-3
"""

_PICTURE = """
async (selector) => {
  const figure = document.querySelector(selector);
  if (!figure) return null;
  const stops = [...figure.querySelectorAll('linearGradient stop')]
    .map(s => (s.getAttribute('stop-color') || '').toLowerCase());
  const axes = [...figure.querySelectorAll('g.axis')]
    .map(axis => [...axis.querySelectorAll('.tick text')].map(t => t.textContent.trim()));
  const bar = figure.querySelector('g.ColorBar, g.colorbar');
  const barTicks = bar ? [...bar.querySelectorAll('.tick text')].map(t => t.textContent.trim())
    : [];
  const href = [...figure.querySelectorAll('image')].map(i => i.getAttribute('href') || '')
    .find(h => h.startsWith('data:image/png'));
  if (!href) return {stops, axes, barTicks, pixels: 0};
  const picture = new Image();
  picture.src = href;
  await picture.decode();
  const canvas = document.createElement('canvas');
  canvas.width = picture.width;
  canvas.height = picture.height;
  const context = canvas.getContext('2d');
  context.drawImage(picture, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  let pixels = 0, black = 0, blueOverRed = 0, notHot = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] < 255) continue;
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    pixels += 1;
    colours.add((r << 16) | (g << 8) | b);
    if (r + g + b === 0) black += 1;
    if (b > r) blueOverRed += 1;
    if (!(r + 2 >= g && g + 2 >= b)) notHot += 1;
  }
  return {stops, axes, barTicks, pixels, colours: colours.size, black, blueOverRed, notHot, href};
}
"""


def test_a_trace_per_channel_shows_as_an_image_whose_colour_bar_follows_the_colormap(
    lab: Lab,
) -> None:
    """The scope's ``traces`` (channel × time) during a sweep: the newest item as a heat map
    with both axes and a colour bar in volts; a new colormap repaints the map and its bar."""
    from playwright.sync_api import expect

    sweep = (
        "run = labkit.sweep(fg.ch1.settings.frequency, np.linspace(1e3, 4e3, 8),\n"
        "                   read=[scope.readings.traces], settle=0.2, name='traces')\n"
        "run"
    )
    nb = lab.open_notebook("image.ipynb", [SCOPE, sweep])
    nb.run_all()
    widget = nb.output(1).locator(".labkit-run")
    image = widget.locator(".labkit-arrayimage")
    expect(image.locator("svg.svg-figure")).to_be_visible()
    expect(image).to_contain_text("time from the trigger (ms)")
    expect(image).to_contain_text("channel")
    expect(image).to_contain_text("scope traces (V)")
    wait_until(lambda: nb.execute("print(run.status)") == "completed", timeout=90, what="the run")
    selector = ".labkit-run .labkit-arrayimage"

    def picture() -> dict:
        return lab.page.evaluate(_PICTURE, selector) or {}

    def drawn() -> bool:
        shown = picture()
        return bool(shown.get("barTicks")) and shown.get("pixels", 0) > 0 and not shown["black"]

    # The map is painted in viridis (no unpainted black cells), the bar has numbers.
    wait_until(drawn, timeout=30, what="the newest traces painted, the colour bar numbered")
    viridis = picture()
    assert viridis["stops"] == [c.lower() for c in COLORMAPS["viridis"]]
    assert viridis["colours"] > 20  # a signal, not a flat field
    assert viridis["blueOverRed"] > 0  # viridis' dark end is blue over red
    # The rows are the shown channels, labelled with their numbers.
    assert ["1", "2"] in viridis["axes"]
    lab.screenshot("traces-image-viridis", widget)
    # A new colormap: the bar's gradient and every painted cell follow it.
    nb.execute(
        "from labkit.ui import live_view\n"
        "(image,) = [p for p in live_view(run).plots if 'labkit-arrayimage' in "
        "p.figure._dom_classes]\n"
        "image.colormap = 'hot'"
    )

    def repainted() -> bool:
        shown = picture()
        return (
            shown.get("stops") == [c.lower() for c in COLORMAPS["hot"]]
            and shown.get("href") != viridis["href"]
            and shown.get("pixels", 0) > 0
            and shown["notHot"] == 0
        )

    wait_until(repainted, timeout=30, what="the map and its colour bar in the new colormap")
    lab.screenshot("traces-image-hot", widget)
    nb.execute("scope.close(); fg.close(); bench.close()")
