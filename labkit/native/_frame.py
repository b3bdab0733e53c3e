"""What a decoded frame looks like to Python: :class:`DecodedFrame` and its :class:`Roi` list.

A frame wraps the two record tables a backend produced (see ``_layout.py``) and the caller's
buffer. Fields are read from the records on demand and the ROIs, with their zero-copy pixel
views, are built on first access: a live view that only recomposes never pays for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from labkit.core import FrameFormatError
from labkit.native._formats import (
    EXT_MD_TAGS,
    EXT_MD_UNREADABLE,
    FRAME_HEADER_SIZE,
    ROI_HEADER_SIZE,
    FrameFlag,
    ImageCompression,
    ImageFormat,
    PixelLayout,
    Rgn,
    RoiFlag,
    format_name,
)
from labkit.native._layout import HEADER_DTYPE

__all__ = ["DecodedFrame", "Roi"]

_HEADER_NAMES: tuple[str, ...] = HEADER_DTYPE.names or ()  # a structured dtype: never None


@lru_cache(maxsize=256)
def _roi_flags(value: int) -> RoiFlag:
    return RoiFlag(value)


def ext_md_error(buffer: memoryview, start: int, size: int, where: str) -> FrameFormatError:
    """Why an extended-metadata block marked ``EXT_MD_UNREADABLE`` cannot be read.

    Decoding only marks such a block (the vendor's decoder does not fail on it either); the
    precise reason is worked out here, once, when someone reads the metadata.
    """
    q, end = start, start + size
    while q < end:
        tag = buffer[q]
        if tag not in EXT_MD_TAGS:
            return FrameFormatError(
                f"{where}: unknown extended-metadata tag {tag} (known tags: 0-2); the rest of "
                "the block cannot be read, since tags carry no length",
                offset=q,
            )
        if end - q - 1 < 4:
            return FrameFormatError(
                f"{where}: extended-metadata tag {tag} needs 4 value bytes, its block has "
                f"{end - q - 1}",
                offset=q,
            )
        q += 5
    return FrameFormatError(f"{where}: extended metadata unreadable", offset=start)


def _ext_md(fields: dict[str, int], buffer: memoryview, start: int, where: str) -> dict[str, int]:
    mask = fields["ext_mask"]
    if mask & EXT_MD_UNREADABLE:
        raise ext_md_error(buffer, start, fields["ext_md_size"], where)
    return {name: fields[name] for tag, name in EXT_MD_TAGS.items() if mask >> tag & 1}


@dataclass(slots=True, eq=False)
class Roi:
    """One decoded ROI. ``pixels`` is a read-through view of the frame buffer, or ``None``.

    (A plain record, built per ROI on first access to ``DecodedFrame.rois``; for hundreds of centroids
    per frame, ``DecodedFrame.table`` has the same fields as NumPy columns.)

    Timestamps are raw header values; the ``*_ps`` forms are exact picoseconds where the unit is
    known (v1/v2) and ``None`` in v3, whose header no longer says the unit of ROI timestamps.
    They are only meaningful when the frame has ``FrameFlag.ROI_TS_SUPPORTED``.

    ``pixels`` is ``(height, width)``, or ``(height, width, 3)`` for RGB; a zero-copy view,
    except for 24-bit containers, widened to ``uint32`` (a copy). It is ``None`` for a
    HEADER_ONLY ROI, and also where the pixels cannot be used: ``problem`` then says why (a
    compressed frame, or a roiDataSize too small for the region). ``ext_md`` raises
    :class:`~labkit.core.FrameFormatError` when the block has an unknown or cut tag.
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
    pixels: np.ndarray | None
    header_offset: int
    data_offset: int
    data_size: int
    problem: str | None
    _fields: dict[str, int] = field(repr=False)
    _buffer: memoryview = field(repr=False)

    @property
    def ext_md(self) -> dict[str, int]:
        """Extended metadata, e.g. ``{"particle_id": 3, "m0": 900}``; empty when there is none."""
        where = f"frame.rois[{self.index}]"
        return _ext_md(self._fields, self._buffer, self.header_offset + ROI_HEADER_SIZE, where)

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

    __slots__ = ("_buffer", "_fields", "_rois", "header", "layout", "table")

    def __init__(
        self, buffer: memoryview, header: np.ndarray, table: np.ndarray, layout: PixelLayout
    ) -> None:
        self._buffer = buffer
        self.header: np.void = header[0]
        self.table = table
        self.layout = layout
        self._fields: dict[str, int] | None = None
        self._rois: tuple[Roi, ...] | None = None

    @property
    def dtype(self) -> np.dtype:
        """The NumPy type of one decoded sample (24-bit containers widen to ``uint32``)."""
        return self.layout.dtype

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
        """``PL_IMAGE_COMPRESSIONS`` of the pixels: 0 (none) is the only one labkit can unpack."""
        return self._int("image_compression")

    @property
    def pixel_problem(self) -> str | None:
        """Why no ROI's pixels can be used (a compressed frame), or None."""
        compression = self.image_compression
        if compression == 0:
            return None
        try:
            name = ImageCompression(compression).name
        except ValueError:
            name = "unknown"
        return (
            f"the pixels are compressed (imageCompression {compression}, {name}); PVCAM "
            "documents no bit order for its packed formats, so labkit cannot unpack them. Leave "
            "PARAM_HOST_FRAME_DECOMPRESSION_ENABLED on (the default) and PVCAM decompresses them"
        )

    @property
    def ext_md(self) -> dict[str, int]:
        """Frame-level extended metadata, e.g. ``{"m0": 12}``; empty when there is none.

        Raises :class:`~labkit.core.FrameFormatError` when the block has an unknown or cut tag
        (decoding itself does not fail on it, as the vendor's does not).
        """
        self._int("ext_mask")
        assert self._fields is not None
        return _ext_md(self._fields, self._buffer, FRAME_HEADER_SIZE, "frame")

    @property
    def implied_roi(self) -> Rgn | None:
        """Bounding box of the decoded ROIs; None if none was decoded.

        Its binning is the first ROI's, as ``pl_md_frame_decode`` reports it (also when that ROI
        is HEADER_ONLY); the recomposed image has the binning of the ROIs with pixels.
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
        """Bytes of the buffer walked: from the frame's start to the end of its last decoded ROI
        (an INVALID ROI ends the walk, as it does the vendor's)."""
        return self._int("nbytes")

    @property
    def rois(self) -> tuple[Roi, ...]:
        """The decoded ROIs in buffer order: those before the first INVALID ROI, if any."""
        if self._rois is None:
            names = self.table.dtype.names or ()
            res = self.roi_timestamp_res_ns
            self._rois = tuple(
                self._roi(i, dict(zip(names, rec, strict=True)), res)
                for i, rec in enumerate(self.table.tolist())
            )
        return self._rois

    @property
    def pixels(self) -> np.ndarray:
        """The image of a frame with exactly one pixel-carrying ROI (zero-copy but for 24-bit)."""
        carriers = [roi for roi in self.rois if not roi.header_only]
        if len(carriers) != 1:
            raise ValueError(
                f"frame has {len(carriers)} ROIs with pixels; use recompose() to join them"
            )
        roi = carriers[0]
        if roi.pixels is None:
            raise FrameFormatError(
                f"frame.rois[{roi.index}]: {roi.problem}", offset=roi.data_offset
            )
        return roi.pixels

    def _roi(self, index: int, rec: dict[str, int], res: int | None) -> Roi:
        width, height = rec["width"], rec["height"]
        flags = _roi_flags(rec["flags"])
        pixels, problem = None, None
        if not flags & RoiFlag.HEADER_ONLY:
            pixels, problem = self._roi_pixels(rec)
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
            pixels=pixels,
            header_offset=rec["header_offset"],
            data_offset=rec["data_offset"],
            data_size=rec["data_size"],
            problem=problem,
            _fields=rec,
            _buffer=self._buffer,
        )

    def _roi_pixels(self, rec: dict[str, int]) -> tuple[np.ndarray | None, str | None]:
        """The pixels of a pixel-carrying ROI, or why there are none to use."""
        problem = self.pixel_problem or roi_size_problem(self.layout, rec)
        if problem is not None:
            return None, problem
        layout = self.layout
        width, height = rec["width"], rec["height"]
        shape = layout.shape(height, width)
        samples = width * height * layout.channels
        if not layout.widened:
            view = np.frombuffer(self._buffer, layout.dtype, samples, rec["data_offset"])
            return view.reshape(shape), None
        raw = np.frombuffer(self._buffer, np.uint8, samples * layout.wire_bytes, rec["data_offset"])
        wide = np.zeros((samples, layout.dtype.itemsize), np.uint8)
        wide[:, : layout.wire_bytes] = raw.reshape(samples, layout.wire_bytes)
        return wide.reshape(-1).view(layout.dtype).reshape(shape), None

    def __repr__(self) -> str:
        if not self.has_metadata:
            return f"<DecodedFrame without metadata {self.rois[0].shape} {format_name(self.image_format)}>"
        return (
            f"<DecodedFrame v{self.version} #{self.frame_nr} {len(self.table)}/{self.roi_count} ROIs "
            f"{self.image_format.name} implied={tuple(self.implied_roi or ())}>"
        )


def roi_size_problem(layout: PixelLayout, rec: dict[str, int]) -> str | None:
    """Why an ROI's pixel data is too short for its region (the vendor trusts roiDataSize and
    decodes such a frame; labkit refuses only to read pixels that are not there), or None."""
    need = rec["width"] * rec["height"] * layout.bytes_per_pixel
    if rec["data_size"] >= need:
        return None
    return (
        f"roiDataSize {rec['data_size']} is less than the {need} bytes its "
        f"{rec['width']}x{rec['height']} pixels of {layout.bytes_per_pixel} bytes need"
    )
