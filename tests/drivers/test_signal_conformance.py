"""labkit's conformance suite on the signal-chain drivers, each on its bench twin.

The values tried are the declared ranges except where another setting couples them on the
instrument (which then refuses, as it should): the amplitude and offset share the output's
reach, duty cycles their minimum pulse width, the harmonic the 102 kHz detection limit, a
scope's scale and offset the probe ratio, its memory depth the number of channels on.
"""

from __future__ import annotations

from labkit.drivers.keysight import Keysight33511B, Keysight33522B
from labkit.drivers.rigol import RigolDS1000Z
from labkit.drivers.stanford import SR830
from labkit.sim import Bench, serve
from labkit.sim.twins._keysight33500b import Keysight33500BTwin
from labkit.testing import DriverConformance

_GENERATOR_VALUES = {
    "frequency": [1e-6, 15e6, 1e3],
    "amplitude": [10.0, 1e-3, 1.0],
    "offset": [-4.0, 4.0, 0.0],
    "pulse_duty_cycle": [1.0, 50.0, 99.0],
    "load": ["high Z", "75 ohm", "1 kohm", "50 ohm"],
}


class TestKeysight33522B(DriverConformance):
    driver = Keysight33522B
    values = _GENERATOR_VALUES

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["fg"])
        return Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)


class TestKeysight33511B(DriverConformance):
    driver = Keysight33511B
    values = {**_GENERATOR_VALUES, "frequency": [1e-6, 20e6, 1e3]}

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=[])
        serve("fg_33511b", Keysight33500BTwin(bench, name="fg_33511b", model="33511B"))
        return Keysight33511B("TCPIP0::fg_33511b::INSTR@labkit", name="fg1", timeout=1.0)


class TestSR830OverGpib(DriverConformance):
    driver = SR830
    values = {
        "frequency": [1e-3, 102e3, 1e3],
        "harmonic": [1, 102, 3],
        "phase": [-180.0, 0.0, 179.99],
    }

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["lockin"])
        return SR830(bench.address("lockin", "gpib"), name="lockin", timeout=1.0)


class TestSR830OverRs232(TestSR830OverGpib):
    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["lockin"])
        return SR830(bench.address("lockin", "serial"), name="lockin", timeout=1.0)


class TestRigolDS1000Z(DriverConformance):
    driver = RigolDS1000Z
    values = {
        "memory_depth": ["12k", "1.2M", "auto"],
        "scale": [0.05, 50.0, 1.0],  # with the 10:1 probe the scope starts with
        "offset": [-20.0, 0.5, 0.0],
        # D0-D15 exist on the MSO models only (test_connect_states starts an MSO twin on them)
        "trigger_source": ["ch1", "ch2", "ch3", "ch4", "ac line"],
    }

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["scope"])
        return RigolDS1000Z(bench.address("scope"), name="scope", timeout=1.0)

    def test_readings_read(self, instrument):
        # A channel that is off has no trace (its reading refuses, naming the fix): show all
        # four, so that every channel's readings have something to read.
        for channel in instrument.channels.values():
            channel.display = True
        # A channel's raw_trace reads the acquisition memory, which a stopped scope holds still.
        instrument.halt()
        super().test_readings_read(instrument)
