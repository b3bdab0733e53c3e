"""Fast hands on a panel slider in a real JupyterLab: key presses quicker than the instrument
acknowledges, and typing while a ramp is going. The page must end showing what the instrument
holds, every value must reach the instrument in the order the person gave it, and each must be
one labkit checked (nothing clamped or rounded on the page)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.browser.harness import Lab, wait_until

pytestmark = pytest.mark.browser

SETUP = '''
import itertools
import json
import labkit
from labkit import Setting
from labkit.sim import simulate

class Supply(labkit.ScpiInstrument):
    """A simulated bench supply that ramps its output."""
    models = ("PS30",)
    voltage = Setting(unit="V", min=0, max=30, step=0.5, ramp=4,
                      get="VOLT?", set="VOLT {}", doc="Output voltage set-point")
    limit = Setting(unit="A", min=1e-9, max=1.05, get="LIM?", set="LIM {}")

sim = simulate(Supply, "psu")
psu = Supply("labsim://psu", name="psu")
panel = psu.panel()
seen = []
panel.row('voltage').control.slider.observe(lambda c: seen.append(c['new']), 'value')
panel
'''

STATE = """
panel.wait_idle(60)
print(json.dumps({"held": psu.voltage, "sim": sim.value("voltage"),
                  "seen": seen, "sent": [float(c.split()[1]) for c in sim.received if c.startswith("VOLT ")]}))
"""


def _page_state(control: Any) -> tuple[str, float]:
    """What the page shows: the box's text and the slider handle's position."""
    slider = control.locator(".noUi-handle").get_attribute("aria-valuenow")
    return control.locator(".labkit-entry input").input_value(), float(slider or "nan")


def test_fast_arrow_keys_and_typing_during_a_ramp_end_on_what_the_instrument_holds(
    lab: Lab,
) -> None:
    from playwright.sync_api import expect

    nb = lab.open_notebook("race.ipynb", [SETUP])
    nb.run_all()
    panel = nb.output(0).locator(".labkit-panel")
    control = panel.locator(".labkit-control.labkit-setting-voltage")
    handle = control.locator(".noUi-handle")
    entry = control.locator(".labkit-entry input")
    expect(entry).to_have_value("0 V")

    # Twelve key presses as fast as the keyboard repeats, while the supply ramps at 4 V/s.
    handle.focus()
    for _ in range(12):
        handle.press("ArrowRight", delay=0)
    # The box says where the keys took it (a person reads it before typing over it) ...
    expect(entry).to_have_value("6 V")
    # ... and a value typed into the box while that ramp is still going.
    entry.fill("1.5 V")
    entry.press("Enter")
    # Taken: the slider goes there (and not back along the ramp), so keys go on from 1.5 V.
    expect(handle).to_have_attribute("aria-valuenow", "1.5")
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight", delay=0)

    state = json.loads(nb.execute(STATE, timeout=90))
    lab.screenshot("race-settled", panel)
    held = state["held"]
    assert held == state["sim"]
    wait_until(
        lambda: _page_state(control) == (f"{held:g} V", held),
        timeout=15,
        what=f"the page to show {held:g} V (it shows {_page_state(control)})",
    )
    sent = state["sent"]
    (lab.artifacts / "sent.json").write_text(json.dumps(state))
    # The instrument went where the person said, in the order they said it: up to 6 V (twelve
    # presses of the 0.5 V step), down to the 1.5 V typed, up by three presses, and no further.
    assert _turning_points(sent) == [6.0, 1.5, 3.0], sent
    assert held == 3.0


def _turning_points(values: list[float]) -> list[float]:
    """Where a path of values changes direction, and where it ends."""
    points: list[float] = []
    direction = 0
    for before, after in itertools.pairwise(values):
        step = (after > before) - (after < before)
        if step and direction and step != direction:
            points.append(before)
        direction = step or direction
    return [*points, values[-1]] if values else points
