"""Array readings in a real JupyterLab: a sweep recording the bench spectrometer's spectra shows
the latest spectrum, whole, against its wavelengths, and a waterfall of the history, in the page;
and the spectrometer's panel shows its small plot."""

from __future__ import annotations

import pytest

from labkit.ui._image import COLORMAPS
from tests.browser.harness import Lab, kernel_setup, wait_until
from tests.browser.live_page import line_points

pytestmark = pytest.mark.browser


SETUP = kernel_setup(
    "labkit-traces-",
    """\
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.oceanoptics import USB2000Plus
bench = labkit.sim.Bench(seed=0, prefix="webspec")
psu = AgilentE3631A(bench.address("psu"), name="psu")
spec = USB2000Plus(bench.address("spectrometer"), name="spec")
spec.integration_time = "1 ms"
psu.output = True
""",
)


def test_spectra_show_live_as_a_trace_and_a_waterfall(lab: Lab) -> None:
    from playwright.sync_api import expect

    sweep = (
        "run = labkit.sweep(psu.p25v.settings.voltage, np.linspace(4, 12, 12),\n"
        "                   read=[spec.readings.spectrum], settle=0.05, name='spectra')\n"
        "run"
    )
    nb = lab.open_notebook("spectra.ipynb", [SETUP, sweep, "spec.panel()", GAPS])
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
    assert_colour_bar_label_clear(lab, ".labkit-run .labkit-waterfall")
    panel = nb.output(2)
    expect(panel.locator(".labkit-smalltrace svg.svg-figure")).to_be_visible()
    expect(panel).to_contain_text("2048 wavelength")
    lab.screenshot("spectrometer-panel", panel)
    # A waterfall with one row of four measured: the others are empty, not black (bqplot
    # painted NaN cells black, or in the colour of the cell before).
    gaps = nb.output(3).locator(".labkit-gaps")
    expect(gaps.locator("svg.svg-figure")).to_be_visible()

    def bands() -> list:
        return lab.page.evaluate(_BANDS, [".labkit-gaps", 4]) or []

    wait_until(lambda: len(bands()) == 4, what="the waterfall with gaps painted")
    top, second, measured, bottom = bands()  # rows 3, 2, 1, 0: the first row at the bottom
    for empty in (top, second, bottom):
        assert empty == {"colours": ["e8e8e8"], "black": 0}  # the map's null colour only
    assert measured["black"] == 0
    assert "e8e8e8" not in measured["colours"]
    assert len(measured["colours"]) > 20  # the ramp recorded, in viridis
    assert_colour_bar_label_clear(lab, ".labkit-gaps")
    lab.screenshot("waterfall-gaps", gaps)
    nb.execute("spec.close(); psu.close(); bench.close()")


GAPS = """
from labkit.ui._plots import Axis
from labkit.ui._traces import WaterfallPlot
gaps = WaterfallPlot(Axis("w", "wavelength", np.linspace(400, 700, 200), unit="nm"),
                     Axis("v", "voltage", np.arange(4.0), unit="V"), "gaps", "gaps")
gaps.record_trace((1,), np.linspace(0, 1, 200))
gaps.figure.add_class("labkit-gaps")
gaps.widget
"""

_BANDS = """
async ([selector, count]) => {
  const figure = document.querySelector(selector);
  if (!figure) return null;
  const href = [...figure.querySelectorAll('image')].map(i => i.getAttribute('href') || '')
    .find(h => h.startsWith('data:image/png'));
  if (!href) return null;
  const picture = new Image();
  picture.src = href;
  await picture.decode();
  const canvas = document.createElement('canvas');
  canvas.width = picture.width;
  canvas.height = picture.height;
  const context = canvas.getContext('2d');
  context.drawImage(picture, 0, 0);
  const bands = [];
  for (let k = 0; k < count; k++) {
    const y = Math.floor((k + 0.5) * canvas.height / count);
    const data = context.getImageData(0, y, canvas.width, 1).data;
    const colours = new Set();
    let black = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      colours.add(((r << 16) | (g << 8) | b).toString(16).padStart(6, '0'));
      if (r + g + b === 0) black += 1;
    }
    bands.push({colours: [...colours], black});
  }
  return bands;
}
"""

_LABEL_BOX = """
(selector) => {
  const figure = document.querySelector(selector);
  const svg = figure && figure.querySelector('svg.svg-figure');
  const label = figure && figure.querySelector('g.ColorBar .axislabel');
  const cells = figure && [...figure.querySelectorAll('image')]
    .find(i => (i.getAttribute('href') || '').startsWith('data:image/png'));
  if (!svg || !label || !cells) return null;
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {svg: box(svg), label: box(label), cells: box(cells), text: label.textContent};
}
"""


def assert_colour_bar_label_clear(lab: Lab, selector: str) -> dict:
    """The colour bar's label lies whole inside the figure, right of the map's cells."""
    shown = lab.page.evaluate(_LABEL_BOX, selector)
    assert shown is not None, f"no colour bar label or cells in {selector}"
    svg, label, cells = shown["svg"], shown["label"], shown["cells"]
    assert label["right"] > label["left"], shown
    assert svg["left"] <= label["left"], shown
    assert label["right"] <= svg["right"], shown
    assert svg["top"] <= label["top"], shown
    assert label["bottom"] <= svg["bottom"], shown
    assert label["left"] >= cells["right"], shown  # not drawn over the cells
    return shown


SCOPE = kernel_setup(
    "labkit-image-",
    """\
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
""",
)

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
    # The colour bar's label is whole: inside the figure, clear of the cells.
    assert assert_colour_bar_label_clear(lab, selector)["text"].startswith("scope traces (")
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
