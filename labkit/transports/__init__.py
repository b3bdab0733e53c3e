"""Thin, typed transports over pyvisa, pyserial and pyusb, picked by resource address.

The I/O libraries are imported only when a transport of their kind is opened.
"""

from labkit.transports._address import (
    TRANSPORT_KINDS,
    TransportKind,
    check_options,
    kind_of_address,
    open_transport,
    split_backend,
)
from labkit.transports._serial import SerialTransport
from labkit.transports._usb import UsbTransport, parse_usb_address, resolve_usb_backend
from labkit.transports._visa import VisaTransport

__all__ = [
    "TRANSPORT_KINDS",
    "SerialTransport",
    "TransportKind",
    "UsbTransport",
    "VisaTransport",
    "check_options",
    "kind_of_address",
    "open_transport",
    "parse_usb_address",
    "resolve_usb_backend",
    "split_backend",
]
