"""The run widget: progress, status and working pause/resume/abort buttons (headless)."""

from __future__ import annotations

import time

import numpy as np

import labkit
from labkit.core import _hooks
from labkit.ui.run_widget import RunWidget


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_run_shows_as_a_widget_in_a_notebook(lab):
    run = labkit.sweep(lab.smu.settings.voltage, [0, 1], read=[lab.dmm.readings.current])
    run.wait()
    bundle = run._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<Run ")
    widget = _hooks.display("run", run)
    assert isinstance(widget, RunWidget)
    assert widget.bar.value == 1.0
    assert widget.count.value == "2 / 2 points"
    assert "completed" in widget.status.value
    assert widget.pause_button.disabled
    assert widget.abort_button.disabled
    widget.close()


def test_the_buttons_pause_resume_and_abort_the_run(slow_lab):
    lab = slow_lab
    run = labkit.sweep(
        lab.smu.settings.voltage, np.linspace(0, 2, 300), read=[lab.dmm.readings.current]
    )
    widget = RunWidget(run)
    wait_for(lambda: run.points >= 3)
    assert not widget.pause_button.disabled
    assert widget.resume_button.disabled
    widget.pause_button.click()
    wait_for(lambda: run.status == "paused")
    wait_for(lambda: "paused" in widget.status.value)
    assert widget.pause_button.disabled
    assert not widget.resume_button.disabled
    assert widget.bar.bar_style == "warning"
    held = run.points
    widget.resume_button.click()
    wait_for(lambda: run.status == "running" and run.points > held)
    widget.abort_button.click()
    wait_for(lambda: run.done)
    assert run.status == "aborted"
    wait_for(lambda: "aborted" in widget.status.value)
    assert widget.abort_button.disabled
    assert widget.bar.bar_style == "danger"
    assert lab.smu_sim.value("voltage") == 0.0
    widget.close()
