"""Which virtual instruments are reachable, and under which names and addresses.

``serve("tc", TemperatureControllerSim())`` makes ``labsim://tc`` (pyserial) and
``TCPIP::tc::INSTR@labkit`` (pyvisa, labkit's backend) reach it; ``visa=`` adds more VISA
resource names it answers (``"GPIB0::8::INSTR"``). A served virtual USB device appears to
pyusb's ``@labkit`` backend. Served instruments live for the process, like real ones on a
bench; serving another under the same name replaces the first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["find", "find_visa", "serve", "served", "unserve", "visa_aliases"]

_lock = threading.Lock()
_served: dict[str, Any] = {}
_visa: dict[str, str] = {}  # VISA resource name (as given) -> served name


def serve(name: str, instrument: Any, *, visa: str | Iterable[str] = ()) -> Any:
    """Make ``instrument`` reachable as ``name`` (replacing whatever was served there).

    ``visa`` lists VISA resource names (``"GPIB0::24::INSTR"``) that also reach it through
    pyvisa's ``@labkit`` backend; ``TCPIP::<name>::INSTR`` always does.
    """
    aliases = [visa] if isinstance(visa, str) else list(visa)
    with _lock:
        for alias, owner in list(_visa.items()):
            if owner == name:
                del _visa[alias]
        _served[name] = instrument
        for alias in aliases:
            _visa[alias] = name
    return instrument


def unserve(name: str) -> None:
    with _lock:
        _served.pop(name, None)
        for alias, owner in list(_visa.items()):
            if owner == name:
                del _visa[alias]


def find(name: str) -> Any:
    with _lock:
        try:
            return _served[name]
        except KeyError:
            known = ", ".join(sorted(_served)) or "none"
            raise LookupError(
                f"no simulated instrument is served as {name!r} (served: {known}); "
                "start one with labkit.sim.serve(name, instrument) or a Bench"
            ) from None


def visa_aliases() -> dict[str, str]:
    """Extra VISA resource names → the served name they reach."""
    with _lock:
        return dict(_visa)


def find_visa(resource_name: str, same: Any = None) -> tuple[str, Any] | None:
    """The served ``(name, instrument)`` a VISA alias reaches; ``same(a, b)`` compares names."""
    with _lock:
        for alias, name in _visa.items():
            equal = same(alias, resource_name) if same is not None else alias == resource_name
            if equal and name in _served:
                return name, _served[name]
    return None


def served() -> dict[str, Any]:
    with _lock:
        return dict(_served)
