"""Simulated instruments that sit beneath the real I/O libraries.

Drivers never import this package: a simulator is chosen by the resource address
(``labsim://name`` through pyserial, the pyvisa simulation backend, a pyusb backend, a
``.cti`` file, a library path), so the driver code that runs on Binder is the code that runs
in the lab.
"""

from labkit.sim._scpi import ScpiError, ScpiSimulator
from labkit.sim._served import find, serve, served, unserve
from labkit.sim._virtual import Connection, Faults, SimulatedDisconnect, VirtualInstrument

__all__ = [
    "Connection",
    "Faults",
    "ScpiError",
    "ScpiSimulator",
    "SimulatedDisconnect",
    "VirtualInstrument",
    "find",
    "serve",
    "served",
    "simulate",
    "unserve",
]


def simulate(driver: type, name: str, **options: object) -> ScpiSimulator:
    """Serve a :class:`ScpiSimulator` of ``driver`` as ``labsim://<name>`` and return it."""
    simulator = ScpiSimulator(driver, name, **options)  # type: ignore[arg-type]
    serve(name, simulator)
    return simulator
