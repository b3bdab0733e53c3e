"""Choose the backend: the C extension when it is built, else the NumPy twin.

``LABKIT_NATIVE=numpy`` forces the twin without even importing the extension (the escape hatch
when a build misbehaves); ``LABKIT_NATIVE=c`` insists on the extension and fails loudly without
it. Every public function also takes ``backend="c" | "numpy"`` to pick one explicitly, which is
how the tests compare the two.
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType, SimpleNamespace
from typing import Any

from labkit.native import _twin_decode, _twin_preview, _twin_recompose

__all__ = ["BACKENDS", "backend", "c_import_error", "kernels"]

TWIN = SimpleNamespace(
    name="numpy",
    decode_tables=_twin_decode.decode_tables,
    decode_batch_tables=_twin_decode.decode_batch_tables,
    recompose=_twin_recompose.recompose,
    preview=_twin_preview.preview,
)


def _load_c() -> tuple[ModuleType | None, str | None]:
    try:
        return importlib.import_module("labkit.native._cframes"), None
    except ImportError as error:
        return None, str(error)


def _choose(requested: str) -> tuple[dict[str, Any], str, str | None]:
    if requested == "numpy":
        return {"numpy": TWIN}, "numpy", "not imported: LABKIT_NATIVE=numpy"
    if requested not in ("", "auto", "c"):
        warnings.warn(
            f"LABKIT_NATIVE={requested!r} is not one of 'c', 'numpy', 'auto'; using 'auto'",
            RuntimeWarning,
            stacklevel=3,
        )
    module, error = _load_c()
    if module is None:
        if requested == "c":
            raise ImportError(f"LABKIT_NATIVE=c but labkit's C extension is unavailable: {error}")
        return {"numpy": TWIN}, "numpy", error
    return {"c": module, "numpy": TWIN}, "c", None


BACKENDS, backend, c_import_error = _choose(os.environ.get("LABKIT_NATIVE", "").strip().lower())


def kernels(name: str | None) -> Any:
    """The kernels of backend ``name`` (``None``: the default one)."""
    if name is None:
        return BACKENDS[backend]
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"backend {name!r} is not available here (available: {', '.join(BACKENDS)})"
        ) from None
