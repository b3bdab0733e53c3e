"""What a browser test (or benchmark) measures inside the page about labkit's live views.

The functions take Playwright's ``Page`` and run small scripts in it:

- :func:`watch_images` records every picture a camera view shows: bqplot's ``Image`` mark
  gets a new blob URL per update, so a ``MutationObserver`` on its ``href`` sees each one; the
  bytes behind the URL are hashed, so "the image changed" means different pixels, not just a
  new URL. :func:`images_seen` returns ``[(milliseconds, sha1), ...]``.
- :func:`line_points` counts the points of a bqplot ``path.line`` (one ``M``/``L`` each).
"""

from __future__ import annotations

from typing import Any

__all__ = ["image_rate", "images_seen", "line_points", "watch_images"]

_WATCH = """
(selector) => {
  const image = document.querySelector(selector);
  if (!image) return false;
  window.__labkitImages = [];
  const seen = window.__labkitImages;
  const observer = new MutationObserver(() => {
    const href = image.getAttribute('href');
    const when = performance.now();
    fetch(href).then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-1', b))
      .then(d => seen.push([when, [...new Uint8Array(d)].map(x => x.toString(16)).join('')]))
      .catch(() => seen.push([when, null]));
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
    """The pictures seen since :func:`watch_images`: (ms since page load, SHA-1 of the bytes)."""
    if stop:
        page.evaluate("() => window.__labkitImagesStop()")
    return [tuple(entry) for entry in page.evaluate("() => window.__labkitImages.slice()")]


def image_rate(seen: list[tuple[float, str | None]]) -> float:
    """Updates per second between the first and the last picture seen."""
    if len(seen) < 2:
        return 0.0
    return (len(seen) - 1) / ((seen[-1][0] - seen[0][0]) / 1000.0)


def line_points(page: Any, selector: str) -> list[int]:
    """Points of every ``path.line`` under ``selector`` (0 for an empty path)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector + ' path.line')].map(p => {
            const d = p.getAttribute('d') || '';
            return (d.match(/[ML]/g) || []).length;
        })""",
        selector,
    )
