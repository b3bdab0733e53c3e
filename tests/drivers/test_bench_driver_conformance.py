"""labkit's conformance suite on the drivers of this issue, each on its bench twin."""

from __future__ import annotations

from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A
from labkit.sim import Bench
from labkit.testing import DriverConformance


class TestKeithley2450(DriverConformance):
    driver = Keithley2450
    # Levels end at 0 so that the fixed source ranges tried next hold them (the 2450 ignores a
    # range too small for the level); the source function ends at voltage so that the
    # current measure range is the measure range, not the current source range.
    skip_settings = {
        "voltage_range": "while it sources voltage the 2450 measures voltage on the source range",
    }
    values = {
        "source_function": ["current", "voltage"],
        "source_voltage": [-210.0, 210.0, 1.5, 0.0],
        "source_current": [-1.05, 1.05, 1e-3, 0.0],
    }

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["smu"])
        return Keithley2450(bench.address("smu"), name="smu", timeout=1.0)


class TestKeysight34465A(DriverConformance):
    driver = Keysight34465A

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["dmm"])
        return Keysight34465A(bench.address("dmm"), name="dmm", timeout=1.0)
