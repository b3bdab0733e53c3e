"""PVCAM camera addresses: ``pvcam://<camera name>[@<library path>]``.

The camera name is the one PVCAM reports (``pl_cam_get_name``); an empty name means the first
camera PVCAM sees. The library part is optional: without it the library is found as
:func:`~._library.find_library` says (``library=``, ``PVCAM_LIBRARY``, labkit's configuration
``[pvcam] library``, the SDK's install locations). Naming it in the address makes a station file
or a notebook say exactly which libpvcam it runs on, as a GenICam address names its producer.
"""

from __future__ import annotations

from typing import NamedTuple

from labkit.core import ConfigurationError

__all__ = ["SCHEME", "Address", "format_address", "parse_address"]

SCHEME = "pvcam://"


class Address(NamedTuple):
    """A parsed address: the camera's name ("" for the first one) and the library, if named."""

    camera: str
    library: str | None


def parse_address(address: str) -> Address:
    """``"pvcam://pvsim-kinetix@/opt/lib.so"`` → ``Address("pvsim-kinetix", "/opt/lib.so")``."""
    if not isinstance(address, str) or not address.startswith(SCHEME):
        raise ConfigurationError(
            f"{address!r} is not a PVCAM camera address",
            hint=f"Write {SCHEME}<camera name>[@<path of libpvcam>], e.g. {SCHEME}Kinetix; "
            "labkit.drivers.cameras.pvcam.list_cameras() lists the addresses",
        )
    rest = address[len(SCHEME) :]
    camera, at, library = rest.partition("@")
    if at and not library:
        raise ConfigurationError(
            f"{address!r} ends with '@' but names no library",
            hint=f"Write {SCHEME}{camera or '<camera>'}@/path/to/libpvcam.so, or leave the '@' out",
        )
    if len(camera.encode()) >= 32:
        raise ConfigurationError(
            f"{camera!r} is longer than PVCAM's camera names (at most 31 bytes)",
            hint="Copy the name from list_cameras()",
        )
    return Address(camera, library if at else None)


def format_address(camera: str, library: str | None = None) -> str:
    """The address of ``camera`` (through ``library`` when given)."""
    return f"{SCHEME}{camera}" + (f"@{library}" if library else "")
