"""GenICam's exceptions (GenApi's and GenTL's) as labkit errors that name the camera.

GenApi raises when a node refuses a value or cannot be reached; GenTL when the transport layer
fails (a camera unplugged mid-stream shows up as an invalid handle or an I/O error). Both are
turned into the labkit error a user can act on, with the original message kept.
"""

from __future__ import annotations

from typing import Any

from labkit.core import (
    AccessError,
    ChoiceError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LabkitError,
    LimitError,
)

__all__ = ["is_genicam_error", "translate"]

# GenTL errors that mean the camera (or the link to it) is gone.
_LOST = {
    "InvalidHandleException",
    "ClosedException",
    "IoException",
    "NotInitializedException",
    "InvalidIdException",
    "AbortException",
    "ErrorException",
}


def is_genicam_error(error: BaseException) -> bool:
    """True for the exceptions of genicam's GenApi and GenTL bindings."""
    module = type(error).__module__ or ""
    return module.lstrip("_").startswith(("genapi", "gentl", "genicam"))


def _message(error: BaseException) -> str:
    text = str(error).strip()
    # GenApi appends " : XxxException thrown in node 'N' while calling ... (file 'F', line L)"
    return text.split(" : ", 1)[0] if " thrown in node " in text else text


def translate(error: BaseException, *, doing: str, value: Any = None) -> LabkitError:
    """The labkit error for a GenICam exception raised while ``doing`` (``"writing Width"``)."""
    name = type(error).__name__
    module = (type(error).__module__ or "").lstrip("_")
    text = f"{doing} failed: {_message(error)}"
    if module.startswith("genapi"):
        if name == "OutOfRangeException":
            return LimitError(text, value=value, hint="Choose a value within the camera's limits")
        if name == "InvalidArgumentException":
            return ChoiceError(text, value=value, hint="Choose a value the camera offers")
        if name == "AccessException":
            return AccessError(text, value=value, hint="The feature is locked or unavailable now")
        if name == "TimeoutException":
            return InstrumentTimeout(text, hint="Check the camera's connection")
        return InstrumentError(text, hint="The camera refused the request")
    if name == "TimeoutException":
        return InstrumentTimeout(text, hint="Check the camera's connection")
    if name in _LOST:
        return ConnectionLost(
            text, hint="Check the camera's cable and power, then call reconnect()"
        )
    return InstrumentError(text, hint="See the GenTL producer's documentation for the error")
