"""Pick the transport from a resource address.

========  =====================================================  ==========================
kind      address                                                library
========  =====================================================  ==========================
visa      ``GPIB0::24::INSTR``, ``TCPIP::10.0.0.5::INSTR@py``,    pyvisa (backend after ``@``)
          ``USB0::0x05E6::0x2450::04096001::INSTR``,
          ``TCPIP::smu::INSTR@labkit``
usb       ``usb:0x2457:0x101e``, ``usb:2457:101e:USB2+F01234``,   pyusb (backend after ``@``)
          ``usb:0x2457:0x101e@labkit``
serial    ``COM3``, ``/dev/ttyUSB0``, ``labsim://tc``,             pyserial
          ``socket://host:port``
========  =====================================================  ==========================

A backend spec after ``@`` picks the library's backend (pyvisa's ``@py``, ``@sim``,
``@labkit``; pyusb's ``@libusb1``, ``@labkit``); drivers never choose it. Each kind is
imported only when an address of that kind is opened, so a lab without USB needs no libusb and
``import labkit`` loads none of the libraries.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigurationError, Transport

__all__ = [
    "TRANSPORT_KINDS",
    "TransportKind",
    "kind_of_address",
    "open_transport",
    "split_backend",
]


@dataclass(frozen=True)
class TransportKind:
    name: str
    matches: Callable[[str], bool]
    factory: str  # "module:attribute", imported on first use
    example: str


_SERIAL_DEVICE = re.compile(r"^(COM\d+|/dev/\S+)$", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_VISA = re.compile(
    r"^(GPIB-VXI|GPIB|TCPIP|USB|ASRL|VXI|PXI|VICP|FIREWIRE|RIO)[^:@\s]*::[^@\s]*(@.+)?$",
    re.IGNORECASE,
)
USB_ADDRESS = re.compile(
    r"^usb:(?P<vid>(0x)?[0-9a-f]{1,4}):(?P<pid>(0x)?[0-9a-f]{1,4})"
    r"(:(?P<serial>[^@\s]+))?(@(?P<backend>.+))?$",
    re.IGNORECASE,
)


def split_backend(address: str) -> tuple[str, str | None]:
    """``"GPIB0::8::INSTR@py"`` → ``("GPIB0::8::INSTR", "py")``; no ``@`` → backend None.

    Resource names never contain ``@``, so the first one starts the backend spec, which may
    itself contain ``@`` (``x.yaml@sim``).
    """
    name, at, backend = address.partition("@")
    if at and not backend:
        raise ConfigurationError(
            f"{address!r} ends with '@' but names no backend",
            hint="Write e.g. GPIB0::8::INSTR@py, or leave the '@' out",
        )
    return name, (backend if at else None)


TRANSPORT_KINDS: list[TransportKind] = [
    TransportKind(
        "visa",
        lambda address: bool(_VISA.match(address)),
        "labkit.transports._visa:VisaTransport",
        "GPIB0::24::INSTR, TCPIP::10.0.0.5::INSTR, TCPIP::smu::INSTR@labkit",
    ),
    TransportKind(
        "usb",
        lambda address: bool(USB_ADDRESS.match(address)),
        "labkit.transports._usb:UsbTransport",
        "usb:0x2457:0x101e, usb:0x2457:0x101e:SERIAL@labkit",
    ),
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
