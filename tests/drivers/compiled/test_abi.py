"""labkit_plugin.h and its ctypes mirror agree, and the header compiles as C and C++."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

import labkit
from labkit.drivers.compiled import _abi
from tests.conftest import NEEDS_NATIVE

from .conftest import compiler

HEADER = Path(labkit.plugin_include_dir()) / "labkit_plugin.h"

LAYOUT = r"""
#include <stdio.h>
#include <stddef.h>
#include "labkit_plugin.h"
#define FIELD(s, f) printf(#s "." #f " %zu %zu\n", offsetof(s, f), sizeof(((s *)0)->f))
int main(void) {
    printf("labkit_plugin %zu\n", sizeof(labkit_plugin));
    printf("labkit_value %zu\n", sizeof(labkit_value));
    printf("labkit_text %zu\n", sizeof(labkit_text));
    printf("version %u\n", (unsigned)LABKIT_PLUGIN_ABI_VERSION);
    printf("entry %s\n", LABKIT_PLUGIN_ENTRY_SYMBOL);
    FIELD(labkit_plugin, abi_version); FIELD(labkit_plugin, struct_size);
    FIELD(labkit_plugin, name); FIELD(labkit_plugin, version);
    FIELD(labkit_plugin, description); FIELD(labkit_plugin, declarations);
    FIELD(labkit_plugin, open); FIELD(labkit_plugin, close); FIELD(labkit_plugin, set);
    FIELD(labkit_plugin, get); FIELD(labkit_plugin, read); FIELD(labkit_plugin, action);
    FIELD(labkit_plugin, last_error); FIELD(labkit_plugin, identify);
    FIELD(labkit_plugin, describe); FIELD(labkit_plugin, reserved);
    FIELD(labkit_value, kind); FIELD(labkit_value, reserved); FIELD(labkit_value, as);
    FIELD(labkit_text, data); FIELD(labkit_text, size);
    printf("status %d %d %d %d %d %d %d %d %d %d %d %d\n", LABKIT_OK, LABKIT_ERROR,
           LABKIT_ERROR_REFUSED, LABKIT_ERROR_TIMEOUT, LABKIT_ERROR_DISCONNECTED,
           LABKIT_ERROR_NO_DEVICE, LABKIT_ERROR_BAD_RESOURCE, LABKIT_ERROR_UNKNOWN_NAME,
           LABKIT_ERROR_WRONG_KIND, LABKIT_ERROR_TEXT_TOO_LONG, LABKIT_ERROR_UNSUPPORTED,
           LABKIT_ERROR_NO_MEMORY);
    printf("kinds %d %d %d %d\n", LABKIT_FLOAT, LABKIT_INT, LABKIT_BOOL, LABKIT_TEXT);
    return 0;
}
"""


def _c_layout(tmp_path: Path) -> dict[str, list[str]]:
    source = tmp_path / "layout.c"
    source.write_text(LAYOUT)
    program = tmp_path / "layout"
    built = subprocess.run(
        [
            compiler(),
            "-std=c11",
            "-Wall",
            "-Werror",
            f"-I{HEADER.parent}",
            str(source),
            "-o",
            str(program),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    output = subprocess.run([str(program)], capture_output=True, text=True, check=True).stdout
    return {line.split()[0]: line.split()[1:] for line in output.splitlines()}


def test_the_ctypes_mirror_has_the_headers_layout(tmp_path: Path) -> None:
    c = _c_layout(tmp_path)
    assert int(c["labkit_plugin"][0]) == ctypes.sizeof(_abi.Table)
    assert int(c["labkit_value"][0]) == ctypes.sizeof(_abi.Value)
    assert int(c["labkit_text"][0]) == ctypes.sizeof(_abi.Text)
    assert int(c["version"][0]) == _abi.ABI_VERSION
    assert c["entry"] == [_abi.ENTRY_SYMBOL]
    for name, _ in _abi.Table._fields_:
        offset, size = map(int, c[f"labkit_plugin.{name}"])
        field = getattr(_abi.Table, name)
        assert (field.offset, field.size) == (offset, size), name
    for c_name, py_name in (("kind", "kind"), ("reserved", "reserved"), ("as", "as_")):
        offset, size = map(int, c[f"labkit_value.{c_name}"])
        field = getattr(_abi.Value, py_name)
        assert (field.offset, field.size) == (offset, size), c_name
    assert [int(v) for v in c["status"]] == sorted(_abi.STATUS_NAMES)
    assert [int(v) for v in c["kinds"]] == [_abi.FLOAT, _abi.INT, _abi.BOOL, _abi.TEXT]
    names = [_abi.STATUS_NAMES[s] for s in sorted(_abi.STATUS_NAMES)]
    header = HEADER.read_text()
    assert all(f"#define {name} " in header for name in names)


@pytest.mark.parametrize(
    ("tool", "flags"),
    [
        ("cc", ["-x", "c", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]),
        ("c++", ["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]),
    ],
)
def test_the_header_compiles_cleanly_as_c99_and_cxx11(
    tmp_path: Path, tool: str, flags: list[str]
) -> None:
    found = shutil.which(tool) or (compiler() if tool == "cc" else None)
    if found is None:
        pytest.skip(f"{NEEDS_NATIVE}: no {tool} here")
    source = tmp_path / "use.h.c"
    source.write_text(
        '#include "labkit_plugin.h"\nstatic labkit_plugin table;\nLABKIT_PLUGIN_DEFINE(table)\n'
    )
    result = subprocess.run(
        [found, *flags, f"-I{HEADER.parent}", "-fsyntax-only", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
