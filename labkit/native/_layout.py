"""The record layouts both backends fill when they decode a frame.

A decoded frame is two small NumPy structured arrays: one header record and one record per
decoded ROI. The C extension writes C structs with exactly these layouts (``native/frames/
lk_frames.h``; the extension checks the match when it loads), and the twin fills the same
dtypes field by field, so the two backends can be compared byte for byte.

Times are kept raw (value and resolution), never multiplied out: a v1/v2 timestamp times its
resolution in picoseconds can exceed 64 bits, so :class:`labkit.native.DecodedFrame` does the product
with Python integers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HEADER_DTYPE", "ROI_DTYPE"]

HEADER_DTYPE = np.dtype(
    [
        ("ts_bof", "<u8"),  # v1/v2: raw u32 in ts_res_ns units; v3: picoseconds
        ("ts_eof", "<u8"),
        ("exposure", "<u8"),  # v1/v2: raw u32 in exp_res_ns units; v3: picoseconds
        ("nbytes", "<u8"),  # bytes of the buffer the frame occupies (end of the last ROI)
        ("frame_nr", "<u4"),
        ("ts_res_ns", "<u4"),  # 0 in v3
        ("exp_res_ns", "<u4"),  # 0 in v3
        ("roi_ts_res_ns", "<u4"),  # 0 in v3 (the unit of ROI timestamps is undocumented there)
        ("particle_id", "<u4"),  # frame-level extended metadata, valid where ext_mask says so
        ("m0", "<u4"),
        ("m2", "<u4"),
        ("roi_count", "<u2"),  # as the header says, INVALID ROIs included
        ("decoded_count", "<u2"),  # ROIs in the table (INVALID ones dropped)
        ("ext_md_size", "<u2"),
        ("implied_s1", "<u2"),
        ("implied_s2", "<u2"),
        ("implied_sbin", "<u2"),
        ("implied_p1", "<u2"),
        ("implied_p2", "<u2"),
        ("implied_pbin", "<u2"),
        ("version", "u1"),
        ("bit_depth", "u1"),
        ("color_mask", "u1"),
        ("flags", "u1"),
        ("image_format", "u1"),  # the container actually used (MONO16 or the override for v1)
        ("image_compression", "u1"),
        ("ext_mask", "u1"),  # bit t set when ext-MD tag t was present
        ("_pad", "u1", (3,)),
    ],
    align=True,
)

ROI_DTYPE = np.dtype(
    [
        ("header_offset", "<u8"),  # byte offset of the ROI header in the buffer
        ("data_offset", "<u8"),  # byte offset of the pixels (where they would be if HEADER_ONLY)
        ("data_size", "<u8"),  # bytes of pixels; 0 for HEADER_ONLY
        ("width", "<u4"),
        ("height", "<u4"),
        ("ts_bor", "<u4"),
        ("ts_eor", "<u4"),
        ("particle_id", "<u4"),
        ("m0", "<u4"),
        ("m2", "<u4"),
        ("roi_data_size", "<u4"),  # the header's roiDataSize (v2+), 0 in v1
        ("roi_nr", "<u2"),
        ("s1", "<u2"),
        ("s2", "<u2"),
        ("sbin", "<u2"),
        ("p1", "<u2"),
        ("p2", "<u2"),
        ("pbin", "<u2"),
        ("ext_md_size", "<u2"),
        ("flags", "u1"),
        ("ext_mask", "u1"),
        ("_pad", "u1", (6,)),
    ],
    align=True,
)
