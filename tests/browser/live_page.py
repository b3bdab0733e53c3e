"""What a browser test (or benchmark) measures inside the page about labkit's live views.

The functions take Playwright's ``Page`` and run small scripts in it:

- :func:`watch_images` records every picture a camera view shows: the view's ``<canvas>``
  gets a new ``data-picture`` number once it drew each one (a bqplot ``Image`` mark a new
  blob URL in its ``href``), so a ``MutationObserver`` sees each one; the pixels read back
  from the canvas (the bytes behind the URL) are hashed, so "the image changed" means
  different pixels on the page, not just a new number. :func:`images_seen` returns ``[(milliseconds, sha1), ...]`` and :func:`updates_seen`
  the time of every update.
- :func:`line_points` counts the points of a bqplot ``path.line`` (one ``M``/``L`` each).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "image_rate",
    "images_seen",
    "line_points",
    "live_figures",
    "updates_seen",
    "watch_images",
]

_WATCH = """
(selector) => {
  const image = document.querySelector(selector);
  if (!image) return false;
  const seen = window.__labkitImages = [];
  const updates = window.__labkitUpdates = [];
  const hash = (index, bytes) => crypto.subtle.digest('SHA-1', bytes)
    .then(d => { seen[index][1] = [...new Uint8Array(d)].map(x => x.toString(16)).join(''); })
    .catch(() => { seen[index][1] = null; });
  const canvas = image.tagName.toLowerCase() === 'canvas';
  const observer = new MutationObserver(records => {
    const when = performance.now();
    for (const _ of records) updates.push(when);  // every new picture the page was given
    const index = seen.push([when, 'pending']) - 1;
    if (canvas) {
      // The pixels the canvas holds now, read back from it: what the person sees.
      const context = image.getContext('2d');
      hash(index, context.getImageData(0, 0, image.width, image.height).data);
    } else {
      // Hash the picture shown now (older ones of the same batch are already revoked).
      fetch(image.getAttribute('href')).then(r => r.arrayBuffer())
        .then(b => hash(index, b)).catch(() => { seen[index][1] = null; });
    }
  });
  observer.observe(image, {attributes: true, attributeFilter: [canvas ? 'data-picture' : 'href']});
  window.__labkitImagesStop = () => observer.disconnect();
  return true;
}
"""


def watch_images(page: Any, selector: str) -> None:
    """Start recording the pictures of the first ``<canvas>`` (or SVG ``<image>``) matching
    ``selector``."""
    if not page.evaluate(_WATCH, selector):
        raise AssertionError(f"no image element matches {selector!r} in the page")


def images_seen(page: Any, stop: bool = False) -> list[tuple[float, str | None]]:
    """Pictures hashed since :func:`watch_images`: (ms since page load, SHA-1 of the bytes),
    one per batch of updates the page processed together."""
    if stop:
        page.evaluate("() => window.__labkitImagesStop()")
    entries = page.evaluate("() => window.__labkitImages.slice()")
    return [tuple(entry) for entry in entries if entry[1] != "pending"]


def updates_seen(page: Any) -> list[float]:
    """When each new picture reached the image (ms since page load)."""
    return list(page.evaluate("() => window.__labkitUpdates.slice()"))


def image_rate(times: list[float]) -> float:
    """Updates per second between the first and the last of ``times`` (ms)."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / ((times[-1] - times[0]) / 1000.0)


def line_points(page: Any, selector: str) -> list[int]:
    """Points of every ``path.line`` under ``selector`` (0 for an empty path)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector + ' path.line')].map(p => {
            const d = p.getAttribute('d') || '';
            return (d.match(/[ML]/g) || []).length;
        })""",
        selector,
    )


_FIGURES = """
() => [...document.querySelectorAll('.labkit-lineplot, .labkit-heatmap, .labkit-camera-view')]
  .map(figure => {
    const run = [...figure.classList].find(c => c.startsWith('labkit-run-')) || null;
    const kind = figure.classList.contains('labkit-lineplot') ? 'line'
      : figure.classList.contains('labkit-heatmap') ? 'heatmap' : 'camera';
    const axes = [...figure.querySelectorAll('g.axis, g.ColorBar, g.colorbar')].map(axis =>
      [...axis.querySelectorAll('.tick text')].map(t => t.textContent.trim()));
    const lines = [...figure.querySelectorAll('path.line')].map(path => {
      const d = path.getAttribute('d') || '';
      const ys = [...d.matchAll(/[ML]\\s*(-?[\\d.e+-]+)[ ,](-?[\\d.e+-]+)/g)].map(m => +m[2]);
      return {points: ys.length,
              spread: ys.length ? Math.max(...ys) - Math.min(...ys) : 0,
              finite: ys.every(Number.isFinite)};
    });
    const images = [...figure.querySelectorAll('image')].map(i => i.getAttribute('href') || '');
    // Pictures a camera view's canvas drew (its number, set after each drawing).
    const pictures = [...figure.querySelectorAll('canvas.labkit-canvas-image')]
      .map(c => Number(c.dataset.picture || 0));
    return {run, kind, axes, lines, images, pictures};
  })
"""


def live_figures(page: Any) -> list[dict[str, Any]]:
    """Every live view in the page: its run (``labkit-run-<id>`` class), its kind, the tick
    labels of each axis, each line's points and vertical spread in pixels, its images (SVG
    ``href``) and the pictures its canvases drew."""
    return page.evaluate(_FIGURES)
