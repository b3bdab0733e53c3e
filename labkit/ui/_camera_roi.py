"""ROI drawing on the camera view: the rectangle brushed on the picture, in sensor pixels,
handed to the camera through its :class:`~labkit.ui.RoiControl` adapter."""

from __future__ import annotations

import html
import math
from typing import Any

from labkit.core import ConfigurationError, Region
from labkit.ui._camera_layout import CameraLayout
from labkit.ui._roi import RoiControl


class RoiDrawing:
    """The *Apply ROI* and *Full frame* side of a camera view: the brush of ``layout``'s
    figure, its two buttons and its ROI status line, and the camera's ``roi`` adapter (None
    where labkit knows no way to set the camera's ROI). While ``recording`` (why: a run
    records the stream) the region cannot change."""

    def __init__(
        self,
        layout: CameraLayout,
        roi: RoiControl | None,
        *,
        recording: str | None = None,
        instrument: str | None = None,
    ) -> None:
        self.brush = layout.brush
        self.buttons = (layout.apply_button, layout.full_button)
        self.status = layout.roi_status
        self.roi = roi
        self.recording = recording
        self.instrument = instrument
        why = self._refusal()
        for button in self.buttons:
            button.disabled = why is not None
            if why:
                button.tooltip = why
        if why and roi is None:
            self.status.value = f"<small>{html.escape(why)}</small>"

    def _refusal(self) -> str | None:
        """Why the buttons are disabled (None: they are not)."""
        if self.roi is None:
            return "labkit knows no way to set this camera's region of interest"
        return self.recording or None

    def selection(self) -> Region | None:
        """The rectangle brushed on the image, in sensor pixels (None if there is none)."""
        xs, ys = self.brush.selected_x, self.brush.selected_y
        if xs is None or ys is None or len(xs) != 2 or len(ys) != 2:
            return None
        x0, x1 = sorted(float(v) for v in xs)
        y0, y1 = sorted(float(v) for v in ys)
        # A drag that runs off the picture means "to its edge": bound the gesture by the
        # region shown (the camera refuses a typed region past its sensor).
        x0, x1 = _bounded(x0, x1, self.brush.x_scale)
        y0, y1 = _bounded(y0, y1, self.brush.y_scale)
        x, y = math.floor(x0), math.floor(y0)
        width, height = math.ceil(x1) - x, math.ceil(y1) - y
        if width < 1 or height < 1:
            return None
        return Region(max(0, x), max(0, y), width, height)

    def apply(self, region: Region | None = None) -> Region:
        """Make the camera read ``region`` (by default the brushed rectangle); returns the
        region it reads, after rounding to what the camera can do."""
        if self.roi is None or self.recording:
            why = self.recording or "labkit knows no way to set this camera's ROI"
            raise ConfigurationError(
                f"the region of interest cannot be changed here: {why}",
                instrument=self.instrument,
            )
        region = region or self.selection()
        if region is None:
            raise ConfigurationError(
                "no region is selected", hint="Drag a rectangle on the image first"
            )
        return self._applied(self.roi.apply(region))

    def full(self) -> Region:
        """Make the camera read its whole sensor again."""
        if self.roi is None or self.recording:
            return self.apply(Region(0, 0, 1, 1))  # raises the explanation
        return self._applied(self.roi.full())

    def _applied(self, region: Region) -> Region:
        with self.brush.hold_sync():
            self.brush.selected_x = None
            self.brush.selected_y = None
        note = f" ({self.roi.note})" if self.roi is not None and self.roi.note else ""
        self.status.value = html.escape(
            f"reading {region.width}×{region.height} at x={region.x}, y={region.y}{note}"
        )
        return region


def _bounded(low: float, high: float, scale: Any) -> tuple[float, float]:
    """``low…high`` within the scale's shown span (a scale may be flipped, as y is)."""
    ends = [v for v in (scale.min, scale.max) if v is not None]
    if len(ends) != 2:
        return low, high
    first, last = sorted(float(v) for v in ends)
    return max(low, first), min(high, last)
