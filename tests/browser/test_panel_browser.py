"""An instrument panel in a real JupyterLab: what a user does in the page reaches the instrument,
and what the instrument says reaches the page."""

from __future__ import annotations

import re

import pytest

from tests.browser.harness import Lab

pytestmark = pytest.mark.browser

SETUP = '''
import labkit
from labkit import Reading, Setting
from labkit.sim import simulate

class Supply(labkit.ScpiInstrument):
    """A simulated bench power supply."""
    models = ("PS30",)
    voltage = Setting(unit="V", min=0, max=30, step=0.5, get="VOLT?", set="VOLT {}",
                      readback="measured_voltage", doc="Output voltage set-point")
    current = Setting(unit="A", min=0, get="CURR?", set="CURR {}", doc="Current limit")
    output = Setting(bool, get="OUTP?", set="OUTP {}", bool_tokens=("ON", "OFF"))
    mode = Setting(choices={"constant voltage": "CV", "constant current": "CC"},
                   get="MODE?", set="MODE {}")
    gain = Setting(int, min=1, max=10, get="GAIN?", set="GAIN {}")
    measured_voltage = Reading(unit="V", get="MEAS:VOLT?")

sim = simulate(Supply, "psu")
psu = Supply("labsim://psu", name="psu")

def sent(prefix, since=0):
    print(sum(1 for c in list(sim.received)[since:] if c.startswith(prefix)))
'''


def _setting(panel, css: str, name: str):
    return panel.locator(f"{css}.labkit-setting-{name}")


def test_a_slider_moved_in_the_page_sets_the_instrument_and_the_readback_follows(
    lab: Lab,
) -> None:
    from playwright.sync_api import expect

    nb = lab.open_notebook("panel.ipynb", [SETUP, "psu.panel()"])
    nb.run_all()
    panel = nb.output(1).locator(".labkit-panel")
    readback = _setting(panel, ".labkit-readback", "voltage")
    expect(readback).to_have_text("0")
    lab.screenshot("panel-before", panel)

    handle = _setting(panel, ".labkit-control", "voltage").locator(".noUi-handle")
    handle.focus()
    for _ in range(4):  # the declared step is 0.5 V
        handle.press("ArrowRight")
    expect(readback).to_have_text("2")
    assert nb.execute("print(sim.value('voltage'))") == "2.0"
    lab.screenshot("panel-after-keyboard", panel)

    # A drag commits once, on release, not at every step of the way.
    since = int(nb.execute("print(len(sim.received))"))
    start = handle.bounding_box()
    track = _setting(panel, ".labkit-control", "voltage").locator(".noUi-target").bounding_box()
    assert start is not None
    assert track is not None
    y = start["y"] + start["height"] / 2
    lab.page.mouse.move(start["x"] + start["width"] / 2, y)
    lab.page.mouse.down()
    for fraction in (0.3, 0.4, 0.5, 0.6):
        lab.page.mouse.move(track["x"] + track["width"] * fraction, y, steps=3)
    lab.page.mouse.up()
    expect(readback).not_to_have_text("2")
    held = float(nb.execute("print(sim.value('voltage'))"))
    assert 15 <= held <= 21
    assert nb.execute(f"sent('VOLT ', {since})") == "1"
    expect(readback).to_have_text(f"{held:g}")

    # A value set from code moves the slider in the page.
    nb.execute("psu.voltage = 12.5")
    readout = _setting(panel, ".labkit-control", "voltage").locator(".widget-readout")
    expect(readout).to_have_text("12.5")
    lab.screenshot("panel-after-code", panel)


def test_boxes_dropdowns_and_toggles_work_in_the_page_and_refusals_show(lab: Lab) -> None:
    from playwright.sync_api import expect

    nb = lab.open_notebook("controls.ipynb", [SETUP, "psu.panel()"])
    nb.run_all()
    panel = nb.output(1).locator(".labkit-panel")

    box = _setting(panel, ".labkit-control", "current").locator("input")
    box.fill("1.25")
    box.press("Enter")
    nb.wait_for_output("print(sim.value('current'))", "1.25")

    # An out-of-range value: the message shows, the box goes back, nothing is sent.
    since = int(nb.execute("print(len(sim.received))"))
    box.fill("-3")
    box.press("Enter")
    error = _setting(panel, ".labkit-error", "current")
    expect(error).to_be_visible()
    expect(error).to_contain_text("-3 A is below the lower hard limit 0 A")
    expect(box).to_have_value("1.25")
    assert nb.execute(f"sent('CURR', {since})") == "0"
    lab.screenshot("refused", panel)
    error.locator(".labkit-dismiss").click()
    expect(error).to_be_hidden()

    _setting(panel, ".labkit-control", "mode").locator("select").select_option(
        label="constant current"
    )
    toggle = _setting(panel, ".labkit-control", "output")
    toggle.click()
    expect(toggle).to_have_text(re.compile("On"))
    nb.wait_for_output("print(sim.value('mode'), sim.value('output'))", "constant current True")

    # An instructor's lock, set in a new cell, locks the widget in the page and says why.
    nb.run_cell(
        "psu.settings.gain.lock(value=4, reason='set by the instructor')\npsu.settings.gain"
    )
    gain = _setting(panel, ".labkit-control", "gain")
    expect(gain.locator(".noUi-target")).to_have_attribute("disabled", "true")
    expect(gain.locator(".widget-readout")).to_have_text("4")
    expect(nb.output(2)).to_contain_text("<Setting psu.gain = 4>")
    expect(_setting(panel, ".labkit-status", "gain")).to_contain_text("set by the instructor")
    lab.screenshot("controls", panel)

    # Reset asks first: one click shows the question and sends nothing; Cancel forgets it,
    # and the button on the question does it.
    since = int(nb.execute("print(len(sim.received))"))
    actions = panel.locator(".labkit-actions")
    actions.locator("button", has_text="Reset").click()
    question = panel.locator(".labkit-confirm")
    expect(question).to_be_visible()
    expect(question).to_contain_text("power-on settings")
    lab.screenshot("reset-question", panel)
    question.locator("button", has_text="Cancel").click()
    expect(question).to_be_hidden()
    assert nb.execute(f"sent('*RST', {since})") == "0"
    actions.locator("button", has_text="Reset").click()
    question.locator(".labkit-confirm-yes").click()
    expect(question).to_be_hidden()
    nb.wait_for_output(f"sent('*RST', {since})", "1")
