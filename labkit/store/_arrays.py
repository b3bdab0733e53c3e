"""One array of a run being written: its chunk cache, its extents, its text labels.

Values are put into in-memory copies of the chunks they fall in, under the writer's record
lock (cheap, on the recording thread); the flusher takes copies of the dirty chunks under
that same lock, so one flush holds whole records, then writes them as whole chunks. Large
items (a camera frame filling a chunk) skip the cache: their chunk is written straight from
the frame by the thread that records them (on a local disk, by a plain ``os.write`` from the
frame's memory: see :func:`write_file`).

Each array's own ``zarr.json`` may run ahead of the data (open-ended axes grow in whole chunks,
geometrically, so metadata is rewritten rarely); what is published to readers is decided by
the writer, in the group's document (see :mod:`labkit.store._writer`).
"""

from __future__ import annotations

import collections
import json
import math
import os
import threading
from typing import Any

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.metadata import ArrayV3Metadata
from zarr.core.sync import sync

from labkit.store._frames import (
    Encoder,
    ShardedFrames,
    encoder_for,
    local_root,
    replace_file,
    sharding_of,
    write_file,
)
from labkit.store._variables import NO_LABEL, Variable

__all__ = ["ArrayWriter", "Labels"]

DIRECT_BYTES = 64 * 1024  # items at least this big, one per chunk, skip the chunk cache
CACHE_BYTES = 32 * 1024 * 1024  # chunks kept in memory per array, at most about this much
BUFFERS = default_buffer_prototype()


class Labels:
    """The label table of a text array: a value's code is its label's position."""

    def __init__(self, initial: Any = ()) -> None:
        self.labels: list[str] = []
        self._codes: dict[str, int] = {}
        for label in initial:
            self.code(label)

    def code(self, value: Any) -> int:
        if value is None:
            return NO_LABEL
        text = str(value)
        found = self._codes.get(text)
        if found is None:
            found = self._codes[text] = len(self.labels)
            self.labels.append(text)
        return found

    def encode(self, value: Any) -> Any:
        """The code of one value, or an int32 array of codes for an array of values."""
        if value is None or isinstance(value, (str, np.str_)):
            return self.code(value)
        values = np.asarray(value, dtype=object)
        if values.ndim == 0:
            return self.code(values.item())
        return np.fromiter(
            (self.code(v) for v in values.ravel()), dtype=np.int32, count=values.size
        ).reshape(values.shape)


class _Chunk:
    __slots__ = ("data", "dirty")

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.dirty = True


class ArrayWriter:
    """One array: its chunk cache, how far it was recorded, and its metadata on disk.

    ``put``/``note`` run under the writer's record lock; zarr operations on the array run
    under ``io_lock`` (the flusher and a recording thread writing frames may meet here), except
    shard files, which are copied under it and written outside it (see :class:`ShardedFrames`).
    """

    def __init__(self, variable: Variable, array: zarr.Array) -> None:
        self.variable = variable
        self.array = array
        self.io_lock = threading.Lock()
        self.chunks: tuple[int, ...] = tuple(variable.chunks or ())
        self.lead = len(variable.shape) - variable.item_ndim
        self.item_shape = variable.initial_shape()[self.lead :]  # known: Variable checks it
        self.item_zero = (0,) * variable.item_ndim  # an item fills its chunk's item axes
        self.item_all = (slice(None),) * variable.item_ndim
        self.cache: collections.OrderedDict[tuple[int, ...], _Chunk] = collections.OrderedDict()
        self.on_disk: set[tuple[int, ...]] = set()
        self.extent = list(variable.initial_shape())  # the shape in the array's zarr.json
        self.recorded = [0] * len(variable.shape)  # max index + 1 recorded, per growable axis
        self.labels = Labels(variable.labels or ()) if variable.dtype == "string" else None
        self.labels_on_disk = 0
        chunk_items = math.prod(self.chunks[: self.lead]) if self.lead else 1
        item_bytes = variable.itemsize * math.prod(self.item_shape or (1,))
        sharded = variable.shards is not None
        # An item split over several chunks (a deep trace) is written by zarr, chunk by chunk.
        self.split = not sharded and tuple(self.chunks[self.lead :]) != tuple(self.item_shape)
        self.direct = (
            sharded or (chunk_items == 1 and (item_bytes >= DIRECT_BYTES or self.split))
        ) and self.labels is None
        whole = self.direct and not self.split
        found = _direct_encoding(variable, array) if whole else None
        self.raw_dtype: np.dtype | None = found[0] if found else None
        self.encoder: Encoder | None = found[1] if found else None
        self.shards: ShardedFrames | None = found[2] if found else None
        self.local_root = local_root(array) if self.encoder is not None else None
        self.written_direct: set[tuple[int, ...]] = set()
        self.encode_lock = threading.Lock()
        self.max_cached = max(4, CACHE_BYTES // max(1, chunk_items * item_bytes))
        self.lead_chunks = self.chunks[: self.lead]
        self.growable = variable.growable  # computed once: put() runs for every value
        # put()'s shortcut for a scalar along one leading axis: the chunk it wrote last (the
        # newest in the cache), while nothing else reordered the cache; (number, chunk).
        self.scalar_series = self.lead == 1 and not variable.item_ndim and self.labels is None
        self.last: tuple[int, _Chunk] | None = None
        self.meta = self._document()

    # -- metadata ---------------------------------------------------------------------------

    def _document(self) -> dict[str, Any]:
        """The array's zarr.json as written (0-d arrays get their empty dimension_names)."""
        encoded = self.array.metadata.to_buffer_dict(BUFFERS)["zarr.json"].to_bytes()
        document = json.loads(encoded)
        document.setdefault("dimension_names", list(self.variable.dims))
        return document

    def fix_zero_dimensional(self) -> None:
        """zarr-python omits ``dimension_names: []``; the format requires it on 0-d arrays."""
        if self.variable.dims:
            return
        text = json.dumps(self.meta, indent=2).encode()
        sync(self.array.store.set(self._key("zarr.json"), BUFFERS.buffer.from_bytes(text)))

    def _key(self, name: str) -> str:
        """A key of this array in its store (arrays may be stores of their own: no path)."""
        return f"{self.array.path}/{name}" if self.array.path else name

    def publish_metadata(self, recorded: list[int], labels: int) -> None:
        """Make the array's own zarr.json cover ``recorded`` and carry the first ``labels``
        labels, before chunks that need them are written."""
        with self.io_lock:
            changed = self._grow_to(recorded, round_up=True)
            if self.labels is not None and labels > self.labels_on_disk:
                self.array.update_attributes({"labels": self.labels.labels[:labels]})
                self.labels_on_disk = labels
                changed = True
            if changed:
                self.meta = self._document()
                self.fix_zero_dimensional()

    def _grow_to(self, needed: list[int], *, round_up: bool) -> bool:
        """Resize open-ended axes to cover ``needed`` (called with the io lock held)."""
        target = list(self.extent)
        grow = False
        for axis in self.growable:
            if needed[axis] > self.extent[axis]:
                size = needed[axis]
                if round_up:
                    # Grow ahead by whole chunks, geometrically, so resizes stay rare.
                    step = self.chunks[axis]
                    size = max(size, self.extent[axis] + max(step, self.extent[axis] // 8))
                    size = -(-size // step) * step
                target[axis] = size
                grow = True
        if grow:
            self.array.resize(tuple(target))
            self.extent = target
        return grow

    def trim_to(self, target: list[int]) -> None:
        """Shrink open-ended axes to their final length (at the end of the run)."""
        with self.io_lock:
            if target != self.extent:
                # Nothing was written beyond what was recorded: no chunks to look for.
                sync(self.array.async_array.resize(tuple(target), delete_outside_chunks=False))
                self.extent = target
                self.meta = self._document()

    # -- recording (under the writer's record lock) -----------------------------------------

    def put(self, index: tuple[int, ...], value: Any) -> None:
        last = self.last
        if last is not None:  # a scalar series, the chunk written last: no lookup, no reorder
            (i,), (c,) = index, self.lead_chunks
            if i // c == last[0]:
                newest = last[1]
                newest.data[i % c] = value
                newest.dirty = True
                if self.growable:
                    self.note(index)
                return
        if self.labels is not None:
            value = self.labels.encode(value)
        if self.lead == 1:  # the common case of scans and series: one leading axis
            (i,), (c,) = index, self.lead_chunks
            coords = (i // c, *self.item_zero)
            local: tuple[int | slice, ...] = (i % c, *self.item_all)
        else:
            chunks = self.lead_chunks
            coords = tuple(i // c for i, c in zip(index, chunks, strict=True)) + self.item_zero
            local = tuple(i % c for i, c in zip(index, chunks, strict=True)) + self.item_all
        chunk = self.cache.get(coords)
        if chunk is None:
            chunk = _Chunk(self._load(coords))
            self.cache[coords] = chunk
        else:
            self.cache.move_to_end(coords)
        chunk.data[local] = value
        chunk.dirty = True
        self.note(index)
        if self.scalar_series:
            self.last = (coords[0], chunk)

    def put_items(self, start: int, values: Any) -> None:
        """Items ``start`` to ``start + len(values) - 1`` along the one leading axis, chunk
        by chunk (an instrument's buffer read back whole)."""
        if self.labels is not None:
            values = [self.labels.encode(v) for v in values]
        self.last = None  # the cache's order changes here
        (c,) = self.lead_chunks
        stop = start + len(values)
        i = start
        while i < stop:
            k, end = i // c, min(stop, (i // c + 1) * c)
            coords = (k, *self.item_zero)
            chunk = self.cache.get(coords)
            if chunk is None:
                chunk = self.cache[coords] = _Chunk(self._load(coords))
            local = (slice(i - k * c, end - k * c), *self.item_all)
            chunk.data[local] = values[i - start : end - start]
            chunk.dirty = True
            i = end
        self.note((stop - 1,))

    def note(self, index: tuple[int, ...]) -> None:
        for axis in self.growable:
            if index[axis] >= self.recorded[axis]:
                self.recorded[axis] = index[axis] + 1

    def _load(self, coords: tuple[int, ...]) -> np.ndarray:
        data = np.full(self.chunks, self.variable.fill_value, dtype=self.variable.numpy_dtype)
        if coords in self.on_disk:
            # A point is written again after its chunk left the cache (a point redone after a
            # suspension): start from what is on disk, not from the fill value.
            region = self._region(coords)
            with self.io_lock:
                stored = self.array[region]
            data[tuple(slice(0, s.stop - s.start) for s in region)] = stored
        return data

    def _region(self, coords: tuple[int, ...]) -> tuple[slice, ...]:
        region = []
        for axis, (c, size) in enumerate(zip(coords, self.chunks, strict=True)):
            start = c * size
            region.append(slice(start, min(start + size, self.extent[axis])))
        return tuple(region)

    # -- flushing ---------------------------------------------------------------------------

    def take_dirty(self) -> list[tuple[tuple[int, ...], np.ndarray]]:
        """Copies of the dirty chunks (under the writer's record lock, quickly)."""
        dirty = []
        for coords, chunk in self.cache.items():
            if chunk.dirty:
                dirty.append((coords, chunk.data.copy()))
                chunk.dirty = False
        return dirty

    def write_chunks(self, dirty: list[tuple[tuple[int, ...], np.ndarray]]) -> None:
        if self.shards is not None:
            # Shards still filling: what they hold so far, copied under the io lock and
            # written outside it (a slow disk must not stop frames going into the shards).
            with self.io_lock:
                self.shards.capture()
            self.shards.write_queued(wait=True)
        with self.io_lock:
            for coords, data in dirty:
                region = self._region(coords)
                self.array[region] = data[tuple(slice(0, s.stop - s.start) for s in region)]
                self.on_disk.add(coords)

    def forget_clean(self) -> None:
        """Keep the chunks written last in memory, forget older clean ones (under the record
        lock): a chunk written again later is read back from disk first (see _load)."""
        excess = len(self.cache) - self.max_cached
        if excess > 0:
            self.last = None
            for coords in [c for c, chunk in self.cache.items() if not chunk.dirty][:excess]:
                del self.cache[coords]

    # -- direct path (frames) ---------------------------------------------------------------

    def put_direct(self, index: tuple[int, ...], value: Any) -> None:
        """Write one item now, from the caller's buffer (no record lock held): as its own
        chunk, or into its shard."""
        if self.encoder is not None:
            data = np.ascontiguousarray(value, dtype=self.raw_dtype)
            if data.shape != self.item_shape:
                raise ValueError(
                    f"{self.variable.name}: an item of shape {data.shape}, "
                    f"expected {self.item_shape}"
                )
            if self.shards is not None:
                with self.io_lock:
                    self.shards.put(index, data)
                self.shards.write_queued()  # a shard it filled, now without the io lock
                return
            self._put_chunk(index, data)
            return
        needed = list(self.extent)
        for axis in self.growable:
            needed[axis] = max(needed[axis], index[axis] + 1)
        with self.io_lock:
            if self._grow_to(needed, round_up=True):
                self.meta = self._document()
            self.array[index] = value

    def _put_chunk(self, index: tuple[int, ...], data: np.ndarray) -> None:
        """Write one whole chunk, encoded as zarr-python would, in one go.

        With the ``bytes`` codec (little endian), perhaps then Blosc, a chunk's encoding is
        the item's C-ordered little-endian bytes, perhaps Blosc-compressed: this is what
        zarr-python would write, minus its per-call indexing machinery (a camera frame at a
        time, that matters). The chunk may lie beyond the array's shape for now: it is
        published only once the shape and the group's document cover it.
        """
        assert self.encoder is not None
        key = self._key(self.array.metadata.encode_chunk_key(index + self.item_zero))
        with self.encode_lock:  # a compressed chunk lives in the encoder's buffer until written
            encoded = self.encoder(data)
            if self.local_root is not None:
                # On a local disk, straight from memory to its file, the GIL released during
                # the writes: a chunk never written before in place, one written before
                # (it may be published) replaced atomically.
                path = os.path.join(self.local_root, key)
                if index in self.written_direct:
                    replace_file(path, encoded)
                else:
                    write_file(path, encoded)
                    self.written_direct.add(index)
                return
            buffer = BUFFERS.buffer.from_array_like(np.frombuffer(encoded, dtype=np.uint8))
            sync(self.array.store.set(key, buffer))  # object storage: one PUT, atomic


def _direct_encoding(
    variable: Variable, array: zarr.Array
) -> tuple[np.dtype, Encoder, ShardedFrames | None] | None:
    """How items are written straight to their chunk (or shard) files, if the encoding is
    simple enough: their little-endian dtype, their encoder, their shards."""
    if not isinstance(array.metadata, ArrayV3Metadata):  # labkit writes Zarr v3 only
        return None
    if variable.dtype in ("string", "time"):
        return None
    dtype = np.dtype(variable.dtype).newbyteorder("<")
    sharding = sharding_of(array)
    codecs = tuple(sharding.codecs if sharding is not None else array.metadata.codecs)
    found = encoder_for(codecs, dtype)
    if found is None:
        return None
    encoder, overhead = found
    if sharding is None:
        return dtype, encoder, None
    lead = len(variable.shape) - variable.item_ndim
    outer = tuple(array.metadata.chunk_grid.chunk_shape)  # type: ignore[attr-defined]
    inner = tuple(sharding.chunk_shape)
    if lead == 0 or any(c != 1 for c in inner[:lead]):
        return None  # one item per inner chunk
    if any(
        o != i for axis, (o, i) in enumerate(zip(outer, inner, strict=True)) if axis != lead - 1
    ):
        return None  # shards along the last leading axis only

    def key(name: str) -> str:
        return f"{array.path}/{name}" if array.path else name

    shards = ShardedFrames(array, inner, outer[lead - 1], dtype.itemsize, encoder, overhead, key)
    return dtype, encoder, shards
