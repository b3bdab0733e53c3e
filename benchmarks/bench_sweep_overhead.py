"""Per-point overhead of a 1-D sweep: labkit vs QCoDeS ``dond`` vs Bluesky's ``RunEngine``.

All three drive the same two simulated instruments with zero latency — an output whose set
and read are in-process calls, and a meter read in-process — so everything measured is the
framework: scheduling, validation, the worker threads, storage. Each framework stores as it
does by default: labkit to a Zarr v3 store, QCoDeS to its SQLite database; Bluesky emits
documents to no subscriber (it has no default store), which flatters it.

Run: ``python benchmarks/bench_sweep_overhead.py [--points 1000] [--repeats 5]``
(needs the ``bench`` extra: qcodes, bluesky, ophyd).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import labkit
from labkit import Instrument, Reading, Setting


class InProcessTransport:
    """A transport whose far end is this process: no bytes, no latency."""

    resource = "inprocess://"
    timeout = 1.0
    is_open = True

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, message: str) -> None: ...
    def read(self) -> str:
        return ""

    def query(self, message: str) -> str:
        return ""

    def write_bytes(self, data: bytes) -> None: ...
    def read_bytes(self, size: int) -> bytes:
        return b""

    def clear(self) -> None: ...


class Source(Instrument):
    voltage = Setting(unit="V", min=-10, max=10)
    current = Reading(unit="A")

    def _get_voltage(self) -> float:
        return self._v if hasattr(self, "_v") else 0.0

    def _set_voltage(self, value: float) -> None:
        self._v = value

    def _get_current(self) -> float:
        return self._get_voltage() / 1000.0


class Meter(Instrument):
    reading = Reading(unit="V")

    def _get_reading(self) -> float:
        return 0.5


def labkit_sweep(points: int, repeats: int, root: Path) -> list[float]:
    source = Source(transport=InProcessTransport(), name="bench_source")
    meter = Meter(transport=InProcessTransport(), name="bench_meter")
    values = np.linspace(0, 1, points)
    times = []
    for _ in range(repeats + 1):  # the first run warms up imports and threads
        run = labkit.sweep(
            source.settings.voltage,
            values,
            read=[source.readings.current, meter.readings.reading],
            data_root=root,
            progress=False,
        )
        run.wait()
        start, end = run.attrs["start_time"], run.attrs["end_time"]
        del start, end
        times.append(_run_seconds(run))
    source.close()
    meter.close()
    return times[1:]


def _run_seconds(run) -> float:
    import datetime as dt

    attrs = run.attrs
    begun = dt.datetime.fromisoformat(attrs["start_time"])
    ended = dt.datetime.fromisoformat(attrs["end_time"])
    return (ended - begun).total_seconds()


def qcodes_sweep(points: int, repeats: int, root: Path) -> list[float]:
    import qcodes as qc
    from qcodes.dataset import (
        LinSweep,
        dond,
        initialise_or_create_database_at,
        load_or_create_experiment,
    )
    from qcodes.instrument import Instrument as QInstrument

    logging.getLogger("qcodes").setLevel(logging.WARNING)
    initialise_or_create_database_at(root / "qcodes.db")
    load_or_create_experiment("bench", sample_name="none")

    class QSource(QInstrument):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self._v = 0.0
            self.add_parameter(
                "voltage",
                unit="V",
                get_cmd=lambda: self._v,
                set_cmd=self._set,
                vals=qc.validators.Numbers(-10, 10),
            )
            self.add_parameter("current", unit="A", get_cmd=lambda: self._v / 1000.0)

        def _set(self, value: float) -> None:
            self._v = value

    class QMeter(QInstrument):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self.add_parameter("reading", unit="V", get_cmd=lambda: 0.5)

    source, meter = QSource("q_source"), QMeter("q_meter")
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        dond(
            LinSweep(source.voltage, 0, 1, points),
            source.current,
            meter.reading,
            do_plot=False,
            show_progress=False,
        )
        times.append(time.perf_counter() - start)
    source.close()
    meter.close()
    return times[1:]


def bluesky_sweep(points: int, repeats: int) -> list[float]:
    from bluesky import RunEngine
    from bluesky.plans import scan
    from ophyd import Component, Device, Signal
    from ophyd.sim import SynAxis

    class Meter(Device):
        reading = Component(Signal, value=0.5, kind="hinted")

    motor = SynAxis(name="motor")
    current = Signal(name="current", value=0.0)
    meter = Meter(name="meter")
    engine = RunEngine({})
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        engine(scan([current, meter], motor, 0, 1, points))
        times.append(time.perf_counter() - start)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n = args.points
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ours = statistics.median(labkit_sweep(n, args.repeats, root / "labkit")) / n
        results = {"labkit": ours}
        try:
            results["qcodes dond"] = statistics.median(qcodes_sweep(n, args.repeats, root)) / n
        except ImportError as error:
            print(f"QCoDeS not installed ({error}); pip install -e '.[bench]'")
        try:
            results["bluesky RunEngine"] = statistics.median(bluesky_sweep(n, args.repeats)) / n
        except ImportError as error:
            print(f"Bluesky not installed ({error}); pip install -e '.[bench]'")
    print(f"1-D sweep, {n} points, two zero-latency instruments, median of {args.repeats} runs")
    for name, value in results.items():
        ratio = "" if name == "labkit" else f"   labkit/{name} = {ours / value:.3f}"
        print(f"  {name:<18} {value * 1e6:8.1f} µs per point{ratio}")


if __name__ == "__main__":
    main()
