"""Where a run came from: the notebook cell or script, the versions, the git state, the host.

Captured when the run is started, on the caller's thread (the launching notebook cell is the
last entry of IPython's input history at that moment). Everything is best effort: a missing
``git`` or an unusual shell leaves a field out, it never stops a run.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["provenance", "versions"]

_SOURCE_LIMIT = 64 * 1024
_PACKAGES = (
    "labkit",
    "numpy",
    "xarray",
    "zarr",
    "numcodecs",
    "dask",
    "traitlets",
    "pint",
    "pyvisa",
    "pyvisa-py",
    "pyserial",
    "pyusb",
    "harvesters",
    "ipykernel",
)


@functools.lru_cache(maxsize=1)
def _base_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


@functools.lru_cache(maxsize=64)
def _distribution_of(module: str) -> tuple[str, str] | None:
    """The package a driver comes from, guessed from its top-level module (no full scan)."""
    top = module.split(".", 1)[0]
    if top in ("__main__", "builtins", "labkit"):
        return None
    for name in (top, top.replace("_", "-")):
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def versions(instruments: Any = ()) -> dict[str, str]:
    """labkit's, its dependencies' and the instrument drivers' package versions."""
    found = dict(_base_versions())
    for instrument in instruments:
        entry = _distribution_of(type(instrument).__module__)
        if entry is not None:
            found.setdefault(*entry)
    return found


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(folder: Path) -> dict[str, Any] | None:
    """Commit, branch, remote and uncommitted changes of the repository holding ``folder``."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    state: dict[str, Any] = {"root": top, "commit": _git(folder, "rev-parse", "HEAD")}
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        state["branch"] = branch
    remote = _git(folder, "config", "--get", "remote.origin.url")
    if remote:
        state["remote"] = remote
    changes = _git(folder, "status", "--porcelain")
    if changes is not None:
        lines = changes.splitlines()
        state["dirty"] = bool(lines)
        state["changes"] = lines[:50]
    return state


def _ipython_shell() -> Any:
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _notebook_path(shell: Any) -> str | None:
    namespace = getattr(shell, "user_ns", {}) or {}
    for key in ("__vsc_ipynb_file__", "__session__"):
        value = namespace.get(key)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return value
    session = os.environ.get("JPY_SESSION_NAME")
    return session or None


def _script_source(path: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"script": str(path)}
    try:
        content = path.read_bytes()
    except OSError:
        return entry
    entry["script_sha256"] = hashlib.sha256(content).hexdigest()
    if len(content) <= _SOURCE_LIMIT:
        entry["source"] = content.decode("utf-8", "replace")
    return entry


def provenance(instruments: Any = ()) -> dict[str, Any]:
    """The provenance block of a run's metadata."""
    found: dict[str, Any] = {}
    shell = _ipython_shell()
    folder = Path.cwd()
    if shell is not None:
        kind = type(shell).__name__
        found["kind"] = "notebook" if kind == "ZMQInteractiveShell" else "ipython"
        history = getattr(shell, "user_ns", {}).get("In")
        if isinstance(history, list) and history:
            found["source"] = str(history[-1])[:_SOURCE_LIMIT]
        found["execution_count"] = getattr(shell, "execution_count", None)
        notebook = _notebook_path(shell)
        if notebook:
            found["notebook"] = notebook
    else:
        main = sys.modules.get("__main__")
        script = getattr(main, "__file__", None)
        if script:
            path = Path(script).absolute()
            found["kind"] = "script"
            found.update(_script_source(path))
            folder = path.parent
        else:
            found["kind"] = "interactive"
        found["argv"] = list(sys.argv)
    found["cwd"] = os.getcwd()
    found["host"] = socket.gethostname()
    try:
        found["user"] = getpass.getuser()
    except Exception:
        pass
    found["platform"] = platform.platform()
    found["pid"] = os.getpid()
    found["versions"] = versions(instruments)
    git = git_state(folder)
    if git is not None:
        found["git"] = git
    return found
