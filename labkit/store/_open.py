"""Reopening a run as a lazy, Dask-backed xarray Dataset, from a folder or any store URL.

Opening reads the group's document (the run's metadata and, inline, every array's) and
nothing else: coordinates that index a dimension are small (one value per set-point), every
other array stays in the store as Dask chunks matching the Zarr chunks. So a megabyte and a
terabyte open in the same time, from a disk or a bucket.

The group's document says what is durable (see :mod:`labkit.store._writer`), so a run still
going, or killed, opens at the length it reached. Points whose data is stored but whose time
is not yet (a flush under way) are hidden, so a live reader never sees half a point. Text
stored as codes comes back as text. Stores of format 1 (no inline metadata) are cut to their
``dims_written`` as the format then said.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from zarr.storage import WrapperStore

from labkit.store._catalog import RunInfo, RunNotFound, _info, _summary, find_by_name
from labkit.store._location import Location, location
from labkit.store._root import as_store, data_root, day_folder, is_run_id
from labkit.store._scan import find_store_name, read_document

__all__ = ["open_run", "resolve_run"]

_FINAL = ("completed", "aborted", "failed")


class _CutStore(WrapperStore):
    """A read-only view of a format-1 store whose open-ended dimensions end where ``cut`` says."""

    def __init__(self, store: Any, cut: dict[str, int] | None = None) -> None:
        super().__init__(store)
        self._cut = dict(cut or {})

    def _with_store(self, store: Any) -> _CutStore:
        return type(self)(store, self._cut)

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        buffer = await self._store.get(key, prototype, byte_range)
        if buffer is None or byte_range is not None or not key.endswith("/zarr.json"):
            return buffer
        meta = json.loads(buffer.to_bytes())
        if meta.get("node_type") != "array":
            return buffer
        names = meta.get("dimension_names") or []
        meta["shape"] = [
            min(size, self._cut[name]) if name in self._cut else size
            for size, name in zip(meta["shape"], names, strict=False)
        ] + meta["shape"][len(names) :]
        return prototype.buffer.from_bytes(json.dumps(meta).encode())


def _exists(where: Location) -> bool:
    return read_document(where) is not None


def resolve_run(
    ref: Any,
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """The store of a run given as a path or URL, a run id, a run name (the newest), a
    RunInfo or a Run: a Path for a local store, a Location otherwise."""
    if isinstance(ref, RunInfo):
        return ref.path
    if isinstance(ref, Location):
        return as_store(location(ref, storage_options))
    path_attribute = getattr(ref, "path", None)
    if path_attribute is not None and not isinstance(ref, (str, os.PathLike)):
        return as_store(location(path_attribute))
    if isinstance(ref, str) and "://" in ref:
        where = location(ref, storage_options)
        if not _exists(where):
            raise RunNotFound(f"no run store at {ref!r}")
        return as_store(where)
    if isinstance(ref, os.PathLike) or (isinstance(ref, str) and os.sep in ref):
        where = location(ref)
        if not _exists(where):
            raise RunNotFound(f"no run store at {str(where)!r}")
        return as_store(where)
    if not isinstance(ref, str):
        raise TypeError(f"open_run takes a run id, name, path or URL, not {type(ref).__name__}")
    folder = data_root(root, storage_options)
    if is_run_id(ref):
        day = day_folder(ref)
        name = find_store_name(folder, day, ref)
        if name is None:
            raise RunNotFound(
                f"no run {ref} in {str(folder)!r}",
                hint="Pass root= (or set LABKIT_DATA) if it was saved elsewhere",
            )
        return as_store(folder / day / name)
    if ref.endswith(".zarr") and _exists(location(ref)):
        return as_store(location(ref))
    return find_by_name(ref, root, storage_options).path


def _decode_labels(dataset: Any) -> Any:
    """Text stored as int32 codes into a ``labels`` attribute, back to text (lazily)."""
    import xarray as xr

    changes: dict[str, Any] = {}
    for name, variable in dataset.variables.items():
        labels = variable.attrs.get("labels")
        if not isinstance(labels, list) or variable.dtype.kind not in "iu":
            continue
        table = np.array([*[str(x) for x in labels], ""])  # code -1 (no value) → ""
        data = variable.data
        if hasattr(data, "map_blocks"):
            decoded = data.map_blocks(table.__getitem__, dtype=table.dtype)
        else:
            decoded = table[np.asarray(data)]
        attrs = {k: v for k, v in variable.attrs.items() if k != "labels"}
        changes[name] = xr.Variable(variable.dims, decoded, attrs)
    if not changes:
        return dataset
    coords = {n: v for n, v in changes.items() if n in dataset.coords}
    data_vars = {n: v for n, v in changes.items() if n not in coords}
    return dataset.assign_coords(coords).assign(data_vars)


def _hide_unstored(dataset: Any) -> Any:
    """Mask values whose point has no time yet (written while the run flushes): the time is
    read first, so data read later is at least as new, and every point shown is whole."""
    times: dict[str, Any] = {}
    masked: dict[str, Any] = {}
    for name, variable in dataset.data_vars.items():
        if variable.dtype.kind not in "fcM":
            continue
        for stamp in str(variable.encoding.get("coordinates", "")).split():
            if stamp in dataset.variables and dataset[stamp].dtype.kind == "M":
                if stamp not in times:
                    times[stamp] = dataset[stamp].load().notnull()
                present = times[stamp]
                if not bool(present.all()):
                    masked[name] = variable.where(present)
    return dataset.assign(masked) if masked else dataset


def open_run(
    ref: Any,
    *,
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
    chunks: Any = None,
) -> Any:
    """Open a run as a lazy ``xarray.Dataset``: coordinates, units and metadata in ``attrs``.

    ``ref`` is a run id, a run name (the newest run of that name), a path or URL of a store
    (``s3://bucket/runs/2026-11-24/…_iv.zarr``), or what ``labkit.runs()`` or a run returned.
    ``root`` and ``storage_options`` say where to look up ids and names (default: the data
    root). ``chunks`` is passed to xarray (default: the Zarr chunks, as Dask arrays).
    """
    import xarray as xr

    where = location(resolve_run(ref, root, storage_options))
    document = read_document(where)
    if document is None:
        raise RunNotFound(f"no run store at {str(where)!r}")
    attrs = dict(document.get("attributes") or {})
    info = _info(where, _summary(attrs))
    final = info.stored_status in _FINAL
    target: Any = where.store(read_only=True)
    consolidated = "consolidated_metadata" in document
    if not consolidated and not final:
        written = attrs.get("dims_written") or {}
        declared = attrs.get("dims") or {}
        cut = {dim: int(written.get(dim, 0)) for dim, size in declared.items() if size is None}
        if cut:
            target = _CutStore(target, cut)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*consolidated.*")
        # A local run still writing has chunks in flight as zarr's temporary
        # "<key>.<uuid>.partial" files: not part of the hierarchy, not worth a warning.
        warnings.filterwarnings("ignore", message=r"Object at .*\.partial is not recognized")
        dataset = xr.open_zarr(
            target,
            consolidated=consolidated,
            zarr_format=3,
            chunks={} if chunks is None else chunks,
        )
    if not final:
        dataset = _hide_unstored(dataset)
    dataset = _decode_labels(dataset)
    dataset.attrs["status"] = info.status
    if info.status != info.stored_status:
        dataset.attrs["stored_status"] = info.stored_status
    dataset.attrs["path"] = str(where)
    return dataset
