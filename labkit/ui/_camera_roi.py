"""ROI drawing on the camera view: the rectangle brushed on the picture, in sensor pixels,
handed to the camera through its :class:`~labkit.ui.RoiControl` adapter."""

from __future__ import annotations

import html
import math
from typing import Any

from labkit.core import ConfigurationError, Region
from labkit.ui._roi import RoiControl


class RoiDrawing:
    """The *Apply ROI* and *Full frame* side of the camera view (a mixin of
    :class:`CameraView`)."""

    camera: Any
    roi: RoiControl | None
    recording: str | None
    brush: Any
    apply_button: Any
    full_button: Any
    roi_status: Any

    def selection(self) -> Region | None:
        """The rectangle brushed on the image, in sensor pixels (None if there is none)."""
        xs, ys = self.brush.selected_x, self.brush.selected_y
        if xs is None or ys is None or len(xs) != 2 or len(ys) != 2:
            return None
        x0, x1 = sorted(float(v) for v in xs)
        y0, y1 = sorted(float(v) for v in ys)
        x, y = math.floor(x0), math.floor(y0)
        width, height = math.ceil(x1) - x, math.ceil(y1) - y
        if width < 1 or height < 1:
            return None
        return Region(max(0, x), max(0, y), width, height)

    def _roi_buttons_state(self) -> None:
        why = None
        if self.roi is None:
            why = "labkit knows no way to set this camera's region of interest"
        elif self.recording:
            why = self.recording
        for button in (self.apply_button, self.full_button):
            button.disabled = why is not None
            if why:
                button.tooltip = why
        if why and self.roi is None:
            self.roi_status.value = f"<small>{html.escape(why)}</small>"

    def apply_roi(self, region: Region | None = None) -> Region:
        """Make the camera read ``region`` (by default the brushed rectangle); returns the
        region it reads, after rounding to what the camera can do."""
        if self.roi is None or self.recording:
            raise ConfigurationError(
                "the region of interest cannot be changed here: "
                + (self.recording or "labkit knows no way to set this camera's ROI"),
                instrument=getattr(self.camera, "name", None),
            )
        region = region or self.selection()
        if region is None:
            raise ConfigurationError(
                "no region is selected", hint="Drag a rectangle on the image first"
            )
        applied = self.roi.apply(region)
        self._roi_applied(applied)
        return applied

    def full_frame(self) -> Region:
        """Make the camera read its whole sensor again."""
        if self.roi is None or self.recording:
            return self.apply_roi(Region(0, 0, 1, 1))  # raises the explanation
        applied = self.roi.full()
        self._roi_applied(applied)
        return applied

    def _apply_roi(self) -> None:
        self.apply_roi()

    def _full_frame(self) -> None:
        self.full_frame()

    def _roi_applied(self, region: Region) -> None:
        with self.brush.hold_sync():
            self.brush.selected_x = None
            self.brush.selected_y = None
        note = f" ({self.roi.note})" if self.roi is not None and self.roi.note else ""
        self.roi_status.value = html.escape(
            f"reading {region.width}×{region.height} at x={region.x}, y={region.y}{note}"
        )
