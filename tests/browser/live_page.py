"""What a browser test (or benchmark) measures inside the page about labkit's live views.

The functions take Playwright's ``Page`` and run small scripts in it:

- :func:`watch_images` records every picture a camera view shows: bqplot's ``Image`` mark
  gets a new blob URL per update, so a ``MutationObserver`` on its ``href`` sees each one; the
  bytes behind the URL are hashed, so "the image changed" means different pixels, not just a
  new URL. :func:`images_seen` returns ``[(milliseconds, sha1), ...]`` and :func:`updates_seen`
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
  const observer = new MutationObserver(records => {
    const when = performance.now();
    for (const _ of records) updates.push(when);  // every new picture the page was given
    // Hash the picture shown now (older ones of the same batch are already revoked).
    const index = seen.push([when, 'pending']) - 1;
    fetch(image.getAttribute('href')).then(r => r.arrayBuffer())
      .then(b => crypto.subtle.digest('SHA-1', b))
      .then(d => { seen[index] = [when, [...new Uint8Array(d)].map(x => x.toString(16)).join('')]; })
      .catch(() => { seen[index] = [when, null]; });
  });
  observer.observe(image, {attributes: true, attributeFilter: ['href']});
  window.__labkitImagesStop = () => observer.disconnect();
  return true;
}
"""


def watch_images(page: Any, selector: str) -> None:
    """Start recording the pictures of the first ``<image>`` matching ``selector``."""
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
    return {run, kind, axes, lines, images};
  })
"""


def live_figures(page: Any) -> list[dict[str, Any]]:
    """Every live view in the page: its run (``labkit-run-<id>`` class), its kind, the tick
    labels of each axis, each line's points and vertical spread in pixels, its images."""
    return page.evaluate(_FIGURES)
