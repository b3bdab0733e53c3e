"""Errors of the PVCAM binding.

A failed PVCAM call becomes a :class:`PvcamError` carrying PVCAM's own error code
(``pl_error_code``), its message (``pl_error_message``) and the code's name, plus the name of the
C function that failed. Code decides: :class:`ErrorCode` is the vendor's table
(``reference/pvcam-errors.md``, PVCAM 3.10) and the driver compares codes, never names, because
the vendor's messages may carry detail after the ``(PL_ERR_…)`` part. Refusals made by the binding
itself before any call (a parameter that is not available or not writable) are subclasses with
``code=None``.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

from labkit.core import ConnectionLost, InstrumentError

__all__ = [
    "SEQUENCE_REFUSED",
    "CameraRemoved",
    "ErrorCode",
    "ParamNotAvailable",
    "ParamReadOnly",
    "PvcamError",
    "ReadoutFailed",
    "error_name",
]


class ErrorCode(IntEnum):
    """PVCAM's error codes as ``pl_error_code()`` reports them (names without ``PL_ERR_``).

    The vendor's table (PVCAM 3.10, ``reference/pvcam-errors.md``); codes 19-128 and 130-149 are
    unused. By their names: 169 means the data is not available yet, 173 a buffer overrun,
    180 a camera removed while open.
    """

    NONE = 0
    BC_STATUS_INVALID_BLOCK_NUM = 1
    BC_UNSUPPORTED_TARGET = 2
    BC_INVALID_TARGET = 3
    BC_TIMEOUT = 4
    BC_INVALID_OPCODE = 5
    BC_INVALID_LENGTH = 6
    BC_INVALID_PARAMETER = 7
    BC_INVALID_CAM_SPEED = 8
    BC_NO_MEMORY = 9
    BC_LOCK_FAILED = 10
    BC_CHANNEL_USED = 11
    BC_INVALID_CHANNEL = 12
    BC_NO_ISO_CHANNEL = 13
    BC_NO_ISO_BANDWIDTH = 14
    BC_INVALID_SPEED = 15
    BC_UNKNOWN_ERROR = 16
    BC_PROGRAMMING_FAILED = 17
    BC_PARAMETER_PERMISSION = 18
    BC_PENDING = 129
    UNKNOWN = 150
    INSTALLATION_CORRUPTED = 151
    INSUFFICIENT_RESOURCES = 152
    NULL_POINTER = 153
    NOT_AVAILABLE = 154
    NOT_IMPLEMENTED = 155
    ACCESS_DENIED = 156
    LIBRARY_NOT_INITIALIZED = 157
    LIBRARY_ALREADY_INITIALIZED = 158
    PARAMETER_UNKNOWN = 159
    PARAMETER_NOT_AVAILABLE = 160
    PARAMETER_NOT_ENUM = 161
    ATTRIBUTE_UNKNOWN = 162
    ATTRIBUTE_NOT_AVAILABLE = 163
    VALUE_INVALID = 164
    VALUE_OUT_OF_RANGE = 165
    VALUE_SET_FAILED = 166
    VALUE_REFUSED_BY_DEVICE = 167
    DATA_INVALID = 168
    DATA_NOT_AVAILABLE_YET = 169
    DATA_PROCESSING_FAILED = 170
    BUFFER_SIZE_INVALID = 171
    BUFFER_TOO_SMALL = 172
    BUFFER_OVERRUN = 173
    BUFFER_MALFORMED = 174
    DEVICE_HANDLE_INVALID = 175
    DEVICE_NAME_UNKNOWN = 176
    DEVICE_NOT_OPEN = 177
    DEVICE_ALREADY_OPEN = 178
    DEVICE_CONFIGURATION_INVALID = 179
    DEVICE_REMOVED = 180
    REGION_INVALID = 181
    BINNING_INVALID = 182
    MODE_INVALID = 183
    STATE_INVALID = 184
    CONFIGURATION_INVALID = 185
    INDEX_OUT_OF_RANGE = 186
    EXPOSURE_OUT_OF_RANGE = 187
    ACQUISITION_SETUP_REQUIRED = 188
    NO_SPEED_AVAILABLE = 189
    TOO_MANY_FRAMES = 190
    ZERO_FRAMES = 191
    METADATA_INVALID = 192
    DDI_LIBRARY_INCOMPATIBLE = 193
    DDI_DRIVER_INITIALIZATION_FAILED = 194
    DDI_DEVICE_OPEN_FAILED = 195
    DDI_DEVICE_CLOSE_FAILED = 196
    DDI_DEVICE_READ_FAILED = 197
    DDI_DEVICE_WRITE_FAILED = 198
    DDI_DEVICE_IOCTL_FAILED = 199
    DDI_EVENT_WAIT_FAILED = 200
    DDI_EVENT_RESET_FAILED = 201
    DDI_EVENT_SET_FAILED = 202
    DDI_EVENT_WAIT_TIMEOUT = 203

    @property
    def vendor_name(self) -> str:
        """The name as PVCAM spells it, ``PL_ERR_DEVICE_REMOVED``."""
        return f"PL_ERR_{self.name}"


SEQUENCE_REFUSED = (ErrorCode.TOO_MANY_FRAMES, ErrorCode.INSUFFICIENT_RESOURCES)
"""Codes with which ``pl_exp_setup_seq`` refuses a sequence too large for it: the frames can
still be taken one after the other from a live acquisition's ring."""

_NAME_IN_PARENTHESES = re.compile(r"\((PL_ERR_[A-Z0-9_]+)\)")


def error_name(message: str, code: int | None = None) -> str | None:
    """The name of PVCAM's error: from the vendor's table by ``code``, else the ``(PL_ERR_…)``
    part of the message wherever it stands (the vendor may put detail after it)."""
    if code is not None:
        try:
            return ErrorCode(code).vendor_name
        except ValueError:
            pass
    match = _NAME_IN_PARENTHESES.search(message)
    return match.group(1) if match else None


class PvcamError(InstrumentError):
    """A PVCAM call failed.

    ``function`` is the C entry point, ``code`` PVCAM's error code (``pl_error_code``; compare it
    with :class:`ErrorCode`), ``pvcam_message`` its text (``pl_error_message``) and ``name`` the
    code's name, ``PL_ERR_…`` (from the code; from the message for a code outside the table).
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
        context.setdefault("command", function)
        super().__init__(message, **context)
        self.name = error_name(pvcam_message or "", self.code)

    def has_code(self, *codes: ErrorCode) -> bool:
        """Whether PVCAM reported one of ``codes``."""
        return self.code is not None and self.code in codes


class ParamNotAvailable(PvcamError):
    """The parameter does not exist on this camera or in its current configuration."""


class ParamReadOnly(PvcamError):
    """The parameter cannot be written."""


class CameraRemoved(PvcamError, ConnectionLost):
    """The camera was unplugged or switched off (PVCAM's CAM_REMOVED event, or a call refused
    because of it); ``reconnect()`` opens it again once it is back."""


class ReadoutFailed(PvcamError):
    """The camera reported a failed readout (status READOUT_FAILED): the acquisition ended."""
