"""Reopening a run as a lazy, Dask-backed xarray Dataset, and exporting it.

Opening reads the metadata documents (one per array) and nothing else: coordinates that index
a dimension are small (one value per set-point), every other array stays on disk as Dask
chunks matching the Zarr chunks. So a megabyte and a terabyte open in the same time.
A run that is still going, or was killed, is cut to how far it got (``dims_written``).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from zarr.storage import LocalStore, WrapperStore

from labkit.store._catalog import RunInfo, RunNotFound, _info, _summary, find_by_name, read_attrs
from labkit.store._root import data_root, find_store, is_run_id

__all__ = ["export_run", "open_run", "resolve_run"]


class _CutStore(WrapperStore):
    """A read-only view of a store whose open-ended dimensions end where ``cut`` says."""

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


def resolve_run(ref: Any, root: str | os.PathLike[str] | None = None) -> Path:
    """The store of a run given as a path, a run id, a run name (the newest), a RunInfo or a Run."""
    if isinstance(ref, RunInfo):
        return ref.path
    path_attribute = getattr(ref, "path", None)
    if path_attribute is not None and not isinstance(ref, (str, os.PathLike)):
        return Path(path_attribute)
    if isinstance(ref, os.PathLike) or (isinstance(ref, str) and os.sep in ref):
        path = Path(ref).expanduser()
        if not (path / "zarr.json").exists():
            raise RunNotFound(f"no run store at {str(path)!r}")
        return path.absolute()
    if not isinstance(ref, str):
        raise TypeError(f"open_run takes a run id, name or path, not {type(ref).__name__}")
    folder = data_root(root)
    if is_run_id(ref):
        store = find_store(folder, ref)
        if store is None:
            raise RunNotFound(
                f"no run {ref} in {str(folder)!r}",
                hint="Pass root= (or set LABKIT_DATA) if it was saved elsewhere",
            )
        return store
    if Path(ref).suffix == ".zarr" and (Path(ref) / "zarr.json").exists():
        return Path(ref).absolute()
    return find_by_name(ref, root).path


def open_run(
    ref: Any,
    *,
    root: str | os.PathLike[str] | None = None,
    chunks: Any = None,
) -> Any:
    """Open a run as a lazy ``xarray.Dataset``: coordinates, units and metadata in ``attrs``.

    ``ref`` is a run id, a run name (the newest run of that name), a path to a store, or what
    ``labkit.find_runs()`` or a run returned. ``chunks`` is passed to xarray (default: the Zarr
    chunks, as Dask arrays).
    """
    import xarray as xr

    path = resolve_run(ref, root)
    attrs = read_attrs(path)
    info = _info(path, _summary(attrs))
    target: Any = str(path)
    if info.stored_status not in ("completed", "aborted", "failed"):
        # Still running, or killed: open-ended dimensions are cut to what was flushed. The
        # cut is applied to the metadata as it is read, so arrays caught mid-resize (or left
        # so by a kill) still agree on their dimensions.
        written = attrs.get("dims_written") or {}
        declared = attrs.get("dims") or {}
        cut = {dim: int(written.get(dim, 0)) for dim, size in declared.items() if size is None}
        if cut:
            target = _CutStore(LocalStore(str(path), read_only=True), cut)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*consolidated.*")
        # A run still writing has chunks in flight as zarr's temporary "<key>.<uuid>.partial"
        # files (written, then renamed): not part of the hierarchy, and not worth a warning.
        warnings.filterwarnings("ignore", message=r"Object at .*\.partial is not recognized")
        dataset = xr.open_zarr(
            target,
            consolidated=False,
            zarr_format=3,
            chunks={} if chunks is None else chunks,
        )
    dataset.attrs["status"] = info.status
    if info.status != info.stored_status:
        dataset.attrs["stored_status"] = info.stored_status
    dataset.attrs["path"] = str(path)
    return dataset


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


def export_run(
    ref: Any,
    target: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    format: str | None = None,
) -> Path:
    """Write a run to NetCDF-4 (``.nc``) or plain HDF5 (``.h5``) through xarray and h5netcdf.

    Nested metadata (snapshot, plan, provenance) is stored as JSON text attributes.
    """
    target = Path(target)
    kind = format or ("hdf5" if target.suffix.lower() in (".h5", ".hdf5", ".hdf") else "netcdf")
    if kind not in ("netcdf", "hdf5"):
        raise ValueError(f"format {kind!r} is not 'netcdf' or 'hdf5'")
    dataset = open_run(ref, root=root)
    dataset = dataset.copy()
    dataset.attrs = _flat_attrs(dict(dataset.attrs))
    for name in list(dataset.variables):
        variable = dataset[name]
        variable.attrs = _flat_attrs(dict(variable.attrs))
        if variable.dtype.kind == "T":  # NumPy's variable-length strings: NetCDF wants objects
            dataset[name] = variable.astype(object)
        for key in ("chunks", "preferred_chunks", "compressors", "filters", "serializer", "shards"):
            dataset[name].encoding.pop(key, None)
    dataset.to_netcdf(target, engine="h5netcdf", invalid_netcdf=(kind == "hdf5"))
    return target
