"""Pick the transport from a resource address.

``GPIB0::24::INSTR`` goes to pyvisa, ``COM3``, ``/dev/ttyUSB0`` and pyserial URLs such as
``labsim://tc`` to pyserial. Each kind is imported only when an address of that kind is
opened, so a lab without USB needs no libusb and ``import labkit`` loads none of them.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigurationError, Transport

__all__ = ["TRANSPORT_KINDS", "TransportKind", "kind_of_address", "open_transport"]


@dataclass(frozen=True)
class TransportKind:
    name: str
    matches: Callable[[str], bool]
    factory: str  # "module:attribute", imported on first use
    example: str


_SERIAL_DEVICE = re.compile(r"^(COM\d+|/dev/\S+)$", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)

TRANSPORT_KINDS: list[TransportKind] = [
    TransportKind(
        "serial",
        lambda address: bool(_SERIAL_DEVICE.match(address) or _URL.match(address)),
        "labkit.transports._serial:SerialTransport",
        "COM3, /dev/ttyUSB0, labsim://tc, socket://host:port",
    ),
]


def kind_of_address(resource: str) -> TransportKind:
    for kind in TRANSPORT_KINDS:
        if kind.matches(resource):
            return kind
    examples = "; ".join(f"{k.name}: {k.example}" for k in TRANSPORT_KINDS)
    raise ConfigurationError(
        f"{resource!r} is not an address labkit recognises",
        hint=f"Use one of these forms — {examples}",
    )


def open_transport(resource: str, options: Mapping[str, Any] | None = None) -> Transport:
    """Open the transport for ``resource``; ``options`` are its settings (timeout, baud_rate...)."""
    kind = kind_of_address(resource)
    module_name, _, attribute = kind.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    options = dict(options or {})
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        known = ", ".join(p for p in accepted if p != "resource")
        raise ConfigurationError(
            f"{resource}: the {kind.name} transport has no option {', '.join(map(repr, unknown))}",
            hint=f"It takes: {known}",
        )
    return factory(resource, **options)
