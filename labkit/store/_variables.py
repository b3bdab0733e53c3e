"""What a run stores: variables with dimensions, a data type, units and a chunk layout.

Only the core data types of the Zarr v3 specification are stored, so every Zarr reader
(tensorstore, zarrs, zarr-python...) reads every array. Text (choices, names) is stored as
``int32`` codes into a table of labels kept in the array's ``labels`` attribute, ``-1`` for no
value. Time stamps are ``int64`` nanoseconds since the Unix epoch with CF ``units``, which
xarray decodes to ``datetime64[ns]`` without loss. Chunks are sized so that a chunk fills in the order points arrive (inner
dimensions first) and holds about a mebibyte; an image is one chunk per frame, a deep trace a
few chunks of 4 MiB each.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit.core import ConfigurationError
from labkit.store._validate import SPEC_DATA_TYPES as SPEC_DTYPES  # the spec's one table

__all__ = [
    "NO_LABEL",
    "TIME_ATTRS",
    "TIME_FILL",
    "Variable",
    "choose_chunks",
    "dtype_for_kind",
    "fill_for",
    "shard_items",
]

TIME_FILL = int(np.iinfo(np.int64).min)  # NumPy's NaT: unwritten time stamps read back as NaT
NO_LABEL = -1  # the code of a text element never written
TIME_ATTRS = {"units": "nanoseconds since 1970-01-01", "calendar": "proleptic_gregorian"}
CHUNK_BYTES = 1 << 20
GROWABLE_ROWS = 16384  # chunk length along an open-ended dimension for small items
SINGLE_ITEM_BYTES = 64 * 1024  # items (images) this big get a chunk each
TRACE_CHUNK_BYTES = 4 << 20  # one-dimensional items beyond this are split into chunks this big
SHARD_BELOW = 1 << 20  # camera frames smaller than this share shard files...
SHARD_BYTES = 16 << 20  # ... of at most this many bytes
SHARD_BYTES_UNKNOWN = 4 << 20  # ... or this many, for a camera that does not say its rate
SHARD_SECONDS = 1.0  # ... holding about this many seconds of frames

_KIND_DTYPES = {
    "float": "float64",
    "int": "int64",
    "bool": "bool",
    "str": "string",
    "enum": "string",
}


@dataclasses.dataclass
class Variable:
    """One array of a run.

    ``dims`` name every axis; ``shape`` gives each length, ``None`` for an open-ended axis that
    grows as data arrives. ``dtype`` is a NumPy dtype name, ``"string"`` (text, stored as codes
    into ``labels``; labels not known in advance are added as they come) or ``"time"`` (int64
    ns since the epoch). ``attrs`` carry CF ``units`` and ``long_name``; ``data`` is written
    when the store is created (coordinates known in advance).
    """

    name: str
    dims: tuple[str, ...]
    shape: tuple[int | None, ...]
    dtype: str = "float64"
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    chunks: tuple[int, ...] | None = None
    compression: str | None = "default"
    data: Any = None
    item_ndim: int = 0
    labels: tuple[str, ...] | None = None
    shard_items: int | None = None

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape: ``shard_items`` items along the last leading axis, one item per
        inner chunk (small camera frames in one file per shard, not one per frame)."""
        lead = len(self.shape) - self.item_ndim
        if not self.shard_items or self.shard_items < 2 or lead == 0 or self.chunks is None:
            return None
        shards = list(self.chunks)
        shards[lead - 1] *= self.shard_items
        return tuple(shards)

    def __post_init__(self) -> None:
        self.dims = tuple(self.dims)
        self.shape = tuple(self.shape)
        if len(self.dims) != len(self.shape):
            raise ConfigurationError(
                f"variable {self.name!r} has dimensions {self.dims} but shape {self.shape}"
            )
        if self.dtype not in SPEC_DTYPES and self.dtype not in ("string", "time"):
            raise ConfigurationError(
                f"variable {self.name!r}: data type {self.dtype!r} has no Zarr v3 specification",
                hint="Use a numeric type, 'bool', 'string' or 'time'",
            )
        if self.dtype == "time":
            self.attrs = {**self.attrs, **TIME_ATTRS}
        if any(size is None for size in self.shape[len(self.shape) - self.item_ndim :]):
            raise ConfigurationError(f"variable {self.name!r}: the shape of one item must be known")
        if self.chunks is None and self.shard_items and self.item_ndim:
            lead = len(self.shape) - self.item_ndim
            self.chunks = (1,) * lead + tuple(int(s or 1) for s in self.shape[lead:])
        if self.chunks is None:
            self.chunks = choose_chunks(self.shape, self.itemsize, self.item_ndim)

    @property
    def growable(self) -> tuple[int, ...]:
        """The axes that grow as data arrives."""
        return tuple(axis for axis, size in enumerate(self.shape) if size is None)

    @property
    def itemsize(self) -> int:
        if self.dtype == "string":
            return 4
        if self.dtype == "time":
            return 8
        return np.dtype(self.dtype).itemsize

    @property
    def numpy_dtype(self) -> Any:
        """The NumPy dtype of the stored array (codes for text)."""
        if self.dtype == "string":
            return np.dtype("int32")
        if self.dtype == "time":
            return np.dtype("int64")
        return np.dtype(self.dtype)

    @property
    def fill_value(self) -> Any:
        return fill_for(self.dtype)

    def initial_shape(self) -> tuple[int, ...]:
        return tuple(0 if size is None else size for size in self.shape)

    def describe(self) -> dict[str, Any]:
        return {
            "dims": list(self.dims),
            "shape": [size for size in self.shape],
            "dtype": self.dtype,
            **{k: v for k, v in self.attrs.items() if k in ("units", "long_name")},
        }


def shard_items(item_bytes: int, rate: float = 0.0) -> int | None:
    """How many frames of ``item_bytes`` share a shard file at ``rate`` frames/s (None: one
    file per frame).

    Frames under :data:`SHARD_BELOW` share shards of about :data:`SHARD_SECONDS` of frames,
    at most :data:`SHARD_BYTES` (:data:`SHARD_BYTES_UNKNOWN` when the rate is not known): a
    shard still filling is written again at every flush, so a shard spanning a long time
    would be rewritten many times; a frame at least that big gains nothing from sharing.
    """
    if item_bytes >= SHARD_BELOW or item_bytes <= 0:
        return None
    if rate > 0 and math.isfinite(rate):
        items = min(SHARD_BYTES // item_bytes, round(rate * SHARD_SECONDS))
    else:
        items = SHARD_BYTES_UNKNOWN // item_bytes
    return items if items >= 2 else None


def dtype_for_kind(kind: str) -> str:
    """The stored data type of a declared setting or reading kind."""
    return _KIND_DTYPES.get(kind, "float64")


def fill_for(dtype: str) -> Any:
    """What an unwritten element reads as: NaN, NaT, False, 0, or no label (code -1)."""
    if dtype == "time":
        return TIME_FILL
    if dtype == "string":
        return NO_LABEL
    if dtype == "bool":
        return False
    if dtype.startswith(("float", "complex")):
        return math.nan
    return 0


def choose_chunks(
    shape: tuple[int | None, ...], itemsize: int, item_ndim: int = 0, target: int = CHUNK_BYTES
) -> tuple[int, ...]:
    """Chunks that fill in acquisition order (last axis fastest) and hold about ``target`` bytes.

    The last ``item_ndim`` axes (one image, one spectrum) are whole, an item of 64 KiB or more
    in a chunk of its own (a camera frame); only a one-dimensional item larger than
    :data:`TRACE_CHUNK_BYTES` (a deep scope trace) is split, into chunks of that size.
    Otherwise whole outer axes are taken while they fit, then part of the next one; the rest
    get 1. An open-ended axis counts as :data:`GROWABLE_ROWS` long.
    """
    ndim = len(shape)
    chunks = [1] * ndim
    item_bytes = max(1, itemsize)
    for axis in range(ndim - item_ndim, ndim):
        size = max(1, shape[axis] or 1)
        chunks[axis] = size
        item_bytes *= size
    if item_ndim == 1 and item_bytes > TRACE_CHUNK_BYTES:
        # A deep trace (a scope's memory: 24 M points) in pieces of a few mebibytes: neither
        # one giant chunk nor thousands of tiny ones, and a reader may take a window of it.
        chunks[-1] = max(1, TRACE_CHUNK_BYTES // max(1, itemsize))
        return tuple(chunks)
    if item_ndim and item_bytes >= SINGLE_ITEM_BYTES:
        return tuple(chunks)  # one image per chunk: written whole, read back frame by frame
    budget = max(1, target // item_bytes)
    for axis in range(ndim - item_ndim - 1, -1, -1):
        length = shape[axis]
        size = GROWABLE_ROWS if length is None else max(1, length)
        take = max(1, min(size, budget))
        chunks[axis] = take
        if take < size:
            break
        budget //= size
        if budget < 1:
            break
    return tuple(chunks)


def merge_attrs(*parts: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        if part:
            merged.update({k: v for k, v in part.items() if v is not None})
    return merged
