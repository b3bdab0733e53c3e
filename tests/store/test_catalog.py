"""The catalog lists and filters runs from their metadata alone, and spots interrupted runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys

import pytest

import labkit
from labkit.store import RunWriter, Variable, _scan, new_run_id, read_info, runs, store_path

UTC = dt.timezone.utc


def make_run(root, name, *, when, status="completed", instruments=(), metadata=None):
    run_id = new_run_id(when)
    writer = RunWriter(
        store_path(root, run_id, name),
        [Variable("v", ("x",), (2,), "float64")],
        {
            "run_id": run_id,
            "name": name,
            "start_time": when.isoformat(),
            "instruments": list(instruments),
            "metadata": metadata or {},
        },
    ).create()
    writer.record((0,), {"v": 1.0})
    if status is None:
        return writer
    writer.finish(status)
    return writer


@pytest.fixture
def catalog(tmp_path):
    root = tmp_path / "data"
    make_run(
        root,
        "iv",
        when=dt.datetime(2026, 3, 1, 9, tzinfo=UTC),
        instruments=["smu", "dmm"],
        metadata={"sample": "A1", "temperature": 4},
    )
    make_run(
        root,
        "iv",
        when=dt.datetime(2026, 3, 2, 9, tzinfo=UTC),
        status="failed",
        instruments=["smu", "dmm"],
        metadata={"sample": "A2", "temperature": 4},
    )
    make_run(
        root,
        "cooldown",
        when=dt.datetime(2026, 3, 2, 18, tzinfo=UTC),
        instruments=["tc"],
        metadata={"sample": "A2", "temperature": 300},
    )
    make_run(
        root,
        "iv-gate",
        when=dt.datetime(2026, 3, 5, 9, tzinfo=UTC),
        status="aborted",
        instruments=["smu", "gate"],
        metadata={"sample": "B1"},
    )
    return root


def names(found):
    return [r.name for r in found]


def test_filters_by_name_date_status_instrument_and_metadata(catalog):
    assert names(runs(root=catalog)) == ["iv", "iv", "cooldown", "iv-gate"]
    assert names(runs("iv", root=catalog)) == ["iv", "iv"]
    assert names(runs("iv*", root=catalog)) == ["iv", "iv", "iv-gate"]
    assert names(runs(root=catalog, since="2026-03-02")) == ["iv", "cooldown", "iv-gate"]
    assert names(runs(root=catalog, until="2026-03-02")) == ["iv", "iv", "cooldown"]
    assert names(
        runs(root=catalog, since=dt.datetime(2026, 3, 2, 12, tzinfo=UTC), until=dt.date(2026, 3, 4))
    ) == ["cooldown"]
    assert names(runs(root=catalog, status="failed")) == ["iv"]
    assert names(runs(root=catalog, status=["aborted", "failed"])) == ["iv", "iv-gate"]
    assert names(runs(root=catalog, instrument="tc")) == ["cooldown"]
    assert names(runs(root=catalog, instrument=["gate", "tc"])) == ["cooldown", "iv-gate"]
    assert names(runs(root=catalog, sample="A2")) == ["iv", "cooldown"]
    assert names(runs(root=catalog, sample="A2", temperature=4)) == ["iv"]
    assert names(runs(root=catalog, temperature=lambda t: t > 100)) == ["cooldown"]
    assert names(runs(root=catalog, last=2)) == ["cooldown", "iv-gate"]
    with pytest.raises(ValueError, match="unknown status"):
        runs(root=catalog, status="finished")


def test_listing_reads_metadata_only_and_caches_it(catalog, monkeypatch):
    runs(root=catalog)
    assert sorted(p.parent.name for p in catalog.glob("*/.labkit-index.json")) == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-05",
    ]
    calls = []
    original = _scan._get_json
    monkeypatch.setattr(
        _scan, "_get_json", lambda s, key, limit: calls.append(key) or original(s, key, limit)
    )
    runs(root=catalog)
    assert all(key.endswith(".labkit-index.json") for key in calls), (
        "finished runs come from the index"
    )
    calls.clear()
    changed = runs(root=catalog, name="cooldown")[0].path
    document = json.loads((changed / "zarr.json").read_text())
    document["attributes"]["metadata"]["sample"] = "Z9"
    (changed / "zarr.json").write_text(json.dumps(document))
    assert names(runs(root=catalog, sample="Z9")) == ["cooldown"]
    read = [key for key in calls if not key.endswith(".labkit-index.json")]
    assert read == [f"{changed.parent.name}/{changed.name}/zarr.json"], (
        "a changed run is read again"
    )
    calls.clear()
    assert names(runs(root=catalog, refresh=True, sample="Z9")) == ["cooldown"]
    assert len([k for k in calls if k.endswith("/zarr.json")]) == len(runs(root=catalog))


def test_the_catalog_is_shown_as_a_table(catalog):
    found = runs(root=catalog)
    text = repr(found)
    assert text.splitlines()[0].split() == [
        "id",
        "name",
        "status",
        "start",
        "points",
        "instruments",
    ]
    assert "iv-gate" in text
    assert "<table>" in found._repr_html_()
    frame = found.to_dataframe()
    assert list(frame["name"]) == ["iv", "iv", "cooldown", "iv-gate"]
    assert frame["metadata.sample"].tolist() == ["A1", "A2", "A2", "B1"]
    assert found.latest.name == "iv-gate"
    assert found.latest.duration is not None


def test_a_live_run_is_running_and_a_dead_one_is_interrupted(tmp_path):
    root = tmp_path / "data"
    live = make_run(root, "live", when=dt.datetime.now(UTC), status=None)
    script = """
import datetime as dt, os, pathlib, sys
from labkit.store import RunWriter, Variable, new_run_id, store_path
run_id = new_run_id()
writer = RunWriter(
    store_path(pathlib.Path(sys.argv[1]), run_id, "dead"),
    [Variable("v", ("x",), (3,), "float64")],
    {"run_id": run_id, "name": "dead", "start_time": dt.datetime.now(dt.timezone.utc).isoformat()},
).create()
writer.record((0,), {"v": 1.0})
writer.flush()
os._exit(0)  # dies without finishing, as a killed kernel would
"""
    subprocess.run([sys.executable, "-c", script, str(root)], check=True)
    found = {r.name: r for r in runs(root=root)}
    assert found["live"].status == "running"
    assert found["dead"].status == "interrupted"
    assert found["dead"].stored_status == "running"
    assert found["dead"].points == 1
    assert names(runs(root=root, status="interrupted")) == ["dead"]
    assert labkit.open_run(found["dead"].path).attrs["status"] == "interrupted"
    live.finish("completed")
    assert read_info(live.path).status == "completed"


def test_runs_of_another_host_are_judged_by_their_heartbeat(tmp_path):
    root = tmp_path / "data"
    writer = make_run(root, "remote", when=dt.datetime.now(UTC), status="completed")
    document = json.loads((writer.path / "zarr.json").read_text())
    attributes = document["attributes"]
    attributes["status"] = "running"
    attributes["owner"] = {"host": socket.gethostname() + "-elsewhere", "pid": os.getpid()}
    attributes["heartbeat"] = dt.datetime.now(UTC).isoformat()
    (writer.path / "zarr.json").write_text(json.dumps(document))
    assert read_info(writer.path).status == "running"
    attributes["heartbeat"] = (dt.datetime.now(UTC) - dt.timedelta(hours=1)).isoformat()
    (writer.path / "zarr.json").write_text(json.dumps(document))
    assert read_info(writer.path).status == "interrupted"


def test_labkit_runs_is_the_catalog_and_the_steps_package(catalog):
    assert names(labkit.runs(root=catalog, status="aborted")) == ["iv-gate"]
    assert labkit.runs.Sweep.__name__ == "Sweep"
    from labkit.runs import Sweep

    assert Sweep is labkit.runs.Sweep
