"""Exporting a run: NetCDF-4 and HDF5 (every variable), Parquet and CSV (tables of scalars).

The format follows the file's suffix (``.nc``, ``.h5``/``.hdf5``, ``.parquet``, ``.csv``) or
``format=``; anything else is refused before a byte is written. A table has one row per
point and one column per scalar variable recorded over the same dimensions (the
dimensions become index columns); a run whose data lie over different dimensions (a camera's
frames beside its frame numbers, a sweep beside a time series) is refused naming them, and
``variables=`` picks the ones that share dimensions. Parquet keeps the run's metadata (in the
schema, as JSON under ``labkit``) and each column's units; CSV is plain values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from labkit.core import ConfigurationError
from labkit.store._location import Location
from labkit.store._open import open_run

__all__ = ["EXPORT_FORMATS", "export_run"]

EXPORT_FORMATS = {
    ".nc": "netcdf",
    ".nc4": "netcdf",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}
_KINDS = ("netcdf", "hdf5", "parquet", "csv")


def _flat_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """NetCDF attributes are scalars, strings or 1-D arrays: nested metadata becomes JSON."""
    flat: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            flat[key] = int(value)
        elif isinstance(value, (dict, list, tuple)):
            flat[key] = json.dumps(value)
        else:
            flat[key] = value
    return flat


def _kind(target: Path, format: str | None) -> str:
    if format is not None:
        if format not in _KINDS:
            raise ConfigurationError(
                f"cannot export to the format {format!r}", hint=f"Use one of {', '.join(_KINDS)}"
            )
        return format
    kind = EXPORT_FORMATS.get(target.suffix.lower())
    if kind is None:
        raise ConfigurationError(
            f"cannot export a run to {target.name!r}: the suffix {target.suffix or '(none)'!r} "
            "names no format labkit writes",
            hint="Use .nc (NetCDF-4), .h5 (HDF5), .parquet or .csv, or pass format=",
        )
    return kind


def _hdf(dataset: Any, target: Path, kind: str) -> None:
    dataset = dataset.copy()
    dataset.attrs = _flat_attrs(dict(dataset.attrs))
    for name in list(dataset.variables):
        variable = dataset[name]
        variable.attrs = _flat_attrs(dict(variable.attrs))
        for key in ("chunks", "preferred_chunks", "compressors", "filters", "serializer", "shards"):
            dataset[name].encoding.pop(key, None)
        dataset[name].encoding.pop("fill_value", None)
    dataset.to_netcdf(target, engine="h5netcdf", invalid_netcdf=(kind == "hdf5"))


def _frame(dataset: Any) -> Any:
    """One table from the variables that share the run's point dimensions."""
    columns = [n for n in dataset.variables if n not in dataset.dims]
    layouts: dict[tuple[str, ...], list[str]] = {}
    for name in columns:
        layouts.setdefault(tuple(dataset[name].dims), []).append(name)
    if len(layouts) != 1:
        described = "; ".join(
            f"({', '.join(dims) or 'no dimension'}): {', '.join(names)}"
            for dims, names in layouts.items()
        )
        raise ConfigurationError(
            f"a table holds variables over the same dimensions, and this run's lie over "
            f"several: {described}",
            hint="Pick one set with variables=[...], or export to .nc or .h5 (every variable)",
        )
    ((dims, names),) = layouts.items()
    selected = dataset.reset_coords()[names]
    for dim in dims:
        if dim not in selected.coords:
            selected = selected.assign_coords({dim: range(dataset.sizes[dim])})
    if not dims:
        import pandas as pd

        return pd.DataFrame({n: [selected[n].values.item()] for n in names})
    return selected.to_dataframe()[names]


def _parquet(dataset: Any, frame: Any, target: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigurationError(
            "exporting to Parquet needs the package pyarrow, which is not installed",
            hint="pip install pyarrow (or labkit[lab])",
        ) from None
    table = pa.Table.from_pandas(frame)
    fields = []
    for field in table.schema:
        meta = {}
        if field.name in dataset.variables:
            for key in ("units", "long_name"):
                value = dataset[field.name].attrs.get(key)
                if value is not None:
                    meta[key] = str(value)
        fields.append(field.with_metadata(meta) if meta else field)
    run_attrs = json.dumps(dataset.attrs, default=str).encode()
    schema = pa.schema(fields, metadata={**(table.schema.metadata or {}), b"labkit": run_attrs})
    pq.write_table(table.cast(schema), target)


def export_run(
    ref: Any,
    target: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
    format: str | None = None,
    variables: Iterable[str] | None = None,
) -> Path:
    """Write a run to NetCDF-4 (``.nc``), plain HDF5 (``.h5``), Parquet or CSV.

    In NetCDF and HDF5 nested metadata (snapshot, plan, provenance) is stored as JSON text
    attributes. ``variables`` exports only those (and their coordinates).
    """
    target = Path(target)
    kind = _kind(target, format)
    dataset = open_run(ref, root=root, storage_options=storage_options)
    if variables is not None:
        wanted = list(variables)
        missing = [n for n in wanted if n not in dataset.variables]
        if missing:
            raise ConfigurationError(
                f"the run has no variable {', '.join(map(repr, missing))}",
                hint=f"Its variables: {', '.join(map(str, dataset.variables))}",
            )
        dataset = dataset[wanted]
    if kind in ("netcdf", "hdf5"):
        _hdf(dataset, target, kind)
        return target
    frame = _frame(dataset)
    if kind == "parquet":
        _parquet(dataset, frame, target)
    else:
        frame.to_csv(target)
    return target
