"""The camera view's parts on their own, without a CameraView: the layout and its controls,
the drawing of one image into it, and the ROI drawn on its brush."""

from __future__ import annotations

import html

import ipywidgets
import numpy as np
import pytest

from labkit.core import ConfigurationError, Region
from labkit.ui._camera_layout import CameraLayout
from labkit.ui._camera_picture import CameraPicture
from labkit.ui._camera_roi import RoiDrawing


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Roi:
    """A camera's ROI adapter that reads even regions only (as a binning camera would)."""

    note = "even pixels"

    def __init__(self) -> None:
        self.asked: list[Region] = []

    def apply(self, region: Region) -> Region:
        self.asked.append(region)
        return Region(region.x // 2 * 2, region.y // 2 * 2, region.width // 2 * 2, 2)

    def full(self) -> Region:
        return Region(0, 0, 640, 480)


@pytest.fixture
def layout() -> CameraLayout:
    return CameraLayout("cam", extra_menu=_menu(), live_button=False)


def _menu() -> ipywidgets.Dropdown:
    return ipywidgets.Dropdown(options=["intensity"])


def _shown(rows: list[ipywidgets.Widget]) -> list[ipywidgets.Widget]:
    """Every widget in the rows' boxes."""
    found: list[ipywidgets.Widget] = []
    for widget in rows:
        found.append(widget)
        found += _shown(list(getattr(widget, "children", ())))
    return found


def test_the_layout_says_the_contrast_its_controls_ask_for(layout: CameraLayout) -> None:
    assert layout.contrast == "minmax"
    layout.contrast_menu.value = "manual"
    layout.widen_levels(4095)
    layout.levels_slider.value = (100, 3000)
    assert layout.contrast == (100, 3000)
    layout.widen_levels(1000)  # never narrows
    assert layout.levels_slider.max == 4095
    assert layout.live_button not in _shown(layout.rows)
    assert layout.picture in _shown(layout.rows)
    assert layout.counters in _shown(layout.rows)
    with_live = CameraLayout("cam", extra_menu=_menu(), live_button=True)
    assert with_live.live_button in _shown(with_live.rows)


def test_the_drawing_shows_an_image_and_holds_its_details_back_until_they_are_due(
    layout: CameraLayout,
) -> None:
    clock = Clock()
    lines: list[tuple[tuple[int, int], tuple[int, int]]] = []
    drawing = CameraPicture(layout, clock, lambda *a: lines.append(a) or "counters")
    image = np.arange(256 * 512, dtype=np.uint16).reshape(256, 512)
    drawing.draw(image, (Region(64, 32, 512, 256),), size=128, binning="max", gamma=None)
    assert layout.picture.array().shape == (64, 128), "shrunk 1:4 to fit 128"
    assert (layout.x_scale.min, layout.x_scale.max) == (64.0, 576.0), "in sensor pixels"
    assert (layout.y_scale.min, layout.y_scale.max) == (32.0, 288.0)
    assert lines == [((256, 512), (4, 4))]
    assert layout.counters.value == "counters"
    drawing.draw(image, size=128, binning="max", gamma=None, details=False)
    assert len(lines) == 1, "details at most every 0.25 s"
    assert not drawing.catch_up()
    clock.now = 0.3
    assert drawing.catch_up(), "held-back details once due"
    assert len(lines) == 2
    assert not drawing.catch_up()
    drawing.set_colormap("hot")
    assert drawing.colormap == "hot"
    assert layout.colormap_menu.value == "hot"
    with pytest.raises(ValueError, match="unknown colormap"):
        drawing.set_colormap("jet")


def test_the_roi_drawing_applies_the_brushed_rectangle_rounded_by_the_camera(
    layout: CameraLayout,
) -> None:
    roi = Roi()
    drawing = RoiDrawing(layout, roi, instrument="cam")
    assert not layout.apply_button.disabled
    with pytest.raises(ConfigurationError, match="no region is selected"):
        drawing.apply()
    layout.x_scale.min, layout.x_scale.max = 0.0, 640.0  # a 640×480 picture is shown
    layout.y_scale.min, layout.y_scale.max = 0.0, 480.0
    layout.brush.selected_x = np.array([600.0, 700.0])  # dragged off the picture's right edge
    layout.brush.selected_y = np.array([-5.0, 30.5])
    assert drawing.selection() == Region(600, 0, 40, 31), "the gesture ends at the picture"
    layout.brush.selected_x = np.array([10.4, 99.2])
    layout.brush.selected_y = np.array([20.0, 30.5])
    assert drawing.selection() == Region(10, 20, 90, 11)
    assert drawing.apply() == Region(10, 20, 90, 2)
    assert roi.asked == [Region(10, 20, 90, 11)]
    assert layout.brush.selected_x is None, "the brush clears once applied"
    assert "reading 90×2 at x=10, y=20 (even pixels)" in html.unescape(layout.roi_status.value)
    assert drawing.full() == Region(0, 0, 640, 480)


def test_the_roi_drawing_refuses_while_a_run_records_and_without_an_adapter(
    layout: CameraLayout,
) -> None:
    recording = RoiDrawing(layout, Roi(), recording="a run records this camera")
    assert layout.apply_button.disabled
    assert layout.full_button.disabled
    assert layout.apply_button.tooltip == "a run records this camera"
    with pytest.raises(ConfigurationError, match="a run records this camera"):
        recording.full()
    other = CameraLayout("other", extra_menu=_menu(), live_button=True)
    none = RoiDrawing(other, None)
    assert other.apply_button.disabled
    assert "no way" in other.roi_status.value
    with pytest.raises(ConfigurationError, match="no way to set"):
        none.apply(Region(0, 0, 4, 4))
