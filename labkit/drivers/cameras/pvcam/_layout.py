"""What an acquisition reads out: the ROIs, their binning, metadata and centroids — and the rules.

PVCAM refuses a bad layout only when the acquisition is set up, with an error code. labkit checks
the whole layout whenever one part of it changes, before anything reaches the camera, and says
which ROI breaks which rule: inside the sensor, a whole number of binned pixels, no overlap,
no more ROIs than the camera takes, one binning the camera offers for all of them, metadata on
for several ROIs or centroids, and a centroid search region that is one unbinned ROI at least one
patch (2r + 1 pixels) wide and high.

ROIs are written as text so that they are one declared setting (shown in panels, saved in every
run's snapshot): ``"x,y,width,height"`` in unbinned sensor pixels, several separated by ``;``,
or ``"full"`` for the whole sensor. In the layout each ROI is a labkit
:class:`~labkit.core.Region` of unbinned sensor pixels (the binning is the layout's, one for
all); PVCAM's own ``rgn_type`` (:class:`~labkit.native.Rgn`) is made only for the C calls.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from labkit.core import LimitError, Region, SettingTypeError, ValidationError
from labkit.drivers.cameras.pvcam._describe import Binning, CameraDescription
from labkit.drivers.cameras.pvcam._types import Rgn

__all__ = ["Layout", "format_rois", "layout_with", "parse_rois"]

_SEPARATOR = re.compile(r"\s*;\s*")
_NUMBERS = re.compile(r"[\s,]+")


def parse_rois(text: str, sensor_shape: tuple[int, int]) -> tuple[Region, ...]:
    """``"0,0,512,512; 600,0,512,512"`` → regions; ``"full"`` or ``""`` → the whole sensor."""
    stripped = text.strip()
    if stripped.casefold() in ("", "full"):
        return (Region(0, 0, sensor_shape[1], sensor_shape[0]),)
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
        rects.append(Region(*numbers))
    return tuple(rects)


def format_rois(rois: tuple[Region, ...]) -> str:
    """The canonical text of ``rois`` (what the ``roi`` setting reads back)."""
    return "; ".join(f"{r.x},{r.y},{r.width},{r.height}" for r in rois)


def _describe_rect(index: int, r: Region) -> str:
    return f"ROI {index} ({r.width}×{r.height} at x={r.x}, y={r.y})"


def _overlap(a: Region, b: Region) -> bool:
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )


def _numbers(r: Region) -> tuple[int, int, int, int]:
    return (r.x, r.y, r.width, r.height)


@dataclasses.dataclass(frozen=True)
class Layout:
    """The readout of one acquisition; change it with :func:`dataclasses.replace`."""

    rois: tuple[Region, ...]
    binning: Binning
    metadata: bool
    centroids: bool = False
    centroid_count: int = 1
    centroid_radius: int = 1

    def pvcam_regions(self) -> list[Rgn]:
        """The ``rgn_type`` array for ``pl_exp_setup_*``."""
        sbin, pbin = self.binning.serial, self.binning.parallel
        return [Rgn(r.x, r.x + r.width - 1, sbin, r.y, r.y + r.height - 1, pbin) for r in self.rois]

    def regions(self) -> tuple[Region, ...]:
        """The ROIs as labkit regions (sensor pixels, with their binning)."""
        sbin, pbin = self.binning.serial, self.binning.parallel
        return tuple(dataclasses.replace(r, bin_x=sbin, bin_y=pbin) for r in self.rois)

    @property
    def bounding_box(self) -> Region:
        x1 = min(r.x for r in self.rois)
        y1 = min(r.y for r in self.rois)
        x2 = max(r.x + r.width for r in self.rois)
        y2 = max(r.y + r.height for r in self.rois)
        return Region(x1, y1, x2 - x1, y2 - y1)

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
        for index, roi in enumerate(self.rois, start=1):
            x, y, w, h = rect = _numbers(roi)
            what = _describe_rect(index, roi)
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
                if _overlap(roi, other):
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
        w, h = self.rois[0].width, self.rois[0].height
        if w < patch or h < patch:
            raise ValidationError(
                f"the centroid search region ({w}×{h}) is smaller than one {patch}×{patch} "
                f"patch (radius {self.centroid_radius})",
                value=(w, h),
                limit=patch,
                hint="Enlarge the ROI or reduce the centroid radius",
            )


def layout_with(
    layout: Layout, regions: Iterable[Region | Sequence[int]], camera: CameraDescription
) -> Layout:
    """``layout`` reading ``regions`` instead, checked: labkit ``Region``\\ s (their binning
    becomes the binning, one for all) or ``(x, y, width, height)`` tuples (keeping it)."""
    rois, bins = [], set()
    for region in regions:
        if isinstance(region, Region):
            rois.append(Region(region.x, region.y, region.width, region.height))
            bins.add((region.bin_x, region.bin_y))
            continue
        values = tuple(int(v) for v in region)
        if len(values) != 4:
            raise ValidationError(
                f"{region!r} is not a Region nor (x, y, width, height)", value=region
            )
        rois.append(Region(*values))
    if len(bins) > 1:
        raise ValidationError(
            f"the ROIs have different binnings {sorted(bins)}; PVCAM bins all alike",
            value=sorted(bins),
            hint="Give every Region the same bin_x and bin_y",
        )
    binning = camera.binning_of(*bins.pop()) if bins else layout.binning
    changed = dataclasses.replace(layout, rois=tuple(rois), binning=binning)
    changed.check(camera)
    return changed
