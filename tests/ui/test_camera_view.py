"""The camera view, headless: what it sends for a frame (size, contrast, colormap, histogram),
its counters, and how it shows a failing camera.

Frames come from a camera the test drives (``ManualCamera``) and renders run when the test
moves the clock (``ManualScheduler``), so every check is about one known frame.
"""

from __future__ import annotations

import html

import numpy as np
import pytest

from labkit.core import ConnectionLost, Region
from labkit.native import preview
from labkit.ui import CameraView, camera_view
from labkit.ui._image import as_mono, histogram, palette
from tests.ui.live_helpers import ManualCamera, ManualScheduler, Page, read_bmp, read_picture


@pytest.fixture
def scheduler() -> ManualScheduler:
    return ManualScheduler()


@pytest.fixture
def camera() -> ManualCamera:
    return ManualCamera(shape=(1024, 2048))


def make_view(camera, scheduler, **options) -> CameraView:
    view = CameraView(camera, scheduler=scheduler, **options)
    Page(view.channel)
    return view


def shown(view: CameraView) -> tuple[np.ndarray, np.ndarray]:
    """The picture the page has now (the image the mark points at)."""
    return read_picture(view)


def gradient(shape=(1024, 2048), top=4095) -> np.ndarray:
    rows, columns = shape
    return (
        (np.arange(columns, dtype=np.uint32) * top // (columns - 1))
        .astype(np.uint16)[np.newaxis, :]
        .repeat(rows, axis=0)
    )


def test_a_frame_is_shrunk_in_the_kernel_to_the_views_size(camera, scheduler):
    view = make_view(camera, scheduler, size=512)
    frame = gradient()
    camera.publish(frame)
    scheduler.advance(0.05)
    pixels, _ = shown(view)
    assert pixels.shape == (256, 512)
    np.testing.assert_array_equal(pixels, preview(frame, max_size=512).image)
    assert "2048×1024 px shown 1:4" in view.counters.value

    view.configure(size=300)  # the smallest whole factor that fits: 7
    camera.publish(frame)
    scheduler.advance(0.05)
    assert shown(view)[0].shape == (1024 // 7, 2048 // 7)
    # The image sits at its place on the sensor, in sensor pixels.
    assert [view.x_scale.min, view.x_scale.max] == [0, 2048]
    assert [view.y_scale.max, view.y_scale.min] == [1024, 0]
    assert (view.x_scale.max, view.y_scale.max) == (2048, 1024)


def test_contrast_automatic_percentile_and_manual(camera, scheduler):
    view = make_view(camera, scheduler, size=512)
    frame = gradient(top=4095)  # a 12-bit camera
    camera.publish(frame)
    scheduler.advance(0.05)
    levels = preview(frame, max_size=512).levels  # of the shrunk image
    assert view.levels_slider.value == levels
    assert levels[1] > 4000
    assert view.levels_slider.max == 4095, "the slider fits the camera's bit depth"
    assert view.levels_slider.disabled
    assert (view.bar_scale.min, view.bar_scale.max) == levels

    view.contrast_menu.value = "1–99.5 %"
    scheduler.advance(0.05)
    low, high = view.levels_slider.value
    assert 0 < low < 100
    assert 4000 < high < 4095
    np.testing.assert_array_equal(
        shown(view)[0], preview(frame, max_size=512, contrast=("percentile", 1, 99.5)).image
    )

    # Moving the levels by hand switches to manual contrast and redraws the last frame.
    view.levels_slider.value = (1000, 2000)
    scheduler.advance(0.05)
    assert view.contrast_menu.value == "manual"
    assert view.contrast == (1000, 2000)
    assert not view.levels_slider.disabled
    pixels = shown(view)[0]
    columns = preview(frame, max_size=512).image  # where each shown column comes from
    assert (pixels[columns < 1000 * 255 // 4095] == 0).all()
    assert (pixels[:, -20:] == 255).all()
    assert list(view.level_lines.x[:, 0]) == [1000, 2000]

    view.configure(contrast="minmax")
    scheduler.advance(0.05)
    assert view.levels_slider.disabled
    assert view.contrast == "minmax"
    with pytest.raises(ValueError, match="contrast"):
        view.configure(contrast=("percentile", 5, 95))


def test_the_histogram_shows_where_the_pixels_are(camera, scheduler):
    view = make_view(camera, scheduler)
    frame = np.full((1024, 2048), 100, np.uint16)
    frame[:, 1024:] = 3000
    camera.publish(frame)
    scheduler.advance(0.05)
    counts, edges = view.hist.y, view.hist.x  # on a log scale: 1 for an empty bin
    expected = histogram(frame)[0]
    assert expected.sum() > 0
    assert counts[0] == counts[-1] == expected.sum() / 2, "two populations, half each"
    assert (counts[1:-1] == 1).all()
    assert edges[0] == 100
    assert view.hist_x.min <= 100
    assert view.hist_x.max >= 3001
    assert list(view.level_lines.x[:, 0]) == [100, 3000]


def test_the_colormap_is_the_images_palette_and_the_colour_bar(camera, scheduler):
    view = make_view(camera, scheduler, colormap="viridis")
    camera.publish(gradient())
    scheduler.advance(0.05)
    _, colours = shown(view)
    assert (
        colours.tobytes()
        == np.frombuffer(palette("viridis"), np.uint8).reshape(256, 4)[:, 2::-1].tobytes()
    )
    assert tuple(colours[0]) == (0x44, 0x01, 0x54)
    assert tuple(colours[255]) == (0xFD, 0xE7, 0x25)
    bar, _ = read_bmp(view.bar.image.value)
    assert (bar[0, 0], bar[-1, 0]) == (255, 0), "the colour bar's top is the high level"
    view.colormap_menu.value = "gray"  # from the page: redraws the last frame
    scheduler.advance(0.05)
    _, colours = shown(view)
    assert (colours[:, 0] == np.arange(256)).all()
    with pytest.raises(ValueError, match="unknown colormap"):
        view.configure(colormap="jet")


def test_a_single_bright_pixel_survives_max_binning_not_mean_binning(camera, scheduler):
    view = make_view(camera, scheduler, size=512, contrast=(0, 4000))
    frame = np.full((1024, 2048), 100, np.uint16)
    frame[401, 802] = 4000  # a spot, shrunk 1:4 into the picture's pixel (100, 200)
    camera.publish(frame)
    scheduler.advance(0.05)
    background = shown(view)[0][0, 0]
    assert shown(view)[0][100, 200] < 32, "averaged with 15 dark neighbours: barely visible"
    view.shrink_menu.value = "max of each bin"
    scheduler.advance(0.05)
    pixels = shown(view)[0]
    assert view.binning == "max"
    assert pixels[100, 200] == 255
    assert (np.delete(pixels.ravel(), 100 * 512 + 200) == background).all()
    with pytest.raises(ValueError, match="binning"):
        view.configure(binning="median")


def test_colour_and_odd_pixel_types_are_shown_as_intensity():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # pure red
    assert as_mono(rgba).dtype == np.uint8
    assert (as_mono(rgba) == (255 * 77) >> 8).all()
    floats = np.linspace(-1.0, 1.0, 16).reshape(4, 4)
    mono = as_mono(floats)
    assert mono.dtype == np.uint16
    assert mono.min() == 0
    assert mono.max() == 65535
    assert (np.diff(mono.ravel().astype(int)) > 0).all()


def test_counters_count_frames_skipped_and_dropped(camera, scheduler):
    view = make_view(camera, scheduler)
    frame = gradient()
    for number in range(1, 11):  # ten frames, 10 ms apart, before the view draws
        camera.publish(frame, number=number, timestamp=100 + number / 100)
    scheduler.advance(0.05)
    counters = view.source.counters
    assert counters.frames == 10
    assert view.source.skipped == 9, "the view drew the newest of ten"
    assert counters.dropped == 0
    # The camera numbers frames 11 to 20 but three never reach the view (lost upstream).
    for number in (11, 12, 13, 17, 18, 19, 20):
        camera.publish(frame, number=number, timestamp=100 + number / 100)
        scheduler.advance(0.05)
    assert counters.dropped == 3
    assert counters.rate() == pytest.approx(100.0)
    scheduler.advance(0.3)  # the counters' text follows a few times a second
    text = html.unescape(view.counters.value)
    for expected in ("frame 20", "camera 100.0 fps", "skipped 9", "dropped 3"):
        assert expected in text
    # A new acquisition numbers from 1 again: the counters start over.
    camera.publish(frame, number=1, timestamp=200.0)
    scheduler.advance(0.3)
    assert (counters.frames, counters.dropped) == (1, 0)


def test_a_camera_failing_mid_stream_shows_its_error_and_the_view_stops(camera, scheduler):
    view = make_view(camera, scheduler)
    camera.publish(gradient())
    scheduler.advance(0.05)
    camera.broadcaster.fail(
        ConnectionLost(
            "camera unplugged", instrument=camera.name, hint="Plug it in, then reconnect()"
        )
    )
    scheduler.advance(0.05)
    assert view.error.layout.display is None, "the error is visible"
    text = html.unescape(view.error.value)
    assert "ConnectionLost" in text
    assert "camera unplugged" in text
    assert "reconnect()" in text
    assert "stopped" in view.status.value
    assert camera.broadcaster.subscribers == 0
    sent = view.channel.sent
    camera.publish(gradient())
    scheduler.advance(5.0)
    assert view.channel.sent == sent, "the view stopped"
    assert shown(view)[0].shape == (256, 512), "the last picture stays"


def test_a_camera_that_closes_ends_the_view_quietly(camera, scheduler):
    view = make_view(camera, scheduler)
    camera.broadcaster.close()
    scheduler.advance(0.05)
    assert "ended" in view.status.value
    assert view.error.layout.display == "none"


def test_camera_view_returns_the_same_live_view_until_it_is_closed(camera):
    first = camera_view(camera, colormap="magma")
    try:
        assert camera_view(camera) is first
        assert camera.broadcaster.subscribers == 1, "one queue of one frame"
        assert first.colormap == "magma"
        with pytest.raises(TypeError, match="unknown camera view option"):
            camera_view(camera, zoom=2)
    finally:
        first.close()
    assert camera.broadcaster.subscribers == 0
    second = camera_view(camera)
    assert second is not first
    second.close()


def test_a_camera_without_known_roi_settings_disables_the_roi_buttons(camera, scheduler):
    view = make_view(camera, scheduler)
    assert view.roi is None
    assert view.apply_button.disabled
    assert view.full_button.disabled
    assert "no way to set" in view.roi_status.value
    with pytest.raises(Exception, match="cannot be changed"):
        view.apply_roi(Region(0, 0, 10, 10))
