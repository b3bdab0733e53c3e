"""Steps from plugins: the ``labkit.steps`` entry-point group, read lazily, plus registration.

A plugin package declares ``[project.entry-points."labkit.steps"] my_step = "pkg.mod:MyStep"``.
Listing (:func:`available_steps`) reads the entry points without importing anything; a step is
imported the first time it is asked for (:func:`get_step`). A plugin that fails to import
raises a :class:`~labkit.core.PluginError` saying why when it is used, and never breaks the
others. ``labkit.plugins`` may also feed steps found elsewhere (plugin folders) through
:func:`register_step`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import threading
from collections.abc import Callable
from typing import Any

from labkit.core import PluginError

__all__ = ["StepEntry", "available_steps", "get_step", "register_step", "step"]

GROUP = "labkit.steps"


@dataclasses.dataclass
class StepEntry:
    """One known step factory: where it comes from, and the factory once loaded."""

    name: str
    source: str
    factory: Callable[..., Any] | None = None
    entry_point: Any = None
    error: str | None = None


_lock = threading.Lock()
_entries: dict[str, StepEntry] = {}
_scanned = False


def _builtins() -> dict[str, Callable[..., Any]]:
    from labkit.runs import _basic, _camera, _feedback, _loops

    return {
        "set": _basic.Set,
        "read": _basic.Read,
        "wait": _basic.Wait,
        "settle": _basic.Settle,
        "call": _basic.Call,
        "sequence": _basic.Sequence,
        "sweep": _loops.Sweep,
        "grid": _loops.Grid,
        "repeat": _loops.Repeat,
        "timeseries": _loops.TimeSeries,
        "feedback": _feedback.Feedback,
        "camera_stream": _camera.CameraStream,
        "snap": _camera.Snap,
    }


def _scan() -> None:
    global _scanned
    with _lock:
        if _scanned:
            return
        for name, factory in _builtins().items():
            _entries.setdefault(name, StepEntry(name, "labkit", factory))
        try:
            points = importlib.metadata.entry_points(group=GROUP)
        except Exception:  # a broken installation must not stop labkit
            points = ()
        for point in points:
            if point.name in _entries:
                continue
            source = getattr(getattr(point, "dist", None), "name", None) or point.value
            _entries[point.name] = StepEntry(point.name, f"entry point {source}", entry_point=point)
        _scanned = True


def register_step(
    name: str, factory: Callable[..., Any], *, source: str = "registered", replace: bool = False
) -> None:
    """Make ``factory`` available as ``labkit.runs.step(name, ...)``."""
    if not callable(factory):
        raise PluginError(f"step {name!r}: {factory!r} is not callable")
    _scan()
    with _lock:
        if name in _entries and not replace:
            raise PluginError(
                f"a step named {name!r} already exists (from {_entries[name].source})",
                hint="Pick another name or pass replace=True",
            )
        _entries[name] = StepEntry(name, source, factory)


def available_steps() -> dict[str, str]:
    """Every step name known, with where it comes from (nothing is imported)."""
    _scan()
    with _lock:
        return {name: entry.source for name, entry in sorted(_entries.items())}


def get_step(name: str) -> Callable[..., Any]:
    """The factory of step ``name``, importing its plugin on first use."""
    _scan()
    with _lock:
        entry = _entries.get(name)
    if entry is None:
        raise PluginError(
            f"no experiment step named {name!r}",
            hint=f"Known steps: {', '.join(available_steps())}",
        )
    if entry.factory is not None:
        return entry.factory
    if entry.error is not None:
        raise PluginError(f"the step plugin {name!r} could not be loaded: {entry.error}")
    try:
        factory = entry.entry_point.load()
    except Exception as error:
        entry.error = f"{type(error).__name__}: {error}"
        raise PluginError(
            f"the step plugin {name!r} ({entry.source}) could not be imported: {entry.error}",
            hint="Install what the plugin needs, or uninstall it",
        ) from error
    if not callable(factory):
        entry.error = f"{entry.entry_point.value} is not a step class or factory"
        raise PluginError(f"the step plugin {name!r}: {entry.error}")
    entry.factory = factory
    return factory


def step(name: str, *args: Any, **kwargs: Any) -> Any:
    """Build the step ``name`` (built-in or from a plugin) with the given arguments."""
    from labkit.runs._step import is_step

    built = get_step(name)(*args, **kwargs)
    if not is_step(built):
        raise PluginError(
            f"the step {name!r} built {built!r}, which has no prepare(plan) and async run(ctx)"
        )
    return built
