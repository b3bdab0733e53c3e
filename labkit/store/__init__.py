"""labkit.store: one Zarr v3 store per run, the catalog of runs, and reopening them lazily.

``store`` imports only ``core``: the run engine (``labkit.runs``) describes what to store as
:class:`Variable` objects and writes through a :class:`RunWriter`; analysts use
:func:`runs`, :func:`open_run` and :func:`export_run`.
"""

from labkit.store._catalog import RunInfo, RunList, RunNotFound, read_info, runs
from labkit.store._cli import configure_parser, main, run_command
from labkit.store._jsonable import jsonable
from labkit.store._open import export_run, open_run, resolve_run
from labkit.store._root import check_writable, data_root, new_run_id, store_path
from labkit.store._validate import validate_store
from labkit.store._variables import TIME_FILL, Variable, dtype_for_kind
from labkit.store._writer import FORMAT_VERSION, RunWriter, StorageError, time_value

__all__ = [
    "FORMAT_VERSION",
    "TIME_FILL",
    "RunInfo",
    "RunList",
    "RunNotFound",
    "RunWriter",
    "StorageError",
    "Variable",
    "check_writable",
    "configure_parser",
    "data_root",
    "dtype_for_kind",
    "export_run",
    "jsonable",
    "main",
    "new_run_id",
    "open_run",
    "read_info",
    "resolve_run",
    "run_command",
    "runs",
    "store_path",
    "time_value",
    "validate_store",
]
