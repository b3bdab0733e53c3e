"""A setting belongs to at most one run at a time.

Two runs sweeping the same setting would interleave their set-points and both record wrong
data while reporting ``completed``. So a run claims, before it starts, every setting its plan
sets, and a step that sets something its plan did not declare claims it on first use; a
second run wanting a claimed setting is refused, naming the run that holds it. Claims are
released when the run has ended (after its outputs went to safe values).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from labkit.core import ConfigurationError, SettingHandle

if TYPE_CHECKING:
    from labkit.runs._run import Run

__all__ = ["SettingInUse", "claim", "release"]

_lock = threading.Lock()
_owners: dict[tuple[int, str], tuple[Run, str]] = {}


class SettingInUse(ConfigurationError):
    """A setting is being set by another run; ``run_id`` names that run."""

    def __init__(self, message: str, *, run_id: str | None = None, **context: Any) -> None:
        self.run_id = run_id
        super().__init__(message, **context)


def _key(handle: SettingHandle) -> tuple[int, str]:
    return id(handle.instrument), handle.name


def claim(run: Run, handles: Iterable[SettingHandle]) -> None:
    """Make ``run`` the owner of ``handles``, all or none; refuse one owned by another run."""
    wanted = list(handles)
    with _lock:
        for handle in wanted:
            owner = _owners.get(_key(handle))
            if owner is not None and owner[0] is not run and not owner[0].done:
                other = owner[0]
                raise SettingInUse(
                    f"{handle.full_name} is being set by run {other.id} ({other.name!r}, "
                    f"{other.status}); a setting belongs to one run at a time",
                    run_id=other.id,
                    instrument=handle.instrument.name,
                    setting=handle.name,
                    hint="Wait for that run to end (run.wait()) or abort it, then start this one",
                )
        for handle in wanted:
            _owners[_key(handle)] = (run, handle.full_name)


def release(run: Run) -> None:
    """Give back every setting ``run`` holds."""
    with _lock:
        for key in [key for key, (owner, _) in _owners.items() if owner is run]:
            del _owners[key]


def owned_by(run: Run) -> list[str]:
    """The settings ``run`` holds, by full name (for its metadata and messages)."""
    with _lock:
        return sorted(name for owner, name in _owners.values() if owner is run)
