"""The C functions of one loaded libpvcam, with their prototypes, and PVCAM's error reporting.

Every entry point labkit calls is declared here with exactly its C signature (reference §0), so
ctypes converts and checks each argument. :meth:`CFunctions.call` checks PVCAM's ``rs_bool``
result and turns a failure into a :class:`PvcamError` carrying PVCAM's own code and message.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int16, c_int32, c_uint16, c_uint32, c_void_p
from pathlib import Path
from typing import Any

from labkit.drivers.cameras.pvcam._errors import PvcamError
from labkit.drivers.cameras.pvcam._params import ERROR_MSG_LEN
from labkit.drivers.cameras.pvcam._types import FrameInfo, RgnType, rs_bool

__all__ = ["PROTOTYPES", "CFunctions"]

_u16p, _i16p, _u32p = POINTER(c_uint16), POINTER(c_int16), POINTER(c_uint32)
_rgnp, _infop, _voidpp = POINTER(RgnType), POINTER(FrameInfo), POINTER(c_void_p)

#: name -> (restype, argtypes), exactly the C signatures of reference §0.
PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "pl_pvcam_get_ver": (rs_bool, [_u16p]),
    "pl_pvcam_init": (rs_bool, []),
    "pl_pvcam_uninit": (rs_bool, []),
    "pl_cam_get_total": (rs_bool, [_i16p]),
    "pl_cam_get_name": (rs_bool, [c_int16, c_char_p]),
    "pl_cam_open": (rs_bool, [c_char_p, _i16p, c_int16]),
    "pl_cam_close": (rs_bool, [c_int16]),
    "pl_cam_register_callback_ex3": (rs_bool, [c_int16, c_int32, c_void_p, c_void_p]),
    "pl_cam_deregister_callback": (rs_bool, [c_int16, c_int32]),
    "pl_error_code": (c_int16, []),
    "pl_error_message": (rs_bool, [c_int16, c_char_p]),
    "pl_get_param": (rs_bool, [c_int16, c_uint32, c_int16, c_void_p]),
    "pl_set_param": (rs_bool, [c_int16, c_uint32, c_void_p]),
    "pl_get_enum_param": (
        rs_bool,
        [c_int16, c_uint32, c_uint32, POINTER(c_int32), c_char_p, c_uint32],
    ),
    "pl_enum_str_length": (rs_bool, [c_int16, c_uint32, c_uint32, _u32p]),
    "pl_exp_setup_seq": (
        rs_bool,
        [c_int16, c_uint16, c_uint16, _rgnp, c_int16, c_uint32, _u32p],
    ),
    "pl_exp_start_seq": (rs_bool, [c_int16, c_void_p]),
    "pl_exp_finish_seq": (rs_bool, [c_int16, c_void_p, c_int16]),
    "pl_exp_setup_cont": (
        rs_bool,
        [c_int16, c_uint16, _rgnp, c_int16, c_uint32, _u32p, c_int16],
    ),
    "pl_exp_start_cont": (rs_bool, [c_int16, c_void_p, c_uint32]),
    "pl_exp_get_latest_frame": (rs_bool, [c_int16, _voidpp]),
    "pl_exp_get_latest_frame_ex": (rs_bool, [c_int16, _voidpp, _infop]),
    "pl_exp_get_oldest_frame": (rs_bool, [c_int16, _voidpp]),
    "pl_exp_get_oldest_frame_ex": (rs_bool, [c_int16, _voidpp, _infop]),
    "pl_exp_unlock_oldest_frame": (rs_bool, [c_int16]),
    "pl_exp_check_status": (rs_bool, [c_int16, _i16p, _u32p]),
    "pl_exp_check_cont_status": (rs_bool, [c_int16, _i16p, _u32p, _u32p]),
    "pl_exp_check_cont_status_ex": (rs_bool, [c_int16, _i16p, _u32p, _u32p, _infop]),
    "pl_exp_trigger": (rs_bool, [c_int16, _u32p, c_uint32]),
    "pl_exp_stop_cont": (rs_bool, [c_int16, c_int16]),
    "pl_exp_abort": (rs_bool, [c_int16, c_int16]),
}

#: Functions that return a value rather than a PV_OK/PV_FAIL flag.
_NOT_CHECKED = frozenset({"pl_error_code"})


class CFunctions:
    """The prototyped entry points of one loaded library (``cdll``, loaded from ``path``).

    Functions the library does not export are listed in ``missing_functions``; calling one
    raises a :class:`PvcamError` that says the PVCAM installed is too old.
    """

    def __init__(self, cdll: ctypes.CDLL, path: str | os.PathLike[str]) -> None:
        self._lib = cdll
        self.path = Path(path)
        self._functions: dict[str, Any] = {}
        self.missing_functions: list[str] = []
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                function = getattr(cdll, name)
            except AttributeError:
                self.missing_functions.append(name)
                continue
            function.restype = restype
            function.argtypes = argtypes
            self._functions[name] = function

    def exports(self, name: str) -> bool:
        """Whether the library has the C function ``name`` (optional ``_ex`` variants)."""
        return name in self._functions

    def _function(self, name: str) -> Any:
        try:
            return self._functions[name]
        except KeyError:
            raise PvcamError(
                f"{name} is not exported by {self.path}",
                function=name,
                hint="This PVCAM is older than labkit needs; install PVCAM 3.8 or newer",
            ) from None

    def call(self, name: str, *args: Any, describe: str | None = None) -> Any:
        """Call the C function ``name``; raise :class:`PvcamError` when it returns PV_FAIL."""
        result = self._function(name)(*args)
        if name in _NOT_CHECKED or result:
            return result
        raise self.last_error(name, describe)

    def last_error(self, function: str, describe: str | None = None) -> PvcamError:
        """The error PVCAM recorded for the call to ``function`` that just failed."""
        code = int(self._function("pl_error_code")())
        text = self.error_message(code)
        return PvcamError(
            f"{function} failed: {text}",
            function=function,
            code=code,
            pvcam_message=text,
            command=describe or function,
            resource=str(self.path),
        )

    def error_message(self, code: int) -> str:
        """PVCAM's text for an error code (ends with the code's name in parentheses)."""
        buffer = ctypes.create_string_buffer(ERROR_MSG_LEN + 1)
        self._function("pl_error_message")(code, buffer)
        return buffer.value.decode("utf-8", "replace")
