"""The virtual bench: seeded, coupled physics that labkit's virtual instruments act on.

See :class:`Bench`. The physics modules document their equations: ``_electrical`` (device
models), ``_circuit`` (SMU, DUT, DMM network), ``_thermal`` (heater and sample), ``_signal``
(generator, path, lock-in), ``_optics`` (lamp, LED, spectrometer).
"""

from labkit.sim.bench._bench import INTERFACES, Bench
from labkit.sim.bench._circuit import DUTS, Circuit, SmuState, make_dut
from labkit.sim.bench._clock import Clock
from labkit.sim.bench._electrical import Diode, Led, OperatingPoint, Resistor, thermal_voltage
from labkit.sim.bench._optics import Lamp, Optics, SpectrometerModel, planck_photon_radiance
from labkit.sim.bench._signal import WAVEFORMS, SignalChain, enbw
from labkit.sim.bench._state import State
from labkit.sim.bench._thermal import ControllerState, ThermalStage

__all__ = [
    "DUTS",
    "INTERFACES",
    "WAVEFORMS",
    "Bench",
    "Circuit",
    "Clock",
    "ControllerState",
    "Diode",
    "Lamp",
    "Led",
    "OperatingPoint",
    "Optics",
    "Resistor",
    "SignalChain",
    "SmuState",
    "SpectrometerModel",
    "State",
    "ThermalStage",
    "enbw",
    "make_dut",
    "planck_photon_radiance",
    "thermal_voltage",
]
