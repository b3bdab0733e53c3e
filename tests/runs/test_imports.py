"""Runs and storage stay headless: no widget or plotting library unless a widget is shown."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_runs_and_store_do_not_load_ui_libraries():
    loaded = _modules_after("import labkit.runs, labkit.store")
    assert "ipywidgets" not in loaded
    assert "bqplot" not in loaded


def test_import_labkit_does_not_load_the_run_machinery():
    loaded = _modules_after("import labkit")
    for heavy in ("zarr", "xarray", "labkit.runs", "labkit.store", "dask"):
        assert heavy not in loaded, heavy


def test_runs_are_found_with_find_runs_and_the_old_call_still_works_with_a_warning(tmp_path):
    import labkit

    assert labkit.find_runs(root=tmp_path) == []
    with pytest.warns(DeprecationWarning, match="labkit.find_runs"):
        assert labkit.runs(root=tmp_path) == []
