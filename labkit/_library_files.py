"""What a file in a plugin folder is, found by reading it — never by loading it.

Loading a shared library runs its code (constructors, then whatever it calls), so a bad
library could crash the process that loads it. What can be told from the bytes alone is told
here: whether the file is a shared library at all, for which platform and architecture, and —
for ELF, the format of Linux and the BSDs — whether its dynamic symbol table exports labkit's
entry point (or ``PyInit_*``: a Python extension module, not a labkit plugin). Everything else
is left to the probe, which loads the library in a separate process.
"""

from __future__ import annotations

import dataclasses
import platform
import re
import struct
import sys
from pathlib import Path
from typing import BinaryIO

__all__ = ["LIBRARY_NAME", "LibraryFile", "inspect_library", "plugin_name"]

ENTRY_SYMBOL = "labkit_plugin_entry"

LIBRARY_NAME = re.compile(r"\.(so(\.\d+)*|dylib|dll)$", re.IGNORECASE)
_PYTHON_TAG = re.compile(r"(\.cpython-[^.]+|\.abi3|\.cp\d+-[^.]+|\.pypy[^.]*)$", re.IGNORECASE)

# e_machine of the architectures Python runs on (ELF specification, table "e_machine").
_ELF_MACHINES = {
    3: "x86",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "x86_64",
    183: "aarch64",
    243: "riscv",
    258: "loongarch",
}
_THIS_MACHINE = {
    "x86_64": 62,
    "amd64": 62,
    "i386": 3,
    "i686": 3,
    "aarch64": 183,
    "arm64": 183,
    "armv7l": 40,
    "armv6l": 40,
    "ppc64le": 21,
    "ppc64": 21,
    "s390x": 22,
    "riscv64": 243,
    "loongarch64": 258,
}
_MACHO_MAGICS = {b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"}
_SHT_DYNSYM = 11
_ET_NAMES = {0: "a file of no type", 1: "an object file (.o)", 2: "an executable", 4: "a core dump"}
_MOST_SYMBOLS = 1_000_000


@dataclasses.dataclass(frozen=True)
class LibraryFile:
    """What :func:`inspect_library` found.

    ``problem`` is None when the file may be a plugin for this machine, else the reason it is
    not (``"not a library: ..."``, ``"wrong architecture: ..."``, ``"missing symbol: ..."``).
    ``exports_entry`` is True/False where the symbol table could be read, None where not
    (Mach-O, PE, a stripped section table): the probe tells then.
    """

    path: Path
    format: str | None
    problem: str | None = None
    exports_entry: bool | None = None
    python_extension: bool = False


def plugin_name(path: Path) -> str:
    """``libacme_psu.so.1`` → ``acme_psu``: the name a folder plugin is listed and used by."""
    stem = _PYTHON_TAG.sub("", LIBRARY_NAME.sub("", path.name))
    if stem.startswith("lib") and len(stem) > 3:
        stem = stem[3:]
    return re.sub(r"\W+", "_", stem).strip("_").lower() or "plugin"


def inspect_library(path: Path) -> LibraryFile:
    """Read ``path`` (without loading it) and say what it is."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(64)
            if magic[:4] == b"\x7fELF":
                return _inspect_elf(path, handle, magic)
    except OSError as error:
        return LibraryFile(path, None, f"not a library: cannot read it ({error.strerror or error})")
    if magic[:4] in _MACHO_MAGICS or magic[:4] == b"\xca\xfe\xba\xbe":
        return _foreign(path, "macho", "a macOS Mach-O file", sys.platform == "darwin")
    if magic[:2] == b"MZ":
        return _foreign(path, "pe", "a Windows DLL", sys.platform == "win32")
    if not magic:
        return LibraryFile(path, None, "not a library: the file is empty")
    if all(32 <= b < 127 or b in (9, 10, 13) for b in magic):
        return LibraryFile(path, None, "not a library: a text file")
    return LibraryFile(path, None, "not a library: not an ELF, Mach-O or PE file")


def _foreign(path: Path, fmt: str, what: str, native: bool) -> LibraryFile:
    if native:
        return LibraryFile(path, fmt)
    return LibraryFile(path, fmt, f"not a library for this platform: {what} ({sys.platform} here)")


def _inspect_elf(path: Path, handle: BinaryIO, header: bytes) -> LibraryFile:
    if len(header) < 52 or header[4] not in (1, 2) or header[5] not in (1, 2):
        return LibraryFile(path, "elf", "not a library: a damaged ELF header")
    bits = 64 if header[4] == 2 else 32
    order = "<" if header[5] == 1 else ">"
    e_type, e_machine = struct.unpack_from(order + "HH", header, 16)
    if e_type != 3:
        what = _ET_NAMES.get(e_type, f"an ELF file of type {e_type}")
        return LibraryFile(path, "elf", f"not a library: {what}, not a shared library")
    mine = _THIS_MACHINE.get(platform.machine().lower())
    host_bits = 64 if sys.maxsize > 2**32 else 32
    host_order = "<" if sys.byteorder == "little" else ">"
    if mine is not None and (e_machine != mine or bits != host_bits or order != host_order):
        theirs = _ELF_MACHINES.get(e_machine, f"machine {e_machine}")
        endian = "little" if order == "<" else "big"
        return LibraryFile(
            path,
            "elf",
            f"wrong architecture: built for {theirs} ({bits}-bit, {endian}-endian), this "
            f"Python runs on {platform.machine()} ({host_bits}-bit, {sys.byteorder}-endian)",
        )
    try:
        names = _dynamic_symbols(handle, header, bits, order)
    except (struct.error, ValueError, OSError):
        return LibraryFile(path, "elf", "not a library: a damaged ELF file (section table)")
    if names is None:
        return LibraryFile(path, "elf")  # no section table: the probe will tell
    exports = ENTRY_SYMBOL in names
    python = any(n.startswith("PyInit_") for n in names)
    if not exports:
        what = (
            "a Python extension module (it exports PyInit_…), not a labkit plugin"
            if python
            else f"the library does not export {ENTRY_SYMBOL}"
        )
        return LibraryFile(path, "elf", f"missing symbol: {what}", False, python)
    return LibraryFile(path, "elf", None, True, python)


def _dynamic_symbols(handle: BinaryIO, header: bytes, bits: int, order: str) -> set[str] | None:
    """Names of the functions and objects the ELF file defines and exports; None if unknown."""
    if bits == 64:
        (shoff,) = struct.unpack_from(order + "Q", header, 40)
        shentsize, shnum = struct.unpack_from(order + "HH", header, 58)
        section = order + "IIQQQQIIQQ"
    else:
        (shoff,) = struct.unpack_from(order + "I", header, 32)
        shentsize, shnum = struct.unpack_from(order + "HH", header, 46)
        section = order + "IIIIIIIIII"
    if shoff == 0 or shnum == 0 or shentsize < struct.calcsize(section):
        return None
    handle.seek(shoff)
    table = handle.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        raise ValueError("truncated section table")
    sections = [struct.unpack_from(section, table, i * shentsize) for i in range(shnum)]
    for fields in sections:
        sh_type = fields[1]
        if sh_type != _SHT_DYNSYM:
            continue
        offset, size, link = fields[4], fields[5], fields[6]
        entsize = fields[9]
        if link >= len(sections):
            raise ValueError("bad string table index")
        strings = _read(handle, sections[link][4], sections[link][5])
        symbols = _read(handle, offset, size)
        return _exported(symbols, strings, bits, order, entsize)
    return set()  # a shared library with no dynamic symbols exports nothing


def _exported(symbols: bytes, strings: bytes, bits: int, order: str, entsize: int) -> set[str]:
    layout = order + ("IBBHQQ" if bits == 64 else "IIIBBH")
    entsize = entsize or struct.calcsize(layout)
    count = min(len(symbols) // entsize, _MOST_SYMBOLS)
    names = set()
    for index in range(1, count):
        fields = struct.unpack_from(layout, symbols, index * entsize)
        if bits == 64:
            name, info, other, shndx = fields[0], fields[1], fields[2], fields[3]
        else:
            name, info, other, shndx = fields[0], fields[3], fields[4], fields[5]
        binding, visibility = info >> 4, other & 3
        if shndx == 0 or binding not in (1, 2) or visibility not in (0, 3):
            continue  # undefined (imported), local, hidden or internal
        end = strings.find(b"\x00", name)
        if 0 <= name < len(strings) and end > name:
            names.add(strings[name:end].decode("utf-8", "replace"))
    return names


def _read(handle: BinaryIO, offset: int, size: int) -> bytes:
    if size > 256 << 20:
        raise ValueError("section too large")
    handle.seek(offset)
    data = handle.read(size)
    if len(data) < size:
        raise ValueError("truncated section")
    return data
