"""Simulated instruments that sit beneath the real I/O libraries.

Drivers never import this package: a simulator is chosen by the resource address
(``labsim://name`` through pyserial, ``...@labkit`` through pyvisa, ``usb:...@labkit``
through pyusb, a ``.cti`` file, a library path), so the driver code that runs on Binder is
the code that runs in the lab.

- :class:`Bench` — the virtual bench: coupled, seeded physics serving its instruments;
- :class:`VirtualInstrument` (text protocols), :class:`ScpiTwin` (SCPI instruments from the
  manual's command tree), :class:`VirtualUsbDevice` (binary USB protocols),
  :class:`ScpiSimulator` (a SCPI simulator generated from a driver's declarations); both SCPI
  kinds keep IEEE 488.2 through one engine, :class:`Ieee4882Instrument`;
- :func:`serve` makes one reachable; :class:`Faults` injects timeouts, slow or garbled
  replies, disconnects and instrument errors.

The library-level parts (pyvisa backend, pyusb backend) are imported only when used.
"""

from __future__ import annotations

from typing import Any

from labkit.core._lazy import lazy_names
from labkit.sim._dialogue import Dialogue
from labkit.sim._ieee4882 import Ieee4882Instrument
from labkit.sim._scpi import ScpiError, ScpiSimulator
from labkit.sim._served import find, serve, served, unserve
from labkit.sim._virtual import Connection, Faults, SimulatedDisconnect, VirtualInstrument

# Names loaded on first use ("name": "module[:attribute]"): they import numpy, pyvisa or pyusb.
_LAZY = {
    "Bench": "labkit.sim.bench",
    "Clock": "labkit.sim.bench",
    "ScpiTwin": "labkit.sim._scpi_twin",
    "scpi": "labkit.sim._scpi_twin",
    "VirtualUsbDevice": "labkit.sim._usb",
    "UsbMessageDevice": "labkit.sim._usb",
    "Endpoint": "labkit.sim._usb",
    "usb_backend": "labkit.sim._usb:get_backend",
    "LabkitVisaLibrary": "labkit.sim._visa",
    "simulated_alternative": "labkit.sim._alternatives",
}

__all__ = [
    "Connection",
    "Dialogue",
    "Faults",
    "Ieee4882Instrument",
    "ScpiError",
    "ScpiSimulator",
    "SimulatedDisconnect",
    "VirtualInstrument",
    "find",
    "serve",
    "served",
    "simulate",
    "unserve",
    *_LAZY,
]


__getattr__ = lazy_names(globals(), _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)


def simulate(driver: type, name: str, **options: Any) -> ScpiSimulator:
    """Serve a :class:`ScpiSimulator` of ``driver`` as ``labsim://<name>`` and return it."""
    simulator = ScpiSimulator(driver, name, **options)
    serve(name, simulator)
    return simulator
