"""Which virtual instruments are reachable, and under which name.

``serve("tc", TemperatureControllerSim())`` makes ``labsim://tc`` (pyserial) and the pyvisa
simulation backend find it. Served instruments live for the process, like real ones on a bench.
"""

from __future__ import annotations

import threading

from labkit.sim._virtual import VirtualInstrument

__all__ = ["find", "serve", "served", "unserve"]

_lock = threading.Lock()
_served: dict[str, VirtualInstrument] = {}


def serve(name: str, instrument: VirtualInstrument) -> VirtualInstrument:
    """Make ``instrument`` reachable as ``name`` (replacing whatever was served there)."""
    with _lock:
        _served[name] = instrument
    return instrument


def unserve(name: str) -> None:
    with _lock:
        _served.pop(name, None)


def find(name: str) -> VirtualInstrument:
    with _lock:
        try:
            return _served[name]
        except KeyError:
            known = ", ".join(sorted(_served)) or "none"
            raise LookupError(
                f"no simulated instrument is served as {name!r} (served: {known}); "
                "start one with labkit.sim.serve(name, instrument) or a Bench"
            ) from None


def served() -> dict[str, VirtualInstrument]:
    with _lock:
        return dict(_served)
