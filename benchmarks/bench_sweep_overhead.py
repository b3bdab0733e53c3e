"""Per-point overhead of a 1-D sweep: labkit vs QCoDeS ``dond`` vs Bluesky's ``RunEngine``.

All three drive the same two simulated instruments with zero latency — an output whose set
and read are in-process calls, and a meter read in-process — so everything measured is the
framework: scheduling, validation, worker threads, storage. Each stores as it does by
default: labkit to a Zarr v3 store, QCoDeS to its SQLite database; Bluesky emits documents to
no subscriber (it has no default store), which flatters it.

The per-point overhead is the slope between a short and a long sweep (the fixed cost of
starting a run cancels out), median of the repeats. For labkit it is split into what the
instrument layer (labkit.core: validation, traits, one worker thread per instrument) costs for
the same calls made in a bare loop, and what the run engine adds on top; of the latter, what
storing the point costs (``RunWriter.record`` of the same values in a bare loop, into a store
of the same layout).

Run: ``python benchmarks/bench_sweep_overhead.py [--points 1000] [--repeats 5]``
(needs the ``bench`` extra: qcodes, bluesky, ophyd).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import labkit
from labkit import Instrument, Reading, Setting
from labkit.core import _loop
from labkit.store import RunWriter, Variable


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


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def _slope(run_once, short: int, long: int, repeats: int) -> tuple[float, float]:
    """(seconds per point, fixed seconds per run): median over interleaved repeats."""
    run_once(short)  # warm-up: imports, threads, caches
    slopes, fixed = [], []
    for _ in range(repeats):
        t_short, t_long = _timed(run_once, short), _timed(run_once, long)
        slope = (t_long - t_short) / (long - short)
        slopes.append(slope)
        fixed.append(t_short - slope * short)
    return statistics.median(slopes), statistics.median(fixed)


def labkit_runner(root: Path):
    source = Source(transport=InProcessTransport(), name="bench_source")
    meter = Meter(transport=InProcessTransport(), name="bench_meter")

    def run_once(points: int) -> None:
        labkit.sweep(
            source.settings.voltage,
            np.linspace(0, 1, points),
            read=[source.readings.current, meter.readings.reading],
            data_root=root,
            progress=False,
        ).wait()

    async def bare(points: int) -> None:
        voltage, current, reading = (
            source.settings.voltage,
            source.readings.current,
            meter.readings.reading,
        )
        concurrent = not (source.instant and meter.instant)
        for value in np.linspace(0, 1, points).tolist():
            await voltage.set_async(value)
            if concurrent:  # as the run engine does: side by side only when it helps
                await asyncio.gather(current.read_async(), reading.read_async())
            else:
                await current.read_async()
                await reading.read_async()

    def floor_once(points: int) -> None:
        _loop.run_sync(bare(points))

    stores = itertools.count()

    def store_once(points: int) -> float:
        """Seconds per point of the records alone (creating and closing the store are
        fixed costs far larger than the records of a thousand points: not timed)."""
        names = ("bench_source_current", "bench_meter_reading")
        variables = [Variable(n, ("voltage",), (points,), "float64", {}) for n in names]
        variables.append(Variable("time", ("voltage",), (points,), "time", {}))
        writer = RunWriter(root / f"store-{next(stores)}", variables, {"name": "bench"})
        writer.create()
        start = time.perf_counter()
        for i in range(points):
            writer.record((i,), {names[0]: 0.5e-3, names[1]: 0.5, "time": time.time_ns()})
        seconds = time.perf_counter() - start
        writer.finish("completed")
        return seconds / points

    return run_once, floor_once, store_once


def qcodes_runner(root: Path):
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

    def run_once(points: int) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            dond(
                LinSweep(source.voltage, 0, 1, points),
                source.current,
                meter.reading,
                do_plot=False,
                show_progress=False,
            )

    return run_once


def bluesky_runner():
    from bluesky import RunEngine
    from bluesky.plans import scan
    from ophyd import Component, Device, Signal
    from ophyd.sim import SynAxis

    class BMeter(Device):
        reading = Component(Signal, value=0.5, kind="hinted")

    motor = SynAxis(name="motor")
    current = Signal(name="current", value=0.0)
    meter = BMeter(name="meter")
    engine = RunEngine({})

    def run_once(points: int) -> None:
        engine(scan([current, meter], motor, 0, 1, points))

    return run_once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    long, short = args.points, max(1, args.points // 10)
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        run_once, floor_once, store_once = labkit_runner(root / "labkit")
        results["labkit"] = _slope(run_once, short, long, args.repeats)
        floor = _slope(floor_once, short, long, args.repeats)[0]
        storing = statistics.median(store_once(long) for _ in range(args.repeats))
        try:
            results["qcodes dond"] = _slope(qcodes_runner(root), short, long, args.repeats)
        except ImportError as error:
            print(f"QCoDeS not installed ({error}); pip install -e '.[bench]'")
        try:
            results["bluesky RunEngine"] = _slope(bluesky_runner(), short, long, args.repeats)
        except ImportError as error:
            print(f"Bluesky not installed ({error}); pip install -e '.[bench]'")
    ours = results["labkit"][0]
    print(
        f"1-D sweep, two zero-latency instruments, per-point overhead = slope between "
        f"{short} and {long} points, median of {args.repeats}"
    )
    for name, (slope, fixed) in results.items():
        ratio = "" if name == "labkit" else f"   labkit/{name} = {ours / slope:.3f}"
        print(
            f"  {name:<18} {slope * 1e6:8.1f} µs per point  (+{fixed * 1e3:6.1f} ms per run){ratio}"
        )
    print(
        f"  labkit split: instrument layer {floor * 1e6:.1f} µs (the same set + 2 reads in a bare "
        f"loop), run engine and storage {(ours - floor) * 1e6:.1f} µs (of which storing the "
        f"point {storing * 1e6:.1f} µs: RunWriter.record in a bare loop)"
    )


if __name__ == "__main__":
    main()
