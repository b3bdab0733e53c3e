"""Drivers and experiment steps found at run time: entry points and plugin folders.

Two sources, both lazy — nothing is imported until a plugin is used:

- installed distributions declaring entry points in the groups ``labkit.drivers`` and
  ``labkit.steps`` (``my_laser = "acme_labkit.laser:Laser"``);
- plugin folders named in ``$LABKIT_PLUGIN_PATH`` (``os.pathsep``-separated) and in the
  configuration file (``[plugins] paths = [...]``). Each ``*.py`` file or package there is read
  (parsed, not imported): it provides the classes listed in a module-level ``labkit_drivers``
  / ``labkit_steps`` list, or else every top-level class whose base name ends in
  ``Instrument`` or ``Camera`` (a driver) or ``Step`` (a step). Each shared library there
  (``*.so``, ``*.dylib``, ``*.dll``) is a compiled driver plugin (``labkit_plugin.h``).

An entry point may also name a compiled plugin: its value is then a path to the library (a
module attribute holding it). Compiled plugins are read without being loaded at discovery,
probed in a separate process when first used, and only then loaded (``_library_plugins``).

A plugin that fails — a package it needs is missing, a vendor library is not installed, its
code does not import — is reported with the reason; it never stops the others from working.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labkit import _library_plugins
from labkit._library_files import LIBRARY_NAME, plugin_name
from labkit.core import MissingVendorLibrary, PluginError

__all__ = ["Plugin", "find", "load_driver", "load_step", "plugin_paths", "plugins", "refresh"]

KINDS = {"driver": "labkit.drivers", "step": "labkit.steps"}
_BASE_SUFFIXES = {"driver": ("Instrument", "Camera"), "step": ("Step",)}
_EXPLICIT_LISTS = {"driver": "labkit_drivers", "step": "labkit_steps"}
_VENDOR_LIBRARY_HINTS = re.compile(r"cannot open shared object|\.so\b|\.dll\b|\.dylib\b", re.I)


@dataclasses.dataclass(eq=False)
class Plugin:
    """One driver or step found somewhere, loaded on first use.

    ``status`` is ``found`` (not imported yet), ``loaded``, ``unavailable`` (imported, but a vendor
    library it needs is missing) or ``failed``; ``reason`` says why for the last two.
    """

    name: str
    kind: str
    target: str
    origin: str
    loader: Callable[[], Any] = dataclasses.field(repr=False)
    status: str = "found"
    reason: str | None = None
    _object: Any = dataclasses.field(default=None, repr=False)

    def load(self) -> Any:
        """Import the plugin and return its class; a failure raises ``PluginError`` with the reason."""
        if self._object is not None:
            return self._object
        if self.status == "failed":
            raise self._error()
        try:
            loaded = self.loader()
        except Exception as error:
            self.status, self.reason = "failed", _why(error, self.target)
            raise self._error() from error
        self._object, self.status = loaded, "loaded"
        return loaded

    def check(self) -> Plugin:
        """Load the plugin and ask it whether what it needs is installed (vendor libraries)."""
        try:
            loaded = self.load()
        except PluginError:
            return self
        checker = getattr(loaded, "check_available", None)
        if callable(checker):
            try:
                checker()
            except MissingVendorLibrary as error:
                self.status, self.reason = "unavailable", f"missing vendor library: {error}"
            except Exception as error:
                self.status, self.reason = "unavailable", f"{type(error).__name__}: {error}"
        return self

    def _error(self) -> PluginError:
        return PluginError(
            f"the {self.kind} plugin {self.name!r} ({self.target}, {self.origin}) cannot be used: "
            f"{self.reason}",
            hint=_hint(self.reason or ""),
        )


def _why(error: BaseException, target: str) -> str:
    module = target.split(":", 1)[0]
    reason = getattr(error, "reason", None)
    if isinstance(error, PluginError) and isinstance(reason, str):
        return reason  # a compiled plugin's: "wrong ABI: ...", "crashed: ..."
    if isinstance(error, MissingVendorLibrary):
        return f"missing vendor library: {error}"
    if isinstance(error, ModuleNotFoundError):
        missing = error.name or str(error)
        if module == missing or module.startswith(missing + "."):
            return f"not found: there is no module {missing!r}"
        return f"missing package {missing.split('.')[0]!r}"
    if isinstance(error, OSError) and _VENDOR_LIBRARY_HINTS.search(str(error)):
        return f"missing vendor library: {error}"
    if isinstance(error, SyntaxError):
        return f"import error: SyntaxError in {error.filename} line {error.lineno}: {error.msg}"
    if isinstance(error, AttributeError):
        return f"not found: {error}"
    return f"import error: {type(error).__name__}: {error}"


def _hint(reason: str) -> str:
    if reason.startswith("missing package"):
        package = reason.split("'")[1] if "'" in reason else "it"
        return f"Install it (pip install {package}) and restart the kernel"
    if reason.startswith("missing vendor library"):
        return "Install the vendor's software or point labkit's configuration at the library"
    if reason.startswith("not found"):
        return "Check the entry point or the plugin folder; `labkit plugins` lists what was found"
    if reason.startswith("wrong ABI"):
        return (
            "Rebuild the plugin against this labkit's labkit_plugin.h (labkit.plugin_include_dir())"
        )
    if reason.startswith(("not a library", "wrong architecture", "missing symbol")):
        return "Only plugin libraries built for this machine belong in a plugin folder"
    if reason.startswith(("crashed", "timed out", "self-test failed", "bad ")):
        return "The plugin is faulty: report it to its authors; labkit will not load it"
    return "Fix the plugin's code; `labkit plugins` shows every plugin's state"


# ---------------------------------------------------------------------------------- sources


def plugin_paths() -> list[Path]:
    """Plugin folders: ``$LABKIT_PLUGIN_PATH`` first, then the configuration file's."""
    from labkit.config import setting

    paths = [
        Path(p).expanduser()
        for p in os.environ.get("LABKIT_PLUGIN_PATH", "").split(os.pathsep)
        if p
    ]
    configured = setting("plugins", "paths", [])
    if isinstance(configured, str):
        configured = [configured]
    paths += [Path(p).expanduser() for p in configured]
    return list(dict.fromkeys(paths))


def _from_entry_points(kind: str) -> list[Plugin]:
    found = []
    for entry in importlib.metadata.entry_points(group=KINDS[kind]):
        dist = getattr(entry, "dist", None)
        origin = f"entry point of {dist.name} {dist.version}" if dist else "entry point"
        found.append(Plugin(entry.name, kind, entry.value, origin, _entry_loader(entry, kind)))
    return found


def _entry_loader(entry: importlib.metadata.EntryPoint, kind: str) -> Callable[[], Any]:
    """An entry point's loader; one whose value is a path names a compiled plugin library."""

    def load() -> Any:
        target = entry.load()
        if not isinstance(target, (str, os.PathLike)):
            return target
        if kind != "driver":
            raise PluginError(f"{entry.value} is a library path; only drivers can be compiled")
        return _library_plugins.load_library(Path(target))

    return load


def _from_folder(folder: Path) -> list[Plugin]:
    """Drivers and steps in one plugin folder; each file is parsed once, never imported here."""
    found: list[Plugin] = []
    try:
        children = sorted(folder.iterdir())
    except OSError as error:
        warnings.warn(f"labkit plugin folder {folder} cannot be read: {error}", stacklevel=3)
        return found
    origin = f"folder {folder}"
    libraries: set[Path] = set()
    for child in children:
        if child.name.startswith(("_", ".")):
            continue
        if LIBRARY_NAME.search(child.name) and child.is_file():
            if child.resolve() not in libraries:  # libfoo.so -> libfoo.so.1 is one library
                libraries.add(child.resolve())
                found.append(_library_plugin(child, origin))
            continue
        if child.is_file() and child.suffix == ".py":
            source, is_package = child, False
        elif child.is_dir() and (child / "__init__.py").is_file():
            source, is_package = child / "__init__.py", True
        else:
            continue
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        except (SyntaxError, ValueError, OSError) as error:
            line = f" line {error.lineno}" if isinstance(error, SyntaxError) else ""
            message = error.msg if isinstance(error, SyntaxError) else str(error)
            plugin = Plugin(child.stem, "driver", str(child), origin, lambda: None, "failed")
            plugin.reason = f"import error: {type(error).__name__} in {source}{line}: {message}"
            found.append(plugin)
            continue
        for kind in KINDS:
            for class_name in _declared_classes(tree, kind, explicit_only=is_package):
                loader = _file_loader(child, is_package, class_name)
                found.append(
                    Plugin(_snake(class_name), kind, f"{child}:{class_name}", origin, loader)
                )
    return found


def _library_plugin(path: Path, origin: str) -> Plugin:
    """A compiled plugin in a folder: read now (no code runs), probed and loaded on use."""
    plugin = Plugin(
        plugin_name(path), "driver", str(path), origin, _library_plugins.library_loader(path)
    )
    problem = _library_plugins.static_problem(path)
    if problem is not None:
        plugin.status, plugin.reason = "failed", problem
    return plugin


def _declared_classes(tree: ast.Module, kind: str, *, explicit_only: bool) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == _EXPLICIT_LISTS[kind] for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            return [str(v) for v in value]
    if explicit_only:
        return []
    suffixes = _BASE_SUFFIXES[kind]
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            _base_name(base).endswith(suffixes) for base in node.bases
        ):
            names.append(node.name)
    return names


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _file_loader(path: Path, is_package: bool, class_name: str) -> Callable[[], Any]:
    def load() -> Any:
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        stem = re.sub(r"\W", "_", path.stem)
        module_name = f"labkit_plugin_{stem}_{digest}"
        module = sys.modules.get(module_name)
        if module is None:
            location = path / "__init__.py" if is_package else path
            spec = importlib.util.spec_from_file_location(
                module_name,
                location,
                submodule_search_locations=[str(path)] if is_package else None,
            )
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
        return getattr(module, class_name)

    return load


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


# ---------------------------------------------------------------------------------- registry

_lock = threading.Lock()
_registry: dict[str, dict[str, Plugin]] | None = None


def refresh() -> None:
    """Forget what was found; the next lookup searches again (after installing a plugin)."""
    global _registry
    with _lock:
        _registry = None
    _library_plugins.forget_probes()


def _discover() -> dict[str, dict[str, Plugin]]:
    global _registry
    with _lock:
        if _registry is not None:
            return _registry
        registry: dict[str, dict[str, Plugin]] = {kind: {} for kind in KINDS}
        candidates = [p for kind in KINDS for p in _from_entry_points(kind)]
        for folder in plugin_paths():
            candidates += _from_folder(folder)
        for plugin in candidates:
            existing = registry[plugin.kind].get(plugin.name)
            if existing is not None:
                warnings.warn(
                    f"two {plugin.kind} plugins are named {plugin.name!r}: {existing.target} "
                    f"({existing.origin}) is used, {plugin.target} ({plugin.origin}) is ignored",
                    stacklevel=3,
                )
                continue
            registry[plugin.kind][plugin.name] = plugin
        _registry = registry
        return registry


def plugins(kind: str | None = None) -> list[Plugin]:
    """Every plugin found (of one kind, ``"driver"`` or ``"step"``, or both), sorted by name."""
    registry = _discover()
    kinds = [kind] if kind else list(KINDS)
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {k!r}")
    return sorted((p for k in kinds for p in registry[k].values()), key=lambda p: (p.kind, p.name))


def find(kind: str, name: str) -> Plugin:
    """The plugin called ``name``; an unknown name raises ``PluginError`` with suggestions."""
    found = _discover().get(kind, {})
    if name in found:
        return found[name]
    close = difflib.get_close_matches(name, list(found), n=3)
    hint = (
        f"Did you mean {' or '.join(map(repr, close))}?"
        if close
        else (f"Known {kind}s: {', '.join(sorted(found)) or 'none'}; `labkit plugins` lists them")
    )
    raise PluginError(f"no {kind} plugin named {name!r}", hint=hint)


def load_driver(name: str) -> type:
    """The driver class registered as ``name``, imported now."""
    return find("driver", name).load()


def load_step(name: str) -> type:
    """The experiment step class registered as ``name``, imported now."""
    return find("step", name).load()
