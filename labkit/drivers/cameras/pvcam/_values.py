"""Parameter values between Python and the C types PVCAM announces in ``ATTR_TYPE``.

``pl_get_param`` writes through a ``void*`` whatever C type the parameter has, so the binding must
read ``ATTR_TYPE`` first and hand over storage of that type. Storage is always at least 16 bytes
and zeroed, so a library that writes a wider type than it announced cannot corrupt memory.
"""

from __future__ import annotations

import ctypes
import operator
from dataclasses import dataclass, field
from typing import Any

from labkit.core import SettingTypeError
from labkit.drivers.cameras.pvcam._params import Access, Attr, Param, ParamType
from labkit.drivers.cameras.pvcam._types import Rgn, RgnType

__all__ = ["EnumItem", "ParamInfo", "decode", "encode", "scalar_ctype", "value_type"]

_SCALARS: dict[int, type[ctypes._SimpleCData]] = {
    ParamType.INT8: ctypes.c_int8,
    ParamType.UNS8: ctypes.c_uint8,
    ParamType.INT16: ctypes.c_int16,
    ParamType.UNS16: ctypes.c_uint16,
    ParamType.INT32: ctypes.c_int32,
    ParamType.UNS32: ctypes.c_uint32,
    ParamType.INT64: ctypes.c_int64,
    ParamType.UNS64: ctypes.c_uint64,
    ParamType.FLT32: ctypes.c_float,
    ParamType.FLT64: ctypes.c_double,
    ParamType.ENUM: ctypes.c_int32,
    ParamType.BOOLEAN: ctypes.c_uint16,
}

# The header declares PARAM_READOUT_TIME with TYPE_FLT64 in its ID, but the value is an uns32 in
# microseconds (reference §3.3): trust the documented value type over the announced one.
_TYPE_OVERRIDES: dict[int, ParamType] = {Param.READOUT_TIME: ParamType.UNS32}

STORAGE_BYTES = 16


def value_type(param_id: int, announced: int) -> int:
    """The C type to use for ``param_id`` given the type the library announced."""
    return _TYPE_OVERRIDES.get(param_id, announced)


def scalar_ctype(type_code: int) -> type[ctypes._SimpleCData]:
    """The ctypes type of a scalar PVCAM type code."""
    try:
        return _SCALARS[type_code]
    except KeyError:
        raise SettingTypeError(
            f"PVCAM value type {type_code} is not a scalar labkit can read", value=type_code
        ) from None


def decode(type_code: int, storage: ctypes.Array[Any]) -> int | float | bool | str | Rgn:
    """Read a value of ``type_code`` from ``storage`` filled by ``pl_get_param``."""
    if type_code == ParamType.CHAR_PTR:
        return bytes(storage).split(b"\0", 1)[0].decode("utf-8", "replace")
    if type_code == ParamType.RGN_TYPE:
        return RgnType.from_buffer_copy(storage, 0).to_region()
    value = scalar_ctype(type_code).from_buffer_copy(storage, 0).value
    if type_code == ParamType.BOOLEAN:
        return bool(value)
    return value


def encode(type_code: int, value: Any) -> ctypes._CData:
    """Build the C value ``pl_set_param`` reads for ``type_code``; refuse the wrong Python type."""
    try:
        if type_code == ParamType.CHAR_PTR:
            data = value.encode() if isinstance(value, str) else bytes(value)
            return ctypes.create_string_buffer(data)
        if type_code == ParamType.RGN_TYPE:
            return RgnType.from_region(value)
        ctype = scalar_ctype(type_code)
        if type_code == ParamType.BOOLEAN:
            if not isinstance(value, (bool, int)):
                raise TypeError(type(value).__name__)
            return ctype(1 if value else 0)
        if type_code in (ParamType.FLT32, ParamType.FLT64):
            return ctype(float(value))
        number = operator.index(value)
        limit = ctype(number).value
        if limit != number:
            raise OverflowError(f"{number} does not fit {ctype.__name__}")
        return ctype(number)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SettingTypeError(
            f"{value!r} is not a valid {_type_name(type_code)} value ({exc})", value=value
        ) from exc


def _type_name(type_code: int) -> str:
    try:
        return ParamType(type_code).name
    except ValueError:
        return f"type {type_code}"


@dataclass(frozen=True)
class EnumItem:
    """One entry of an enumerated parameter: its value and the name the camera reports."""

    value: int
    name: str


@dataclass
class ParamInfo:
    """Everything ``pl_get_param`` can say about one parameter.

    Attributes the library refused (for example values only valid after an acquisition setup)
    are ``None``, with the reason in ``errors``.
    """

    param_id: int
    available: bool
    type: int | None = None
    access: Access | int | None = None
    live: bool | None = None
    current: Any = None
    default: Any = None
    minimum: Any = None
    maximum: Any = None
    increment: Any = None
    count: int | None = None
    items: list[EnumItem] = field(default_factory=list)
    errors: dict[Attr, Exception] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The parameter's name in :class:`Param`, or its hexadecimal ID."""
        try:
            return Param(self.param_id).name
        except ValueError:
            return f"0x{self.param_id:08X}"

    @property
    def writable(self) -> bool:
        """Whether ``pl_set_param`` may be called."""
        return self.access in (Access.READ_WRITE, Access.WRITE_ONLY)
