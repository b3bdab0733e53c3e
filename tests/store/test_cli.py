"""``labkit runs`` on the command line: list, show, export, validate."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import labkit
from labkit.store import configure_parser, main, run_command


@pytest.fixture
def two_runs(lab):
    first = labkit.sweep(
        lab.smu.settings.voltage,
        [0, 1],
        read=[lab.dmm.readings.current],
        name="iv",
        metadata={"sample": "A1"},
    )
    first.wait()
    second = labkit.sweep(
        lab.smu.settings.voltage,
        np.linspace(0, 1, 5),
        read=[lab.dmm.readings.current],
        name="long",
    )
    second.wait()
    return first, second


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="labkit runs")
    configure_parser(parser)
    out = io.StringIO()
    status = run_command(parser.parse_args(argv), out=out)
    return status, out.getvalue()


def test_list_and_filter(two_runs, data_root):
    status, text = run_cli()
    assert status == 0
    assert "iv" in text
    assert "long" in text
    status, text = run_cli("--name", "iv", "--json")
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["name"] for r in records] == ["iv"]
    assert records[0]["metadata.sample"] == "A1"
    status, text = run_cli("--meta", "sample=A1", "--status", "completed")
    assert "iv" in text
    assert "long" not in text


def test_show_export_and_validate(two_runs, tmp_path):
    first, _ = two_runs
    status, text = run_cli("show", first.id, "--json")
    assert status == 0
    shown = json.loads(text)
    assert shown["run_id"] == first.id
    assert shown["snapshot"]["smu"]["settings"]["voltage"]["unit"] == "V"
    status, text = run_cli("export", "long", str(tmp_path / "long.nc"))
    assert status == 0
    assert (tmp_path / "long.nc").exists()
    status, text = run_cli("validate", first.id)
    assert status == 0
    assert "conforms to Zarr v3" in text


def test_unknown_runs_exit_with_an_error(data_root, capsys):
    assert main(["show", "no-such-run"]) == 2
    assert "no run named 'no-such-run'" in capsys.readouterr().err


def test_python_m_labkit_store_runs_the_command(two_runs, data_root):
    done = subprocess.run(
        [sys.executable, "-m", "labkit.store", "--last", "1"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LABKIT_DATA": str(data_root)},
    )
    assert "long" in done.stdout
    assert " iv " not in done.stdout


def test_the_labkit_command_has_a_runs_subcommand(two_runs, data_root, capsys):
    from labkit.cli import main as labkit_main

    assert labkit_main(["runs", "--name", "long"]) == 0
    out = capsys.readouterr().out
    assert "long" in out
    assert labkit_main(["runs", "validate", "iv"]) == 0
    assert "conforms to Zarr v3" in capsys.readouterr().out


def test_building_the_command_line_loads_no_storage_library():
    code = (
        "import sys, labkit.cli; labkit.cli._parser(); "
        "print(','.join(m for m in ('zarr', 'xarray', 'dask', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
