"""Where runs live: the data root, run ids and the location of each run's store.

Runs are stored under one data root (``data_root=``, else ``LABKIT_DATA``, else
``~/labkit-data``) — a local folder or any Zarr store URL (``s3://``, ``gs://``, ``az://``,
``memory://``, ``file://``, see :mod:`labkit.store._location`) — in one folder per UTC day:
``<root>/2026-11-24/20261124T093612.123Z-3f9a1c_iv.zarr``. The id sorts by start time and
carries a random suffix, so two processes starting runs in the same millisecond still get
different ids; the run's name is appended only to make folders readable.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labkit.core import ConfigurationError
from labkit.store._location import Location, location

__all__ = [
    "DEFAULT_ROOT",
    "check_writable",
    "data_root",
    "id_time",
    "is_run_id",
    "new_run_id",
    "store_path",
]

DEFAULT_ROOT = Path("~/labkit-data")
ENVIRONMENT_VARIABLE = "LABKIT_DATA"

_ID = re.compile(r"^(\d{8})T(\d{6})\.(\d{3})Z-([0-9a-f]{6})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def data_root(
    root: str | os.PathLike[str] | Location | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Location:
    """The data root in force: ``root`` if given, else ``LABKIT_DATA``, else ``~/labkit-data``.

    A URL it cannot use (unknown protocol, filesystem package missing) raises at once.
    """
    from_environment = root is None
    if root is None:
        root = os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_ROOT
    return location(root, storage_options, environment_options=from_environment)


def check_writable(root: Location) -> Location:
    """Create ``root`` if needed and prove something can be written there; else refuse.

    Called before a run starts, so an unwritable disk or bucket is found before anything moves.
    """
    if root.path is not None:
        try:
            root.path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root.path, prefix=".labkit-probe-") as probe:
                probe.write(b"labkit")
                probe.flush()
        except OSError as error:
            raise ConfigurationError(
                f"the data root {str(root)!r} is not writable ({error.strerror or error})",
                hint=f"Set {ENVIRONMENT_VARIABLE} or pass data_root= to a folder you can write to",
            ) from None
        return root
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    key = f".labkit-probe-{secrets.token_hex(4)}"
    try:
        store = root.store()
        sync(store.set(key, default_buffer_prototype().buffer.from_bytes(b"labkit")))
        try:
            sync(store.delete(key))
        except Exception:
            pass  # allowed to write but not to delete: the probe stays, harmless
    except ConfigurationError:
        raise
    except Exception as error:
        raise ConfigurationError(
            f"the data root {str(root)!r} is not writable ({type(error).__name__}: {error})",
            hint="Check the bucket, the credentials and storage_options (endpoint_url...)",
        ) from None
    return root


def new_run_id(now: _dt.datetime | None = None) -> str:
    """``20261124T093612.123Z-3f9a1c``: UTC start time to the millisecond, then 24 random bits."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(3)}"


def is_run_id(text: str) -> bool:
    return bool(_ID.match(text))


def is_day(text: str) -> bool:
    return bool(_DAY.match(text))


def id_time(run_id: str) -> _dt.datetime:
    """The UTC start time encoded in a run id."""
    match = _ID.match(run_id)
    if match is None:
        raise ValueError(f"{run_id!r} is not a run id")
    day, clock, millis, _ = match.groups()
    stamp = _dt.datetime.strptime(day + clock, "%Y%m%d%H%M%S")
    return stamp.replace(microsecond=int(millis) * 1000, tzinfo=_dt.timezone.utc)


def day_folder(run_id: str) -> str:
    return id_time(run_id).strftime("%Y-%m-%d")


def store_name(run_id: str, name: str | None = None) -> str:
    suffix = ""
    if name:
        cleaned = _SAFE.sub("-", name).strip("-.")[:40]
        if cleaned:
            suffix = f"_{cleaned}"
    return f"{run_id}{suffix}.zarr"


def store_path(root: Location | Path, run_id: str, name: str | None = None) -> Any:
    """The store of a new run: ``<root>/<UTC day>/<id>_<name>.zarr`` (a Path under a Path)."""
    return root / day_folder(run_id) / store_name(run_id, name)


def is_store_of(entry: str, run_id: str) -> bool:
    return entry.endswith(".zarr") and (entry == f"{run_id}.zarr" or entry.startswith(f"{run_id}_"))


def as_store(target: Location | Path) -> Any:
    """What a run's store is called by users: a Path when local, else its Location."""
    if isinstance(target, Location) and target.path is not None:
        return target.path
    return target
