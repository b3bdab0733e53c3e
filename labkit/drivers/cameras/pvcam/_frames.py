"""From the bytes PVCAM wrote to a labkit :class:`~labkit.core.Frame`.

One :class:`FrameDecoder` is made per acquisition setup (it knows the frame size, whether
metadata is on, the ROI and pixel container of a frame without metadata, the sensor shape) and
turns each frame buffer into a ``Frame``: decoded with :func:`labkit.native.decode_frame`, the
ROIs joined with :func:`labkit.native.recompose` when there are several (in implied-ROI or
full-sensor coordinates), hardware timestamps and exposure from the metadata in seconds, and
everything the header said in ``Frame.metadata``.

``copy=True`` (live acquisition) copies every pixel out of the buffer before returning, so the
camera may reuse its ring slot the moment the call returns; a sequence, whose buffer is never
reused, can keep zero-copy views. The copies go into arrays of a small pool that are reused once
nothing refers to them any more (no Frame, no view of it): writing into memory already mapped
costs a memcpy, where a fresh 20 MB array first costs the kernel thousands of page faults.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

import numpy as np

from labkit.core import Frame, FrameFormatError, Region
from labkit.native import DecodedFrame, Rgn, RoiFlag, decode_frame, recompose, recomposed_shape

__all__ = ["ArrayPool", "Coordinates", "FrameDecoder"]

Coordinates = Literal["implied", "sensor"]

_PS = 1e-12


def _region(r: Rgn | Any) -> Region:
    return Region(r.s1, r.p1, r.s2 - r.s1 + 1, r.p2 - r.p1 + 1, r.sbin, r.pbin)


def _seconds(ps: int | None) -> float | None:
    return None if ps is None else ps * _PS


class ArrayPool:
    """Output arrays handed out again once only the pool refers to them (CPython refcounts).

    A Frame, a queue holding it, or any view of its pixels keeps an array out of reuse, so a
    consumer can never see its pixels change. At most ``limit`` arrays are kept.
    """

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._arrays: list[np.ndarray] = []

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array of ``shape`` and ``dtype`` nobody else holds (contents undefined)."""
        arrays = self._arrays
        for index in range(len(arrays) - 1, -1, -1):
            # Two references: the pool's list and getrefcount's own argument.
            if sys.getrefcount(arrays[index]) == 2:
                array = arrays[index]
                if array.shape == shape and array.dtype == dtype:
                    return array
                del arrays[index]  # free but of another shape: centroids moved, say
        array = np.empty(shape, dtype)
        if len(arrays) < self.limit:
            arrays.append(array)
        return array

    def clear(self) -> None:
        self._arrays.clear()


class FrameDecoder:
    """Decodes frames of one acquisition setup (see the module doc)."""

    def __init__(
        self,
        *,
        frame_bytes: int,
        metadata: bool,
        region: Rgn,
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
        self.pool = ArrayPool()

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
        layout = decoded.layout
        if coordinates == "sensor":
            binning = self.region if not len(carriers) else decoded.rois[int(carriers[0])].region
            sbin, pbin = max(binning.sbin, 1), max(binning.pbin, 1)
            shape = (self.sensor_shape[0] // pbin, self.sensor_shape[1] // sbin)
            origin = (0, 0)
        elif implied is None:  # every ROI invalid (centroids found nothing): the search area
            shape, origin = self.region.shape, (self.region.s1, self.region.p1)
        else:
            origin = (implied.s1, implied.p1)
            shape = recomposed_shape(decoded)
            if len(carriers) == 1:
                roi = decoded.rois[int(carriers[0])]
                if roi.pixels is None:
                    raise FrameFormatError(
                        f"frame.rois[{roi.index}]: {roi.problem}", offset=roi.data_offset
                    )
                view = roi.pixels
                if view.shape[:2] == shape:  # one ROI is the whole image: a plain copy
                    if not copy or layout.widened:  # (24-bit pixels are a copy already)
                        return view, origin
                    out = self.pool.take(view.shape, layout.dtype)
                    np.copyto(out, view)
                    return out, origin
        full = layout.shape(*shape)
        out = self.pool.take(full, layout.dtype) if copy else np.zeros(full, layout.dtype)
        if implied is None:
            out.fill(0)
        else:
            recompose(decoded, out=out, coordinates=coordinates, fill=0 if copy else None)
        return out, origin

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
            }
            entry.update(_ext_md(lambda roi=roi: roi.ext_md))
            if roi.timestamp_bor_ps is not None:
                entry["timestamp_bor_s"] = roi.timestamp_bor_ps * _PS
            if roi.timestamp_eor_ps is not None:
                entry["timestamp_eor_s"] = roi.timestamp_eor_ps * _PS
            rois.append(entry)
        header = {
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
            "rois": tuple(rois),
        }
        header.update(_ext_md(lambda: decoded.ext_md))
        return header


def _ext_md(read: Any) -> dict[str, Any]:
    """``{"ext_md": {...}}``, or, for a block with an unknown or cut tag (which the vendor's
    decoder does not fail on either), ``{"ext_md": None, "ext_md_error": why}``: the frame's
    pixels are good, so the frame is kept."""
    try:
        return {"ext_md": read()}
    except FrameFormatError as error:
        return {"ext_md": None, "ext_md_error": str(error)}
