"""The camera view's canvas widget: what it sends to the page (the browser side is checked in
tests/browser/test_live_browser.py, pixel for pixel)."""

from __future__ import annotations

import numpy as np
import pytest
from ipywidgets.widgets.widget import _remove_buffers

from labkit.ui._canvas_image import CanvasImage
from labkit.ui._image import palette


def test_a_picture_goes_as_its_raw_bytes_with_its_shape_and_a_new_number():
    canvas = CanvasImage()
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    canvas.show(image)
    assert canvas.pixels == image.tobytes(), "the uint8 pixels themselves: no encoding"
    assert (canvas.height, canvas.width) == (3, 4)
    assert canvas.picture == 1
    np.testing.assert_array_equal(canvas.array(), image)

    canvas.show(image)  # the same picture again (a redraw) still counts as one for the page
    assert canvas.picture == 2
    canvas.show(np.asfortranarray(np.ones((2, 5), np.uint8)))
    assert canvas.array().shape == (2, 5)
    assert canvas.pixels == bytes([1] * 10)


def test_pixels_and_palette_are_sent_as_binary_buffers():
    canvas = CanvasImage()
    canvas.show(np.zeros((2, 2), np.uint8))
    state = canvas.get_state()
    _, _, buffers = _remove_buffers(state)
    assert len(buffers) == 2, "pixels and palette travel as buffers, not base64 text"


def test_the_colormap_is_the_bmp_palette():
    canvas = CanvasImage()
    assert canvas.palette == palette("gray")
    canvas.set_colormap("viridis")
    assert canvas.palette == palette("viridis")
    with pytest.raises(ValueError, match="unknown colormap"):
        canvas.set_colormap("jet")
