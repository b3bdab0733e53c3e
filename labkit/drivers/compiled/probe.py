"""Probe a compiled plugin library in this (throw-away) process: ``python -m
labkit.drivers.compiled.probe LIBRARY``.

Loading a library runs its code; a library whose constructor, entry point or ``open`` crashes
would take the process with it. labkit therefore runs this probe in a separate process before it
loads an unknown library in-process (:mod:`labkit.plugins`), and plugin authors can run it by
hand. It loads the library, checks the table and the declarations' schema (units and limits are
checked where the instrument class is built, which needs pint: not worth a second here) and,
when the declarations
name a ``test_resource``, opens it, identifies it, gets every readable setting, reads every
reading and closes it — nothing is set and no action runs.

Output, one line each on stdout: ``stage <what>`` before each step that runs plugin code (so a
crash names the step), then ``result <json>``: ``{"ok": true, "name": ..., ...}`` or
``{"ok": false, "reason": "..."}``. The exit status is 0 either way; a crash shows as the
signal that ended the process.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

__all__ = ["main", "probe"]


def _stage(what: str) -> None:
    sys.stdout.write(f"stage {what}\n")
    sys.stdout.flush()


def probe(path: str) -> dict[str, Any]:
    """Load the library at ``path``, check it and run its self-test; the result as a dict."""
    from labkit.drivers.compiled._errors import PluginLoadError
    from labkit.drivers.compiled._library import PluginLibrary

    _stage("loading the library (its constructors run)")
    try:
        ctypes.CDLL(path, mode=getattr(os, "RTLD_LOCAL", 0))
    except OSError as error:
        return {"ok": False, "reason": f"load error: {error}"}
    _stage("calling labkit_plugin_entry()")
    try:
        library = PluginLibrary.load(path)
    except PluginLoadError as error:
        return {"ok": False, "reason": error.reason}
    result: dict[str, Any] = {
        "ok": True,
        "name": library.name,
        "version": library.version,
        "description": library.description,
        "abi": f"{library.abi_version >> 16}.{library.abi_version & 0xFFFF}",
        "declarations": len(library.declarations),
        "test_resource": library.declarations.test_resource,
    }
    resource = library.declarations.test_resource
    if resource is not None:
        failure = _self_test(library, resource)
        if failure is not None:
            return {"ok": False, "reason": f"self-test failed: {failure}"}
    return result


def _self_test(library: Any, resource: str) -> str | None:
    from labkit.core import LabkitError
    from labkit.drivers.compiled._link import PluginLink

    link = PluginLink(library, resource)
    _stage(f"open({resource!r})")
    try:
        link.open()
    except LabkitError as error:
        return f"open({resource!r}): {error}"
    try:
        _stage("identify()")
        link.identify()
        for item in link.schema:
            if item.role == "setting" and item.options.get("access", "rw") != "w":
                _stage(f"get({item.name!r})")
                link.get(item.name)
            elif item.role == "reading":
                _stage(f"read({item.name!r})")
                link.read(item.name)
    except LabkitError as error:
        return str(error)
    finally:
        _stage("close()")
        link.close()
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m labkit.drivers.compiled.probe LIBRARY", file=sys.stderr)
        return 2
    _no_core_dumps()
    result = probe(args[0])
    sys.stdout.write("result " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


def _no_core_dumps() -> None:
    # A library that crashes the probe is reported by its signal; it should not also leave a
    # core file in the user's folder.
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


if __name__ == "__main__":
    sys.exit(main())
