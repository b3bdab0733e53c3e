"""The catalog: find runs by name, date, status, instrument or metadata without opening data.

Listing reads one small JSON document per run (the group's ``zarr.json``), concurrently, and
nothing else, from a local folder or a bucket alike; an index per day folder remembers the
summaries of finished runs, so a listing of ten thousand runs reads only the runs that are
new or still going (see :mod:`labkit.store._scan`). The runs stay the truth: the index is
rebuilt from them whenever it is stale, and can be deleted at any time. Day folders outside
``since``/``until`` are not visited.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import fnmatch
import html
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from labkit.core import LabkitError
from labkit.store._location import Location, location
from labkit.store._owner import owner_alive
from labkit.store._root import as_store, data_root
from labkit.store._scan import read_document, scan, summary

__all__ = ["RunInfo", "RunList", "RunNotFound", "read_info", "runs"]

_FINAL = ("completed", "aborted", "failed")
STATUSES = ("running", "paused", "completed", "aborted", "failed", "interrupted")


class RunNotFound(LabkitError, LookupError):
    """No run matches the id, name or path given."""


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What the catalog knows about one run, from its metadata alone.

    ``status`` is ``interrupted`` for a run whose store says ``running`` but whose process is
    gone (killed, crashed); ``stored_status`` is what the store says.
    """

    id: str
    name: str
    status: str
    stored_status: str
    start: _dt.datetime | None
    end: _dt.datetime | None
    points: int
    total: int | None
    instruments: tuple[str, ...]
    metadata: dict[str, Any]
    path: Any  # a Path for local stores, a Location (URL and storage options) otherwise
    error: dict[str, Any] | None = None

    @property
    def duration(self) -> _dt.timedelta | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    def open(self, **options: Any) -> Any:
        """The run as a lazy xarray Dataset (see :func:`labkit.open_run`)."""
        from labkit.store._open import open_run

        return open_run(self.path, **options)

    def __repr__(self) -> str:
        return (
            f"<RunInfo {self.id} {self.name!r} {self.status}, {self.points} points, "
            f"{', '.join(self.instruments) or 'no instruments'}>"
        )


class RunList(list):
    """A list of :class:`RunInfo`, oldest first, shown as a table in notebooks."""

    @property
    def latest(self) -> RunInfo:
        if not self:
            raise RunNotFound("no run matches")
        return self[-1]

    def open(self, index: int = -1, **options: Any) -> Any:
        return self[index].open(**options)

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "start": r.start,
                "end": r.end,
                "points": r.points,
                "total": r.total,
                "instruments": ", ".join(r.instruments),
                "path": str(r.path),
                **{f"metadata.{k}": v for k, v in r.metadata.items()},
            }
            for r in self
        ]

    def to_dataframe(self) -> Any:
        import pandas as pd

        return pd.DataFrame.from_records(self.to_records())

    def _rows(self) -> list[list[str]]:
        rows = []
        for r in self:
            start = r.start.astimezone().strftime("%Y-%m-%d %H:%M:%S") if r.start else "?"
            total = f"/{r.total}" if r.total is not None else ""
            rows.append(
                [r.id, r.name, r.status, start, f"{r.points}{total}", ", ".join(r.instruments)]
            )
        return rows

    def __repr__(self) -> str:
        header = ["id", "name", "status", "start", "points", "instruments"]
        rows = [header, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines) if self else "(no runs)"

    def _repr_html_(self) -> str:
        header = "".join(
            f"<th>{h}</th>" for h in ("id", "name", "status", "start", "points", "instruments")
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self._rows()
        )
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _parse_time(text: Any) -> _dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


_summary = summary


def read_attrs(store: Any) -> dict[str, Any]:
    """The run's metadata: the attributes of the store's root group."""
    where = location(store)
    document = read_document(where)
    if document is None:
        raise RunNotFound(
            f"{str(where)!r} is not a run store (no zarr.json)",
            hint="A run killed while its store was being created leaves no zarr.json",
        )
    return dict(document.get("attributes") or {})


def _info(store: Any, summary: dict[str, Any]) -> RunInfo:
    if not isinstance(store, Path):  # a catalog passes Paths (local) or Locations as they are
        store = as_store(location(store))
    stored = summary.get("status") or "running"
    status = stored
    if stored in ("running", "paused") and not owner_alive(
        store, summary.get("owner"), summary.get("heartbeat")
    ):
        # The owner may have finished between our two reads: look again before saying so.
        try:
            fresh = _summary(read_attrs(store))
        except (RunNotFound, OSError, ValueError):
            fresh = summary
        if fresh.get("status") in _FINAL:
            summary, stored, status = fresh, fresh["status"], fresh["status"]
        else:
            status = "interrupted"
    return RunInfo(
        id=summary.get("id") or str(store.name).split("_", 1)[0].removesuffix(".zarr"),
        name=summary.get("name") or "",
        status=status,
        stored_status=stored,
        start=_parse_time(summary.get("start_time")),
        end=_parse_time(summary.get("end_time")),
        points=int(summary.get("points_written") or 0),
        total=summary.get("points_total"),
        instruments=tuple(summary.get("instruments") or ()),
        metadata=dict(summary.get("metadata") or {}),
        path=store,
        error=summary.get("error"),
    )


def read_info(
    store: str | os.PathLike[str] | Location, storage_options: Mapping[str, Any] | None = None
) -> RunInfo:
    """The catalog entry of one store."""
    where = location(store, storage_options)
    return _info(where, _summary(read_attrs(where)))


def _to_datetime(value: Any, *, end_of_day: bool) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: Any = _dt.date.fromisoformat(text)
            if len(text) > 10:
                raise ValueError
        except ValueError:
            parsed = _dt.datetime.fromisoformat(text)
        value = parsed
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.astimezone()
    if isinstance(value, _dt.date):
        moment = _dt.datetime.combine(value, _dt.time.max if end_of_day else _dt.time.min)
        return moment.astimezone()
    raise TypeError(f"{value!r} is not a date or a time")


def _day_filter(since: _dt.datetime | None, until: _dt.datetime | None) -> Any:
    first = since.astimezone(_dt.timezone.utc).date().isoformat() if since else None
    last = until.astimezone(_dt.timezone.utc).date().isoformat() if until else None
    return lambda day: not ((first and day < first) or (last and day > last))


def _matches(value: Any, wanted: Any) -> bool:
    if callable(wanted):
        return bool(wanted(value))
    return value == wanted


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    return set(value)


def runs(
    name: str | None = None,
    *,
    since: Any = None,
    until: Any = None,
    status: str | Iterable[str] | None = None,
    instrument: str | Iterable[str] | None = None,
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
    last: int | None = None,
    index: bool = True,
    refresh: bool = False,
    **metadata: Any,
) -> RunList:
    """The runs in the data root that match every filter given, oldest first.

    ``name`` may be a glob (``"iv*"``); ``since``/``until`` take datetimes, dates or ISO text
    (a date alone for ``until`` includes that whole day); ``status`` one or several of
    running, completed, aborted, failed, interrupted; ``instrument`` runs that used any of the
    named instruments; other keywords match the run's metadata (a value, or a function of it).
    ``last=10`` keeps the ten newest. ``root`` may be any Zarr store URL (``s3://bucket/runs``)
    with ``storage_options``; ``index=False`` neither reads nor writes the index,
    ``refresh=True`` rebuilds it from every run's metadata.
    """
    folder = data_root(root, storage_options)
    start = _to_datetime(since, end_of_day=False)
    stop = _to_datetime(until, end_of_day=True)
    statuses = _as_set(status)
    if statuses is not None:
        unknown = statuses - set(STATUSES)
        if unknown:
            raise ValueError(
                f"unknown status {', '.join(sorted(unknown))}; use {', '.join(STATUSES)}"
            )
    wanted_instruments = _as_set(instrument)
    found = RunList()
    base = folder.path
    for day, store_name, entry in scan(
        folder, _day_filter(start, stop), use_index=index, refresh=refresh
    ):
        if name is not None and not fnmatch.fnmatchcase(entry.get("name") or "", name):
            continue
        begun = _parse_time(entry.get("start_time"))
        if start is not None and (begun is None or begun < start):
            continue
        if stop is not None and (begun is None or begun > stop):
            continue
        if wanted_instruments is not None and not wanted_instruments & set(
            entry.get("instruments") or ()
        ):
            continue
        user = entry.get("metadata") or {}
        if any(k not in user or not _matches(user[k], want) for k, want in metadata.items()):
            continue
        if base is not None:
            store: Any = Path(f"{base}/{day}/{store_name}")
        else:
            store = Location(f"{folder.url}/{day}/{store_name}", folder.options)
        info = _info(store, entry)
        if statuses is not None and info.status not in statuses:
            continue
        found.append(info)
    found.sort(key=lambda r: (r.start or _dt.datetime.min.replace(tzinfo=_dt.timezone.utc), r.id))
    if last is not None:
        return RunList(found[-last:] if last > 0 else [])
    return found


def find_by_name(
    name: str,
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> RunInfo:
    matching = runs(name, root=root, storage_options=storage_options)
    if not matching:
        raise RunNotFound(
            f"no run named {name!r} in {str(data_root(root, storage_options))!r}",
            hint="labkit.runs() lists the runs there; pass a path to open a store elsewhere",
        )
    return matching.latest
