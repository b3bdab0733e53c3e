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
    limit = Setting(unit="A", min=1e-9, max=1.05, get="LIM?", set="LIM {}", doc="Trip current")
    note = Setting(str, get="DISP?", set="DISP {}", label="Display text")
    measured_voltage = Reading(unit="V", get="MEAS:VOLT?")

sim = simulate(Supply, "psu")
psu = Supply("labsim://psu", name="psu")

def sent(prefix, since=0):
    print(sum(1 for c in list(sim.received)[since:] if c.startswith(prefix)))

def commands(prefix, since=0):
    import json
    print(json.dumps([c for c in list(sim.received)[since:] if c.startswith(prefix)]))
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
    expect(readback).to_have_text("0 V")
    lab.screenshot("panel-before", panel)

    handle = _setting(panel, ".labkit-control", "voltage").locator(".noUi-handle")
    handle.focus()
    for step in range(1, 5):  # the declared step is 0.5 V; a key press at a person's pace
        handle.press("ArrowRight")
        expect(readback).to_have_text(f"{step * 0.5:g} V")
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
    expect(readback).not_to_have_text("2 V")
    held = float(nb.execute("print(sim.value('voltage'))"))
    assert 15 <= held <= 21
    assert nb.execute(f"sent('VOLT ', {since})") == "1"
    expect(readback).to_have_text(f"{held:g} V")

    # A value set from code moves the slider, and shows in its box.
    nb.execute("psu.voltage = 12.5")
    entry = _setting(panel, ".labkit-control", "voltage").locator(".labkit-entry input")
    expect(entry).to_have_value("12.5 V")
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
    expect(box).to_have_value("1.25 A")

    # An out-of-range value: the message shows, the box goes back, nothing is sent.
    since = int(nb.execute("print(len(sim.received))"))
    box.fill("-3")
    box.press("Enter")
    error = _setting(panel, ".labkit-error", "current")
    expect(error).to_be_visible()
    expect(error).to_contain_text("-3 A is below the lower hard limit 0 A")
    expect(box).to_have_value("1.25 A")
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
    expect(gain.locator(".labkit-entry input")).to_have_value("4")
    expect(gain.locator(".labkit-entry input")).to_be_disabled()
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


# What a person types, and what must happen: the exact command the instrument received, or
# the refusal shown in place with nothing sent. Nothing is clamped, rounded or unit-dropped.
TYPED = ["500 mV", "45", "-5", "abc", "1e6", "2.5e-3"]
EXPECTED = {
    # the slider's box (0 … 30 V)
    "voltage": [
        "VOLT 0.5",
        "45 V is above the upper hard limit 30 V",
        "-5 V is below the lower hard limit 0 V",
        "'abc' is not a number",
        "1 MV is above the upper hard limit 30 V",
        "VOLT 0.0025",
    ],
    # a number box (≥ 0 A, no upper limit)
    "current": [
        "'500 mV' cannot be converted to A",
        "CURR 45",
        "-5 A is below the lower hard limit 0 A",
        "'abc' is not a number",
        "CURR 1000000",
        "CURR 0.0025",
    ],
    # an integer slider's box (1 … 10)
    "gain": [
        "'500 mV' has a unit, and gain takes a plain number",
        "45 is above the upper hard limit 10",
        "-5 is below the lower hard limit 1",
        "'abc' is not a number",
        "1000000 is above the upper hard limit 10",
        "'2.5e-3' is not a whole number",
    ],
    # a logarithmic slider's box (1 nA … 1.05 A)
    "limit": [
        "'500 mV' cannot be converted to A",
        "45 A is above the upper hard limit 1.05 A",
        "-5 A is below the lower hard limit 1 nA",
        "'abc' is not a number",
        "1 MA is above the upper hard limit 1.05 A",
        "LIM 0.0025",
    ],
    # a text box: text as typed
    "note": [f"DISP {text}" for text in TYPED],
}
PREFIX = {"voltage": "VOLT", "current": "CURR", "gain": "GAIN", "limit": "LIM", "note": "DISP"}


def test_every_value_typed_into_every_box_goes_through_labkit_and_nothing_is_clamped(
    lab: Lab,
) -> None:
    import json

    from playwright.sync_api import expect

    nb = lab.open_notebook("typing.ipynb", [SETUP, "psu.panel()"])
    nb.run_all()
    panel = nb.output(1).locator(".labkit-panel")
    outcomes: dict[str, list[str]] = {}
    for name, expected in EXPECTED.items():
        box = _setting(panel, ".labkit-control", name).locator(
            "input[type=text], input:not([type])"
        )
        box = box.first
        error = _setting(panel, ".labkit-error", name)
        outcomes[name] = []
        for typed, outcome in zip(TYPED, expected, strict=True):
            since = int(nb.execute("print(len(sim.received))"))
            box.fill(typed)
            box.press("Enter")
            command = PREFIX[name] + " "
            if outcome.startswith(command):
                nb.wait_for_output(f"commands({command!r}, {since})", json.dumps([outcome]))
                expect(error).to_be_hidden()
                if name != "note":  # the box shows the value labkit holds, unit and all
                    expect(box).not_to_have_value(typed)
            else:
                expect(error).to_be_visible()
                expect(error).to_contain_text(outcome)
                assert nb.execute(f"sent({command!r}, {since})") == "0", f"{name}: {typed!r} sent"
            outcomes[name].append(f"{typed!r} → {outcome}")
        lab.screenshot(f"typed-{name}", panel)
    (lab.artifacts / "typed.json").write_text(json.dumps(outcomes, indent=1, ensure_ascii=False))


def test_dragging_sliders_dropdowns_and_toggles_send_exactly_what_the_page_shows(lab: Lab) -> None:
    import json

    from playwright.sync_api import expect

    nb = lab.open_notebook("drag.ipynb", [SETUP, "psu.panel()"])
    nb.run_all()
    panel = nb.output(1).locator(".labkit-panel")
    for name, prefix in (("voltage", "VOLT"), ("limit", "LIM")):
        control = _setting(panel, ".labkit-control", name)
        since = int(nb.execute("print(len(sim.received))"))
        handle = control.locator(".noUi-handle")
        track = control.locator(".noUi-target").bounding_box()
        start = handle.bounding_box()
        assert track is not None
        assert start is not None
        y = start["y"] + start["height"] / 2
        lab.page.mouse.move(start["x"] + start["width"] / 2, y)
        lab.page.mouse.down()
        lab.page.mouse.move(track["x"] + track["width"] * 0.6, y, steps=5)
        lab.page.mouse.up()
        nb.wait_for_output(f"sent({prefix + ' '!r}, {since})", "1")
        (sent,) = json.loads(nb.execute(f"commands({prefix + ' '!r}, {since})"))
        value = float(sent.split()[1])
        held = float(nb.execute(f"print(psu.{name})"))
        assert value == held, "the instrument holds what was sent"
        entry = control.locator(".labkit-entry input")
        expect(entry).to_have_value(
            nb.execute(
                f"from labkit.core._units import format_quantity; print(format_quantity(psu.{name}, 'V' if '{name}' == 'voltage' else 'A'))"
            )
        )
        if name == "limit":
            assert 1e-9 < value < 1.05
            assert len(f"{value:g}".replace(".", "").lstrip("0")) <= 6
        lab.screenshot(f"dragged-{name}", panel)

    since = int(nb.execute("print(len(sim.received))"))
    _setting(panel, ".labkit-control", "mode").locator("select").select_option(
        label="constant current"
    )
    nb.wait_for_output(f"commands('MODE ', {since})", json.dumps(["MODE CC"]))
    _setting(panel, ".labkit-control", "output").click()
    nb.wait_for_output(f"commands('OUTP ', {since})", json.dumps(["OUTP ON"]))
