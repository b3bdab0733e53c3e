"""What a call into a compiled driver plugin costs, layer by layer, on the example plugin.

Four ways of setting the example supply's voltage and reading its current, measured in the same
run on the same simulated device (whose own work is a few hundred nanoseconds):

- ``ctypes``: the plugin's table functions called straight through ctypes with a prepared
  ``labkit_value`` — the floor any Python binding pays;
- ``link``: labkit's ``PluginLink`` (name encoding, value conversion, status and kind checks);
- ``instrument``: ``psu.voltage = v`` and ``psu.read("current_out")`` — every guard, the worker,
  the traits;
- ``python``: the same instrument layer over a driver written in Python whose accessors do the
  same arithmetic in-process: what the instrument layer costs without any plugin.

Run: ``python benchmarks/bench_compiled_plugin.py [--calls 20000] [--repeats 5]``. Needs a C
compiler (the example is built into a temporary folder).
"""

from __future__ import annotations

import argparse
import ctypes
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import labkit
from labkit import Instrument, Reading, Setting
from labkit.drivers.compiled import PluginLibrary, _abi, driver_class

EXAMPLE = Path(__file__).resolve().parent.parent / "extensions" / "labkit-acme-psu" / "src"


def build(folder: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("a C compiler is needed to build the example plugin")
    target = folder / "libacme_psu.so"
    subprocess.run(
        [
            compiler,
            "-std=c11",
            "-O2",
            "-shared",
            "-fPIC",
            "-fvisibility=hidden",
            f"-I{labkit.plugin_include_dir()}",
            *map(str, sorted(EXAMPLE.glob("*.c"))),
            "-o",
            str(target),
            "-lm",
            "-pthread",
        ],
        check=True,
    )
    return target


class InProcess:
    """A link whose far end is this process."""

    resource = "inprocess://"
    timeout = 1.0
    is_open = True

    def open(self) -> None: ...
    def close(self) -> None: ...


class PythonSupply(Instrument):
    """The same two declarations, served by Python accessors."""

    voltage = Setting(unit="V", min=0, max=30)
    current_out = Reading(unit="A")

    def _get_voltage(self) -> float:
        return getattr(self, "_volts", 0.0)

    def _set_voltage(self, value: float) -> None:
        self._volts = value

    def _get_current_out(self) -> float:
        return round(self._get_voltage() / 10.04 / 1e-4) * 1e-4


def per_call(run: Callable[[int], None], calls: int, repeats: int) -> float:
    run(max(1, calls // 10))  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(calls)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000, help="set+read pairs per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = build(Path(folder))
        library = PluginLibrary.load(path)

        link = library.open("sim://bench-link?load=10")
        link.set("output", True)
        table = library._table
        raw = ctypes.c_void_p(link._device.value)
        volts = _abi.Value(kind=_abi.FLOAT)
        amps = _abi.Value(kind=_abi.FLOAT)
        set_fn, read_fn = table.set, table.read
        voltage_name, current_name = b"voltage", b"current_out"

        def bare(n: int) -> None:
            for i in range(n):
                volts.as_.f = (i % 300) * 0.1
                set_fn(raw, voltage_name, ctypes.byref(volts))
                read_fn(raw, current_name, ctypes.byref(amps))

        def through_link(n: int) -> None:
            for i in range(n):
                link.set("voltage", (i % 300) * 0.1)
                link.read("current_out")

        psu = driver_class(path)("sim://bench-instrument?load=10", name="psu")
        psu.output = True

        def instrument(n: int) -> None:
            for i in range(n):
                psu.voltage = (i % 300) * 0.1
                psu.read("current_out")

        python = PythonSupply(transport=InProcess(), name="python_supply")

        def python_driver(n: int) -> None:
            for i in range(n):
                python.voltage = (i % 300) * 0.1
                python.read("current_out")

        figures = {
            "ctypes": per_call(bare, args.calls, args.repeats),
            "link": per_call(through_link, args.calls, args.repeats),
            "instrument": per_call(instrument, args.calls // 4, args.repeats),
            "python": per_call(python_driver, args.calls // 4, args.repeats),
        }
        link.close()
        psu.close()
        python.close()
    print("one set + one read of the example plugin's simulated supply (median per pair)")
    for name, seconds in figures.items():
        ratio = seconds / figures["ctypes"]
        print(f"  {name:<11} {seconds * 1e6:8.2f} µs   {ratio:6.1f}× the ctypes floor")
    plugin, python_layer = figures["instrument"], figures["python"]
    print(
        f"  a compiled driver costs {plugin / python_layer:.2f}× a Python driver's instrument layer"
    )


if __name__ == "__main__":
    main()
