"""From the bytes PVCAM wrote to a labkit :class:`~labkit.core.Frame`.

One :class:`FrameDecoder` is made per acquisition setup (it knows the frame size, whether
metadata is on, the ROI and pixel container of a frame without metadata, the sensor shape) and
turns each frame buffer into a ``Frame``: decoded with :func:`labkit.native.decode_frame`, the
ROIs joined with :func:`labkit.native.recompose` when there are several (in implied-ROI or
full-sensor coordinates), hardware timestamps and exposure from the metadata in seconds, and
everything the header said in ``Frame.metadata``.

``copy=True`` (live acquisition) copies every pixel out of the buffer before returning, so the
camera may reuse its ring slot the moment the call returns; a sequence, whose buffer is never
reused, can keep zero-copy views.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from labkit.core import Frame, Region
from labkit.native import Frame as DecodedFrame
from labkit.native import Region as NativeRegion
from labkit.native import RoiFlag, decode_frame, recompose

__all__ = ["Coordinates", "FrameDecoder"]

Coordinates = Literal["implied", "sensor"]

_PS = 1e-12


def _region(r: NativeRegion | Any) -> Region:
    return Region(r.s1, r.p1, r.s2 - r.s1 + 1, r.p2 - r.p1 + 1, r.sbin, r.pbin)


def _seconds(ps: int | None) -> float | None:
    return None if ps is None else ps * _PS


class FrameDecoder:
    """Decodes frames of one acquisition setup (see the module doc)."""

    def __init__(
        self,
        *,
        frame_bytes: int,
        metadata: bool,
        region: NativeRegion,
        image_format: int,
        bit_depth: int,
        sensor_shape: tuple[int, int],
        exposure: float,
    ) -> None:
        self.frame_bytes = frame_bytes
        self.metadata = metadata
        self.region = region
        self.image_format = image_format
        self.bit_depth = bit_depth
        self.sensor_shape = sensor_shape
        self.exposure = exposure

    def decode(self, buffer: Any) -> DecodedFrame:
        """The frame in ``buffer`` (one frame's bytes, or more), without copying pixels."""
        if self.metadata:
            return decode_frame(buffer, image_format=self.image_format)
        return decode_frame(buffer, metadata=False, roi=self.region, image_format=self.image_format)

    def frame(
        self,
        buffer: Any,
        *,
        number: int,
        timestamp: float,
        coordinates: Coordinates = "implied",
        copy: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> Frame:
        """A labkit ``Frame`` of the frame in ``buffer``.

        ``number`` is used when the frame has no metadata (else its header's frame number is);
        ``timestamp`` is the host time it arrived; ``extra`` is added to the metadata.
        """
        decoded = self.decode(buffer)
        table = decoded.table
        carriers = np.flatnonzero((table["flags"] & RoiFlag.HEADER_ONLY) == 0)
        pixels, origin = self._pixels(decoded, carriers, coordinates, copy)
        regions = tuple(_region(decoded.rois[int(i)].region) for i in carriers)
        metadata: dict[str, Any] = {
            "coordinates": coordinates,
            "origin": origin,
            "image_format": decoded.image_format.name,
        }
        if decoded.has_metadata:
            number = decoded.frame_nr
            metadata.update(self._header(decoded))
            hardware = _seconds(decoded.timestamp_bof_ps)
            exposure = _seconds(decoded.exposure_time_ps)
        else:
            metadata.update(frame_nr=number, header_version=0, bit_depth=self.bit_depth)
            hardware, exposure = None, self.exposure
        if extra:
            metadata.update(extra)
        return Frame(
            pixels=pixels,
            number=number,
            timestamp=timestamp,
            hardware_timestamp=hardware,
            exposure=exposure,
            regions=regions,
            metadata=metadata,
        )

    def _pixels(
        self, decoded: DecodedFrame, carriers: np.ndarray, coordinates: Coordinates, copy: bool
    ) -> tuple[np.ndarray, tuple[int, int]]:
        """The image and where its top-left pixel is on the sensor (unbinned pixels)."""
        implied = decoded.implied_roi
        if coordinates == "sensor":
            sbin = implied.sbin if implied is not None else self.region.sbin
            pbin = implied.pbin if implied is not None else self.region.pbin
            shape = (self.sensor_shape[0] // pbin, self.sensor_shape[1] // sbin)
            if implied is None:
                return np.zeros(shape, decoded.dtype), (0, 0)
            return recompose(decoded, coordinates="sensor", shape=shape), (0, 0)
        if implied is None:  # every ROI invalid (centroids found nothing): an empty search area
            return np.zeros(self.region.shape, decoded.dtype), (self.region.s1, self.region.p1)
        origin = (implied.s1, implied.p1)
        if len(carriers) == 1:
            roi = decoded.rois[int(carriers[0])]
            view = roi.pixels
            assert view is not None
            bounds = roi.region
            if (bounds.s1, bounds.p1, bounds.s2, bounds.p2) == (
                implied.s1,
                implied.p1,
                implied.s2,
                implied.p2,
            ):
                return (view.copy() if copy else view), origin
        return recompose(decoded, coordinates="implied"), origin

    @staticmethod
    def _header(decoded: DecodedFrame) -> dict[str, Any]:
        implied = decoded.implied_roi
        rois = []
        for roi in decoded.rois:
            entry: dict[str, Any] = {
                "roi_nr": roi.roi_nr,
                "region": _region(roi.region),
                "flags": int(roi.flags),
                "header_only": roi.header_only,
                "timestamp_bor": roi.timestamp_bor,
                "timestamp_eor": roi.timestamp_eor,
                "ext_md": roi.ext_md,
            }
            if roi.timestamp_bor_ps is not None:
                entry["timestamp_bor_s"] = roi.timestamp_bor_ps * _PS
                entry["timestamp_eor_s"] = roi.timestamp_eor_ps * _PS  # type: ignore[operator]
            rois.append(entry)
        return {
            "frame_nr": decoded.frame_nr,
            "header_version": decoded.version,
            "bit_depth": decoded.bit_depth,
            "color_mask": decoded.color_mask,
            "flags": int(decoded.flags),
            "roi_count": decoded.roi_count,
            "timestamp_bof": _seconds(decoded.timestamp_bof_ps),
            "timestamp_eof": _seconds(decoded.timestamp_eof_ps),
            "exposure": _seconds(decoded.exposure_time_ps),
            "implied_roi": None if implied is None else _region(implied),
            "ext_md": decoded.ext_md,
            "rois": tuple(rois),
        }
