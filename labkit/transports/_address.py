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
import math
import numbers
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigurationError, Transport

__all__ = [
    "TRANSPORT_KINDS",
    "TransportKind",
    "check_options",
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


def _factory(kind: TransportKind) -> Any:
    module_name, _, attribute = kind.factory.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _refuse_unknown(resource: str, kind: TransportKind, factory: Any, options: Mapping) -> None:
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        known = ", ".join(p for p in accepted if p != "resource")
        raise ConfigurationError(
            f"{resource}: the {kind.name} transport has no option {', '.join(map(repr, unknown))}",
            setting=unknown[0],
            hint=f"It takes: {known}",
        )


def open_transport(resource: str, options: Mapping[str, Any] | None = None) -> Transport:
    """Open the transport for ``resource``; ``options`` are its settings (timeout, baud_rate...)."""
    kind = kind_of_address(resource)
    factory = _factory(kind)
    options = dict(options or {})
    _refuse_unknown(resource, kind, factory, options)
    return factory(resource, **options)


def check_options(resource: str, options: Mapping[str, Any]) -> None:
    """Refuse, without opening anything, options the transport of ``resource`` would refuse.

    Unknown names, values of the wrong type (by the transport's annotations), numbers that are
    not finite, values outside a transport's ``OPTION_CHOICES``, and whatever its
    ``check_options(resource, options)`` refuses (serial settings on a VISA resource that is
    not a serial port). The error's ``setting`` names the option. A station file is checked
    with this before any instrument is contacted.
    """
    kind = kind_of_address(resource)
    factory = _factory(kind)
    _refuse_unknown(resource, kind, factory, options)
    hints = typing.get_type_hints(factory.__init__)
    choices = getattr(factory, "OPTION_CHOICES", {})
    for name, value in options.items():
        allowed = _types_of(hints.get(name, Any))
        problem = None
        if allowed is not None and not _is_instance(value, allowed):
            names = " or ".join(sorted({_type_name(t) for t in allowed}))
            problem = f"must be {names}, not {value!r}"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = f"must be a finite number, not {value!r}"
        elif name in choices and value is not None and value not in choices[name]:
            problem = f"must be one of {', '.join(map(repr, choices[name]))}, not {value!r}"
        if problem:
            raise ConfigurationError(
                f"{resource}: the option {name} {problem}",
                setting=name,
                hint=f"Fix the {kind.name} transport's options",
            )
    extra = getattr(factory, "check_options", None)
    if extra is not None:
        extra(resource, options)


def _types_of(hint: Any) -> tuple[type, ...] | None:
    """The runtime types an annotation allows; None for anything."""
    if hint is Any:
        return None
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        found: list[type] = []
        for arg in typing.get_args(hint):
            more = _types_of(arg)
            if more is None:
                return None
            found.extend(more)
        return tuple(found)
    if hint is None or hint is type(None):
        return (type(None),)
    return (hint,) if isinstance(hint, type) else None


def _is_instance(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if float in allowed and isinstance(value, numbers.Real):
        return True
    return isinstance(value, allowed)


def _type_name(kind: type) -> str:
    return {type(None): "null", float: "a number", int: "a whole number", str: "text"}.get(
        kind, kind.__name__
    )
