"""Compiled driver plugins: shared libraries found in plugin folders or named by entry points.

A library is used in three steps, each only when the previous one passed:

1. **read** (at discovery, runs no library code): is the file a shared library for this
   machine, and does it export ``labkit_plugin_entry``? (:mod:`labkit._library_files`)
2. **probe** (when the plugin is first checked or used): load it in a separate Python process
   — constructors, entry point, table, declarations and, if the plugin names a
   ``test_resource``, open/get/read/close of its simulated device. A library that crashes or
   hangs there takes only that process down, and is reported with the signal and the step.
   (:mod:`labkit.drivers.compiled.probe`)
3. **load** in this process with ctypes, and build the instrument class.

The probe costs a Python start-up (about 0.15 s) once per library and process; each result is
kept for the life of the process, keyed by the file's path, size and time, so a rebuilt library
is probed again.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labkit._library_files import inspect_library
from labkit.core import DeclarationError, PluginError

__all__ = [
    "LibraryUnusable",
    "forget_probes",
    "library_loader",
    "load_library",
    "probe",
    "static_problem",
]

PROBE_TIMEOUT = 60.0
"""Seconds a probe may take (``[plugins] probe_timeout`` in the configuration changes it); a
self-test talks to the plugin's simulated device, nothing slower."""
_PROBE_MODULE = "labkit.drivers.compiled.probe"

_lock = threading.Lock()
_probed: dict[tuple[str, int, int], dict[str, Any]] = {}


class LibraryUnusable(PluginError):
    """A library cannot be used as a plugin; ``reason`` is what ``labkit plugins`` lists."""

    def __init__(self, reason: str, *, library: Path) -> None:
        self.reason = reason
        self.library = library
        super().__init__(f"{library} cannot be used as a labkit plugin: {reason}")


def static_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a plugin, found by reading it; None if it may be one."""
    return inspect_library(path).problem


def library_loader(path: Path) -> Callable[[], Any]:
    """The loader of a library plugin: read, probe, load; returns its instrument class."""

    def load() -> Any:
        return load_library(path)

    return load


def load_library(path: Path) -> Any:
    """Check ``path`` (read, then probe in another process), then load it here."""
    problem = static_problem(path)
    if problem is not None:
        raise LibraryUnusable(problem, library=path)
    result = probe(path)
    if not result.get("ok"):
        raise LibraryUnusable(str(result.get("reason")), library=path)
    compiled = importlib.import_module("labkit.drivers.compiled")
    try:
        return compiled.driver_class(path)
    except DeclarationError as error:  # what the probe leaves to the instrument model: units
        raise LibraryUnusable(f"bad declarations: {error}", library=path) from None


def probe(path: Path) -> dict[str, Any]:
    """The probe's verdict on ``path``: ``{"ok": True, "name": ...}`` or ``{"ok": False,
    "reason": ...}``; kept per file version for the life of the process."""
    resolved = path.resolve()
    try:
        stat = resolved.stat()
    except OSError as error:
        return {"ok": False, "reason": f"load error: {error.strerror or error}"}
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key in _probed:
            return _probed[key]
    result = _run_probe(resolved)
    with _lock:
        _probed[key] = result
    return result


def forget_probes() -> None:
    """Forget every probe result (``labkit.plugins.refresh()``)."""
    with _lock:
        _probed.clear()


def _run_probe(path: Path) -> dict[str, Any]:
    package_root = str(Path(__file__).resolve().parent.parent)
    pythonpath = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PYTHONPATH": package_root + (os.pathsep + pythonpath if pythonpath else ""),
    }
    timeout = _probe_timeout()
    try:
        finished = subprocess.run(
            [sys.executable, "-m", _PROBE_MODULE, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        stage = _last_stage(_text(expired.stdout))
        return {
            "ok": False,
            "reason": f"timed out: the probe process hung for {timeout:g} s {stage}",
        }
    lines = finished.stdout.splitlines()
    for line in reversed(lines):
        if line.startswith("result "):
            try:
                return dict(json.loads(line[len("result ") :]))
            except ValueError:
                break
    stage = _last_stage(finished.stdout)
    if finished.returncode < 0:
        try:
            name = signal.Signals(-finished.returncode).name
        except ValueError:
            name = f"signal {-finished.returncode}"
        return {"ok": False, "reason": f"crashed: the probe process died of {name} {stage}"}
    detail = (finished.stderr.strip().splitlines() or ["no output"])[-1]
    return {
        "ok": False,
        "reason": f"crashed: the probe process exited with status {finished.returncode} "
        f"{stage} ({detail})",
    }


def _probe_timeout() -> float:
    from labkit.config import setting

    value = setting("plugins", "probe_timeout", PROBE_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise PluginError(
            f"[plugins] probe_timeout must be a number of seconds above 0, not {value!r}",
            hint="Fix labkit's configuration file",
        )
    return float(value)


def _last_stage(stdout: str) -> str:
    stages = [line[len("stage ") :] for line in stdout.splitlines() if line.startswith("stage ")]
    return f"while {stages[-1]}" if stages else "before loading the library"


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""
