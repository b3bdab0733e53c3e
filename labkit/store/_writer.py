"""Writing one run's Zarr v3 store while the run goes.

The store is created before the first point, with the run's metadata in the group attributes
and every array pre-sized where its shape is known. Points are written into in-memory copies
of the chunks they fall in (cheap, on the run's own thread); a flusher thread writes the dirty
chunks to disk every ``flush_interval`` seconds, whole chunks at a time, then publishes in the
group attributes how many points are on disk (``points_written``), how far each open-ended
dimension got (``dims_written``) and a heartbeat. Large items (a camera frame fills a chunk)
are written straight through by the thread that records them.

Every file is replaced atomically (zarr-python writes a temporary file and renames it), so a
reader in another process, or after a crash, sees each chunk and each metadata document either
before or after a write, never half of it. Nothing is ``fsync``-ed: a killed process loses
nothing that was flushed; a power cut may lose what the operating system had not yet written.
"""

from __future__ import annotations

import collections
import datetime as _dt
import math
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec, BytesCodec
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from labkit.core import ConfigurationError, LabkitError
from labkit.store._jsonable import jsonable
from labkit.store._owner import OwnerLock, owner_info
from labkit.store._variables import TIME_FILL, Variable

__all__ = ["FORMAT_VERSION", "RunWriter", "StorageError", "utc_now"]

FORMAT_VERSION = 1
_DIRECT_BYTES = 256 * 1024  # items at least this big skip the chunk cache
_BUFFERS = default_buffer_prototype()
_CACHE_BYTES = 32 * 1024 * 1024  # chunks kept in memory per array, at most about this much


class StorageError(LabkitError, OSError):
    """Writing the run's store failed (disk full, folder removed...)."""


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def time_ns() -> int:
    return time.time_ns()


class _Chunk:
    __slots__ = ("data", "dirty")

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.dirty = True


class _ArrayWriter:
    """One array: its chunk cache, how far it extends, and how far it is written."""

    def __init__(self, variable: Variable, array: zarr.Array) -> None:
        self.variable = variable
        self.array = array
        self.lock = threading.Lock()  # guards the cache and the extents
        self.io_lock = threading.Lock()  # one zarr operation on this array at a time
        self.chunks: tuple[int, ...] = tuple(variable.chunks or ())
        self.lead = len(variable.shape) - variable.item_ndim
        self.item_shape = tuple(variable.shape[self.lead :])
        self.item_zero = (0,) * variable.item_ndim  # an item fills its chunk's item axes
        self.item_all = (slice(None),) * variable.item_ndim
        self.cache: collections.OrderedDict[tuple[int, ...], _Chunk] = collections.OrderedDict()
        self.on_disk: set[tuple[int, ...]] = set()
        self.extent = list(variable.initial_shape())  # the zarr array's shape now
        self.recorded = [0] * len(variable.shape)  # max index + 1 recorded, per growable axis
        self.written = [0] * len(variable.shape)  # ... and on disk
        chunk_items = math.prod(self.chunks[: self.lead]) if self.lead else 1
        item_bytes = variable.itemsize * math.prod(self.item_shape or (1,))
        self.direct = chunk_items == 1 and item_bytes >= _DIRECT_BYTES
        self.raw_dtype = _raw_dtype(variable, array) if self.direct else None
        chunk_bytes = max(1, chunk_items * item_bytes)
        self.max_cached = max(4, _CACHE_BYTES // chunk_bytes)
        self.lead_chunks = self.chunks[: self.lead]
        self.growable = variable.growable  # computed once: put() runs for every value

    # -- cached path --------------------------------------------------------------------

    def put(self, index: tuple[int, ...], value: Any) -> None:
        if self.lead == 1:  # the common case of scans and series: one leading axis
            (i,), (c,) = index, self.lead_chunks
            coords = (i // c, *self.item_zero)
            local = (i % c, *self.item_all)
        else:
            chunks = self.lead_chunks
            coords = tuple(i // c for i, c in zip(index, chunks, strict=True)) + self.item_zero
            local = tuple(i % c for i, c in zip(index, chunks, strict=True)) + self.item_all
        with self.lock:
            chunk = self.cache.get(coords)
            if chunk is None:
                chunk = _Chunk(self._load(coords))
                self.cache[coords] = chunk
            else:
                self.cache.move_to_end(coords)
            chunk.data[local] = value
            chunk.dirty = True
            for axis in self.growable:
                if index[axis] >= self.recorded[axis]:
                    self.recorded[axis] = index[axis] + 1

    def _load(self, coords: tuple[int, ...]) -> np.ndarray:
        shape = tuple(self.chunks)
        data = np.full(shape, self.variable.fill_value, dtype=self.variable.numpy_dtype)
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

    def take_dirty(self) -> tuple[list[tuple[tuple[int, ...], np.ndarray]], list[int]]:
        """Copies of the dirty chunks and the extents they cover (under the lock, quickly)."""
        with self.lock:
            dirty = []
            for coords, chunk in self.cache.items():
                if chunk.dirty:
                    dirty.append((coords, chunk.data.copy()))
                    chunk.dirty = False
            return dirty, list(self.recorded)

    def write_dirty(
        self, dirty: list[tuple[tuple[int, ...], np.ndarray]], recorded: list[int]
    ) -> None:
        if not dirty:
            return
        with self.io_lock:
            self._grow_to(recorded, round_up=True)
            for coords, data in dirty:
                region = self._region(coords)
                self.array[region] = data[tuple(slice(0, s.stop - s.start) for s in region)]
                self.on_disk.add(coords)
        with self.lock:
            for axis in self.variable.growable:
                self.written[axis] = max(self.written[axis], recorded[axis])
            # Keep the chunks written last in memory, forget older clean ones: a chunk written
            # again later is read back from disk first (see _load).
            excess = len(self.cache) - self.max_cached
            if excess > 0:
                for coords in [c for c, chunk in self.cache.items() if not chunk.dirty][:excess]:
                    del self.cache[coords]

    # -- direct path (frames) -------------------------------------------------------------

    def put_direct(self, index: tuple[int, ...], value: Any) -> None:
        needed = list(self.extent)
        for axis in self.variable.growable:
            needed[axis] = max(needed[axis], index[axis] + 1)
        with self.io_lock:
            self._grow_to(needed, round_up=True)
            if self.raw_dtype is not None:
                self._put_chunk(index, value)
            else:
                self.array[index] = value
        with self.lock:
            for axis in self.growable:
                if index[axis] >= self.recorded[axis]:
                    self.recorded[axis] = index[axis] + 1
                self.written[axis] = max(self.written[axis], index[axis] + 1)

    def _put_chunk(self, index: tuple[int, ...], value: Any) -> None:
        """Write one whole uncompressed chunk as its bytes, through the store, in one go.

        With the single ``bytes`` codec (little endian) a chunk's encoding is exactly the
        C-ordered little-endian bytes of the item, so this is what zarr-python would write,
        minus its per-call indexing machinery (a camera frame at a time, that matters).
        """
        data = np.ascontiguousarray(value, dtype=self.raw_dtype)
        if data.shape != self.item_shape:
            raise ValueError(
                f"{self.variable.name}: an item of shape {data.shape}, expected {self.item_shape}"
            )
        key = f"{self.array.path}/{self.array.metadata.encode_chunk_key(index + self.item_zero)}"
        buffer = _BUFFERS.buffer.from_array_like(data.reshape(-1).view(np.uint8))
        sync(self.array.store.set(key, buffer))

    # -- extents --------------------------------------------------------------------------

    def _grow_to(self, needed: list[int], *, round_up: bool) -> None:
        """Resize open-ended axes to cover ``needed`` (called with the io lock held)."""
        target = list(self.extent)
        grow = False
        for axis in self.variable.growable:
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

    def trim(self) -> None:
        """Shrink open-ended axes to what was recorded (at the end of the run)."""
        with self.io_lock:
            target = list(self.extent)
            for axis in self.variable.growable:
                target[axis] = self.recorded[axis]
            if target != self.extent:
                self.array.resize(tuple(target))
                self.extent = target


class RunWriter:
    """The writer of one run's store. Thread-safe: record from any thread.

    ``attributes`` become the group attributes (the run's metadata) at once; the writer adds
    ``status``, ``points_written``, ``dims_written``, ``heartbeat`` and ``owner`` and keeps
    them current.
    """

    def __init__(
        self,
        path: Path,
        variables: Iterable[Variable],
        attributes: Mapping[str, Any],
        *,
        flush_interval: float = 0.5,
        heartbeat_interval: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.flush_interval = float(flush_interval)
        self.heartbeat_interval = float(heartbeat_interval)
        self.variables = {v.name: v for v in variables}
        self._attrs: dict[str, Any] = jsonable(dict(attributes))
        self._attrs.update(
            {
                "labkit_format": FORMAT_VERSION,
                "status": self._attrs.get("status", "running"),
                "points_written": 0,
                "dims_written": {},
                "dims": _dimensions(self.variables.values()),
                "owner": owner_info(),
                "heartbeat": utc_now(),
            }
        )
        self._attrs_lock = threading.Lock()
        self._attrs_dirty = False
        self._last_beat = time.monotonic()
        self._points = 0  # points recorded (in memory)
        self._points_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self._lock = OwnerLock(self.path)
        self._group: zarr.Group | None = None
        self._arrays: dict[str, _ArrayWriter] = {}
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------

    def create(self) -> RunWriter:
        """Create the store, its metadata and its arrays; start the flusher thread."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        except FileExistsError:
            raise ConfigurationError(
                f"a run store already exists at {str(self.path)!r}", hint="Use a new run id"
            ) from None
        except OSError as error:
            raise StorageError(
                f"cannot create the run store {str(self.path)!r}: {error.strerror or error}",
                hint="Check the data root (LABKIT_DATA) and the free space",
            ) from None
        try:
            self._lock.acquire()
            self._group = zarr.create_group(
                store=str(self.path), zarr_format=3, attributes=self._attrs
            )
            for variable in self.variables.values():
                self._arrays[variable.name] = self._create_array(variable)
        except OSError as error:
            self._lock.release()
            raise StorageError(
                f"cannot write the run store {str(self.path)!r}: {error.strerror or error}"
            ) from error
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"labkit-store-{self.path.stem[:24]}", daemon=True
        )
        self._thread.start()
        return self

    def _create_array(self, variable: Variable) -> _ArrayWriter:
        assert self._group is not None
        attrs = jsonable(variable.attrs)
        fill = variable.fill_value
        array = self._group.create_array(
            variable.name,
            shape=variable.initial_shape(),
            dtype=str if variable.dtype == "string" else variable.numpy_dtype,
            chunks=variable.chunks,
            compressors=_compressors(variable),
            fill_value=fill,
            dimension_names=list(variable.dims),
            attributes=attrs,
            config={"write_empty_chunks": True},
            chunk_key_encoding=_chunk_keys(variable),
        )
        if variable.data is not None:
            data = np.asarray(variable.data)
            if variable.dtype == "string":
                data = data.astype(np.dtypes.StringDType())
            array[...] = data
        return _ArrayWriter(variable, array)

    def add_variables(self, variables: Iterable[Variable]) -> None:
        """Create arrays during the run (data whose shape is known only when it arrives)."""
        with self._attrs_lock:
            for variable in variables:
                if variable.name in self._arrays:
                    continue
                try:
                    self._arrays[variable.name] = self._create_array(variable)
                except OSError as error:
                    raise self._fail(error) from error
                self.variables[variable.name] = variable
            self._attrs["dims"] = _dimensions(self.variables.values())
            self._attrs_dirty = True

    # -- recording ------------------------------------------------------------------------

    def record(self, index: tuple[int, ...], values: Mapping[str, Any], *, point: bool = True):
        """Write ``values`` (by variable name) at ``index`` of their leading dimensions.

        ``point`` counts this as one point for ``points_written``. Raises the storage error
        if the flusher failed, so the run stops instead of acquiring into the void.
        """
        if self._error is not None:
            raise self._error
        for name, value in values.items():
            writer = self._arrays[name]
            if writer.direct:
                try:
                    writer.put_direct(index, value)
                except OSError as error:
                    raise self._fail(error) from error
            else:
                writer.put(index, value)
        if point:
            with self._points_lock:
                self._points += 1

    @property
    def points(self) -> int:
        """Points recorded so far (some may still be in memory)."""
        return self._points

    def set_attrs(self, flush: bool = False, **changes: Any) -> None:
        """Change metadata; written with the next flush (at once with ``flush=True``)."""
        with self._attrs_lock:
            self._attrs.update(jsonable(changes))
            self._attrs_dirty = True
        if flush:
            self.flush()

    def append_event(self, event: str, **details: Any) -> None:
        """Add to the run's event log (pauses, suspensions, resumes) in the metadata."""
        entry = {"time": utc_now(), "event": event, **jsonable(details)}
        with self._attrs_lock:
            self._attrs.setdefault("events", []).append(entry)
            self._attrs_dirty = True

    @property
    def attrs(self) -> dict[str, Any]:
        with self._attrs_lock:
            return dict(self._attrs)

    # -- flushing -------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except BaseException as error:  # the run sees it at its next record()
                self._fail(error)
                return

    def flush(self) -> None:
        """Write every dirty chunk, then publish how far the run got."""
        with self._flush_lock:
            with self._points_lock:
                points = self._points
            extents: dict[str, int] = {}
            wrote = False
            for writer in list(self._arrays.values()):
                dirty, recorded = writer.take_dirty()
                if dirty:
                    try:
                        writer.write_dirty(dirty, recorded)
                    except OSError as error:
                        raise self._fail(error) from error
                    wrote = True
                with writer.lock:
                    written = list(writer.written)
                for axis in writer.variable.growable:
                    dim = writer.variable.dims[axis]
                    extents[dim] = max(extents.get(dim, 0), written[axis])
            now = time.monotonic()
            with self._attrs_lock:
                changed = (
                    wrote
                    or self._attrs_dirty
                    or points != self._attrs.get("points_written")
                    or extents != self._attrs.get("dims_written")
                    or now - self._last_beat >= self.heartbeat_interval
                )
                if not changed:
                    return
                self._attrs["points_written"] = points
                self._attrs["dims_written"] = extents
                self._attrs["heartbeat"] = utc_now()
                document = dict(self._attrs)
                self._attrs_dirty = False
            self._write_attrs(document)
            self._last_beat = now

    def _write_attrs(self, document: dict[str, Any]) -> None:
        assert self._group is not None
        try:
            self._group.attrs.put(document)
        except OSError as error:
            raise self._fail(error) from error

    def _fail(self, error: BaseException) -> StorageError:
        if isinstance(error, StorageError):
            failure = error
        else:
            failure = StorageError(
                f"writing the run store {str(self.path)!r} failed: {error}",
                hint="Check the free space and that the data root is still mounted",
            )
        if self._error is None:
            self._error = failure
        return failure

    def finish(self, status: str, **attrs: Any) -> None:
        """Flush everything, trim open-ended arrays, write the final status, release the lock."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        try:
            if self._error is None:
                self.flush()
                for writer in list(self._arrays.values()):
                    writer.trim()
            with self._attrs_lock:
                self._attrs.update(jsonable(attrs))
                self._attrs["status"] = status
                self._attrs["end_time"] = utc_now()
                self._attrs["heartbeat"] = utc_now()
                if self._error is None:
                    self._attrs["points_written"] = self._points
                if self._error is None:
                    self._attrs["dims_written"] = {
                        w.variable.dims[a]: w.recorded[a]
                        for w in self._arrays.values()
                        for a in w.variable.growable
                    }
                document = dict(self._attrs)
            if self._group is not None:
                self._group.attrs.put(document)
        finally:
            self._closed = True
            self._lock.release()

    @property
    def error(self) -> BaseException | None:
        return self._error


def _raw_dtype(variable: Variable, array: zarr.Array) -> np.dtype | None:
    """The little-endian dtype whose bytes are this array's chunk encoding, if that simple."""
    codecs = tuple(array.metadata.codecs)
    if variable.dtype in ("string", "time") or len(codecs) != 1:
        return None
    codec = codecs[0]
    if not isinstance(codec, BytesCodec):
        return None
    dtype = np.dtype(variable.dtype)
    endian = getattr(codec.endian, "value", codec.endian)
    if dtype.itemsize > 1 and endian != "little":
        return None
    return dtype.newbyteorder("<")


def _chunk_keys(variable: Variable) -> dict[str, Any]:
    """Chunk files: nested folders (``c/0/1``), except one file per image (``c.12.0.0``) for
    image arrays, so that a camera stream creates one file per frame and no folder."""
    one_item_per_chunk = variable.item_ndim > 0 and all(
        size == 1 for size in (variable.chunks or ())[: len(variable.shape) - variable.item_ndim]
    )
    return {"name": "default", "separator": "." if one_item_per_chunk else "/"}


def _dimensions(variables: Iterable[Variable]) -> dict[str, int | None]:
    """Every dimension and its length (``None`` for open-ended ones), for readers."""
    dims: dict[str, int | None] = {}
    for variable in variables:
        for dim, size in zip(variable.dims, variable.shape, strict=True):
            if dims.get(dim, 0) is not None:
                dims[dim] = size
    return dims


def _compressors(variable: Variable) -> Any:
    choice = variable.compression
    if choice is None or variable.dtype == "string":
        return None
    if choice == "default":
        item_bytes = variable.itemsize * math.prod(
            variable.shape[len(variable.shape) - variable.item_ndim :] or (1,)
        )
        if variable.item_ndim and item_bytes >= _DIRECT_BYTES:
            return None  # camera frames: disk bandwidth beats compression on two cores
        choice = "zstd"
    if choice == "zstd":
        return BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")
    if choice == "lz4":
        return BloscCodec(cname="lz4", clevel=1, shuffle="bitshuffle")
    if choice == "gzip":
        from zarr.codecs import GzipCodec

        return GzipCodec(level=5)
    raise ConfigurationError(
        f"variable {variable.name!r}: unknown compression {choice!r}",
        hint="Use None, 'default', 'zstd', 'lz4' or 'gzip'",
    )


def time_value(value: Any) -> int:
    """A time stamp as stored: int64 nanoseconds since the epoch (NaT stays the fill value)."""
    if value is None:
        return TIME_FILL
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float):
        return round(value * 1e9)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return round(value.timestamp() * 1e9)
    raise TypeError(f"{value!r} is not a time")
