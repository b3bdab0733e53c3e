"""Loading a compiled plugin in this process: dlopen, the entry point, the table, checked.

Every check that can fail does so with a :class:`PluginLoadError` whose reason says which kind
of problem it is. Loading runs the library's own code (its constructors, then the entry point),
so labkit probes a library in a separate process first (:mod:`.probe`); this module is what
both the probe and the in-process load use.
"""

from __future__ import annotations

import ctypes
import keyword
import os
import re
import threading
from pathlib import Path
from typing import Any

from labkit.drivers.compiled import _abi
from labkit.drivers.compiled._errors import PluginLoadError
from labkit.drivers.compiled._schema import Declarations, parse_declarations

__all__ = ["PluginLibrary"]

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_lock = threading.Lock()
_loaded: dict[tuple[str, int, int], PluginLibrary] = {}


class PluginLibrary:
    """A compiled plugin library, loaded and checked: its table, name and declarations.

    ``PluginLibrary.load(path)`` returns the same object for the same file while it is
    unchanged. The library stays loaded for the life of the process (as every ctypes library
    does); devices are opened with :meth:`open`.
    """

    def __init__(self, path: Path, handle: ctypes.CDLL, table: _abi.Table) -> None:
        self.path = path
        self._handle = handle
        self._table = table
        self.abi_version: int = table.abi_version
        self.name: str = _text(table.name, "name", path)
        self.version: str = _text(table.version, "version", path)
        self.description: str = _text(table.description, "description", path)
        if not _IDENTIFIER.match(self.name) or keyword.iskeyword(self.name):
            raise PluginLoadError(
                f"bad table: the name {self.name!r} is not an identifier (letters, digits, _)",
                library=str(path),
            )
        # The table's function pointers, read once: a ctypes struct makes a new function object
        # on every attribute access.
        self._functions = {
            name: getattr(table, name)
            for name in (*_abi.REQUIRED_FUNCTIONS, *_abi.OPTIONAL_FUNCTIONS)
        }
        raw = table.declarations
        if raw is None:
            raise PluginLoadError("bad table: declarations is NULL", library=str(path))
        try:
            self.declarations: Declarations = parse_declarations(raw, plugin=self.name)
        except Exception as error:
            raise PluginLoadError(f"bad declarations: {error}", library=str(path)) from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PluginLibrary:
        """Load ``path`` (once per file version) and check its table; raises PluginLoadError."""
        resolved = Path(path).resolve()
        try:
            stat = resolved.stat()
        except OSError as error:
            raise PluginLoadError(
                f"load error: {error.strerror or error}", library=str(path)
            ) from None
        key = (str(resolved), stat.st_mtime_ns, stat.st_size)
        with _lock:
            library = _loaded.get(key)
            if library is None:
                if any(loaded[0] == key[0] for loaded in _loaded):
                    # dlopen would hand back the build already mapped under this path.
                    raise PluginLoadError(
                        "load error: an earlier build of this library is loaded in this process",
                        library=str(path),
                        hint="Restart the kernel (or the script) to load the new build",
                    )
                library = _loaded[key] = cls._load(resolved)
            return library

    @classmethod
    def _load(cls, path: Path) -> PluginLibrary:
        try:
            handle = ctypes.CDLL(str(path), mode=getattr(os, "RTLD_LOCAL", 0))
        except OSError as error:
            raise PluginLoadError(f"load error: {error}", library=str(path)) from None
        try:
            entry = _abi.EntryFunction((_abi.ENTRY_SYMBOL, handle))
        except AttributeError:
            raise PluginLoadError(
                f"missing symbol: the library does not export {_abi.ENTRY_SYMBOL}",
                library=str(path),
            ) from None
        pointer = entry(_abi.ABI_VERSION)
        if not pointer:
            raise PluginLoadError(
                f"wrong ABI: {_abi.ENTRY_SYMBOL}() declined labkit's plugin ABI "
                f"{_abi.format_version(_abi.ABI_VERSION)} (it returned NULL)",
                library=str(path),
            )
        address = ctypes.addressof(pointer.contents)
        header = _abi.TableHeader.from_address(address)
        if header.abi_version >> 16 != _abi.ABI_MAJOR:
            raise PluginLoadError(
                f"wrong ABI: built for labkit plugin ABI {_abi.format_version(header.abi_version)}"
                f", this labkit loads {_abi.ABI_MAJOR}.x",
                library=str(path),
            )
        if header.struct_size < _abi.minimum_table_size():
            raise PluginLoadError(
                f"wrong ABI: its table is {header.struct_size} bytes, ABI "
                f"{_abi.format_version(header.abi_version)} needs {_abi.minimum_table_size()}",
                library=str(path),
            )
        table = _abi.Table.from_address(address)
        missing = [n for n in _abi.REQUIRED_FUNCTIONS if not _address(getattr(table, n))]
        if missing:
            raise PluginLoadError(
                f"bad table: no {', '.join(missing)} function (NULL in the table)",
                library=str(path),
            )
        return cls(path, handle, table)

    # -------------------------------------------------------------------------- calls

    def offers(self, function: str) -> bool:
        """Whether the table has the optional ``function`` (``identify``, ``describe``)."""
        return _address(self._functions[function]) != 0

    def function(self, name: str) -> Any:
        """The table's function ``name`` (a ctypes function pointer)."""
        return self._functions[name]

    def open(self, resource: str, *, instrument: str | None = None) -> Any:
        """Open the device at ``resource``: a :class:`~labkit.drivers.compiled.PluginLink`."""
        from labkit.drivers.compiled._link import PluginLink

        link = PluginLink(self, resource, instrument=instrument)
        link.open()
        return link

    def __repr__(self) -> str:
        return (
            f"<PluginLibrary {self.name} {self.version} (ABI "
            f"{_abi.format_version(self.abi_version)}) at {self.path}>"
        )


def _address(function: Any) -> int:
    return ctypes.cast(function, ctypes.c_void_p).value or 0


def _text(raw: bytes | None, field: str, path: Path) -> str:
    if raw is None:
        raise PluginLoadError(f"bad table: {field} is NULL", library=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PluginLoadError(f"bad table: {field} is not UTF-8", library=str(path)) from None
