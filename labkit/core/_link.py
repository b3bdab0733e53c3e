"""The ``Link`` protocol: what an instrument holds between itself and the device.

An instrument's declarations, guards and worker are the same for every kind of device; what
differs is the link to it. A message instrument's link is a :class:`~labkit.core.Transport`
(pyvisa, pyserial, pyusb); a camera's is its SDK (harvesters, libpvcam); a remote instrument's a
pvAccess client context; a compiled driver plugin's a ctypes wrapper around its library. The
instrument opens, closes and reopens the link through this protocol and makes every other call
on the link's own typed methods, on its worker thread.

A link that can say what the device offers also has ``declarations()``: see
:meth:`labkit.core.Instrument.device_declarations`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

__all__ = ["DeclaringLink", "Link"]


@runtime_checkable
class Link(Protocol):
    """The lifecycle every link has; the rest of its face is its own."""

    resource: str
    """The address it was opened from (``GPIB0::24::INSTR``, ``genicam://cam0``...)."""

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """Open (or reopen, after a disconnect) the link to the device."""

    def close(self) -> None:
        """Release the device; closing twice does nothing."""


@runtime_checkable
class DeclaringLink(Link, Protocol):
    """A link that can list the device's settings, readings and actions (once open).

    ``declarations()`` yields :class:`~labkit.core.TraitSpec` objects (each with its ``name``)
    or ``(name, spec)`` pairs, their ``get``/``set`` being callables taking the instrument (and
    the value): ``lambda inst, value: inst.link.put("temp:setpoint", value)``.
    """

    def declarations(self) -> Iterable[Any]: ...
