"""The widget a Run shows in a notebook: progress, status, and pause/resume/abort buttons.

It observes the Run's traits (updated from labkit's loop a few times a second) and drives
the run through its thread-safe ``pause``/``resume``/``abort``; the abort button never waits,
so the kernel stays free while outputs ramp to their safe values.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

__all__ = ["RunWidget"]

_STYLE = {
    "running": "info",
    "paused": "warning",
    "suspended": "warning",
    "completed": "success",
    "aborted": "danger",
    "failed": "danger",
}
_LIVE = ("running", "paused", "suspended")


class RunWidget(widgets.VBox):
    """Progress bar, counts, status line and control buttons for one run."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.title = widgets.HTML(
            f"<b>{html.escape(run.name)}</b> <code>{html.escape(run.id)}</code>"
        )
        self.bar = widgets.FloatProgress(min=0.0, max=1.0, value=0.0)
        self.count = widgets.Label()
        self.status = widgets.HTML()
        self.pause_button = widgets.Button(description="Pause", icon="pause", tooltip="Pause")
        self.resume_button = widgets.Button(description="Resume", icon="play", tooltip="Resume")
        self.abort_button = widgets.Button(
            description="Abort",
            icon="stop",
            button_style="danger",
            tooltip="Abort: outputs go to their safe values",
        )
        self.pause_button.on_click(lambda _: self.run.pause())
        self.resume_button.on_click(lambda _: self.run.resume())
        self.abort_button.on_click(lambda _: self.run.abort(wait=False))
        buttons = widgets.HBox([self.pause_button, self.resume_button, self.abort_button])
        super().__init__([self.title, widgets.HBox([self.bar, self.count]), self.status, buttons])
        run.observe(self._refresh, names=["status", "message", "points", "progress", "total"])
        self._refresh()

    def _refresh(self, change: Any = None) -> None:
        run = self.run
        status = run.status
        total = f" / {run.total}" if run.total is not None else ""
        self.count.value = f"{run.points}{total} points"
        if run.progress is not None:
            self.bar.value = float(run.progress)
        elif status == "completed":
            self.bar.value = 1.0
        self.bar.bar_style = _STYLE.get(status, "info")
        message = f" — {html.escape(run.message)}" if run.message else ""
        self.status.value = f"<b>{html.escape(status)}</b>{message}"
        live = status in _LIVE
        self.pause_button.disabled = status != "running"
        self.resume_button.disabled = status not in ("paused", "suspended")
        self.abort_button.disabled = not live

    def close(self) -> None:
        try:
            self.run.unobserve(
                self._refresh, names=["status", "message", "points", "progress", "total"]
            )
        except ValueError:
            pass
        super().close()
