"""Stores are plain Zarr v3: spec data types only, dimension names, CF units, lossless times."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

import labkit
from labkit.runs import CameraStream, Read, Repeat, Sweep
from labkit.store import validate_store
from labkit.store._validate import SPEC_DATA_TYPES
from tests.simdevices import SyntheticCamera


@pytest.fixture
def mixed_run(lab):
    """A run with float, int, bool, text, time, 0-d and image arrays."""
    camera = SyntheticCamera(shape=(256, 256))
    plan = Repeat(
        2,
        Sweep(
            lab.dmm.settings.mode,
            ["dc", "ac"],
            read=[lab.dmm.readings.current, lab.smu.settings.output, lab.dmm.settings.mode],
        ),
    )
    run = labkit.run(
        Read(lab.stage.readings.temperature), plan, CameraStream(camera, frames=3), name="mixed"
    )
    run.wait()
    return run


def _arrays(path):
    for document in sorted(path.glob("*/zarr.json")):
        yield document.parent.name, json.loads(document.read_text())


def test_every_array_uses_a_data_type_with_a_v3_specification(mixed_run):
    kinds = {}
    for name, meta in _arrays(mixed_run.path):
        assert meta["zarr_format"] == 3
        assert meta["node_type"] == "array"
        kinds[name] = meta["data_type"]
        assert meta["data_type"] in SPEC_DATA_TYPES, name
        assert len(meta["dimension_names"]) == len(meta["shape"])
        assert meta["chunk_grid"]["name"] == "regular"
        assert meta["chunk_key_encoding"]["name"] == "default"
    assert kinds["dmm_current"] == "float64"
    assert kinds["smu_output"] == "bool"
    assert kinds["dmm_mode"] == "int32"  # codes into the labels attribute
    assert kinds["time_read"] == "int64"
    assert kinds["cam"] == "uint16"
    assert kinds["repeat"] == "int64"
    assert not any("<U" in str(k) for k in kinds.values())


def test_text_is_stored_as_codes_with_labels_and_comes_back_as_text(mixed_run):
    meta = dict(_arrays(mixed_run.path))
    mode = meta["dmm_mode"]
    assert mode["data_type"] == "int32"
    assert mode["fill_value"] == -1
    assert mode["attributes"]["labels"] == ["dc", "ac"]  # the declared choices, in order
    raw = zarr.open_array(str(mixed_run.path / "dmm_mode"), mode="r")[:]
    assert set(np.unique(raw)) == {0, 1}
    ds = labkit.open_run(mixed_run.path)
    assert ds.dmm_mode.dtype.kind == "U"
    assert list(ds.dmm_mode.values) == ["dc", "ac"]  # the swept choice, as a coordinate
    assert ds.sel(dmm_mode="ac").dmm_current.shape == (2,)


def test_zero_dimensional_arrays_name_their_no_dimensions(mixed_run):
    meta = dict(_arrays(mixed_run.path))
    assert meta["stage_temperature"]["shape"] == []
    assert meta["stage_temperature"]["dimension_names"] == []
    group = json.loads((mixed_run.path / "zarr.json").read_text())
    inline = group["consolidated_metadata"]["metadata"]["stage_temperature"]
    assert inline["dimension_names"] == []


def test_plain_xarray_opens_a_store_with_default_arguments_and_no_warning(mixed_run):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(mixed_run.path)
    assert ds.sizes["cam_frame"] == 3
    assert float(ds.stage_temperature) == float(labkit.open_run(mixed_run.path).stage_temperature)


def test_camera_images_are_uncompressed_whatever_their_size(mixed_run):
    meta = dict(_arrays(mixed_run.path))
    # 128 kB frames share shards: one uncompressed chunk per frame inside
    (shards,) = meta["cam"]["codecs"]
    assert shards["name"] == "sharding_indexed"
    assert [c["name"] for c in shards["configuration"]["codecs"]] == ["bytes"]
    assert [c["name"] for c in meta["dmm_current"]["codecs"]] == ["bytes", "blosc"]


def test_the_hand_written_v3_checks_pass_and_catch_departures(mixed_run, tmp_path):
    assert validate_store(mixed_run.path) == []
    group = json.loads((mixed_run.path / "zarr.json").read_text())
    assert group["node_type"] == "group"
    assert group["attributes"]["status"] == "completed"

    bad = tmp_path / "bad.zarr"
    root = zarr.open_group(str(bad), mode="w", zarr_format=3)
    with pytest.warns(Warning, match="does not have a Zarr V3 specification"):
        root.create_array("text", shape=(2,), dtype="<U4")
    meta = json.loads((bad / "text" / "zarr.json").read_text())
    meta["dimension_names"] = ["a", "b"]
    (bad / "text" / "zarr.json").write_text(json.dumps(meta))
    (bad / "zarr.json").write_text(
        '{"zarr_format": 3, "node_type": "group", "attributes": {"x": NaN}}'
    )
    problems = validate_store(bad)
    assert any("not strict JSON" in p for p in problems)
    assert any("/text: data type" in p for p in problems)
    assert any("dimension_names" in p for p in problems)


def test_the_checks_hold_labkit_stores_to_the_format_page(mixed_run, tmp_path):
    import shutil

    copy = tmp_path / "copy.zarr"
    shutil.copytree(mixed_run.path, copy)
    temperature = copy / "stage_temperature" / "zarr.json"
    meta = json.loads(temperature.read_text())
    del meta["dimension_names"]  # as zarr-python writes 0-d arrays
    temperature.write_text(json.dumps(meta))
    mode = copy / "dmm_mode" / "zarr.json"
    meta = json.loads(mode.read_text())
    meta["attributes"]["labels"] = ["dc", 7]
    mode.write_text(json.dumps(meta))
    group = json.loads((copy / "zarr.json").read_text())
    group["consolidated_metadata"]["metadata"]["dmm_current"]["fill_value"] = 0.0
    del group["attributes"]["dims_written"]
    (copy / "zarr.json").write_text(json.dumps(group))
    problems = validate_store(copy)
    assert any(p.startswith("/stage_temperature: dimension_names") for p in problems), problems
    assert any("labels must be a list of strings" in p for p in problems), problems
    assert any("/dmm_current (inline): differs" in p for p in problems), problems
    assert any("attributes missing: dims_written" in p for p in problems), problems


def test_arrays_carry_dimension_names_and_cf_attributes(mixed_run):
    meta = dict(_arrays(mixed_run.path))
    current = meta["dmm_current"]
    assert current["dimension_names"] == ["repeat", "dmm_mode"]
    assert current["attributes"]["units"] == "A"
    assert current["attributes"]["long_name"] == "dmm current"
    assert current["attributes"]["coordinates"] == "time_read2"  # the root Read is time_read
    time = meta["time_read"]["attributes"]
    assert time["units"] == "nanoseconds since 1970-01-01"
    assert time["calendar"] == "proleptic_gregorian"
    assert meta["cam"]["dimension_names"] == ["cam_frame", "cam_y", "cam_x"]
    assert meta["smu_output"]["fill_value"] is False


def test_times_come_back_to_the_nanosecond(lab):
    run = labkit.run(
        Sweep(lab.smu.settings.voltage, np.linspace(0, 1, 50), Read(lab.dmm.readings.current))
    )
    ds = run.wait()
    raw = zarr.open_array(str(run.path / "time"), mode="r")[:]
    assert raw.dtype == np.int64
    decoded = ds.time.values
    assert decoded.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(decoded.astype(np.int64), raw)
    assert (raw % 1000 != 0).any(), "sub-microsecond digits survive"
    assert raw.min() > 1_700_000_000 * 10**9  # since the Unix epoch
