"""Instrument panels driven headless: a widget change reaches the wire, the instrument's answer
reaches the widgets, and refusals leave the widget on the last acknowledged value."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pytest

import labkit
from labkit import Channel, Reading, Setting
from labkit.ui import InstrumentPanel, instrument_panel
from labkit.ui._controls import NumberControl
from labkit.ui._format import display_quantity, plain_text
from labkit.ui._sync import RENDER_INTERVAL
from tests.ui.panel_bench import Bench, Supply, wait_for


@pytest.fixture
def panel(bench: Bench) -> InstrumentPanel:
    panel = bench.instrument.panel()
    panel.wait_idle()
    return panel


def type_into(row: Any, text: str) -> None:
    """What a person does: type ``text`` in the row's box and press Enter."""
    row.control.entry.value = text


def box(row: Any) -> str:
    """What the row's box shows."""
    return row.control.entry.value


# -- built from the declarations ---------------------------------------------------------


def test_each_declaration_gets_the_widget_its_declaration_calls_for(panel: InstrumentPanel) -> None:
    rows = panel.rows
    voltage = rows["voltage"].control
    assert isinstance(voltage.slider, widgets.FloatSlider)
    assert (voltage.slider.min, voltage.slider.max) == (0, 30)
    assert voltage.slider.continuous_update is False
    assert voltage.slider.readout is False, "ipywidgets' readout clamps typed values"
    assert isinstance(voltage.entry, widgets.Text)  # typed text goes to labkit as typed
    assert voltage.entry.continuous_update is False
    current = rows["current"].control  # no upper limit: a box, no slider
    assert current.slider is None
    assert isinstance(current.entry, widgets.Text)
    assert current.entry.placeholder == "A"
    assert isinstance(rows["output"].control.widget, widgets.ToggleButton)
    assert isinstance(rows["gain"].control.slider, widgets.IntSlider)
    assert isinstance(rows["note"].control.widget, widgets.Text)
    assert rows["note"].control.widget.continuous_update is False
    mode = rows["mode"].control.widget
    assert isinstance(mode, widgets.Dropdown)
    assert [label for label, _ in mode.options] == ["constant voltage", "constant current"]
    span = rows["span"].control.widget
    assert [label for label, _ in span.options] == ["3 V", "30 V"]
    assert list(panel.actions) == ["reset", "zero"]
    assert panel.actions["zero"].tooltip == "Zero the current meter"


def test_the_header_names_the_instrument_its_model_and_resource(
    bench: Bench, panel: InstrumentPanel
) -> None:
    header = plain_text(panel.title.value)
    assert bench.name in header
    assert "PS30" in header
    assert f"labsim://{bench.name}" in header
    assert "connected" in plain_text(panel.badge.value)
    assert panel.title.tooltip == "A bench power supply."


def test_doc_strings_become_tooltips_and_labels_are_readable(panel: InstrumentPanel) -> None:
    voltage = panel.rows["voltage"]
    assert voltage.control.tooltip == "Output voltage"
    assert voltage.label.tooltip.startswith("Output voltage")
    assert "0 V … 30 V" in voltage.label.tooltip
    assert plain_text(panel.rows["note"].label.value) == "Display text"
    assert "measured_voltage" not in panel.rows  # shown beside voltage, as its read-back
    assert plain_text(panel.rows["temperature"].label.value) == "Temperature"


def test_readings_are_read_when_the_panel_opens(bench: Bench, panel: InstrumentPanel) -> None:
    assert plain_text(panel.rows["temperature"].value.value) == "31.5 °C"
    assert plain_text(panel.rows["voltage"].readback.value) == "0 V"


def test_the_panel_is_the_same_live_one_until_closed(bench: Bench, panel: InstrumentPanel) -> None:
    assert bench.instrument.panel() is panel
    assert instrument_panel(bench.instrument) is panel
    panel.close()
    again = bench.instrument.panel()
    assert again is not panel
    bench.instrument.voltage = 2  # the closed panel no longer follows the instrument
    again.wait_idle()
    panel.wait_idle()
    assert box(panel.rows["voltage"]) == "0 V"
    assert box(again.rows["voltage"]) == "2 V"


# -- widget → bytes → instrument → read-back ---------------------------------------------


def test_moving_the_slider_sends_the_value_and_the_readback_follows(
    bench: Bench, panel: InstrumentPanel
) -> None:
    row = panel.rows["voltage"]
    row.control.slider.value = 12.5
    panel.wait_idle()
    assert bench.sent("VOLT ") == ["VOLT 12.5"]
    assert bench.simulator.value("voltage") == 12.5
    assert bench.instrument.voltage == 12.5
    assert plain_text(row.readback.value) == "12.5 V"
    assert box(row) == "12.5 V"
    assert bench.sent("MEAS:VOLT?")  # read again after the commit
    assert row.error.text == ""


@pytest.mark.parametrize(
    ("name", "value", "command", "held"),
    [
        ("current", "1.25", "CURR 1.25", 1.25),
        ("current", "500 mA", "CURR 0.5", 0.5),
        ("voltage", "500 mV", "VOLT 0.5", 0.5),
        ("voltage", "2.5e-3", "VOLT 0.0025", 0.0025),
        ("voltage", "0.63", "VOLT 0.63", 0.63),
        ("output", True, "OUTP ON", True),
        ("mode", "constant current", "MODE CC", "constant current"),
        ("span", 30, "RANG HIGH", 30),
        ("gain", "7", "GAIN 7", 7),
        ("note", "hello", "DISP hello", "hello"),
    ],
)
def test_every_kind_of_control_reaches_the_instrument(
    bench: Bench, panel: InstrumentPanel, name: str, value: object, command: str, held: object
) -> None:
    row = panel.rows[name]
    if isinstance(row.control, NumberControl):
        type_into(row, str(value))
    else:
        row.control.widget.value = value
    panel.wait_idle()
    assert bench.sent(command.split(" ")[0] + " ") == [command]
    assert bench.simulator.value(name) == held
    assert getattr(bench.instrument, name) == held
    assert row.error.text == ""


def test_a_toggle_says_what_it_is(bench: Bench, panel: InstrumentPanel) -> None:
    toggle = panel.rows["output"].control.widget
    assert toggle.description == "Off"
    toggle.value = True
    panel.wait_idle()
    assert toggle.description == "On"
    assert toggle.button_style == "success"


# -- refusals ------------------------------------------------------------------------------


def test_an_out_of_range_value_is_shown_refused_reverted_and_never_sent(
    bench: Bench, panel: InstrumentPanel
) -> None:
    bench.instrument.current = 0.5
    row = panel.rows["current"]
    wire_before = list(bench.wire)
    type_into(row, "-3")
    panel.wait_idle()
    assert bench.wire == wire_before  # not one byte
    assert box(row) == "0.5 A"
    assert "-3 A is below the lower hard limit 0 A" in row.error.text
    assert row.error.widget.layout.display == "flex"
    assert "below the lower hard limit" in plain_text(row.error.message.value)


def test_a_value_the_instrument_refuses_is_shown_and_the_widget_reverted(
    bench: Bench, panel: InstrumentPanel
) -> None:
    bench.instrument.voltage = 5
    row = panel.rows["voltage"]
    bench.simulator.faults.inject("error", code=-222, message="Data out of range")
    row.control.slider.value = 7
    panel.wait_idle()
    assert "error -222, Data out of range" in row.error.text
    assert row.control.slider.value == 5
    assert box(row) == "5 V"
    assert bench.instrument.voltage == 5
    assert len(bench.sent("VOLT ")) == 2  # the refused one was not sent again by the revert


def test_a_timeout_is_shown_the_widget_reverted_and_the_instrument_stays_usable(
    make_bench: Callable[..., Bench],
) -> None:
    bench = make_bench(Supply, timeout=0.3)
    panel = bench.instrument.panel()
    panel.wait_idle()
    row = panel.rows["current"]
    bench.simulator.faults.inject("timeout")
    type_into(row, "2")
    panel.wait_idle()
    assert "no complete reply within 0.3 s" in row.error.text
    assert box(row) == "0 A"
    type_into(row, "3 A")
    panel.wait_idle()
    assert bench.instrument.current == 3
    assert row.error.text == ""


def test_errors_can_be_dismissed(bench: Bench, panel: InstrumentPanel) -> None:
    row = panel.rows["current"]
    type_into(row, "-1")
    panel.wait_idle()
    assert row.error.text
    row.error.dismiss.click()
    assert row.error.text == ""
    assert row.error.widget.layout.display == "none"


# -- the instrument's news -----------------------------------------------------------------


def test_a_value_set_from_code_shows_and_is_not_sent_back(
    bench: Bench, panel: InstrumentPanel
) -> None:
    bench.instrument.voltage = 4
    bench.instrument.mode = "constant current"
    panel.wait_idle()
    assert box(panel.rows["voltage"]) == "4 V"
    assert panel.rows["voltage"].control.slider.value == 4
    assert panel.rows["mode"].control.widget.value == "constant current"
    assert bench.sent("VOLT ") == ["VOLT 4"]
    assert bench.sent("MODE ") == ["MODE CC"]
    # The read-back was read before the change: it shows, greyed, until read again.
    assert "labkit-stale" in panel.rows["voltage"].readback.value


def test_a_locked_setting_is_disabled_and_says_why(bench: Bench, panel: InstrumentPanel) -> None:
    gain = bench.instrument.settings.gain
    gain.lock(value=4, reason="set by the instructor", key="k")
    panel.wait_idle()
    row = panel.rows["gain"]
    assert row.control.disabled
    assert row.control.slider.disabled
    assert row.control.entry.disabled
    assert box(row) == "4"
    assert "locked: set by the instructor" in plain_text(row.status.value)
    gain.unlock("k")
    panel.wait_idle()
    assert not row.control.disabled
    assert "locked" not in plain_text(row.status.value)


def test_a_read_only_setting_is_disabled(make_bench: Callable[..., Bench]) -> None:
    class Meter(labkit.ScpiInstrument):
        models = ("PS30",)
        range_name = Setting(str, get="RANG?", access="r")

    bench = make_bench(Meter)
    panel = bench.instrument.panel()
    assert panel.rows["range_name"].control.disabled


def test_the_slider_follows_the_limits_in_force(bench: Bench, panel: InstrumentPanel) -> None:
    voltage = bench.instrument.settings.voltage
    voltage.limit(max=12)
    panel.wait_idle()
    slider = panel.rows["voltage"].control.slider
    assert (slider.min, slider.max) == (0, 12)
    bench.instrument.voltage = 5
    voltage.lock(min=2, max=10, reason="lab rules")
    panel.wait_idle()
    assert (slider.min, slider.max) == (2, 10)
    assert "lab rules" in plain_text(panel.rows["voltage"].status.value)
    # A limit that leaves the present value outside widens the slider rather than clip it.
    voltage.unlock()
    voltage.limit(min=None, max=30)
    bench.instrument.voltage = 20
    voltage.limit(max=12)
    panel.wait_idle()
    assert (slider.min, slider.max, slider.value) == (0, 20, 20)


def test_a_number_box_becomes_a_slider_when_both_limits_are_finite(
    bench: Bench, panel: InstrumentPanel
) -> None:
    row = panel.rows["current"]
    bench.instrument.settings.current.limit(max=2)
    panel.wait_idle()
    assert isinstance(row.control.slider, widgets.FloatSlider)
    assert (row.control.slider.min, row.control.slider.max) == (0, 2)
    row.control.slider.value = 1.5  # the new widget commits like the old one
    panel.wait_idle()
    assert bench.sent("CURR ") == ["CURR 1.5"]


def test_busy_while_ramping_and_a_stopped_ramp_reverts_to_where_it_stopped(
    bench: Bench, panel: InstrumentPanel
) -> None:
    voltage = bench.instrument.settings.voltage
    voltage.ramp_rate = 2  # V/s: 10 V takes 5 s unless stopped
    panel.wait_idle()
    row = panel.rows["voltage"]
    busy_seen = []
    voltage.state.observe(lambda change: busy_seen.append(change["new"]), names="busy")
    assert "ramps at 2 V/s" in plain_text(row.status.value)
    type_into(row, "10")
    wait_for(lambda: bench.instrument.voltage > 0.3, what="the ramp to start")
    progress = re.compile(r"ramping → 10 V \(now (?!0 V)[\d.]+ m?V\)")
    wait_for(lambda: progress.search(plain_text(row.status.value)), what="the ramp's progress")
    assert box(row) == "10"  # the target stays where the user put it, as typed
    panel.stop_button.click()
    panel.wait_idle()
    reached = bench.instrument.voltage
    assert 0 < reached < 10
    assert "stopped at" in row.error.text
    assert row.control.slider.value == reached
    assert box(row) == display_quantity(reached, "V")
    assert bench.simulator.value("voltage") == reached
    assert busy_seen[0] is True
    assert busy_seen[-1] is False
    assert "ramping" not in plain_text(row.status.value)


def test_action_buttons_run_the_action(bench: Bench, panel: InstrumentPanel) -> None:
    panel.actions["zero"].click()
    panel.wait_idle()
    assert bench.sent("ZERO") == ["ZERO"]
    assert panel.message.text == ""


def test_a_failing_action_is_reported(bench: Bench, panel: InstrumentPanel) -> None:
    bench.simulator.faults.inject("error", code=-200, message="Execution error")
    panel.actions["zero"].click()
    panel.wait_idle()
    assert "error -200, Execution error" in panel.message.text
    assert not panel.actions["zero"].disabled


def test_refresh_buttons_read_again(bench: Bench, panel: InstrumentPanel) -> None:
    bench.temperature = 40.25
    panel.rows["temperature"].refresh.click()
    panel.wait_idle()
    assert plain_text(panel.rows["temperature"].value.value) == "40.25 °C"
    bench.simulator.state[("voltage", ())] = 3.0  # changed at the front panel
    panel.refresh_button.click()
    panel.wait_idle()
    assert box(panel.rows["voltage"]) == "3 V"
    assert plain_text(panel.rows["voltage"].readback.value) == "3 V"


def test_a_lost_connection_disables_the_panel_until_reconnected(
    bench: Bench, panel: InstrumentPanel
) -> None:
    bench.simulator.faults.inject("disconnect")
    panel.rows["temperature"].refresh.click()
    panel.wait_idle()
    assert "disconnected" in plain_text(panel.badge.value)
    assert panel.rows["voltage"].control.disabled
    assert panel.actions["zero"].disabled
    assert panel.reconnect_button.layout.display == "flex"
    assert "reconnect" in panel.rows["temperature"].error.text
    bench.simulator.faults.clear()
    panel.reconnect_button.click()
    panel.wait_idle()
    wait_for(lambda: bench.instrument.connected, what="the reconnection")
    assert "connected" in plain_text(panel.badge.value)
    assert not panel.rows["voltage"].control.disabled
    assert panel.reconnect_button.layout.display == "none"


# -- channels ------------------------------------------------------------------------------


class Output(labkit.Instrument):
    voltage = Setting(unit="V", min=0, max=6, get="VOLT{self.index}?", set="VOLT{self.index} {}")
    measured = Reading(unit="V", get="MEAS{self.index}?")


class TwoChannels(labkit.ScpiInstrument):
    models = ("PS30",)
    ch1 = Channel(Output, index=1)
    ch2 = Channel(Output, index=2)


def test_channels_are_tabs_with_their_own_rows(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(TwoChannels)
    panel = bench.instrument.panel()
    panel.wait_idle()
    assert list(panel.channels) == ["ch1", "ch2"]
    assert panel.section.tabs is not None
    assert list(panel.section.tabs.titles) == ["ch1", "ch2"]
    type_into(panel.row("ch2.voltage"), "2.5 V")
    panel.wait_idle()
    assert bench.sent("VOLT") == ["VOLT2 2.5"]
    assert bench.instrument.ch2.voltage == 2.5
    bench.instrument.ch1.voltage = 1
    panel.wait_idle()
    assert box(panel.row("ch1.voltage")) == "1 V"


def test_displaying_an_instrument_shows_its_panel(bench: Bench, panel: InstrumentPanel) -> None:
    bundle = bench.instrument._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    assert bench.name in bundle["text/plain"]


def test_a_fast_run_costs_the_panel_a_redraw_per_interval_not_one_per_change(
    bench: Bench, panel: InstrumentPanel
) -> None:
    slider = panel.rows["voltage"].control.slider
    shown: list[float] = []
    slider.observe(lambda change: shown.append(change["new"]), names="value")
    started = time.monotonic()
    for step in range(1, 201):
        bench.instrument.voltage = step / 10
    elapsed = time.monotonic() - started
    panel.wait_idle()
    assert slider.value == 20
    assert len(shown) <= elapsed / RENDER_INTERVAL + 2
    assert len(bench.sent("VOLT ")) == 200  # and none of the redraws was sent back


def test_an_action_that_declared_a_question_asks_it_before_anything_is_sent(
    bench: Bench, panel: InstrumentPanel
) -> None:
    ask = panel.confirmation
    panel.actions["reset"].click()
    panel.wait_idle()
    assert bench.sent("*RST") == [], "one click asks; it does not reset"
    assert ask.widget.layout.display == "flex"
    assert "power-on settings" in plain_text(ask.question.value)
    assert ask.yes.description == panel.actions["reset"].description

    ask.cancel.click()
    panel.wait_idle()
    assert ask.widget.layout.display == "none"
    assert bench.sent("*RST") == []

    panel.actions["reset"].click()
    ask.yes.click()
    panel.wait_idle()
    assert bench.sent("*RST") == ["*RST"]
    assert ask.widget.layout.display == "none"


def test_another_action_or_a_disconnect_forgets_an_unanswered_question(
    bench: Bench, panel: InstrumentPanel
) -> None:
    ask = panel.confirmation
    panel.actions["reset"].click()
    panel.actions["zero"].click()  # no question: it runs, and the reset is not pending any more
    panel.wait_idle()
    assert bench.sent("ZERO") == ["ZERO"]
    assert ask.asking is None
    assert ask.widget.layout.display == "none"
    ask.yes.click()  # a late click on the hidden button does nothing
    panel.wait_idle()
    assert bench.sent("*RST") == []

    panel.actions["reset"].click()
    bench.instrument.close()
    wait_for(lambda: ask.widget.layout.display == "none", what="the question to go")
    assert bench.sent("*RST") == []


def test_a_ramp_never_moves_the_slider_under_a_persons_keys_and_a_typed_value_moves_it(
    bench: Bench, panel: InstrumentPanel
) -> None:
    voltage = bench.instrument.settings.voltage
    voltage.ramp_rate = 2  # V/s
    panel.wait_idle()
    row = panel.rows["voltage"]
    slider = row.control.slider
    moved: list[float] = []
    slider.observe(lambda change: moved.append(change["new"]), names="value")
    slider.value = 1.0  # a key press: the ramp to 1 V takes half a second
    wait_for(lambda: 0 < bench.instrument.voltage < 1, what="the ramp to start")
    time.sleep(3 * RENDER_INTERVAL)  # redraws of the ramp's progress happen meanwhile
    assert moved == [1.0], "the slider stays where the person put it, not on the ramp's way"
    type_into(row, "2.5 V")  # typed while the ramp goes: the slider goes there too
    assert slider.value == 2.5
    panel.wait_idle()
    assert bench.instrument.voltage == 2.5
    assert moved == [1.0, 2.5]


def test_a_change_from_the_page_waits_for_a_redraw_in_progress(
    bench: Bench, panel: InstrumentPanel
) -> None:
    import threading

    row = panel.rows["voltage"]
    slider = row.control.slider
    done = threading.Event()
    with row._lock:  # a redraw on labkit's loop holds the row
        worker = threading.Thread(target=lambda: (slider.set_state({"value": 2.0}), done.set()))
        worker.start()
        assert not done.wait(0.2), "the page's change waited for the redraw to finish"
        assert slider.value != 2.0, "not even half taken: the redraw sees the widget whole"
    worker.join(10)
    assert done.is_set()
    panel.wait_idle()
    assert bench.instrument.voltage == 2.0
