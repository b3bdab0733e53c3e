"""Thin, typed transports over pyvisa, pyserial and pyusb, picked by resource address."""

from labkit.transports._address import (
    TRANSPORT_KINDS,
    TransportKind,
    kind_of_address,
    open_transport,
)
from labkit.transports._serial import SerialTransport

__all__ = [
    "TRANSPORT_KINDS",
    "SerialTransport",
    "TransportKind",
    "kind_of_address",
    "open_transport",
]
