"""Which experiment steps exist: the built-ins, plugins, and steps registered at run time.

Plugin steps are found by :mod:`labkit.plugins` (entry points in the ``labkit.steps`` group of
installed distributions, and plugin folders), lazily: listing imports nothing, a step's plugin
is imported the first time the step is asked for, and a plugin that cannot be imported raises a
:class:`~labkit.core.PluginError` saying why — without affecting any other step.
:func:`register_step` adds a step factory from code (a notebook, a lab's own package).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from labkit.core import PluginError

__all__ = ["available_steps", "get_step", "register_step", "step"]

_lock = threading.Lock()
_registered: dict[str, tuple[Callable[..., Any], str]] = {}


def _builtins() -> dict[str, Callable[..., Any]]:
    from labkit.runs import _adaptive, _basic, _camera, _feedback, _loops, _triggered

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
        "triggered": _triggered.Triggered,
        "adaptive": _adaptive.Adaptive,
    }


def _plugins() -> dict[str, Any]:
    from labkit import plugins

    return {plugin.name: plugin for plugin in plugins.plugins("step")}


def register_step(
    name: str, factory: Callable[..., Any], *, source: str = "registered", replace: bool = False
) -> None:
    """Make ``factory`` available as ``labkit.runs.step(name, ...)``."""
    if not callable(factory):
        raise PluginError(f"step {name!r}: {factory!r} is not callable")
    with _lock:
        taken = name in _builtins() or name in _registered
        if taken and not replace:
            source_now = "labkit" if name in _builtins() else _registered[name][1]
            raise PluginError(
                f"a step named {name!r} already exists (from {source_now})",
                hint="Pick another name or pass replace=True",
            )
        _registered[name] = (factory, source)


def available_steps() -> dict[str, str]:
    """Every step name known, with where it comes from (no plugin is imported)."""
    known = dict.fromkeys(_builtins(), "labkit")
    with _lock:
        known.update({name: source for name, (_, source) in _registered.items()})
    for name, plugin in _plugins().items():
        state = f", {plugin.status}: {plugin.reason}" if plugin.reason else ""
        known.setdefault(name, f"plugin {plugin.target} ({plugin.origin}{state})")
    return dict(sorted(known.items()))


def get_step(name: str) -> Callable[..., Any]:
    """The factory of step ``name``, importing its plugin on first use."""
    builtins = _builtins()
    if name in builtins:
        return builtins[name]
    with _lock:
        if name in _registered:
            return _registered[name][0]
    plugin = _plugins().get(name)
    if plugin is None:
        raise PluginError(
            f"no experiment step named {name!r}",
            hint=f"Known steps: {', '.join(available_steps())}; `labkit plugins` lists plugins",
        )
    return plugin.load()


def step(name: str, *args: Any, **kwargs: Any) -> Any:
    """Build the step ``name`` (built-in, registered or from a plugin) with these arguments."""
    from labkit.runs._step import is_step

    built = get_step(name)(*args, **kwargs)
    if not is_step(built):
        raise PluginError(
            f"the step {name!r} built {built!r}, which has no prepare(plan) and async run(ctx)"
        )
    return built
