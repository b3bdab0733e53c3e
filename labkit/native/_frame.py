"""What a decoded frame looks like to Python: :class:`DecodedFrame` and its :class:`Roi` list.

A frame wraps the two record tables a backend produced (see ``_layout.py``) and the caller's
buffer. Fields are read from the records on demand and the ROIs, with their zero-copy pixel
views, are built on first access: a live view that only recomposes never pays for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from labkit.native._formats import EXT_MD_TAGS, FrameFlag, ImageFormat, Rgn, RoiFlag
from labkit.native._layout import HEADER_DTYPE

__all__ = ["DecodedFrame", "Roi"]

_HEADER_NAMES = HEADER_DTYPE.names


@lru_cache(maxsize=256)
def _roi_flags(value: int) -> RoiFlag:
    return RoiFlag(value)


def _ext_md(fields: dict[str, int]) -> dict[str, int]:
    mask = fields["ext_mask"]
    return {name: fields[name] for tag, name in EXT_MD_TAGS.items() if mask >> tag & 1}


@dataclass(slots=True, eq=False)
class Roi:
    """One decoded ROI. ``pixels`` is a read-through view of the frame buffer, or ``None``.

    (A plain record, built per ROI on first access to ``DecodedFrame.rois``; for hundreds of centroids
    per frame, ``DecodedFrame.table`` has the same fields as NumPy columns.)

    Timestamps are raw header values; the ``*_ps`` forms are exact picoseconds where the unit is
    known (v1/v2) and ``None`` in v3, whose header no longer says the unit of ROI timestamps.
    They are only meaningful when the frame has ``FrameFlag.ROI_TS_SUPPORTED``.
    """

    index: int
    roi_nr: int
    region: Rgn
    width: int
    height: int
    flags: RoiFlag
    timestamp_bor: int
    timestamp_eor: int
    timestamp_bor_ps: int | None
    timestamp_eor_ps: int | None
    ext_md: dict[str, int]
    pixels: np.ndarray | None
    header_offset: int
    data_offset: int

    @property
    def header_only(self) -> bool:
        """A HEADER_ONLY ROI marks a location (a centroid) and carries no pixels."""
        return bool(self.flags & RoiFlag.HEADER_ONLY)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the binned ROI."""
        return (self.height, self.width)


class DecodedFrame:
    """A decoded PVCAM frame: header fields, extended metadata and the ROIs (labkit's own frame,
    pixels and times, is :class:`labkit.core.Frame`).

    The pixel views point into the buffer that was decoded; they keep it alive, and they change
    when the camera overwrites that buffer (copy or :func:`recompose` what you want to keep).
    ``header`` and ``table`` are the raw records, for code that wants them vectorised.
    """

    __slots__ = ("_buffer", "_fields", "_rois", "dtype", "header", "table")

    def __init__(
        self, buffer: memoryview, header: np.ndarray, table: np.ndarray, dtype: np.dtype
    ) -> None:
        self._buffer = buffer
        self.header: np.void = header[0]
        self.table = table
        self.dtype = dtype
        self._fields: dict[str, int] | None = None
        self._rois: tuple[Roi, ...] | None = None

    def _int(self, name: str) -> int:
        if self._fields is None:  # one conversion to Python ints, on first use
            self._fields = dict(zip(_HEADER_NAMES, self.header.tolist(), strict=True))
        return self._fields[name]

    @property
    def buffer(self) -> memoryview:
        """The bytes the frame was decoded from (flat, unsigned bytes)."""
        return self._buffer

    @property
    def has_metadata(self) -> bool:
        """False for a frame decoded with ``metadata=False`` (its header fields are defaults)."""
        return self.version != 0

    @property
    def version(self) -> int:
        """Header version 1, 2 or 3; 0 for a frame without metadata."""
        return self._int("version")

    @property
    def frame_nr(self) -> int:
        """1-based frame number, reset with each acquisition (0 without metadata)."""
        return self._int("frame_nr")

    @property
    def roi_count(self) -> int:
        """The header's roiCount, INVALID ROIs included; ``len(frame.rois)`` excludes them."""
        return self._int("roi_count")

    def _time_ps(self, raw: str, res: str) -> int | None:
        version = self.version
        if version == 0:
            return None
        value = self._int(raw)
        return value if version >= 3 else value * self._int(res) * 1000

    @property
    def timestamp_bof_ps(self) -> int | None:
        """Begin of frame in picoseconds, exact (None without metadata)."""
        return self._time_ps("ts_bof", "ts_res_ns")

    @property
    def timestamp_eof_ps(self) -> int | None:
        """End of frame in picoseconds, exact (None without metadata)."""
        return self._time_ps("ts_eof", "ts_res_ns")

    @property
    def exposure_time_ps(self) -> int | None:
        """Exposure time in picoseconds, exact (None without metadata)."""
        return self._time_ps("exposure", "exp_res_ns")

    @property
    def timestamp_res_ns(self) -> int | None:
        """Resolution of the raw frame timestamps (v1/v2 only)."""
        return self._int("ts_res_ns") if self.version in (1, 2) else None

    @property
    def exposure_time_res_ns(self) -> int | None:
        """Resolution of the raw exposure time (v1/v2 only)."""
        return self._int("exp_res_ns") if self.version in (1, 2) else None

    @property
    def roi_timestamp_res_ns(self) -> int | None:
        """Resolution of the ROI timestamps (v1/v2 only; undocumented in v3)."""
        return self._int("roi_ts_res_ns") if self.version in (1, 2) else None

    @property
    def bit_depth(self) -> int:
        """Valid bits per pixel as the header says (0 without metadata)."""
        return self._int("bit_depth")

    @property
    def color_mask(self) -> int:
        """``PL_COLOR_MODES`` value: 0 mono, 2 RGGB, 3 GRBG, 4 GBRG, 5 BGGR."""
        return self._int("color_mask")

    @property
    def flags(self) -> FrameFlag:
        """``PL_MD_FRAME_FLAGS`` bits."""
        return FrameFlag(self._int("flags"))

    @property
    def image_format(self) -> ImageFormat:
        """The pixel container used to decode (MONO16 or the caller's choice for v1 headers)."""
        return ImageFormat(self._int("image_format"))

    @property
    def image_compression(self) -> int:
        """Always 0: compressed frames are refused."""
        return self._int("image_compression")

    @property
    def ext_md(self) -> dict[str, int]:
        """Frame-level extended metadata, e.g. ``{"m0": 12}``; empty when there is none."""
        self._int("ext_mask")
        assert self._fields is not None
        return _ext_md(self._fields)

    @property
    def implied_roi(self) -> Rgn | None:
        """Bounding box of the decoded ROIs; None if none was decoded.

        Its binning is that of the first ROI with pixels (of the first ROI if none has pixels):
        the binning of the recomposed image.
        """
        if self._int("decoded_count") == 0:
            return None
        f = self._fields
        assert f is not None
        return Rgn(
            f["implied_s1"], f["implied_s2"], f["implied_sbin"],
            f["implied_p1"], f["implied_p2"], f["implied_pbin"],
        )  # fmt: skip

    @property
    def nbytes(self) -> int:
        """Bytes of the buffer the frame occupies, from its start to the end of its last ROI."""
        return self._int("nbytes")

    @property
    def rois(self) -> tuple[Roi, ...]:
        """The decoded ROIs in buffer order (INVALID ones dropped)."""
        if self._rois is None:
            names = self.table.dtype.names
            res = self.roi_timestamp_res_ns
            self._rois = tuple(
                self._roi(i, dict(zip(names, rec, strict=True)), res)
                for i, rec in enumerate(self.table.tolist())
            )
        return self._rois

    @property
    def pixels(self) -> np.ndarray:
        """The zero-copy image of a frame with exactly one pixel-carrying ROI."""
        carriers = [roi for roi in self.rois if roi.pixels is not None]
        if len(carriers) != 1:
            raise ValueError(
                f"frame has {len(carriers)} ROIs with pixels; use recompose() to join them"
            )
        return carriers[0].pixels  # type: ignore[return-value]

    def _roi(self, index: int, rec: dict[str, int], res: int | None) -> Roi:
        width, height = rec["width"], rec["height"]
        flags = _roi_flags(rec["flags"])
        pixels = None
        if not flags & RoiFlag.HEADER_ONLY:
            pixels = np.frombuffer(
                self._buffer, self.dtype, width * height, rec["data_offset"]
            ).reshape(height, width)
        bor, eor = rec["ts_bor"], rec["ts_eor"]
        return Roi(
            index=index,
            roi_nr=rec["roi_nr"],
            region=Rgn(*(rec[k] for k in Rgn._fields)),
            width=width,
            height=height,
            flags=flags,
            timestamp_bor=bor,
            timestamp_eor=eor,
            timestamp_bor_ps=None if res is None else bor * res * 1000,
            timestamp_eor_ps=None if res is None else eor * res * 1000,
            ext_md=_ext_md(rec),
            pixels=pixels,
            header_offset=rec["header_offset"],
            data_offset=rec["data_offset"],
        )

    def __repr__(self) -> str:
        if not self.has_metadata:
            return f"<Frame without metadata {self.rois[0].shape} {self.image_format.name}>"
        return (
            f"<Frame v{self.version} #{self.frame_nr} {len(self.table)}/{self.roi_count} ROIs "
            f"{self.image_format.name} implied={tuple(self.implied_roi or ())}>"
        )
