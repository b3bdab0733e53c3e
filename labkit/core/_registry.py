"""The registry of open instruments: one per name, re-running a cell returns the same one.

A notebook cell that creates ``Keithley2450("GPIB0::24::INSTR", name="smu")`` is often run
again. The second run returns the instrument already connected instead of failing on a busy
port; a different driver or resource under the same name is a clear error. Everything still
open is made safe and closed when the interpreter exits (:mod:`labkit.core._exit`).
"""

from __future__ import annotations

import re
import threading
import warnings
from typing import TYPE_CHECKING, Any

from labkit.core._errors import ConfigurationError

if TYPE_CHECKING:
    from labkit.core._instrument import Instrument

__all__ = ["close_all", "instruments", "lookup", "register", "unregister"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_lock = threading.RLock()
_open: dict[str, Instrument] = {}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"{name!r} is not a usable instrument name",
            hint="Use letters, digits and underscores, starting with a letter (e.g. 'smu', 'dmm2')",
        )
    return name


def lookup(cls: type[Instrument], name: str, resource: Any) -> Instrument | None:
    """The open instrument to reuse for this call, None to build a new one, or an error."""
    with _lock:
        existing = _open.get(name)
        if existing is None:
            return None
        if not existing.connected and existing.closed:
            del _open[name]
            return None
        old_cls = existing.driver_class
        same_resource = resource is None or existing.resource == resource
        if old_cls is cls and same_resource:
            return existing
        if (_qualified(old_cls) == _qualified(cls)) and same_resource:
            warnings.warn(
                f"{name}: the class {cls.__qualname__} was redefined; closing the instrument made "
                "from the old definition and connecting again",
                stacklevel=4,
            )
            existing.close()
            return None
        raise ConfigurationError(
            f"an instrument named {name!r} is already open: {old_cls.__qualname__} at "
            f"{existing.resource}, so it cannot also be {cls.__qualname__} at {resource}",
            instrument=name,
            hint=f"Close it first ({name}.close()) or give this one another name=",
        )


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(instrument: Instrument) -> None:
    with _lock:
        _open[instrument.name] = instrument


def unregister(instrument: Instrument) -> None:
    with _lock:
        if _open.get(instrument.name) is instrument:
            del _open[instrument.name]


def instruments() -> list[Instrument]:
    """Every instrument open in this process, oldest first."""
    with _lock:
        return list(_open.values())


def close_all() -> None:
    """Close every open instrument, newest first (nothing is moved to safe values)."""
    for instrument in reversed(instruments()):
        try:
            instrument.close()
        except Exception as error:  # closing the rest matters more than one failure
            warnings.warn(f"closing {instrument.name} failed: {error}", stacklevel=2)
