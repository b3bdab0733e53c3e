"""A picture drawn into a ``<canvas>``: 8-bit pixels and a colormap's palette, as binary buffers.

bqplot's SVG ``<image>`` makes the browser decode a BMP and repaint an SVG element for every
picture (about 100 ms of Chromium's CPU at 1024², without a GPU). Here the page gets the
preview's uint8 pixels as they are (ipywidgets sends ``bytes`` as a binary buffer, no base64)
and maps them through a 256-entry lookup table into an ``ImageData`` for ``putImageData``: one
pass over the pixels, no decoding, no SVG layout. A colormap change sends 1 KiB of palette,
not a new picture.

The pixels go into a hidden canvas of the picture's own size (``labkit-canvas-source``, the
page's exact copy of the kernel's picture), which the 2D rasterizer scales into the canvas on
screen (``labkit-canvas-image``, as many pixels as the screen shows): the compositor then moves
the few hundred thousand pixels a person sees, not the whole 1024² preview. The visible canvas
lets pointer events through, so it sits under the transparent bqplot figure that carries the
axes and the ROI brush (see :mod:`labkit.ui._camera_layout`). After drawing, the page writes
the picture's number into both canvases' ``data-picture`` attribute: what a test or a
benchmark in the browser waits on.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from labkit.ui._image import palette

__all__ = ["CanvasImage"]

_ESM = """
function lookup(view) {
  // The palette is the BMP's: 256 entries of (blue, green, red, 0).
  const table = new Uint32Array(256);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < 256 && 4 * i + 2 < bytes.length; i++) {
    table[i] = (0xff << 24) | (bytes[4 * i] << 16) | (bytes[4 * i + 1] << 8) | bytes[4 * i + 2];
  }
  return table;
}

function render({ model, el }) {
  // The picture at its own size, hidden: the page's exact copy of the kernel's pixels.
  const source = document.createElement("canvas");
  source.className = "labkit-canvas-source";
  source.style.display = "none";
  // What the person sees: the picture scaled to the canvas's size on screen by the 2D
  // rasterizer, so the compositor moves the on-screen pixels, not the whole preview.
  const canvas = document.createElement("canvas");
  canvas.className = "labkit-canvas-image";
  canvas.style.width = "100%";
  canvas.style.height = "100%";
  canvas.style.display = "block";
  el.style.pointerEvents = "none";
  el.append(source, canvas);
  const sourceContext = source.getContext("2d");
  const context = canvas.getContext("2d");
  let table = lookup(model.get("palette"));
  let picture = null;
  // The canvas's size on screen, kept by a ResizeObserver: reading clientWidth while drawing
  // would force a style and layout pass whenever the page changed since the last frame.
  let shown = null;
  const resized = new ResizeObserver(entries => {
    const box = entries[entries.length - 1].contentRect;
    shown = [box.width, box.height];
    if (picture !== null) scale();
  });
  resized.observe(canvas);

  function scale() {
    const ratio = window.devicePixelRatio || 1;
    const [cssWidth, cssHeight] = shown || [canvas.clientWidth, canvas.clientHeight];
    const shownWidth = Math.max(1, Math.round(cssWidth * ratio)) || source.width;
    const shownHeight = Math.max(1, Math.round(cssHeight * ratio)) || source.height;
    if (canvas.width !== shownWidth || canvas.height !== shownHeight) {
      canvas.width = shownWidth;
      canvas.height = shownHeight;
    }
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "medium";
    context.drawImage(source, 0, 0, shownWidth, shownHeight);
  }

  function draw() {
    const width = model.get("width"), height = model.get("height");
    const pixels = model.get("pixels");
    if (!width || !height || !pixels || pixels.byteLength < width * height) return;
    if (source.width !== width || source.height !== height || picture === null) {
      source.width = width;
      source.height = height;
      picture = sourceContext.createImageData(width, height);
    }
    const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, width * height);
    const target = new Uint32Array(picture.data.buffer);
    for (let i = 0; i < bytes.length; i++) target[i] = table[bytes[i]];
    sourceContext.putImageData(picture, 0, 0);
    scale();
    source.dataset.picture = canvas.dataset.picture = String(model.get("picture"));
  }

  const onPalette = () => { table = lookup(model.get("palette")); draw(); };
  model.on("change:palette", onPalette);
  model.on("change:picture", draw);
  draw();
  return () => {
    resized.disconnect();
    model.off("change:palette", onPalette);
    model.off("change:picture", draw);
  };
}

export default { render };
"""


_CSS = """
/* The figure over the canvas shows its axes and brush, and lets the picture through. */
.labkit-camera-picture-box .labkit-camera-figure {
  --bq-background: transparent;
  --bq-plotarea-background-fill: transparent;
  background: transparent;
}
"""


class CanvasImage(anywidget.AnyWidget):
    """An 8-bit picture and its colormap, drawn by the page into a canvas."""

    _esm = _ESM
    _css = _CSS
    pixels = traitlets.Bytes(b"").tag(sync=True)
    """The picture's uint8 pixels, row by row (``height × width`` bytes)."""
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    palette = traitlets.Bytes(palette("gray")).tag(sync=True)
    """The colormap's 256-entry table (blue, green, red, 0), as in :func:`~labkit.ui._image.bmp`."""
    picture = traitlets.Int(0).tag(sync=True)
    """Counts the pictures sent; the page draws when it changes, after the pixels arrived."""

    _shown = np.zeros((0, 0), np.uint8)

    def show(self, image: np.ndarray) -> None:
        """Send one uint8 ``image`` (rows × columns) to the page."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = image.shape
        self._shown = image
        with self.hold_sync():
            self.pixels = image.tobytes()
            self.width, self.height = int(width), int(height)
            self.picture += 1

    def set_colormap(self, name: str) -> None:
        self.palette = palette(name)

    def array(self) -> np.ndarray:
        """The picture last sent, as the page holds it (an empty array before the first)."""
        return self._shown
