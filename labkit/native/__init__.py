"""Fast PVCAM frame handling: decode, recompose and preview, in C with a NumPy twin.

Every function runs on the C extension (``labkit.native._cframes``) when it is built and on
a pure NumPy twin otherwise; the two give bit-identical results, errors included, and the tests
hold them to it. ``backend`` says which one is the default (``"c"`` or ``"numpy"``; set
``LABKIT_NATIVE=numpy`` to force the twin) and every function takes ``backend=`` to choose.

Typical live-view use::

    frame = decode_frame(buffer)                  # zero-copy views into buffer
    image = recompose(frame, out=canvas)          # ROIs into one image
    shown = preview(image, max_size=800, contrast=("percentile", 1, 99.5))
"""

from labkit.native._build import RoiSpec, build_frame, encode_ext_md, pack_frames
from labkit.native._decode import decode_batch, decode_frame
from labkit.native._formats import (
    FrameFlag,
    ImageCompression,
    ImageFormat,
    PixelLayout,
    Rgn,
    RoiFlag,
    pixel_layout,
    supported_formats,
)
from labkit.native._frame import Frame, Roi
from labkit.native._preview import Preview, preview
from labkit.native._recompose import recompose, recomposed_shape
from labkit.native._select import BACKENDS, backend, c_import_error

available_backends: tuple[str, ...] = tuple(BACKENDS)
"""The backends this installation can run, the default first."""

__all__ = [
    "Frame",
    "FrameFlag",
    "ImageCompression",
    "ImageFormat",
    "PixelLayout",
    "Preview",
    "Rgn",
    "Roi",
    "RoiFlag",
    "RoiSpec",
    "available_backends",
    "backend",
    "build_frame",
    "c_import_error",
    "decode_batch",
    "decode_frame",
    "encode_ext_md",
    "pack_frames",
    "pixel_layout",
    "preview",
    "recompose",
    "recomposed_shape",
    "supported_formats",
]
