"""Camera frames to their chunk or shard files, straight from memory, in reused buffers.

A frame of an array whose encoding is simple — the little-endian ``bytes`` codec, perhaps
followed by Blosc — is encoded here instead of through zarr-python's per-call indexing
machinery (a frame at a time, that machinery costs more than the write):

- **one chunk per frame** (large frames): the chunk file is written from the frame's own
  memory (raw) or from its Blosc encoding, by :func:`write_file`;
- **shards** (small frames, see :func:`labkit.store.shard_items`): frames are copied into a
  shard buffer taken from a :class:`BufferPool` (made and touched once, reused shard after
  shard, so a stream costs no page faults per frame), and the shard file — the frames' chunks
  then the ``sharding_indexed`` codec's index (offset and length of each chunk, little-endian
  ``uint64``, then its CRC-32C) — is written when full, and by every flush while it fills
  (from a copy taken under the array's io lock and written outside it, so a slow disk never
  keeps the recording thread from the shard's buffer).

A chunk or shard file written for the first time is created in place: nothing refers to it
until the group's document is replaced after it (see :mod:`labkit.store._writer`), so a write
cut short by a kill is never published. A shard written again (it grew since a flush
published part of it) is replaced atomically: on a local disk a temporary file renamed over
it (:func:`replace_file`), on object storage one PUT. Every file is written in calls of at most
:data:`WRITE_PIECE` bytes (see :func:`_write_all`: one call of many megabytes is slow).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import functools
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import google_crc32c
import numpy as np
import zarr
from numcodecs import Blosc  # type: ignore[import-untyped]  # numcodecs ships no types
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, ShardingCodec
from zarr.core.buffer import default_buffer_prototype
from zarr.core.metadata import ArrayV3Metadata
from zarr.core.sync import sync
from zarr.storage import LocalStore

__all__ = [
    "BufferPool",
    "Encoder",
    "ShardedFrames",
    "encoder_for",
    "local_root",
    "replace_file",
    "write_file",
]

BUFFERS = default_buffer_prototype()
EMPTY = np.uint64(2**64 - 1)  # the sharding index's mark of a chunk never written
BLOSC_OVERHEAD = 16  # a Blosc frame is at most this much bigger than its input
OPEN_SHARDS = 2  # shards of one array filling at once, at most (each holds a pool buffer)
QUEUED_FILES = 3  # shard files waiting for a slow disk before a recording thread waits too
WRITE_PIECE = 512 << 10  # bytes per write() call, at most (see _write_all)

Encoder = Callable[[np.ndarray], Any]
"""One item's chunk bytes (anything with the buffer protocol) from its C-ordered array."""


def _raw(data: np.ndarray) -> Any:
    return data.reshape(-1).view(np.uint8)


def encoder_for(codecs: tuple[Any, ...], dtype: np.dtype) -> tuple[Encoder, int] | None:
    """An encoder of one chunk with ``codecs`` and the most bytes it adds, if they are the
    simple ones (``bytes`` little-endian, then nothing or Blosc); None for anything else."""
    if not codecs or not isinstance(codecs[0], BytesCodec):
        return None
    endian = getattr(codecs[0].endian, "value", codecs[0].endian)
    if dtype.itemsize > 1 and endian != "little":
        return None
    if len(codecs) == 1:
        return _raw, 0
    if len(codecs) == 2 and isinstance(codecs[1], BloscCodec):
        codec = codecs[1]
        shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[
            str(getattr(codec.shuffle, "value", codec.shuffle))
        ]
        blosc = _BloscInto(
            str(getattr(codec.cname, "value", codec.cname)),
            int(codec.clevel),
            shuffle,
            int(codec.blocksize),
            int(codec.typesize or dtype.itemsize),
        )
        return blosc.encode, BLOSC_OVERHEAD
    return None


class _BloscInto:
    """Blosc-compresses one chunk into an output buffer made once and reused (a new output
    per frame would cost a page fault per 4 KiB of it, frame after frame), through c-blosc's
    ``blosc_compress_ctx`` — the library numcodecs is built on, so the bytes are the ones
    numcodecs writes — or through numcodecs itself where that symbol cannot be reached.

    ``encode`` returns a view of the output buffer, valid until the next call: callers hold
    the array's lock from the encoding until the bytes are written or copied.
    """

    def __init__(self, cname: str, clevel: int, shuffle: int, blocksize: int, typesize: int):
        self.cname = cname.encode()
        self.clevel, self.shuffle, self.blocksize, self.typesize = (
            clevel,
            shuffle,
            blocksize,
            typesize,
        )
        self.codec = Blosc(cname, clevel, shuffle, blocksize, typesize=typesize)
        self.out: np.ndarray | None = None

    def encode(self, data: np.ndarray) -> Any:
        raw = _raw(data)
        compress = _blosc_compress_ctx()
        if compress is None:
            return self.codec.encode(raw)
        size = raw.size + BLOSC_OVERHEAD
        if self.out is None or self.out.size < size:
            self.out = np.empty(size, dtype=np.uint8)
            self.out.fill(0)  # touched once, here
        written = compress(
            self.clevel,
            self.shuffle,
            self.typesize,
            raw.size,
            raw.ctypes.data,
            self.out.ctypes.data,
            size,
            self.cname,
            self.blocksize,
            1,
        )
        if written <= 0:
            raise ValueError(f"blosc could not compress a chunk ({written})")
        return self.out[:written]


@functools.cache
def _blosc_compress_ctx() -> Any:
    """c-blosc's thread-safe ``blosc_compress_ctx`` from numcodecs' extension, or None."""
    import numcodecs.blosc  # type: ignore[import-untyped]  # numcodecs ships no types

    try:
        function = ctypes.CDLL(numcodecs.blosc.__file__).blosc_compress_ctx
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_size_t,
        ctypes.c_size_t,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_int,
    ]
    function.restype = ctypes.c_int
    return function


class BufferPool:
    """Byte buffers of one size, allocated and touched once, then handed out again and again.

    A shard buffer freshly allocated for every shard would cost a page fault for every 4 KiB
    written into it (large allocations come straight from the kernel, zeroed on first touch);
    a reused one costs none. ``keep`` buffers are kept once given back.
    """

    def __init__(self, nbytes: int, keep: int = 2) -> None:
        self.nbytes = int(nbytes)
        self.keep = int(keep)
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.allocated = 0

    def take(self) -> np.ndarray:
        with self._lock:
            if self._free:
                return self._free.pop()
            self.allocated += 1
        buffer = np.empty(self.nbytes, dtype=np.uint8)
        buffer.fill(0)  # touch every page now, not while frames are copied in
        return buffer

    def give(self, buffer: np.ndarray) -> None:
        with self._lock:
            if len(self._free) < self.keep:
                self._free.append(buffer)


class _Shard:
    """One shard being filled: its buffer, where each chunk lies in it, how far it is used."""

    __slots__ = ("buffer", "dirty", "end", "entries", "filled")

    def __init__(self, buffer: np.ndarray, items: int) -> None:
        self.buffer = buffer
        self.entries = np.full(2 * items, EMPTY, dtype="<u8")  # (offset, length) per chunk
        self.end = 0
        self.filled: set[int] = set()
        self.dirty = False


class _ShardFile:
    """A shard file's bytes waiting to be written: a full shard's own buffer, or a copy of a
    filling shard's frames and index (taken under the io lock, written outside it)."""

    __slots__ = ("buffer", "coords", "size")

    def __init__(self, coords: tuple[int, ...], buffer: np.ndarray, size: int) -> None:
        self.coords = coords
        self.buffer = buffer
        self.size = size


class ShardedFrames:
    """The shards of one array of frames: ``items`` frames per shard, one chunk per frame.

    ``put`` and ``capture`` are called with the array's io lock held (the recording thread
    and the flusher meet there) and only copy memory: they queue shard files to write.
    :meth:`write_queued` writes the queue, in order, *without* the io lock, so a flush
    rewriting a filling shard on a slow disk never keeps the recording thread from putting
    the next frames into the shard's buffer. One thread at a time writes (the file lock);
    a thread that finds it taken leaves its files to the one holding it, unless
    :data:`QUEUED_FILES` wait already: then it waits (memory stays bounded, and a disk too
    slow shows as frames lost at the disk, upstream).
    """

    def __init__(
        self,
        array: zarr.Array,
        inner: tuple[int, ...],
        items: int,
        itemsize: int,
        encoder: Encoder,
        overhead: int,
        key: Callable[[str], str],
    ) -> None:
        self.array = array
        self.inner = inner  # the inner chunk: one frame
        self.items = items
        self._encode = encoder
        self._key = key
        self.item_bytes = int(np.prod(inner)) * itemsize
        self.index_bytes = 16 * items + 4
        capacity = items * (self.item_bytes + overhead) + self.index_bytes
        # Buffers in use at once, at most: the open shards and a flush's copy of each, the
        # full shards queued (one more than QUEUED_FILES: the one that makes a thread wait).
        self.pool = BufferPool(capacity, keep=2 * OPEN_SHARDS + QUEUED_FILES + 1)
        self.local_root = local_root(array)
        self._open: dict[tuple[int, ...], _Shard] = {}
        self._queue: collections.deque[_ShardFile] = collections.deque()
        self._latest: dict[tuple[int, ...], _ShardFile] = {}  # the newest queued, by shard
        self._queue_lock = threading.Lock()  # _queue and _latest
        self._file_lock = threading.Lock()  # held by the one thread writing files
        self._written: set[tuple[int, ...]] = set()  # shards with a file (under _file_lock)

    def put(self, index: tuple[int, ...], data: np.ndarray) -> None:
        lead = len(index)
        position = index[-1] % self.items
        coords = (*index[:-1], index[-1] // self.items) + (0,) * (len(self.inner) - lead)
        shard = self._open.get(coords)
        if shard is None:
            shard = self._opened(coords)
        encoded = np.frombuffer(self._encode(data), dtype=np.uint8)
        size = encoded.size
        shard.filled.discard(position)  # a chunk written again: its old copy is dropped
        if shard.end + size + self.index_bytes > shard.buffer.size:
            self._compact(shard)
        shard.buffer[shard.end : shard.end + size] = encoded
        shard.entries[2 * position] = shard.end
        shard.entries[2 * position + 1] = size
        shard.end += size
        shard.filled.add(position)
        shard.dirty = True
        if len(shard.filled) == self.items:
            del self._open[coords]
            self._release(coords, shard)

    def _opened(self, coords: tuple[int, ...]) -> _Shard:
        """A shard to fill: new, or what its file holds (a frame recorded again after its
        shard was let go: from the queued copy if its file is still to be written); the
        shard filled longest ago is let go if :data:`OPEN_SHARDS` are open (a stream inside
        a scan leaves one per point)."""
        while len(self._open) >= OPEN_SHARDS:
            oldest = next(iter(self._open))
            self._release(oldest, self._open.pop(oldest))
        shard = _Shard(self.pool.take(), self.items)
        with self._queue_lock:  # the writer lets a queued file go only under this lock
            queued = self._latest.get(coords)
            if queued is not None:
                self._load(shard, queued.buffer[: queued.size])
        if queued is None and coords in self._written:  # written before it left the queue
            key = self._key(self.array.metadata.encode_chunk_key(coords))
            found = sync(self.array.store.get(key, prototype=BUFFERS))
            if found is not None:
                self._load(shard, found.as_numpy_array().view(np.uint8))
        self._open[coords] = shard
        return shard

    def _load(self, shard: _Shard, data: np.ndarray) -> None:
        table = data[data.size - self.index_bytes : data.size - 4]
        entries = table.view("<u8")
        for position in range(self.items):
            start, size = int(entries[2 * position]), int(entries[2 * position + 1])
            if start == int(EMPTY):
                continue
            shard.buffer[shard.end : shard.end + size] = data[start : start + size]
            shard.entries[2 * position] = shard.end
            shard.entries[2 * position + 1] = size
            shard.end += size
            shard.filled.add(position)

    def _release(self, coords: tuple[int, ...], shard: _Shard) -> None:
        """Let a shard go: its own buffer, index appended, queued as its file (no copy)."""
        if not shard.dirty:
            self.pool.give(shard.buffer)
            return
        size = self._index_into(shard, shard.buffer)
        self._enqueue(_ShardFile(coords, shard.buffer, size))

    def capture(self) -> None:
        """Queue a copy of every shard that took frames since it was last queued (its index
        says which of its chunks exist; the rest read as the fill value): a memcpy of the
        frames so far, then the index, into a pool buffer."""
        for coords, shard in self._open.items():
            if shard.dirty:
                copy = self.pool.take()
                copy[: shard.end] = shard.buffer[: shard.end]
                size = self._index_into(shard, copy)
                shard.dirty = False
                self._enqueue(_ShardFile(coords, copy, size))

    def _index_into(self, shard: _Shard, buffer: np.ndarray) -> int:
        """Write ``shard``'s index and its CRC-32C after its chunks in ``buffer``; the file's
        size."""
        index = shard.entries.view(np.uint8)
        end = shard.end
        buffer[end : end + index.size] = index
        crc = np.array([google_crc32c.value(index)], dtype="<u4").view(np.uint8)
        buffer[end + index.size : end + self.index_bytes] = crc
        return end + self.index_bytes

    def _enqueue(self, file: _ShardFile) -> None:
        with self._queue_lock:
            self._queue.append(file)
            self._latest[file.coords] = file

    def write_queued(self, *, wait: bool = False) -> None:
        """Write the queued shard files, in order (call without the io lock).

        ``wait=True`` (a flush) waits for the file lock and writes until the queue is empty.
        Otherwise (a recording thread, its shard full) the files queued so far are written
        if no other thread is writing — else that thread, or the next flush, writes them —
        and the thread waits only if more than :data:`QUEUED_FILES` are waiting.
        """
        while True:
            with self._queue_lock:
                if not self._queue:
                    return
                block = wait or len(self._queue) > QUEUED_FILES
            if not self._file_lock.acquire(blocking=block):
                return
            try:
                with self._queue_lock:
                    count = len(self._queue)
                self._write_first(count)
            finally:
                self._file_lock.release()
            if not block:
                return  # what was queued meanwhile is a flush's to write (or waits for it)

    def _write_first(self, count: int) -> None:
        """Write the queue's first ``count`` files (with the file lock), skipping a file
        that a newer copy of the same shard, queued after it, replaces (nothing was
        published from the older one: a flush publishes only once the queue is written)."""
        for _ in range(count):
            with self._queue_lock:
                file = self._queue[0]
                newest = self._latest[file.coords] is file
            if newest:
                self._write(file)
            with self._queue_lock:
                self._queue.popleft()
                if self._latest[file.coords] is file:  # none queued since
                    del self._latest[file.coords]
            self.pool.give(file.buffer)

    def _write(self, file: _ShardFile) -> None:
        data = file.buffer[: file.size]
        key = self._key(self.array.metadata.encode_chunk_key(file.coords))
        if self.local_root is None:  # object storage: one PUT, atomic
            sync(self.array.store.set(key, BUFFERS.buffer.from_array_like(data)))
        elif file.coords not in self._written:
            write_file(os.path.join(self.local_root, key), data)
        else:  # published already, perhaps: replaced atomically
            replace_file(os.path.join(self.local_root, key), data)
        self._written.add(file.coords)

    def _compact(self, shard: _Shard) -> None:
        """Copy the live chunks of ``shard`` to a fresh buffer (old copies of chunks written
        again are dropped); fits, as every chunk is at most its largest encoding."""
        fresh = self.pool.take()
        end = 0
        for position in sorted(shard.filled):
            start, size = (int(v) for v in shard.entries[2 * position : 2 * position + 2])
            fresh[end : end + size] = shard.buffer[start : start + size]
            shard.entries[2 * position] = end
            end += size
        self.pool.give(shard.buffer)
        shard.buffer, shard.end = fresh, end


def sharding_of(array: zarr.Array) -> ShardingCodec | None:
    """The array's sharding codec, if its shards are laid out as :class:`ShardedFrames`
    writes them (index at the end, encoded as little-endian bytes then CRC-32C)."""
    if not isinstance(array.metadata, ArrayV3Metadata):
        return None
    codecs = tuple(array.metadata.codecs)
    if len(codecs) != 1 or not isinstance(codecs[0], ShardingCodec):
        return None
    codec = codecs[0]
    index_codecs = tuple(codec.index_codecs)
    layout = (
        getattr(codec.index_location, "value", codec.index_location) == "end"
        and len(index_codecs) == 2
        and isinstance(index_codecs[0], BytesCodec)
        and getattr(index_codecs[0].endian, "value", index_codecs[0].endian) == "little"
        and isinstance(index_codecs[1], Crc32cCodec)
    )
    return codec if layout else None


def write_file(path: str, data: Any) -> None:
    """Write ``data``'s bytes (a C-contiguous array or a bytes-like) as the file ``path``
    (created or truncated), from its own memory, the GIL released during the write.

    No temporary file and rename: the chunk is new and nothing refers to it until the group's
    document is replaced after it (see :mod:`labkit.store._writer`), so a write cut short by a
    kill is never published.
    """
    view = memoryview(data).cast("B")  # a flat byte view, no copy
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:  # a nested chunk key: its folder comes first
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, flags, 0o666)
    try:
        _write_all(fd, view)
    finally:
        os.close(fd)


def replace_file(path: str, data: Any) -> None:
    """Replace the file ``path`` with ``data``'s bytes atomically: a reader sees the old file
    or the new one, whole, never a mix (a temporary file beside it, renamed over it).

    What zarr's ``LocalStore.set`` does, named alike (``<key>.<hex>.partial``, which readers
    skip), minus its hop through zarr's event loop and its one ``write`` of the whole file
    (see :func:`_write_all`).
    """
    view = memoryview(data).cast("B")
    temporary = f"{path}.{uuid.uuid4().hex}.partial"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o666)
    try:
        try:
            _write_all(fd, view)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_all(fd: int, view: memoryview) -> None:
    """Write every byte of ``view`` to ``fd``, at most :data:`WRITE_PIECE` bytes a call.

    Into the page cache (Linux 6.18, ext4, this VM) one ``write`` of many megabytes runs at a
    fraction of the speed of the same bytes in smaller calls: a 16 MiB shard file in one call
    at 0.3–0.8 GB/s, in 512 KiB calls at 3–4 GB/s; calls of 2–4 MiB were as slow as one,
    1 MiB ones slow in some runs (perhaps the large page-cache folios that big writes ask
    for). A shard written in one call held the frame writer's thread ~49 ms and lost frames
    at 0.5 GB/s where a file-per-frame writer lost none (``benchmarks/bench_frame_stream.py
    --shape 512x512``).
    """
    written = 0
    total = len(view)
    while written < total:
        written += os.write(fd, view[written : written + WRITE_PIECE])


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def local_root(array: zarr.Array) -> str | None:
    """The folder of ``array``'s store (chunk keys are relative to it) on a local disk."""
    store = array.store
    if type(store) is not LocalStore or store.read_only:
        return None
    root = str(store.root)
    return root if os.path.isdir(root) else None
