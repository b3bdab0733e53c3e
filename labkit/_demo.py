"""``labkit demo``: the quickstart notebook's experiment, headless, on the virtual bench.

A Keithley 2450 drives a diode on :class:`labkit.sim.Bench` while a Keysight 34465A measures
across it; the demo sweeps the voltage exactly as ``notebooks/00-quickstart.ipynb`` does,
through the real drivers and pyvisa, then says where the run was written and what it found.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

__all__ = ["SWEEP", "run_demo"]

SWEEP = (0.0, 0.8, 41)
"""Start (V), stop (V) and points of the quickstart's sweep: ``np.linspace(0, 0.8, 41)``."""

_ROOM = 295.15  # K, the bench's ambient temperature
_THERMAL_VOLTAGE = 1.380649e-23 * _ROOM / 1.602176634e-19


def ideality(voltage: Any, current: Any) -> float:
    """The diode's ideality factor from the exponential part of its IV curve (0.1 µA … 1 mA)."""
    import numpy as np

    voltage, current = np.asarray(voltage), np.asarray(current)
    part = (current > 1e-7) & (current < 1e-3)
    if part.sum() < 2:
        return math.nan
    slope = np.polyfit(voltage[part], np.log(current[part]), 1)[0]
    return float(1.0 / (slope * _THERMAL_VOLTAGE))


def run_demo(seed: int = 0, *, out: Any = None) -> int:
    """Run the quickstart sweep on a bench seeded with ``seed``; print a short summary."""
    import numpy as np

    import labkit
    from labkit.drivers.keithley import Keithley2450
    from labkit.drivers.keysight import Keysight34465A

    out = out or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say("labkit demo: a diode's IV curve on the virtual bench (simulated instruments)")
    with labkit.sim.Bench(seed=seed, dut="diode") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        dmm = Keysight34465A(bench.address("dmm"), name="dmm")
        try:
            for instrument in (smu, dmm):
                identity = instrument.identity or {}
                say(
                    f"  {instrument.name}: {identity.get('manufacturer', '?')} "
                    f"{identity.get('model', '?')} "
                    f"at {instrument.resource}"
                )
            smu.current_limit = "10 mA"
            dmm.nplc = 1
            try:
                smu.current_limit = "2 A"
            except labkit.LimitError as error:
                say(f"  Refused before anything was sent: {error}")
            smu.output = True
            start, stop, points = SWEEP
            say(f"  Sweeping smu.source_voltage {start:g} → {stop:g} V, {points} points ...")
            began = time.monotonic()
            run = labkit.sweep(
                smu.settings.source_voltage,
                np.linspace(start, stop, points),
                read=[smu.readings.current, dmm.readings.voltage],
                name="diode-iv",
            )
            data = run.wait().load()
            took = time.monotonic() - began
        finally:
            smu.make_safe()
            smu.close()
            dmm.close()
    current = data.smu_current.values
    voltage = data.dmm_voltage.values
    rising = (current > 1e-6) & (current < 9e-3)  # exponential and increasing: interpolable
    at_1ma = float(np.interp(1e-3, current[rising], voltage[rising]))
    say()
    say(f"Run {run.id} {run.name!r} {run.status}: {run.points} points in {took:.1f} s")
    say(f"  written to {run.path}")
    say(f"  forward voltage at 1 mA: {at_1ma:.3f} V")
    say(f"  ideality factor from the exponential part: {ideality(voltage, current):.2f}")
    say(
        f"  current at {stop:g} V: {current[-1] * 1e3:.2f} mA "
        f"(the 10 mA compliance: the SMU became a current source)"
    )
    say()
    say(f'Reopen it: labkit.open_run("{run.id}"), or: labkit runs show {run.id}')
    say("In JupyterLab: labkit lab opens the quickstart notebook, which runs the same sweep.")
    return 0 if run.status == "completed" else 1
