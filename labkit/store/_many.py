"""Many runs as one lazy Dataset: a selection concatenated along a ``run`` dimension.

Runs share a layout when they record the same variables over dimensions of the same names
and lengths (a series of IV curves, one camera movie per sample). Their metadata documents
are read in parallel; the data stays in the stores as Dask chunks, so a cluster reads each
chunk where it lies (give workers URLs they reach: object storage, a shared file system).
Set-points equal in every run stay the dimension's index; set-points that differ become a
coordinate along ``run`` too (``smu_voltage(run, smu_voltage)``).
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from labkit.core import ConfigurationError
from labkit.store._catalog import RunList, _parse_time
from labkit.store._location import Location
from labkit.store._open import open_run

__all__ = ["open_runs"]

_PARALLEL = 8  # runs opened at once (each is a few metadata reads)


def _layout(dataset: Any) -> tuple[Any, ...]:
    return tuple(
        sorted(
            (name, tuple(variable.dims), variable.dtype.kind)
            for name, variable in dataset.variables.items()
        )
    ) + tuple(sorted(dataset.sizes.items()))


def _utc(text: Any) -> np.datetime64:
    moment = _parse_time(text)
    if moment is None:
        return np.datetime64("NaT", "ns")
    return np.datetime64(moment.astimezone(_dt.timezone.utc).replace(tzinfo=None), "ns")


def _equal_indexes(datasets: list[Any], dim: str) -> bool:
    first = datasets[0].indexes[dim]
    return all(ds.indexes[dim].equals(first) for ds in datasets[1:])


def open_runs(
    selection: Iterable[Any] | RunList,
    *,
    dim: str = "run",
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
    chunks: Any = None,
) -> Any:
    """Open the runs of ``selection`` (what :func:`labkit.runs` returned, or run ids, names,
    paths, URLs) as one lazy ``xarray.Dataset`` along ``dim``.

    Coordinates along ``dim``: the run ids, and ``run_name``, ``run_status``, ``run_start``.
    Runs of different layouts are refused, naming them (select them apart).
    """
    import xarray as xr

    refs = list(selection)
    if not refs:
        raise ConfigurationError(
            "open_runs needs at least one run", hint="labkit.runs() lists them"
        )

    def one(ref: Any) -> Any:
        return open_run(ref, root=root, storage_options=storage_options, chunks=chunks)

    with concurrent.futures.ThreadPoolExecutor(min(_PARALLEL, len(refs))) as pool:
        datasets = list(pool.map(one, refs))
    layouts: dict[tuple[Any, ...], list[str]] = {}
    for ds in datasets:
        layouts.setdefault(_layout(ds), []).append(str(ds.attrs.get("run_id")))
    if len(layouts) > 1:
        groups = "; ".join(
            ", ".join(ids[:3]) + ("…" if len(ids) > 3 else "") for ids in layouts.values()
        )
        raise ConfigurationError(
            f"these runs do not share a layout (variables, dimensions, lengths): {groups}",
            hint="Select runs of one kind, e.g. labkit.runs(name='iv*'), or open them one by one",
        )
    varying = [d for d in datasets[0].indexes if not _equal_indexes(datasets, d)]
    if varying:
        datasets = [ds.drop_indexes(varying).reset_coords(varying) for ds in datasets]
        datasets = [ds.set_coords(varying) for ds in datasets]
    attrs = [ds.attrs for ds in datasets]
    stripped = [ds.drop_attrs(deep=False) for ds in datasets]
    combined = xr.concat(
        stripped, dim=dim, data_vars="all", coords="all", compat="override", join="exact"
    )
    starts = [_utc(a.get("start_time")) for a in attrs]
    return combined.assign_coords(
        {
            dim: [str(a.get("run_id")) for a in attrs],
            f"{dim}_name": (dim, [str(a.get("name", "")) for a in attrs]),
            f"{dim}_status": (dim, [str(a.get("status", "")) for a in attrs]),
            f"{dim}_start": (dim, np.array(starts, dtype="datetime64[ns]")),
        }
    )
