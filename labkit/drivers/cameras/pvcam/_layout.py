"""What an acquisition reads out: the ROIs, their binning, metadata and centroids — and the rules.

PVCAM refuses a bad layout only when the acquisition is set up, with an error code. labkit checks
the whole layout whenever one part of it changes, before anything reaches the camera, and says
which ROI breaks which rule: inside the sensor, a whole number of binned pixels, no overlap,
no more ROIs than the camera takes, one binning the camera offers for all of them, metadata on
for several ROIs or centroids, and a centroid search region that is one unbinned ROI at least one
patch (2r + 1 pixels) wide and high.

ROIs are written as text so that they are one declared setting (shown in panels, saved in every
run's snapshot): ``"x,y,width,height"`` in unbinned sensor pixels, several separated by ``;``,
or ``"full"`` for the whole sensor.
"""

from __future__ import annotations

import dataclasses
import re

from labkit.core import LimitError, Region, SettingTypeError, ValidationError
from labkit.drivers.cameras.pvcam._describe import Binning, CameraDescription
from labkit.drivers.cameras.pvcam._types import Rgn

__all__ = ["Layout", "format_rois", "parse_rois"]

Rect = tuple[int, int, int, int]  # x, y, width, height in unbinned sensor pixels

_SEPARATOR = re.compile(r"\s*;\s*")
_NUMBERS = re.compile(r"[\s,]+")


def parse_rois(text: str, sensor_shape: tuple[int, int]) -> tuple[Rect, ...]:
    """``"0,0,512,512; 600,0,512,512"`` → rectangles; ``"full"`` or ``""`` → the whole sensor."""
    stripped = text.strip()
    if stripped.casefold() in ("", "full"):
        return ((0, 0, sensor_shape[1], sensor_shape[0]),)
    rects = []
    for index, part in enumerate(_SEPARATOR.split(stripped.strip(";")), start=1):
        fields = [f for f in _NUMBERS.split(part.strip()) if f]
        try:
            numbers = [int(f) for f in fields]
        except ValueError:
            numbers = []
        if len(numbers) != 4:
            raise SettingTypeError(
                f"ROI {index} ({part!r}) is not four whole numbers x,y,width,height",
                value=text,
                limit="x,y,width,height in sensor pixels (';' between ROIs), or 'full'",
                hint="Write e.g. '0,0,512,512' (sensor pixels), several separated by ';', "
                "or 'full'",
            )
        rects.append(tuple(numbers))
    return tuple(rects)  # type: ignore[return-value]


def format_rois(rects: tuple[Rect, ...]) -> str:
    """The canonical text of ``rects`` (what the ``roi`` setting reads back)."""
    return "; ".join(",".join(str(v) for v in rect) for rect in rects)


def _describe_rect(index: int, rect: Rect) -> str:
    x, y, width, height = rect
    return f"ROI {index} ({width}×{height} at x={x}, y={y})"


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@dataclasses.dataclass(frozen=True)
class Layout:
    """The readout of one acquisition; change it with :func:`dataclasses.replace`."""

    rois: tuple[Rect, ...]
    binning: Binning
    metadata: bool
    centroids: bool = False
    centroid_count: int = 1
    centroid_radius: int = 1

    def pvcam_regions(self) -> list[Rgn]:
        """The ``rgn_type`` array for ``pl_exp_setup_*``."""
        sbin, pbin = self.binning.serial, self.binning.parallel
        return [Rgn(x, x + w - 1, sbin, y, y + h - 1, pbin) for x, y, w, h in self.rois]

    def regions(self) -> tuple[Region, ...]:
        """The ROIs as labkit regions (sensor pixels, with their binning)."""
        sbin, pbin = self.binning.serial, self.binning.parallel
        return tuple(Region(x, y, w, h, sbin, pbin) for x, y, w, h in self.rois)

    @property
    def bounding_box(self) -> Rect:
        x1 = min(r[0] for r in self.rois)
        y1 = min(r[1] for r in self.rois)
        x2 = max(r[0] + r[2] for r in self.rois)
        y2 = max(r[1] + r[3] for r in self.rois)
        return (x1, y1, x2 - x1, y2 - y1)

    def check(self, camera: CameraDescription) -> None:
        """Raise a :class:`~labkit.core.ValidationError` naming the first broken rule."""
        height, width = camera.sensor_shape
        count = len(self.rois)
        if count == 0:
            raise ValidationError(
                "at least one ROI is needed", limit=1, hint="Use 'full' for the sensor"
            )
        if count > camera.max_rois:
            raise LimitError(
                f"{count} ROIs requested; {camera.product} takes at most {camera.max_rois}",
                value=count,
                limit=camera.max_rois,
                hint=f"Give at most {camera.max_rois} ROIs",
            )
        sbin, pbin = self.binning.serial, self.binning.parallel
        for index, rect in enumerate(self.rois, start=1):
            x, y, w, h = rect
            what = _describe_rect(index, rect)
            if w < 1 or h < 1 or x < 0 or y < 0:
                raise LimitError(
                    f"{what} is empty or starts left of or above the sensor",
                    value=rect,
                    limit=(0, 0, 1, 1),
                    hint="Width and height must be at least 1 and x, y at least 0",
                )
            if x + w > width or y + h > height:
                raise LimitError(
                    f"{what} reaches past the {width}×{height} sensor",
                    value=rect,
                    limit=(width, height),
                    hint=f"Keep x + width ≤ {width} and y + height ≤ {height}",
                )
            if w % sbin or h % pbin:
                raise ValidationError(
                    f"{what} is not a whole number of {self.binning.name} binned pixels",
                    value=rect,
                    limit=self.binning.name,
                    hint=f"Make the width a multiple of {sbin} and the height of {pbin}",
                )
            for other_index, other in enumerate(self.rois[: index - 1], start=1):
                if _overlap(rect, other):
                    raise ValidationError(
                        f"{what} overlaps {_describe_rect(other_index, other)}",
                        value=rect,
                        hint="PVCAM reads every sensor pixel at most once: move or shrink one",
                    )
        if count > 1 and not self.metadata:
            raise ValidationError(
                f"{count} ROIs need frame metadata, which is off",
                value=count,
                hint="Turn metadata on first (camera.metadata = True)",
            )
        if not self.centroids:
            return
        if not self.metadata:
            raise ValidationError(
                "centroids need frame metadata, which is off",
                hint="Turn metadata on first (camera.metadata = True)",
            )
        if count > 1:
            raise ValidationError(
                f"centroids search one ROI, and {count} are set",
                value=count,
                hint="Set one search region (camera.roi = 'x,y,width,height') first",
            )
        if (sbin, pbin) != (1, 1):
            raise ValidationError(
                f"centroids work on unbinned pixels, and the binning is {self.binning.name}",
                value=self.binning.name,
                hint="Set the binning to 1x1 first",
            )
        patch = 2 * self.centroid_radius + 1
        x, y, w, h = self.rois[0]
        if w < patch or h < patch:
            raise ValidationError(
                f"the centroid search region ({w}×{h}) is smaller than one {patch}×{patch} "
                f"patch (radius {self.centroid_radius})",
                value=(w, h),
                limit=patch,
                hint="Enlarge the ROI or reduce the centroid radius",
            )
