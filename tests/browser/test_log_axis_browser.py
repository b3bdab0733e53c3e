"""A diode's IV curve live in a real JupyterLab, on a log y axis: the page's axis carries
SI-prefixed decades and the line climbs across it, where the linear view of the same run lies
flat near zero for most points."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.harness import Lab, wait_until

pytestmark = pytest.mark.browser

SETUP = """
import json
import numpy as np
import labkit
from labkit.drivers.keithley import Keithley2450

bench = labkit.sim.Bench(seed=0, dut="diode")
smu = Keithley2450(bench.address("smu"), name="smu")
smu.current_limit = "10 mA"
smu.output = True
run = labkit.sweep(smu.settings.source_voltage, np.linspace(0, 0.8, 41),
                   read=[smu.readings.current], name="diode-iv")
data = run.wait()
"""

# Each live line plot in the page: its title, its y axis's tick texts, and the vertical pixel
# position of every point of its line.
FIGURES = """
() => [...document.querySelectorAll('.labkit-lineplot')].map(figure => {
  const axes = [...figure.querySelectorAll('g.axis')].map(axis =>
    [...axis.querySelectorAll('.tick text')].map(t => t.textContent.trim()));
  const path = figure.querySelector('path.line');
  const d = path ? path.getAttribute('d') || '' : '';
  const ys = [...d.matchAll(/[ML]\\s*(-?[\\d.e+-]+)[ ,](-?[\\d.e+-]+)/g)].map(m => +m[2]);
  const title = figure.querySelector('.mainheading');
  return {axes, ys, title: title ? title.textContent.trim() : ''};
})
"""


def _distinct_heights(ys: list[float]) -> int:
    """How many points stand apart by at least 2 px vertically: few on a flat line."""
    return len({round(y / 2) for y in ys})


def test_a_diode_current_on_a_log_axis_climbs_across_prefixed_decades(lab: Lab) -> None:
    nb = lab.open_notebook("log.ipynb", [SETUP, "run.live()", "run.live(y_scale='log')"])
    nb.run_all()
    hidden = int(nb.execute("print(int((data.smu_current <= 0).sum()))"))
    seen: dict[str, Any] = {}

    def drawn() -> bool:
        seen["figures"] = figures = lab.page.evaluate(FIGURES)
        return len(figures) == 2 and all(len(f["ys"]) == 41 for f in figures)

    wait_until(drawn, timeout=30, interval=0.5, what="both views to draw 41 points")
    linear, log = seen["figures"]
    lab.screenshot("linear-view", nb.output(1))
    lab.screenshot("log-view", nb.output(2))
    (lab.artifacts / "figures.json").write_text(json.dumps(seen["figures"], indent=1))

    y_ticks = log["axes"][1]
    assert len(y_ticks) >= 4, y_ticks
    assert any(text.endswith(("n", "µ", "m")) for text in y_ticks), y_ticks
    # On the log axis nearly every point has a height of its own; on the linear one the
    # points below the knee lie on one flat line near zero.
    finite = [y for y in log["ys"] if y == y]
    assert _distinct_heights(finite) >= 30, log["ys"]
    assert _distinct_heights(linear["ys"]) < 20, linear["ys"]
    if hidden:
        assert f"{hidden} point" in log["title"]
        assert "not drawn (log axis)" in log["title"]
    else:
        assert "not drawn" not in log["title"]
