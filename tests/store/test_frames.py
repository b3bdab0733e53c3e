"""Frames written straight to their files: small ones into shards, large ones a chunk each,
raw or Blosc-compressed, read back equal by zarr, xarray and another implementation."""

from __future__ import annotations

import json
import os
import threading
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

import labkit.store._frames as _frames
from labkit.store import RunWriter, Variable, new_run_id, shard_items, store_path, validate_store
from labkit.store._frames import OPEN_SHARDS, QUEUED_FILES, BufferPool

ts = pytest.importorskip("tensorstore", reason="tensorstore has no wheel for this platform")


def _writer(tmp_path, shape, *, shard=None, compression=None):
    run_id = new_run_id()
    attrs = {"run_id": run_id, "name": "unit", "start_time": "2026-01-01T00:00:00+00:00"}
    variables = [
        Variable(
            "cam",
            ("frame", "y", "x"),
            (None, *shape),
            "uint16",
            {"coordinates": "time"},
            compression=compression,
            item_ndim=2,
            shard_items=shard,
        ),
        Variable("time", ("frame",), (None,), "time"),
    ]
    path = store_path(tmp_path, run_id, "unit")
    return RunWriter(path, variables, attrs, flush_interval=3600).create()


def _frame(i, shape):
    rng = np.random.default_rng(i)
    return (rng.integers(0, 4096, shape, dtype=np.uint16) + i).astype(np.uint16)


def _record(writer, frames, shape, start=0):
    for i in range(start, start + frames):
        writer.record((i,), {"cam": _frame(i, shape), "time": 10**18 + i})


def _published(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return xr.open_zarr(path)


def _tensorstore(path):
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}
    return ts.open(spec, open=True).result().read().result()


def test_small_frames_share_shard_files_read_back_equal_by_every_reader(tmp_path):
    shape = (128, 512)  # 128 KiB: under a mebibyte, so frames share shards
    writer = _writer(tmp_path, shape, shard=8)
    _record(writer, 20, shape)
    writer.finish("completed")
    expected = np.stack([_frame(i, shape) for i in range(20)])
    meta = json.loads((writer.path / "cam" / "zarr.json").read_text())
    (codec,) = meta["codecs"]
    assert codec["name"] == "sharding_indexed"
    assert codec["configuration"]["chunk_shape"] == [1, *shape]
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [8, *shape]
    files = sorted(p.name for p in (writer.path / "cam").iterdir() if p.name != "zarr.json")
    assert files == ["c.0.0.0", "c.1.0.0", "c.2.0.0"], "20 frames in 3 shard files"
    np.testing.assert_array_equal(_published(writer.path).cam.values, expected)
    np.testing.assert_array_equal(_tensorstore(writer.path / "cam"), expected)
    assert validate_store(writer.path) == []


def test_a_shard_still_filling_is_published_with_the_frames_it_holds(tmp_path):
    shape = (64, 256)
    writer = _writer(tmp_path, shape, shard=16)
    _record(writer, 5, shape)
    assert _published(writer.path).sizes["frame"] == 0, "nothing published before a flush"
    writer.flush()
    ds = _published(writer.path)
    assert ds.sizes["frame"] == 5
    np.testing.assert_array_equal(ds.cam.values[4], _frame(4, shape))
    _record(writer, 14, shape, start=5)  # fills the first shard (written whole), starts another
    writer.flush()
    ds = _published(writer.path)
    assert ds.sizes["frame"] == 19
    np.testing.assert_array_equal(ds.cam.values[18], _frame(18, shape))
    np.testing.assert_array_equal(_tensorstore(writer.path / "cam")[:19], ds.cam.values)
    writer.finish("completed")
    assert not [p for p in (writer.path / "cam").iterdir() if "tmp" in p.name]


def test_a_frame_recorded_again_replaces_its_chunk_in_the_shard(tmp_path):
    shape = (32, 32)
    writer = _writer(tmp_path, shape, shard=4, compression="lz4")
    _record(writer, 3, shape)
    writer.flush()
    again = np.full(shape, 7, dtype=np.uint16)
    for _ in range(6):  # more than the shard's buffer holds without compacting
        writer.record((1,), {"cam": again, "time": 10**18 + 1}, point=False)
    writer.finish("completed")
    values = _published(writer.path).cam.values
    np.testing.assert_array_equal(values[1], again)
    np.testing.assert_array_equal(values[2], _frame(2, shape))


@pytest.mark.parametrize("shard", [None, 8])
def test_compressed_frames_are_blosc_lz4_bitshuffle_and_read_back_equal(tmp_path, shard):
    shape = (256, 512) if shard is None else (64, 128)
    writer = _writer(tmp_path, shape, shard=shard, compression="lz4")
    _record(writer, 10, shape)
    writer.finish("completed")
    meta = json.loads((writer.path / "cam" / "zarr.json").read_text())
    codecs = meta["codecs"] if shard is None else meta["codecs"][0]["configuration"]["codecs"]
    assert [c["name"] for c in codecs] == ["bytes", "blosc"]
    assert codecs[1]["configuration"]["shuffle"] == "bitshuffle"
    expected = np.stack([_frame(i, shape) for i in range(10)])
    np.testing.assert_array_equal(_published(writer.path).cam.values, expected)
    np.testing.assert_array_equal(_tensorstore(writer.path / "cam"), expected)
    stored = sum(p.stat().st_size for p in (writer.path / "cam").glob("c*"))
    assert stored < expected.nbytes * 0.9, "12-bit values in 16: bit-shuffled lz4 saves space"


def test_frames_of_64_to_256_kib_skip_the_chunk_cache(tmp_path):
    shape = (128, 256)  # 64 KiB: a chunk each, written straight to its file
    writer = _writer(tmp_path, shape)
    _record(writer, 3, shape)
    assert (writer.path / "cam" / "c.2.0.0").stat().st_size == 128 * 256 * 2
    writer.finish("completed")
    np.testing.assert_array_equal(
        _published(writer.path).cam.values, np.stack([_frame(i, shape) for i in range(3)])
    )
    array = zarr.open_array(str(writer.path / "cam"), mode="r")
    assert array.chunks == (1, *shape)


def test_shards_are_sized_from_the_frame_and_the_rate():
    assert shard_items(8 << 20, 100.0) is None, "large frames: a file each"
    assert shard_items(256 << 10, 1000.0) == 64, "at most 16 MiB a shard"
    assert shard_items(256 << 10, 20.0) == 20, "about a second of frames"
    assert shard_items(256 << 10, 1.0) is None, "a slow camera: a file each"
    assert shard_items(256 << 10) == 16, "rate unknown: 4 MiB"


def test_a_pool_hands_its_buffers_out_again():
    pool = BufferPool(1 << 20, keep=1)
    first = pool.take()
    pool.give(first)
    assert pool.take() is first
    assert pool.allocated == 1


def test_the_direct_blosc_encoder_writes_the_bytes_numcodecs_writes():
    from numcodecs import Blosc
    from zarr.codecs import BloscCodec, BytesCodec

    from labkit.store._frames import encoder_for

    dtype = np.dtype("<u2")
    codec = BloscCodec(cname="lz4", clevel=1, shuffle="bitshuffle", typesize=2)
    encode, overhead = encoder_for((BytesCodec(endian="little"), codec), dtype)
    reference = Blosc("lz4", 1, Blosc.BITSHUFFLE, 0, typesize=2)
    for i in range(3):
        frame = _frame(i, (300, 200))
        ours = bytes(encode(frame))
        assert ours == reference.encode(frame.reshape(-1).view(np.uint8))
        assert len(ours) <= frame.nbytes + overhead
        np.testing.assert_array_equal(np.frombuffer(reference.decode(ours), "<u2"), frame.ravel())


def test_frames_recorded_again_after_their_shard_was_let_go_keep_the_others(tmp_path):
    shape = (32, 32)
    writer = _writer(tmp_path, shape, shard=4)
    _record(writer, 4, shape)  # shard 0 full: written and let go
    _record(writer, 9, shape, start=4)  # shards 1 and 2 filling: 3 let go...
    again = np.full(shape, 9, dtype=np.uint16)
    writer.record((2,), {"cam": again, "time": 10**18 + 2}, point=False)  # ... 0 read back
    writer.finish("completed")
    values = _published(writer.path).cam.values
    expected = np.stack([_frame(i, shape) for i in range(13)])
    expected[2] = again
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(_tensorstore(writer.path / "cam"), expected)


class _StalledDisk:
    """Shard files written for the first time (in place, :func:`write_file`) wait until
    ``release`` is set: a disk that stalls, entered by whoever writes first."""

    def __init__(self, monkeypatch):
        self.entered, self.release = threading.Event(), threading.Event()
        real = _frames.write_file

        def stalled(path, data):
            self.entered.set()
            assert self.release.wait(60), "the test never let the disk go"
            real(path, data)

        monkeypatch.setattr(_frames, "write_file", stalled)


def _in_thread(target):
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_flush_stalled_on_the_disk_does_not_stop_frames_going_into_the_shards(
    tmp_path, monkeypatch
):
    shape = (32, 64)
    writer = _writer(tmp_path, shape, shard=8)
    _record(writer, 3, shape)
    disk = _StalledDisk(monkeypatch)
    flush = _in_thread(writer.flush)  # rewrites the filling shard: stalls in its write
    assert disk.entered.wait(60)
    # Meanwhile the recording thread fills that shard (queued whole) and starts the next.
    recording = _in_thread(lambda: _record(writer, 8, shape, start=3))
    recording.join(60)
    assert not recording.is_alive(), "recording waited for the flush's write"
    assert flush.is_alive(), "the flush is still in its stalled write"
    assert _published(writer.path).sizes["frame"] == 0, "nothing published before it is stored"
    disk.release.set()
    flush.join(60)
    assert not flush.is_alive()
    ds = _published(writer.path)
    assert ds.sizes["frame"] == 3, "the flush published what it took, once stored"
    np.testing.assert_array_equal(ds.cam.values, np.stack([_frame(i, shape) for i in range(3)]))
    writer.finish("completed")
    expected = np.stack([_frame(i, shape) for i in range(11)])
    np.testing.assert_array_equal(_published(writer.path).cam.values, expected)
    np.testing.assert_array_equal(_tensorstore(writer.path / "cam"), expected)
    assert not [p for p in (writer.path / "cam").iterdir() if "tmp" in p.name]


class _WaitSeen:
    """A lock that says when a thread starts waiting for it."""

    def __init__(self, lock):
        self.lock, self.waiting = lock, threading.Event()

    def acquire(self, blocking=True):
        if self.lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        self.waiting.set()
        return self.lock.acquire()

    def release(self):
        self.lock.release()


def test_a_stalled_disk_holds_a_bounded_number_of_shards_then_recording_waits(
    tmp_path, monkeypatch
):
    shape, shards = (32, 32), 12
    writer = _writer(tmp_path, shape, shard=4)
    frames = writer._arrays["cam"].shards
    _record(writer, 3, shape)
    disk = _StalledDisk(monkeypatch)
    flush = _in_thread(writer.flush)
    assert disk.entered.wait(60)  # the flush holds the file lock, stalled
    frames._file_lock = lock = _WaitSeen(frames._file_lock)
    recording = _in_thread(lambda: _record(writer, 4 * shards - 3, shape, start=3))
    assert lock.waiting.wait(60), "recording never waited for the disk"
    assert recording.is_alive()
    assert len(frames._queue) == QUEUED_FILES + 1, "the flush's copy and the full shards"
    disk.release.set()
    for thread in (flush, recording):
        thread.join(60)
        assert not thread.is_alive()
    assert frames.pool.allocated <= QUEUED_FILES + 2 * OPEN_SHARDS + 1 < shards
    writer.finish("completed")
    expected = np.stack([_frame(i, shape) for i in range(4 * shards)])
    np.testing.assert_array_equal(_published(writer.path).cam.values, expected)


def _spy_on_file_writes(monkeypatch):
    """The size of every ``os.write`` call and the (source, target) of every ``os.replace``."""
    sizes, replaced = [], []
    real_write, real_replace = _frames.os.write, _frames.os.replace

    def write(fd, data):
        sizes.append(len(data))
        return real_write(fd, data)

    def replace(source, target):
        replaced.append((str(source), str(target)))
        return real_replace(source, target)

    monkeypatch.setattr(_frames.os, "write", write)
    monkeypatch.setattr(_frames.os, "replace", replace)
    return sizes, replaced


def test_shard_files_are_written_in_pieces_of_512_kib_and_replaced_atomically(
    tmp_path, monkeypatch
):
    # One write() of a whole multi-megabyte shard runs at a fraction of the page cache's speed
    # on Linux (see _frames._write_all): no call may carry more than 512 KiB, and a shard
    # published already is replaced through a temporary file renamed over it, not rewritten.
    shape = (256, 512)  # 256 KiB frames: 8 to a 2 MiB shard file
    writer = _writer(tmp_path, shape, shard=8)
    sizes, replaced = _spy_on_file_writes(monkeypatch)
    _record(writer, 3, shape)
    writer.flush()  # the filling shard, first written in place
    _record(writer, 13, shape, start=3)  # shard 0 full: written again, replaced; shard 1 full
    writer.finish("completed")
    shard_bytes = 8 * 256 * 512 * 2
    assert sum(sizes) >= 2 * shard_bytes + 3 * 256 * 512 * 2
    assert max(sizes) <= 512 << 10, "no write() of more than 512 KiB"
    shards = [(s, t) for s, t in replaced if os.path.basename(t).startswith("c.")]
    assert [os.path.basename(target) for _, target in shards] == ["c.0.0.0"]
    assert shards[0][0].startswith(shards[0][1] + ".")
    assert shards[0][0].endswith(".partial")
    expected = np.stack([_frame(i, shape) for i in range(16)])
    np.testing.assert_array_equal(_published(writer.path).cam.values, expected)
    names = [p.name for p in (writer.path / "cam").iterdir()]
    assert sorted(names) == ["c.0.0.0", "c.1.0.0", "zarr.json"]


def test_a_replacement_cut_short_leaves_the_published_shard_whole(tmp_path, monkeypatch):
    target = tmp_path / "c.0.0.0"
    target.write_bytes(b"published")
    real_write = _frames.os.write
    calls = []

    def failing(fd, data):
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(_frames.os, "write", failing)
    with pytest.raises(OSError, match="No space"):
        _frames.replace_file(str(target), np.ones(3 << 20, dtype=np.uint8))
    assert target.read_bytes() == b"published"
    assert [p.name for p in tmp_path.iterdir()] == ["c.0.0.0"], "no temporary file left"
    monkeypatch.setattr(_frames.os, "write", real_write)
    _frames.replace_file(str(target), np.full(3 << 20, 5, dtype=np.uint8))
    assert target.read_bytes() == bytes([5]) * (3 << 20)


def test_a_frame_recorded_again_replaces_its_published_chunk_atomically(tmp_path, monkeypatch):
    # A frame of a mebibyte or more is its own chunk file. Recorded again (a point redone)
    # after a flush published it, the file is replaced through a temporary file renamed over
    # it (a reader sees the old frame or the new one, whole), written in pieces like the rest.
    shape = (1024, 1024)  # 2 MiB frames: one chunk file each
    writer = _writer(tmp_path, shape)
    sizes, replaced = _spy_on_file_writes(monkeypatch)
    _record(writer, 2, shape)
    writer.flush()  # both frames published
    assert not [t for _, t in replaced if os.path.basename(t).startswith("c.")]
    writer.record((1,), {"cam": _frame(7, shape), "time": 10**18 + 1})
    writer.finish("completed")
    chunks = [(s, t) for s, t in replaced if os.path.basename(t).startswith("c.")]
    assert [os.path.basename(t) for _, t in chunks] == ["c.1.0.0"]
    assert max(sizes) <= 512 << 10, "no write() of more than 512 KiB"
    assert chunks[0][0].startswith(chunks[0][1] + ".")
    assert chunks[0][0].endswith(".partial")
    frames = _published(writer.path).cam.values
    np.testing.assert_array_equal(frames[0], _frame(0, shape))
    np.testing.assert_array_equal(frames[1], _frame(7, shape))
    names = sorted(p.name for p in (writer.path / "cam").iterdir())
    assert names == ["c.0.0.0", "c.1.0.0", "zarr.json"], "no temporary file left"
