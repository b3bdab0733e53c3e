"""The catalog's raw material: day folders, run stores and their group documents.

Everything goes through zarr's store layer, so a local folder and a bucket are read by the
same code: one listing of the root, one listing per day folder (in parallel), then each run's
``zarr.json`` — the only document a summary needs — fetched concurrently.

**The index.** Each day folder may hold ``.labkit-index.json``, the summaries of its runs as
last read. It is a cache rebuilt from the runs' own documents whenever it is stale: a
listed store it does not know, or knew only as still running, is read afresh; a store no
longer listed is dropped. A finished run's summary is taken from the index without reading
its store: on a local disk only while its ``zarr.json`` keeps its modification time and size
(a ``stat``, cheap); on object storage, where that would cost a request per run, because a
finished store never changes (format §6). ``refresh=True`` reads every store. A catalog that
cannot write the index (a read-only bucket) still lists, only slower.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from zarr.core.sync import sync

from labkit.store._arrays import BUFFERS
from labkit.store._location import Location
from labkit.store._root import is_day, is_store_of

__all__ = ["CONCURRENCY", "INDEX_NAME", "find_store_name", "read_document", "scan"]

INDEX_NAME = ".labkit-index.json"
INDEX_VERSION = 2
CONCURRENCY = 64  # documents fetched at once
FINAL = ("completed", "aborted", "failed")


async def _listing(store: Any, prefix: str) -> list[str]:
    """Names directly under ``prefix``, as the store says now (no cached listing)."""
    fs = getattr(store, "fs", None)
    if fs is not None:  # fsspec filesystems (s3fs...) cache listings: ask afresh
        invalidate = getattr(fs, "invalidate_cache", None)
        if invalidate is not None:
            try:
                invalidate(f"{store.path}/{prefix}".rstrip("/"))
            except Exception:
                pass
    names = [name.rstrip("/").rsplit("/", 1)[-1] async for name in store.list_dir(prefix)]
    return sorted(set(names))


async def _get_json(store: Any, key: str, limit: asyncio.Semaphore) -> Any:
    async with limit:
        try:
            buffer = await store.get(key, BUFFERS)
        except (OSError, ValueError):
            return None
    if buffer is None:
        return None
    try:
        return json.loads(buffer.to_bytes())
    except ValueError:
        return None


def summary(attrs: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's metadata the catalog keeps (no snapshot, no plan)."""
    return {
        "id": attrs.get("run_id"),
        "name": attrs.get("name", ""),
        "status": attrs.get("status", "running"),
        "start_time": attrs.get("start_time"),
        "end_time": attrs.get("end_time"),
        "points_written": attrs.get("points_written", 0),
        "points_total": attrs.get("points_total"),
        "instruments": attrs.get("instruments", []),
        "metadata": attrs.get("metadata", {}),
        "owner": attrs.get("owner"),
        "heartbeat": attrs.get("heartbeat"),
        "error": attrs.get("error"),
    }


def _stamps(root: Location, day: str, names: list[str]) -> dict[str, Any]:
    """(mtime, size) of each local store's zarr.json; nothing to compare on object storage."""
    if root.path is None:
        return {}
    stamps: dict[str, Any] = {}
    for name in names:
        try:
            stat = os.stat(root.path / day / name / "zarr.json")
        except OSError:
            continue
        stamps[name] = [stat.st_mtime_ns, stat.st_size]
    return stamps


def _still_good(entry: Any, stamp: Any) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("status") in FINAL
        and entry.get("stamp") == stamp  # None == None on object storage
    )


async def _day(
    root: Location,
    store: Any,
    writable: Any,
    day: str,
    limit: asyncio.Semaphore,
    use_index: bool,
    refresh: bool,
) -> list[tuple[str, str, dict[str, Any]]]:
    names = [n for n in await _listing(store, day) if n.endswith(".zarr")]
    known: dict[str, Any] = {}
    if use_index:
        document = await _get_json(store, f"{day}/{INDEX_NAME}", limit)
        if isinstance(document, dict) and document.get("version") == INDEX_VERSION:
            known = dict(document.get("entries") or {})
    stamps = _stamps(root, day, names)
    fresh = {
        name: known[name]
        for name in names
        if not refresh and _still_good(known.get(name), stamps.get(name))
    }
    to_read = [name for name in names if name not in fresh]
    documents = await asyncio.gather(
        *(_get_json(store, f"{day}/{name}/zarr.json", limit) for name in to_read)
    )
    for name, document in zip(to_read, documents, strict=True):
        if isinstance(document, dict) and isinstance(document.get("attributes"), dict):
            fresh[name] = summary(document["attributes"])
            if name in stamps:
                fresh[name]["stamp"] = stamps[name]
    if use_index and writable is not None and fresh != known:
        index = {"version": INDEX_VERSION, "entries": fresh}
        text = json.dumps(index, allow_nan=False, separators=(",", ":"), default=str).encode()
        try:
            await writable.set(f"{day}/{INDEX_NAME}", BUFFERS.buffer.from_bytes(text))
        except Exception:
            pass  # a read-only root still lists, only slower
    return [(day, name, fresh[name]) for name in names if name in fresh]


async def _scan(
    root: Location,
    days: Any,
    use_index: bool,
    refresh: bool,
) -> list[tuple[str, str, dict[str, Any]]]:
    store = root.store(read_only=True)
    writable = None
    if use_index:
        try:
            writable = root.store()
        except Exception:
            writable = None
    listed = [d for d in await _listing(store, "") if is_day(d)]
    wanted = [d for d in listed if days(d)]
    limit = asyncio.Semaphore(CONCURRENCY)
    found = await asyncio.gather(
        *(_day(root, store, writable, day, limit, use_index, refresh) for day in wanted)
    )
    return [entry for day in found for entry in day]


def scan(
    root: Location, days: Any = None, *, use_index: bool = True, refresh: bool = False
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(day, store name, summary)`` of every run under ``root`` in the days ``days(day)``
    accepts (all by default)."""
    if root.path is not None and not root.path.is_dir():
        return []
    return sync(_scan(root, days or (lambda day: True), use_index, refresh))


def find_store_name(root: Location, day: str, run_id: str) -> str | None:
    """The name of ``run_id``'s store in ``day`` (one folder listing, no scan of the root)."""

    async def look() -> list[str]:
        return await _listing(root.store(read_only=True), day)

    if root.path is not None and not (root.path / day).is_dir():
        return None
    for name in sync(look()):
        if is_store_of(name, run_id):
            return name
    return None


def read_document(store: Location) -> dict[str, Any] | None:
    """A store's root ``zarr.json`` as JSON; None if there is none."""
    if store.path is not None:
        try:
            with open(store.path / "zarr.json", "rb") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None

    async def get() -> Any:
        return await _get_json(store.store(read_only=True), "zarr.json", asyncio.Semaphore(1))

    document = sync(get())
    return document if isinstance(document, dict) else None
