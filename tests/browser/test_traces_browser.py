"""Array readings in a real JupyterLab: a sweep recording the bench spectrometer's spectra shows
the latest spectrum, whole, against its wavelengths, and a waterfall of the history, in the page;
and the spectrometer's panel shows its small plot."""

from __future__ import annotations

from pathlib import Path

import pytest

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
