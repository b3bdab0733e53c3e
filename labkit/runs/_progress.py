"""A tqdm progress bar for runs started from a script or a terminal.

It observes the Run's traits, so it is updated a few times a second from labkit's loop, and
never slows the acquisition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.runs._run import Run

__all__ = ["ProgressBar"]


class ProgressBar:
    def __init__(self, run: Run) -> None:
        from tqdm.auto import tqdm

        self._run = run
        self._bar = tqdm(total=run.total, desc=run.name, unit="pt", leave=True)
        self._shown = 0
        run.observe(self._on_points, names=["points"])
        run.observe(self._on_status, names=["status"])

    def _on_points(self, change: Any) -> None:
        value = change["new"]
        if value > self._shown:
            self._bar.update(value - self._shown)
            self._shown = value

    def _on_status(self, change: Any) -> None:
        status = change["new"]
        if status != "running":
            self._bar.set_postfix_str(status)
        else:
            self._bar.set_postfix_str("")

    def close(self) -> None:
        self._run.unobserve(self._on_points, names=["points"])
        self._run.unobserve(self._on_status, names=["status"])
        self._bar.close()
