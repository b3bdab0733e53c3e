"""What a GenICam camera does checked against the reference producer (viky.cti): features it
lacks, integer limits, limits that follow other features, and a stream stopped by the user.

Expected values come from viky's node map, read with genicam directly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import labkit
from labkit import ChoiceError, InstrumentError, LimitError, UnknownSettingError
from labkit.drivers.cameras.genicam import GenICamCamera
from labkit.drivers.cameras.genicam._link import GenICamLink
from labkit.runs import CameraStream
from labkit.testing import record

Opener = Callable[..., GenICamCamera]


def node(camera: GenICamCamera, name: str) -> Any:
    return camera.node_map.get_node(name)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# ----------------------------------------------------------------------------- features it lacks


@pytest.mark.parametrize("missing", ["offset_x", "exposure_time"])
def test_a_feature_the_camera_lacks_is_refused_before_anything_is_sent(
    camera: GenICamCamera, missing: str
) -> None:
    assert not hasattr(camera.node_map, "OffsetX")
    assert not hasattr(camera.node_map, "ExposureTime")
    with record(camera) as log, pytest.raises(UnknownSettingError) as caught:
        setattr(camera, missing, 10)
    assert log.sent == []
    message = str(caught.value)
    assert camera.name in message
    assert repr(missing) in message
    assert "width" in message  # what it does have
    assert "pixel_format" in message
    assert missing not in vars(camera)  # not kept as a Python attribute either
    assert isinstance(caught.value, AttributeError)


def test_a_misspelt_setting_gets_a_did_you_mean(camera: GenICamCamera) -> None:
    with pytest.raises(UnknownSettingError, match="Did you mean 'width'"):
        camera.widht = 300  # type: ignore[attr-defined]
    with pytest.raises(UnknownSettingError, match="Did you mean 'pixel_format'"):
        camera.pixelformat = "Mono8"  # type: ignore[attr-defined]
    camera.width = node(camera, "Width").min  # real settings still set
    camera._private_note = 1  # private attributes are the driver's own business


# ----------------------------------------------------------------------------- integer features


def test_integer_features_have_integer_limits_and_their_increment(camera: GenICamCamera) -> None:
    for name in ("width", "height", "bouncing_ball_size"):
        spec = camera.settings[name].spec
        gen = node(camera, camera.features[name].node)
        assert (spec.min, spec.max, spec.step) == (gen.min, gen.max, gen.inc)
        assert all(type(v) is int for v in (spec.min, spec.max, spec.step)), name
    entry = json.loads(json.dumps(camera.snapshot()))["settings"]["width"]
    assert (type(entry["min"]), type(entry["max"])) == (int, int)
    with pytest.raises(LimitError) as caught:
        camera.width = node(camera, "Width").max + 1
    assert f"{node(camera, 'Width').max}" in str(caught.value)
    assert f"{node(camera, 'Width').max}.0" not in str(caught.value)


def test_the_panel_shows_integer_features_as_integer_sliders_on_their_step(
    camera: GenICamCamera,
) -> None:
    pytest.importorskip("ipywidgets")
    import ipywidgets as widgets

    view = camera.panel()
    gen = node(camera, "Width")
    sliders = [
        w
        for w in _widgets(view)
        if isinstance(w, widgets.IntSlider) and (w.min, w.max) == (gen.min, gen.max)
    ]
    assert sliders, "width is an integer slider over the node's limits"
    assert all(s.step == gen.inc for s in sliders)
    assert not [
        w for w in _widgets(view) if isinstance(w, widgets.FloatSlider) and w.max == gen.max
    ]


def _widgets(root: Any) -> list[Any]:
    found, stack = [], [root]
    while stack:
        widget = stack.pop()
        found.append(widget)
        stack.extend(getattr(widget, "children", ()))
    return found


# ----------------------------------------------------------------------------- limits that move


@pytest.mark.parametrize("callbacks", [True, False], ids=["genapi-callbacks", "re-read"])
def test_limits_follow_a_feature_that_moves_them_and_refusals_name_the_new_ones(
    open_camera: Opener, monkeypatch: pytest.MonkeyPatch, callbacks: bool
) -> None:
    """viky moves PixelFormat's entries with ComponentSelector (it has no binning or offsets).

    Without GenApi's callbacks (a camera description that does not link its features), the
    writable features beside the one written are read again all the same."""
    if not callbacks:
        monkeypatch.setattr(GenICamLink, "watch", lambda self, name, callback: None)
    camera = open_camera()
    intensity = set(camera.settings.pixel_format.spec.choices)
    camera.component_selector = "Range"
    now = set(node(camera, "PixelFormat").symbolics)
    assert set(camera.settings.pixel_format.spec.choices) == now != intensity
    with record(camera) as log, pytest.raises(ChoiceError) as caught:
        camera.pixel_format = "RGBa8"  # valid a moment ago, not for the range component
    assert log.sent == []
    assert all(choice in str(caught.value) for choice in now)
    camera.component_selector = "Intensity"
    assert set(camera.settings.pixel_format.spec.choices) == intensity
    camera.pixel_format = "RGBa8"


# ----------------------------------------------------------------------------- stopped mid-run


def test_a_camera_stopped_by_the_user_mid_run_ends_it_saying_so(
    camera: GenICamCamera, data_root: Any
) -> None:
    watch = camera.subscribe(64)
    run = labkit.run(CameraStream(camera, frames=100_000, name="movie"))
    for _ in range(5):
        watch.get(timeout=10)  # the run's camera is streaming
    camera.stop()  # the user stops the camera while the run records
    with pytest.raises(InstrumentError) as caught:
        run.wait(timeout=30)
    message = str(caught.value)
    assert f"{camera.name}.stop() was called" in message
    assert "test_genicam_fidelity.py" in message  # where it was called from
    assert "trigger" not in message  # not the timeout's hint
    assert "exposure" not in message
    assert run.status == "failed"
    recorded = int((~np.isnat(run.dataset.time.values)).sum())
    assert recorded >= 1  # every frame recorded before the stop is kept
    assert f"{recorded} of 100000 frames were recorded" in message
