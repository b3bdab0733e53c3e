"""Choosing the backend: the environment variable, a missing extension, and the layer rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import labkit.native as ln
from labkit.native import _select
from labkit.native._layout import HEADER_DTYPE, ROI_DTYPE

SMOKE = """
import json, sys
import numpy as np
import labkit.native as ln
frame = ln.decode_frame(ln.build_frame([ln.RoiSpec((0, 3, 1, 0, 3, 1), np.eye(4, dtype=int) * 9)]))
image = ln.recompose(frame)
shown = ln.preview(image)
print(json.dumps({
    "backend": ln.backend,
    "available": list(ln.available_backends),
    "c_loaded": "labkit.native._cframes" in sys.modules,
    "error": ln.c_import_error,
    "sum": int(image.sum()),
    "levels": list(shown.levels),
}))
"""

BLOCK_EXTENSION = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "labkit.native._cframes":
            raise ImportError("simulated: no compiler when labkit was installed")
sys.meta_path.insert(0, Block())
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "LABKIT_NATIVE"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
    )


def smoke(prefix: str = "", **env: str) -> dict:
    done = run_python(prefix + SMOKE, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_env_var_forces_the_twin_without_importing_the_extension() -> None:
    result = smoke(LABKIT_NATIVE="numpy")
    assert result["backend"] == "numpy"
    assert result["available"] == ["numpy"]
    assert not result["c_loaded"]
    assert result["sum"] == 36
    assert result["levels"] == [0, 9]


def test_everything_works_when_the_extension_cannot_be_imported() -> None:
    result = smoke(BLOCK_EXTENSION)
    assert result["backend"] == "numpy"
    assert "simulated" in result["error"]
    assert result["sum"] == 36
    assert result["levels"] == [0, 9]


def test_insisting_on_c_without_it_fails_loudly() -> None:
    done = run_python(BLOCK_EXTENSION + "import labkit.native", LABKIT_NATIVE="c")
    assert done.returncode != 0
    assert "LABKIT_NATIVE=c but labkit's C extension is unavailable" in done.stderr


def test_an_unknown_env_value_warns_and_chooses_automatically() -> None:
    done = run_python(
        "import warnings; warnings.simplefilter('error')\nimport labkit.native",
        LABKIT_NATIVE="fast",
    )
    assert done.returncode != 0
    assert "LABKIT_NATIVE='fast' is not one of" in done.stderr


@pytest.mark.usefixtures("need_c")
def test_default_is_c_when_built() -> None:
    result = smoke()
    assert result["backend"] == "c"
    assert result["available"] == ["c", "numpy"]


def test_unknown_backend_argument() -> None:
    with pytest.raises(ValueError, match="backend 'gpu' is not available here"):
        ln.decode_frame(b"", backend="gpu")
    assert _select.kernels(None).name == ln.backend


@pytest.mark.usefixtures("need_c")
def test_c_structs_match_the_shared_record_layouts() -> None:
    layout = _select.BACKENDS["c"].record_layout()
    for name, dtype in (("header", HEADER_DTYPE), ("roi", ROI_DTYPE)):
        fields = {key: (dtype.fields[key][1], dtype.fields[key][0].itemsize) for key in dtype.names}
        assert layout[name] == fields


def test_native_imports_only_core_and_numpy() -> None:
    code = textwrap.dedent(
        """
        import sys
        import labkit.native
        heavy = ["ipywidgets", "bqplot", "zarr", "pyvisa", "xarray", "dask"]
        print([m for m in heavy if m in sys.modules])
        print(sorted(m for m in sys.modules if m.startswith("labkit.") and
                     not m.startswith(("labkit.native", "labkit.core"))))
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "[]"]
