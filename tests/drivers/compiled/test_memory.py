"""The example plugin under memory and thread checkers, across load, use and unload.

- from C (harness.c): the plugin and the harness built with AddressSanitizer,
  UndefinedBehaviorSanitizer and LeakSanitizer; then with ThreadSanitizer, eight threads on
  eight devices at once (the registry of simulated supplies is shared between them);
- from Python, under valgrind: labkit's own ctypes binding and instrument layer driving the
  plugin built as a user builds it, then the library unloaded (dlclose) and checked gone.
  Valgrind checks every read and write there; leaks are LeakSanitizer's job (in a Python
  process, stale pointers left in freed memory make valgrind's leak verdicts unreliable).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import NEEDS_NATIVE

from .conftest import EXAMPLE, compile_library, compiler

HARNESS = Path(__file__).with_name("harness.c")
SUPPRESSIONS = Path(__file__).resolve().parents[2] / "native" / "valgrind.supp"

SCRIPT = """\
expect-open-fail gpib://x
expect-open-fail sim://bad$name
expect-open-fail sim://x?model=PS-9999
expect-open-fail sim://x?load=-1
expect-open-fail sim://x?colour=red
open 0 sim://a?load=10
expect-open-fail sim://a
identify 0
describe 0
get 0 output b
get 0 sense t 2
set 0 voltage f 12.5
set 0 output b 1
set 0 sense t remote
set 0 averages i 16
read 0 voltage_out f
read 0 current_out f
read 0 mode t 1
expect-set-fail 0 voltage f 99
expect-set-fail 0 sense t sideways
expect-set-fail 0 volume f 1
set 0 ovp_level f 5
read 0 tripped b
expect-set-fail 0 output b 1
action 0 clear_protection
action 0 reset
open 1 sim://b?model=PS-6010&load=open
set 1 voltage f 55
describe 1
close 1
close 0
threads 8 200 sim://thread
"""


def _sanitized(tmp_path: Path, flags: list[str]) -> tuple[Path, Path]:
    library = compile_library(sorted(EXAMPLE.glob("*.c")), tmp_path / "libacme_psu.so", *flags)
    harness = tmp_path / "harness"
    import labkit

    built = subprocess.run(
        [
            compiler(),
            "-std=c11",
            "-g",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            *flags,
            f"-I{labkit.plugin_include_dir()}",
            str(HARNESS),
            "-o",
            str(harness),
            "-ldl",
            "-pthread",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if built.returncode and "sanitize" in built.stderr:
        pytest.skip(
            f"{NEEDS_NATIVE}: the compiler has no runtime for {flags[0]}: {built.stderr[:200]}"
        )
    assert built.returncode == 0, built.stderr
    return library, harness


@pytest.mark.slow
def test_load_use_and_unload_are_clean_under_address_and_leak_sanitizers(tmp_path: Path) -> None:
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    library, harness = _sanitized(tmp_path, flags)
    result = subprocess.run(
        [str(harness), str(library)],
        input=SCRIPT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr[-6000:]
    assert "Sanitizer" not in result.stderr
    out = result.stdout
    assert "open refused: sim://a is already open" in out
    assert "read mode = CV" in out  # after the one-byte buffer was too small
    assert "set refused: the ove" in out  # last_error truncates to the buffer it is given
    assert out.rstrip().endswith("threads: 8 x 200 rounds\nunloaded")


@pytest.mark.slow
def test_devices_on_many_threads_are_clean_under_thread_sanitizer(tmp_path: Path) -> None:
    library, harness = _sanitized(tmp_path, ["-fsanitize=thread"])
    result = subprocess.run(
        [str(harness), str(library)],
        input="threads 8 300 sim://t\nthreads 8 100 sim://t\n",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TSAN_OPTIONS": "halt_on_error=1"},
    )
    if "FATAL: ThreadSanitizer: unexpected memory mapping" in result.stderr:
        pytest.skip("ThreadSanitizer cannot run with this kernel's address-space layout")
    assert result.returncode == 0, result.stderr[-6000:]
    assert "ThreadSanitizer" not in result.stderr


PYTHON = textwrap.dedent(
    """
    import _ctypes, sys
    import labkit
    from labkit.drivers.compiled import PluginLibrary, PluginFault, driver_class

    path = sys.argv[1]
    library = PluginLibrary.load(path)
    links = [library.open(f"sim://v{i}?load=5") for i in range(3)]
    for link in links:
        link.set("voltage", 7.5)
        link.set("output", True)
        link.set("sense", "remote")
        assert link.get("sense") == "remote"
        assert link.read("mode") == "CV"
        link.identify()
        try:
            link.set("voltage", 99.0)
        except labkit.InstrumentError:
            pass
    for link in links:
        link.close()
    Psu = driver_class(path)
    with Psu("sim://instrument", name="psu") as psu:
        psu.voltage = "1500 mV"
        psu.output = True
        psu.refresh()
        psu.make_safe()
        try:
            psu.voltage = 45
        except labkit.LimitError:
            pass
    with Psu("sim://big?model=PS-6010&load=10", name="big") as big:  # declares at connect
        big.voltage = 45
        big.reconnect()
        big.read("voltage_out")
    try:
        Psu("tcp://nowhere", name="nowhere")
    except labkit.InstrumentError:
        pass
    handle = library._handle._handle
    del links, psu, big, Psu
    _ctypes.dlclose(handle)
    mapped = open("/proc/self/maps").read()
    print("still mapped" if path in mapped else "unloaded")
    """
)


@pytest.mark.slow
def test_labkits_binding_is_clean_under_valgrind_across_load_use_and_unload(
    tmp_path: Path, example_library: Path
) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        if os.environ.get("LABKIT_REQUIRE_VALGRIND") == "1":
            pytest.fail("valgrind is required here (LABKIT_REQUIRE_VALGRIND=1) but not installed")
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    library = tmp_path / "libacme_psu.so"
    shutil.copy(example_library, library)
    script = tmp_path / "exercise.py"
    script.write_text(PYTHON)
    result = subprocess.run(
        [
            valgrind,
            "--error-exitcode=99",
            "--leak-check=no",
            "--undef-value-errors=no",
            f"--suppressions={SUPPRESSIONS}",
            sys.executable,
            str(script),
            str(library),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONMALLOC": "malloc", "OPENBLAS_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert "Invalid" not in result.stderr
    assert result.stdout.strip().endswith("unloaded")
