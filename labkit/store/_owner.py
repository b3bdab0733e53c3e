"""Who is writing a run, and whether that process is still alive.

A run killed mid-way (SIGKILL, a kernel restart, a power cut) keeps the status ``running`` in
its store: nothing was left to change it. Readers tell such a run apart from a live one with
an owner lock: the writing process holds an ``flock`` on ``<store>.lock`` beside the store for
as long as it runs, and the operating system releases it when the process dies, however it
dies. On another host the lock cannot be seen, and object storage has no locks: there the
process id (on the writer's host) or the heartbeat the writer refreshes in the run's metadata
decides: a heartbeat older than ``stale_after`` seconds means interrupted.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: fall back to the process id and the heartbeat
    fcntl = None  # type: ignore[assignment]  # no module on Windows

__all__ = ["OwnerLock", "owner_alive", "owner_info"]

STALE_AFTER = 120.0


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def owner_info() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process_start": process_start(pid)}


class OwnerLock:
    """The lock a writing process holds beside its store for the life of the run."""

    def __init__(self, store: Path) -> None:
        self.path = lock_path(store)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(owner_info()).encode())
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)


def _lock_held(path: Path) -> bool | None:
    """True if some process holds the lock, False if free, None if it cannot be told."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _pid_alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False  # the pid was reused by another process
    return True


def owner_alive(
    store: Any,
    owner: dict[str, Any] | None,
    heartbeat: str | None,
    *,
    stale_after: float = STALE_AFTER,
) -> bool:
    """Whether the process that wrote ``store`` (status ``running``) is still writing it.

    ``store`` is a local folder (a Path), or a Location elsewhere (no lock file there).
    """
    if owner and owner.get("host") == socket.gethostname():
        if isinstance(store, Path):
            held = _lock_held(lock_path(store))
            if held is not None and lock_path(store).exists():
                return held
        pid = owner.get("pid")
        if isinstance(pid, int):
            return _pid_alive(pid, owner.get("process_start"))
        return False
    if heartbeat:
        try:
            beat = _dt.datetime.fromisoformat(heartbeat)
        except ValueError:
            return False
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=_dt.timezone.utc)
        age = (_dt.datetime.now(_dt.timezone.utc) - beat).total_seconds()
        return age < stale_after
    return False
