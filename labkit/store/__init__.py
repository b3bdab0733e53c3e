"""labkit.store: one Zarr v3 store per run, the catalog of runs, and reopening them lazily.

``store`` imports only ``core``: the run engine (``labkit.runs``) describes what to store as
:class:`Variable` objects and writes through a :class:`RunWriter`; analysts use
:func:`runs`, :func:`open_run`, :func:`open_runs` and :func:`export_run`. A data root is a
folder or any Zarr store URL (:class:`Location`). Names load on first use, so ``import
labkit`` loads neither zarr nor xarray.
"""

from __future__ import annotations

from labkit.core._lazy import lazy_names

# "name": "module" — the attribute has the same name there.
_LAZY = {
    "FORMAT_VERSION": "labkit.store._writer",
    "RunWriter": "labkit.store._writer",
    "StorageError": "labkit.store._writer",
    "time_value": "labkit.store._writer",
    "NO_LABEL": "labkit.store._variables",
    "TIME_FILL": "labkit.store._variables",
    "Variable": "labkit.store._variables",
    "dtype_for_kind": "labkit.store._variables",
    "shard_items": "labkit.store._variables",
    "RunInfo": "labkit.store._catalog",
    "RunList": "labkit.store._catalog",
    "RunNotFound": "labkit.store._catalog",
    "read_info": "labkit.store._catalog",
    "runs": "labkit.store._catalog",
    "configure_parser": "labkit.store._cli",
    "main": "labkit.store._cli",
    "run_command": "labkit.store._cli",
    "jsonable": "labkit.store._jsonable",
    "EXPORT_FORMATS": "labkit.store._export",
    "export_run": "labkit.store._export",
    "Location": "labkit.store._location",
    "location": "labkit.store._location",
    "open_runs": "labkit.store._many",
    "open_run": "labkit.store._open",
    "resolve_run": "labkit.store._open",
    "check_writable": "labkit.store._root",
    "data_root": "labkit.store._root",
    "new_run_id": "labkit.store._root",
    "store_path": "labkit.store._root",
    "validate_store": "labkit.store._validate",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_names(globals(), _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
