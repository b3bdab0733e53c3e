"""Writing one run's Zarr v3 store while the run goes, locally or on object storage.

**Nothing is published before it is stored.** The store has one commit point: the root
group's ``zarr.json``. It holds the run's metadata (with ``points_written``, ``dims_written``
and a heartbeat) and, as zarr-python's inline consolidated metadata, every array's metadata
with open-ended dimensions cut to what is durable. Replacing that one document is atomic on
every store (a local file is written then renamed; an object PUT is atomic), so a reader —
``xr.open_zarr`` with its default arguments included — sees every array at one consistent
length, and only points whose data is stored.

A flush: (1) under the record lock, copy the dirty chunks of every array, so the flush holds
whole records only; (2) grow the arrays' own metadata to cover them; (3) write the data
chunks, then the time stamps (a point exists once its time is stored, so a reader, or a
killed run, never shows a time without its data); (4) replace the group's document; (5) tell
listeners which records are now durable (the Run reports points only then).

Nothing is ``fsync``-ed: a killed process loses nothing that was flushed; a power cut may
lose what the operating system had not yet written. On object storage a completed PUT is
durable.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
from zarr.core.sync import sync

from labkit.core import ConfigurationError, LabkitError
from labkit.store._arrays import BUFFERS, DIRECT_BYTES, ArrayWriter, Labels
from labkit.store._jsonable import jsonable
from labkit.store._location import Location, location
from labkit.store._owner import OwnerLock, owner_info
from labkit.store._root import as_store
from labkit.store._variables import TIME_FILL, Variable

if TYPE_CHECKING:
    from zarr.core.array_spec import ArrayConfigParams

__all__ = [
    "DIRECT_BYTES",
    "FORMAT_VERSION",
    "RunWriter",
    "StorageError",
    "group_document",
    "time_value",
    "utc_now",
]

FORMAT_VERSION = 2
LOCAL_FLUSH_INTERVAL = 0.2  # seconds between flushes on a local disk
REMOTE_FLUSH_INTERVAL = 1.0  # ... and on object storage, where every PUT is a request


class StorageError(LabkitError, OSError):
    """Writing the run's store failed (disk full, folder removed, bucket unreachable...)."""


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def group_document(attributes: Mapping[str, Any], arrays: Mapping[str, Any]) -> bytes:
    """The root group's zarr.json: the run's metadata and its arrays' metadata, inline."""
    document = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": attributes,
        "consolidated_metadata": {"kind": "inline", "must_understand": False, "metadata": arrays},
    }
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()


class RunWriter:
    """The writer of one run's store. Thread-safe: record from any thread.

    ``path`` is a local folder or a :class:`~labkit.store._location.Location` (any Zarr store
    URL). ``attributes`` become the group attributes (the run's metadata) at once; the writer
    adds ``status``, ``points_written``, ``dims_written``, ``heartbeat`` and ``owner`` and keeps
    them current. ``points`` counts points recorded (perhaps only in memory), ``durable_points``
    those stored; listeners added with :meth:`on_durable` hear of each flush.
    """

    def __init__(
        self,
        path: str | Path | Location,
        variables: Iterable[Variable],
        attributes: Mapping[str, Any],
        *,
        flush_interval: float | None = None,
        heartbeat_interval: float = 10.0,
    ) -> None:
        self.location = location(path)
        self.path: Any = as_store(self.location)
        if flush_interval is None:
            local = self.location.is_local
            flush_interval = LOCAL_FLUSH_INTERVAL if local else REMOTE_FLUSH_INTERVAL
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
        self._record_lock = threading.Lock()  # records, and the cut a flush takes of them
        self._recorded = 0  # points recorded (in memory)
        self._sequence = 0  # records made, points or not
        self._durable = 0  # points stored and published
        self._durable_sequence = 0
        self._listeners: list[Callable[[int], None]] = []
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self._lock = OwnerLock(self.location.path) if self.location.path is not None else None
        self._store: Any = None
        self._arrays: dict[str, ArrayWriter] = {}
        self._direct = False  # some array takes its items straight to disk (frames)
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------

    def create(self) -> RunWriter:
        """Create the arrays, then the group's document (the store exists from then on);
        start the flusher thread. A kill before the document leaves no run, only debris."""
        self._claim()
        try:
            self._store = self.location.store()
            for variable in self.variables.values():
                self._arrays[variable.name] = self._create_array(variable)
            self._direct = any(writer.direct for writer in self._arrays.values())
            self._publish(dict(self._attrs), {})
        except Exception as error:
            if self._lock is not None:
                self._lock.release()
            if isinstance(error, (LabkitError, TypeError, ValueError)):
                raise
            raise StorageError(
                f"cannot write the run store {str(self.location)!r}: {_describe(error)}"
            ) from error
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"labkit-store-{self.location.stem[:24]}", daemon=True
        )
        self._thread.start()
        return self

    def _claim(self) -> None:
        """Make sure no store exists at the location, and take it."""
        where = str(self.location)
        if self.location.path is not None:
            try:
                self.location.path.parent.mkdir(parents=True, exist_ok=True)
                self.location.path.mkdir()
            except FileExistsError:
                raise ConfigurationError(
                    f"a run store already exists at {where!r}", hint="Use a new run id"
                ) from None
            except OSError as error:
                raise StorageError(
                    f"cannot create the run store {where!r}: {error.strerror or error}",
                    hint="Check the data root (LABKIT_DATA) and the free space",
                ) from None
            assert self._lock is not None
            self._lock.acquire()
            return
        try:
            taken = sync(self.location.store(read_only=True).exists("zarr.json"))
        except Exception as error:
            raise StorageError(f"cannot reach {where!r}: {_describe(error)}") from error
        if taken:
            raise ConfigurationError(
                f"a run store already exists at {where!r}", hint="Use a new run id"
            )

    def _create_array(self, variable: Variable) -> ArrayWriter:
        attrs = jsonable(variable.attrs)
        data = None if variable.data is None else np.asarray(variable.data)
        if variable.dtype == "string":
            labels = Labels(variable.labels or ())
            if data is not None:
                data = labels.encode(data)
            attrs["labels"] = list(labels.labels)
            variable.labels = tuple(labels.labels)
        # Each array through a store rooted at its own folder: zarr then writes no implicit
        # root group (an empty zarr.json there would pass for a run before its metadata).
        config: ArrayConfigParams = {"order": "C", "write_empty_chunks": True}
        array = zarr.create_array(
            (self.location / variable.name).store(),
            shape=variable.initial_shape(),
            dtype=variable.numpy_dtype,
            chunks=variable.chunks if variable.chunks is not None else "auto",
            shards=variable.shards,
            compressors=_compressors(variable),
            fill_value=variable.fill_value,
            dimension_names=list(variable.dims) or None,
            attributes=attrs,
            config=config,
            chunk_key_encoding=_chunk_keys(variable),
            zarr_format=3,
        )
        writer = ArrayWriter(variable, array)
        if writer.labels is not None:
            writer.labels_on_disk = len(writer.labels.labels)
        writer.fix_zero_dimensional()
        if data is not None:
            array[...] = data
        return writer

    def add_variables(self, variables: Iterable[Variable]) -> None:
        """Create arrays during the run (data whose shape is known only when it arrives);
        they are published with the next flush."""
        with self._flush_lock:
            for variable in variables:
                if variable.name in self._arrays:
                    continue
                try:
                    writer = self._create_array(variable)
                except Exception as error:
                    raise self._fail(error) from error
                with self._record_lock:
                    self._arrays[variable.name] = writer
                    self._direct = self._direct or writer.direct
                self.variables[variable.name] = variable
            with self._attrs_lock:
                self._attrs["dims"] = _dimensions(self.variables.values())
                self._attrs_dirty = True

    # -- recording ------------------------------------------------------------------------

    def record(
        self, index: tuple[int, ...], values: Mapping[str, Any], *, point: bool = True
    ) -> int:
        """Write ``values`` (by variable name) at ``index`` of their leading dimensions.

        ``point`` counts this as one point for ``points_written``. Returns the record's
        sequence number (see :meth:`on_durable`). Raises the storage error if a flush
        failed, so the run stops instead of acquiring into the void.
        """
        if self._error is not None:
            raise self._error
        arrays = self._arrays
        for name, value in values.items() if self._direct else ():
            writer = arrays[name]
            if writer.direct:  # a frame: written now, from the caller's buffer
                try:
                    writer.put_direct(index, value)
                except Exception as error:
                    raise self._fail(error) from error
        with self._record_lock:
            for name, value in values.items():
                writer = arrays[name]
                if writer.direct:
                    writer.note(index)
                else:
                    writer.put(index, value)
            if point:
                self._recorded += 1
            self._sequence += 1
            return self._sequence

    def record_items(self, start: int, values: Mapping[str, Any]) -> int:
        """Write ``len`` items of each of ``values`` (by variable name, all along one leading
        dimension) from ``start`` at once, as that many points: an instrument's buffer read
        back whole. Returns the record's sequence number, as :meth:`record` does."""
        if self._error is not None:
            raise self._error
        count = len(next(iter(values.values())))
        direct = {name for name in values if self._arrays[name].direct}
        for name in direct:  # frames: each written now, from the caller's buffer
            for offset, item in enumerate(values[name]):
                try:
                    self._arrays[name].put_direct((start + offset,), item)
                except Exception as error:
                    raise self._fail(error) from error
        with self._record_lock:
            for name, column in values.items():
                writer = self._arrays[name]
                if name in direct:
                    writer.note((start + count - 1,))
                else:
                    writer.put_items(start, column)
            self._recorded += count
            self._sequence += 1
            return self._sequence

    @property
    def points(self) -> int:
        """Points recorded so far (some may still be only in memory)."""
        return self._recorded

    @property
    def durable_points(self) -> int:
        """Points stored and published: what a reader, or a killed run, has."""
        return self._durable

    @property
    def durable_sequence(self) -> int:
        """Records (see :meth:`record`) stored and published so far."""
        return self._durable_sequence

    def on_durable(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(sequence)`` on the flusher's thread after each flush: every record
        numbered up to ``sequence`` is stored. It must return quickly and not raise."""
        self._listeners.append(listener)

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
        """Store every record made so far, then publish them (see the module's doc)."""
        with self._flush_lock:
            with self._record_lock:
                cut = [
                    (w, w.take_dirty(), list(w.recorded), len(w.labels.labels) if w.labels else 0)
                    for w in self._arrays.values()
                ]
                points, sequence = self._recorded, self._sequence
            extents = _extents(cut)
            now = time.monotonic()
            with self._attrs_lock:
                changed = (
                    sequence != self._durable_sequence
                    or self._attrs_dirty
                    or points != self._attrs.get("points_written")
                    or extents != self._attrs.get("dims_written")
                    or now - self._last_beat >= self.heartbeat_interval
                )
            if not changed:
                return
            try:
                for writer, _, _, labels in cut:
                    writer.publish_metadata(_needed(writer, extents), labels)
                # Data first, time stamps last: a point exists once its time is stored.
                cut.sort(key=lambda item: item[0].variable.dtype == "time")
                for writer, dirty, _, _ in cut:
                    writer.write_chunks(dirty)
                with self._attrs_lock:
                    self._attrs["points_written"] = points
                    self._attrs["dims_written"] = extents
                    self._attrs["heartbeat"] = utc_now()
                    self._attrs_dirty = False
                    document = dict(self._attrs)
                self._publish(document, extents)
            except Exception as error:
                raise self._fail(error) from error
            self._last_beat = now
            with self._record_lock:
                for writer in self._arrays.values():
                    writer.forget_clean()
            self._durable, self._durable_sequence = points, sequence
        for listener in self._listeners:
            try:
                listener(sequence)
            except Exception:  # a listener must never stop the flusher
                pass

    def _publish(self, attributes: dict[str, Any], extents: Mapping[str, int]) -> None:
        """Replace the group's document: the commit point of everything written before."""
        arrays = {}
        for name, writer in self._arrays.items():
            meta = dict(writer.meta)
            shape = list(meta["shape"])
            for axis in writer.growable:
                shape[axis] = int(extents.get(writer.variable.dims[axis], 0))
            meta["shape"] = shape
            arrays[name] = meta
        document = group_document(attributes, arrays)
        sync(self._store.set("zarr.json", BUFFERS.buffer.from_bytes(document)))

    def _fail(self, error: BaseException) -> StorageError:
        if isinstance(error, StorageError):
            failure = error
        else:
            failure = StorageError(
                f"writing the run store {str(self.location)!r} failed: {_describe(error)}",
                hint="Check the free space and that the data root is still reachable",
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
            extents = dict(self._attrs.get("dims_written") or {})
            if self._error is None:
                self.flush()
                with self._record_lock:
                    extents = _extents(
                        [(w, [], list(w.recorded), 0) for w in self._arrays.values()]
                    )
                for writer in self._arrays.values():
                    writer.trim_to(_needed(writer, extents))
            with self._attrs_lock:
                self._attrs.update(jsonable(attrs))
                self._attrs["status"] = status
                self._attrs["end_time"] = utc_now()
                self._attrs["heartbeat"] = utc_now()
                if self._error is None:
                    self._attrs["points_written"] = self._recorded
                    self._attrs["dims_written"] = extents
                document = dict(self._attrs)
            if self._store is not None:
                self._publish(document, extents)
        finally:
            self._closed = True
            if self._lock is not None:
                self._lock.release()

    @property
    def error(self) -> BaseException | None:
        return self._error


def _extents(cut: Iterable[tuple[ArrayWriter, Any, list[int], int]]) -> dict[str, int]:
    """How far each open-ended dimension got, over every array that has it."""
    extents: dict[str, int] = {}
    for writer, _, recorded, _ in cut:
        for axis in writer.growable:
            dim = writer.variable.dims[axis]
            extents[dim] = max(extents.get(dim, 0), recorded[axis])
    return extents


def _needed(writer: ArrayWriter, extents: Mapping[str, int]) -> list[int]:
    """The shape ``writer``'s array must have to cover ``extents`` (every array of a
    dimension has the dimension's length, whichever recorded last)."""
    shape = list(writer.extent)
    for axis in writer.growable:
        shape[axis] = int(extents.get(writer.variable.dims[axis], 0))
    return shape


def _describe(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


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
    """``default`` is blosc/zstd for everything; camera steps ask for none (see the format
    page: frames are stored as their raw bytes, written straight from the frame)."""
    from zarr.codecs import BloscCodec, GzipCodec

    choice = variable.compression
    if choice is None:
        return None
    if choice in ("default", "zstd"):
        return BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")
    if choice == "lz4":
        return BloscCodec(cname="lz4", clevel=1, shuffle="bitshuffle")
    if choice == "gzip":
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
