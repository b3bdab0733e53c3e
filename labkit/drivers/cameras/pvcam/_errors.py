"""Errors of the PVCAM binding.

A failed PVCAM call becomes a :class:`PvcamError` carrying PVCAM's own error code, its message and
the code's name (PVCAM messages end with the name in parentheses, reference §3.2), plus the name
of the C function that failed. Refusals made by the binding itself before any call (a parameter
that is not available or not writable) are subclasses with ``code=None``.
"""

from __future__ import annotations

import re
from typing import Any

from labkit.core import ConnectionLost, InstrumentError

__all__ = [
    "CameraRemoved",
    "ParamNotAvailable",
    "ParamReadOnly",
    "PvcamError",
    "ReadoutFailed",
    "error_name",
]

_NAME_AT_END = re.compile(r"\(([A-Za-z][A-Za-z0-9_]*)\)\s*$")


def error_name(message: str) -> str | None:
    """The error-code name PVCAM appends to its messages in parentheses, if any."""
    match = _NAME_AT_END.search(message)
    return match.group(1) if match else None


class PvcamError(InstrumentError):
    """A PVCAM call failed.

    ``function`` is the C entry point, ``code`` PVCAM's error code (``pl_error_code``),
    ``pvcam_message`` its text (``pl_error_message``) and ``name`` the code's name parsed from it.
    """

    def __init__(
        self,
        message: str,
        *,
        function: str | None = None,
        pvcam_message: str | None = None,
        **context: Any,
    ) -> None:
        self.function = function
        self.pvcam_message = pvcam_message
        self.name = error_name(pvcam_message) if pvcam_message else None
        context.setdefault("command", function)
        super().__init__(message, **context)


class ParamNotAvailable(PvcamError):
    """The parameter does not exist on this camera or in its current configuration."""


class ParamReadOnly(PvcamError):
    """The parameter cannot be written."""


class CameraRemoved(PvcamError, ConnectionLost):
    """The camera was unplugged or switched off (PVCAM's CAM_REMOVED event, or a call refused
    because of it); ``reconnect()`` opens it again once it is back."""


class ReadoutFailed(PvcamError):
    """The camera reported a failed readout (status READOUT_FAILED): the acquisition ended."""
