"""Where runs live: the data root, run ids and the path of each run's store.

Runs are stored under one data root (``LABKIT_DATA``, else ``~/labkit-data``) in one folder
per UTC day: ``<root>/2026-11-24/20261124T093612.123Z-3f9a1c_iv.zarr``. The id sorts by start
time and carries a random suffix, so two processes starting runs in the same millisecond
still get different ids; the run's name is appended only to make folders readable.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import tempfile
from pathlib import Path

from labkit.core import ConfigurationError

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
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root in force: ``root`` if given, else ``LABKIT_DATA``, else ``~/labkit-data``."""
    if root is None:
        root = os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_ROOT
    return Path(root).expanduser().absolute()


def check_writable(root: Path) -> Path:
    """Create ``root`` if needed and prove a file can be written there; else refuse clearly.

    Called before a run starts, so an unwritable disk is found before anything moves.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".labkit-probe-", delete=True) as probe:
            probe.write(b"labkit")
            probe.flush()
    except OSError as error:
        raise ConfigurationError(
            f"the data root {str(root)!r} is not writable ({error.strerror or error})",
            hint=f"Set {ENVIRONMENT_VARIABLE} or pass data_root= to a folder you can write to",
        ) from None
    return root


def new_run_id(now: _dt.datetime | None = None) -> str:
    """``20261124T093612.123Z-3f9a1c``: UTC start time to the millisecond, then 24 random bits."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(3)}"


def is_run_id(text: str) -> bool:
    return bool(_ID.match(text))


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


def store_path(root: Path, run_id: str, name: str | None = None) -> Path:
    """The store of a new run: ``<root>/<UTC day>/<id>_<name>.zarr``."""
    suffix = ""
    if name:
        cleaned = _SAFE.sub("-", name).strip("-.")[:40]
        if cleaned:
            suffix = f"_{cleaned}"
    return root / day_folder(run_id) / f"{run_id}{suffix}.zarr"


def find_store(root: Path, run_id: str) -> Path | None:
    """The store of ``run_id`` under ``root`` (one folder listing, no scan of the root)."""
    folder = root / day_folder(run_id)
    if not folder.is_dir():
        return None
    for entry in sorted(folder.iterdir()):
        if entry.suffix == ".zarr" and (
            entry.name == f"{run_id}.zarr" or entry.name.startswith(f"{run_id}_")
        ):
            return entry
    return None
