"""The run writer: chunk by chunk, flushed for other readers, grown and trimmed, safe on error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from labkit.core import ConfigurationError
from labkit.store import RunWriter, StorageError, Variable, new_run_id, open_run, store_path
from labkit.store._variables import choose_chunks


def make_writer(root, variables, **options):
    run_id = new_run_id()
    path = store_path(root, run_id, "unit")
    attrs = {"run_id": run_id, "name": "unit", "start_time": "2026-01-01T00:00:00+00:00"}
    return RunWriter(path, variables, attrs, **options).create()


def test_points_are_on_disk_for_a_second_reader_after_each_flush(tmp_path):
    writer = make_writer(
        tmp_path,
        [
            Variable("x", ("x",), (100,), "float64", {"units": "V"}, data=np.arange(100.0)),
            Variable("y", ("x",), (100,), "float64", {"units": "A"}),
            Variable("time", ("x",), (100,), "time"),
        ],
        flush_interval=3600,
    )
    for i in range(30):
        writer.record((i,), {"y": i * 2.0, "time": 10**18 + i})
    on_disk = json.loads((writer.path / "zarr.json").read_text())["attributes"]
    assert on_disk["points_written"] == 0
    writer.flush()
    ds = open_run(writer.path)
    assert ds.attrs["points_written"] == 30
    np.testing.assert_array_equal(ds.y.values[:30], np.arange(30) * 2.0)
    assert np.isnan(ds.y.values[30:]).all()
    assert ds.x.attrs["units"] == "V"
    writer.finish("completed")
    assert open_run(writer.path).attrs["status"] == "completed"
    assert not (writer.path.parent / (writer.path.name + ".lock")).exists()


def test_open_ended_arrays_grow_and_are_trimmed_at_the_end(tmp_path):
    writer = make_writer(
        tmp_path,
        [
            Variable("v", ("sample",), (None,), "float64"),
            Variable("t", ("sample",), (None,), "time"),
        ],
        flush_interval=3600,
    )
    for i in range(20_000):
        writer.record((i,), {"v": float(i), "t": i})
    writer.flush()
    array = zarr.open_array(str(writer.path / "v"), mode="r")
    assert array.shape[0] >= 20_000  # grown ahead by whole chunks
    live = open_run(writer.path)
    assert live.sizes["sample"] == 20_000  # readers see what was flushed, not the slack
    writer.finish("completed")
    assert zarr.open_array(str(writer.path / "v"), mode="r").shape == (20_000,)
    np.testing.assert_array_equal(open_run(writer.path).v.values, np.arange(20_000.0))


def test_a_point_written_again_after_its_chunk_left_memory_keeps_its_neighbours(
    tmp_path, monkeypatch
):
    from labkit.store import _arrays

    monkeypatch.setattr(_arrays, "CACHE_BYTES", 1)
    writer = make_writer(
        tmp_path, [Variable("v", ("x",), (64,), "float64", chunks=(8,))], flush_interval=3600
    )
    for i in range(64):
        writer.record((i,), {"v": float(i)})
        if i % 8 == 7:
            writer.flush()
    assert len(writer._arrays["v"].cache) <= 4
    writer.record((3,), {"v": -3.0})  # chunk 0 was evicted: it is read back first
    writer.finish("completed")
    expected = np.arange(64.0)
    expected[3] = -3.0
    np.testing.assert_array_equal(open_run(writer.path).v.values, expected)


def test_a_storage_failure_surfaces_at_the_next_point(tmp_path):
    writer = make_writer(tmp_path, [Variable("v", ("x",), (10,), "float64")], flush_interval=3600)
    writer.record((0,), {"v": 1.0})
    chunks = writer.path / "v"
    for child in sorted(chunks.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    chunks.rmdir()
    chunks.write_text("a file where the array's folder was")
    with pytest.raises(StorageError):
        writer.flush()
    with pytest.raises(StorageError, match="failed"):
        writer.record((1,), {"v": 2.0})
    writer.finish("failed")


def test_a_store_is_never_overwritten(tmp_path):
    writer = make_writer(tmp_path, [Variable("v", ("x",), (1,), "float64")])
    writer.finish("completed")
    again = RunWriter(writer.path, [Variable("v", ("x",), (1,), "float64")], {})
    with pytest.raises(ConfigurationError, match="already exists"):
        again.create()


def test_chunks_fill_in_acquisition_order():
    assert choose_chunks((1000,), 8) == (1000,)
    assert choose_chunks((10, 100), 8) == (10, 100)
    assert choose_chunks((1000, 1000), 8) == (131, 1000)
    assert choose_chunks((None,), 8) == (16384,)
    assert choose_chunks((None, 2048, 2048), 2, item_ndim=2) == (1, 2048, 2048)
    assert choose_chunks((5, 4, 4), 2, item_ndim=2) == (5, 4, 4)


def test_a_deep_trace_is_split_into_pieces_of_a_few_mebibytes_and_images_stay_whole():
    # A DS1000Z's 24 M-point memory: 23 chunks of 4 MiB (float32), 46 in float64; not one
    # chunk of 96 or 192 MB, not millions of tiny ones.
    assert choose_chunks((None, 24_000_000), 4, item_ndim=1) == (1, 1_048_576)
    assert choose_chunks((3, 24_000_000), 8, item_ndim=1) == (1, 524_288)
    assert choose_chunks((24_000_000,), 4, item_ndim=1) == (1_048_576,)
    assert choose_chunks((None, 1_000_000), 4, item_ndim=1) == (1, 1_000_000)  # 4 MB: whole
    # A camera frame, however large, stays one chunk (written from the frame's memory).
    assert choose_chunks((None, 3200, 3200), 2, item_ndim=2) == (1, 3200, 3200)


def test_a_trace_split_over_chunks_is_written_whole_and_read_back(tmp_path):
    points = 2_500_000  # float32: three chunks, the last one partial
    variable = Variable("trace", ("shot", "t"), (None, points), "float32", item_ndim=1)
    writer = make_writer(tmp_path, [variable])
    rng = np.random.default_rng(0)
    shots = [rng.normal(size=points).astype(np.float32) for _ in range(2)]
    for shot, values in enumerate(shots):
        writer.record((shot,), {"trace": values})
    writer.finish("completed")
    array = zarr.open_group(writer.path, mode="r")["trace"]
    assert array.chunks == (1, 1_048_576)
    assert array.shape == (2, points)
    np.testing.assert_array_equal(array[...], np.stack(shots))


def test_only_specified_data_types_are_accepted():
    with pytest.raises(ConfigurationError, match="no Zarr v3 specification"):
        Variable("s", ("x",), (3,), "<U8")
    with pytest.raises(ConfigurationError, match="shape of one item"):
        Variable("img", ("f", "y"), (None, None), "uint16", item_ndim=1)


def test_a_buffer_is_written_whole_across_chunks_and_counts_as_its_points(tmp_path):
    writer = make_writer(
        tmp_path,
        [
            Variable("v", ("p",), (50,), "float64", chunks=(8,)),
            Variable("mode", ("p",), (50,), "string"),
            Variable("time", ("p",), (50,), "time"),
        ],
        flush_interval=3600,
    )
    writer.record((0,), {"v": -1.0, "mode": "a", "time": 10**18})
    writer.record_items(1, {"v": np.arange(1.0, 21.0), "mode": ["b"] * 20, "time": np.arange(20)})
    assert writer.points == 21
    writer.finish("completed")
    ds = open_run(writer.path)
    np.testing.assert_array_equal(ds.v.values[:21], [-1.0, *range(1, 21)])
    assert np.isnan(ds.v.values[21:]).all()
    assert list(ds["mode"].values[:3]) == ["a", "b", "b"]
    assert ds.attrs["points_written"] == 21
