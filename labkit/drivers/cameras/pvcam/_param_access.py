"""Typed access to PVCAM parameters: availability, access, C types, values and enumerations.

``pl_get_param``/``pl_set_param`` move raw bytes; this layer asks each parameter's ``ATTR_TYPE``
(with the documented corrections of :func:`~._values.value_type`), reads and writes values as the
matching Python type, resolves enumeration names, and refuses a parameter the camera lacks or
cannot write before anything reaches it.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import c_int32, c_uint16, c_uint32
from typing import Any

from labkit.core import ChoiceError
from labkit.drivers.cameras.pvcam._cfunctions import CFunctions
from labkit.drivers.cameras.pvcam._errors import ParamNotAvailable, ParamReadOnly, PvcamError
from labkit.drivers.cameras.pvcam._params import Access, Attr, Param, ParamType
from labkit.drivers.cameras.pvcam._types import rs_bool
from labkit.drivers.cameras.pvcam._values import (
    STORAGE_BYTES,
    EnumItem,
    ParamInfo,
    decode,
    encode,
    value_type,
)

__all__ = ["ParamAccess", "param_name"]


class ParamAccess(CFunctions):
    """The library's C functions with typed parameter access on top (by camera handle)."""

    def __init__(self, cdll: ctypes.CDLL, path: str | os.PathLike[str]) -> None:
        super().__init__(cdll, path)
        self._types: dict[tuple[int, int], int] = {}

    def _get_raw(self, hcam: int, param_id: int, attr: int, storage: Any) -> None:
        self.call(
            "pl_get_param",
            hcam,
            param_id,
            attr,
            storage,
            describe=f"pl_get_param({hcam}, {param_name(param_id)}, {Attr(attr).name})",
        )

    def _get_small(self, hcam: int, param_id: int, attr: int, ctype: Any) -> Any:
        storage = (ctypes.c_uint8 * STORAGE_BYTES)()
        self._get_raw(hcam, param_id, attr, storage)
        return ctype.from_buffer_copy(storage, 0).value

    def is_available(self, hcam: int, param_id: int) -> bool:
        """``ATTR_AVAIL``: whether the camera has this parameter in its current configuration."""
        return bool(self._get_small(hcam, param_id, Attr.AVAIL, rs_bool))

    def access(self, hcam: int, param_id: int) -> Access | int:
        """``ATTR_ACCESS`` of an available parameter."""
        value = self._get_small(hcam, param_id, Attr.ACCESS, c_uint16)
        try:
            return Access(value)
        except ValueError:
            return value

    def param_type(self, hcam: int, param_id: int) -> int:
        """The C type of the parameter's values (``ATTR_TYPE``, with documented corrections)."""
        key = (hcam, int(param_id))
        cached = self._types.get(key)
        if cached is None:
            announced = self._get_small(hcam, param_id, Attr.TYPE, c_uint16)
            cached = self._types[key] = value_type(int(param_id), announced)
        return cached

    def _require_available(self, hcam: int, param_id: int, function: str) -> None:
        if not self.is_available(hcam, param_id):
            raise ParamNotAvailable(
                f"{param_name(param_id)} is not available on this camera in its current "
                "configuration",
                function=function,
                resource=str(self.path),
            )

    def get_param(self, hcam: int, param_id: int, attr: Attr | int = Attr.CURRENT) -> Any:
        """Read one attribute, as the Python type that matches the parameter's C type.

        CURRENT/DEFAULT/MIN/MAX/INCREMENT give the value type (int, float, bool, str or
        :class:`Rgn`); COUNT an int; TYPE a type code; ACCESS an :class:`Access`; AVAIL and
        LIVE a bool. Raises :class:`ParamNotAvailable` for a parameter the camera lacks.
        """
        attr = Attr(attr)
        if attr == Attr.AVAIL:
            return self.is_available(hcam, param_id)
        self._require_available(hcam, param_id, "pl_get_param")
        if attr == Attr.ACCESS:
            return self.access(hcam, param_id)
        if attr == Attr.TYPE:
            return self.param_type(hcam, param_id)
        if attr == Attr.LIVE:
            return bool(self._get_small(hcam, param_id, attr, rs_bool))
        if attr == Attr.COUNT:
            return self._get_small(hcam, param_id, attr, c_uint32)
        type_code = self.param_type(hcam, param_id)
        if type_code == ParamType.CHAR_PTR:
            # ATTR_COUNT is the buffer length a string parameter needs.
            length = self._get_small(hcam, param_id, Attr.COUNT, c_uint32)
            storage: Any = ctypes.create_string_buffer(max(length, 1) + 1)
        else:
            storage = (ctypes.c_uint8 * STORAGE_BYTES)()
        self._get_raw(hcam, param_id, attr, storage)
        value = decode(type_code, storage)
        if attr == Attr.INCREMENT and isinstance(value, bool):
            return int(value)  # a BOOLEAN's step, not a truth value
        return value

    def set_param(self, hcam: int, param_id: int, value: Any) -> None:
        """Write a parameter's value; an enumeration also accepts one of its names.

        Checks availability and access first, so a read-only parameter fails with
        :class:`ParamReadOnly` before anything reaches the camera; PVCAM validates the value.
        """
        self._require_available(hcam, param_id, "pl_set_param")
        access = self.access(hcam, param_id)
        if access not in (Access.READ_WRITE, Access.WRITE_ONLY):
            raise ParamReadOnly(
                f"{param_name(param_id)} is read-only",
                function="pl_set_param",
                resource=str(self.path),
            )
        type_code = self.param_type(hcam, param_id)
        if type_code == ParamType.ENUM and isinstance(value, str):
            value = self.enum_value(hcam, param_id, value)
        c_value = encode(type_code, value)
        self.call(
            "pl_set_param",
            hcam,
            param_id,
            ctypes.byref(c_value),
            describe=f"pl_set_param({hcam}, {param_name(param_id)}, {value!r})",
        )

    def enum_items(self, hcam: int, param_id: int) -> list[EnumItem]:
        """Values and names of an enumerated parameter, in the camera's order."""
        self._require_available(hcam, param_id, "pl_get_enum_param")
        items = []
        for index in range(self.get_param(hcam, param_id, Attr.COUNT)):
            length = c_uint32()
            self.call(
                "pl_enum_str_length",
                hcam,
                param_id,
                index,
                ctypes.byref(length),
                describe=f"pl_enum_str_length({hcam}, {param_name(param_id)}, {index})",
            )
            text = ctypes.create_string_buffer(max(length.value, 1))
            value = c_int32()
            self.call(
                "pl_get_enum_param",
                hcam,
                param_id,
                index,
                ctypes.byref(value),
                text,
                max(length.value, 1),
                describe=f"pl_get_enum_param({hcam}, {param_name(param_id)}, {index})",
            )
            items.append(EnumItem(value.value, text.value.decode("utf-8", "replace")))
        return items

    def enum_value(self, hcam: int, param_id: int, name: str) -> int:
        """The value of the enumeration item called ``name`` (case-insensitive)."""
        items = self.enum_items(hcam, param_id)
        for item in items:
            if item.name.casefold() == name.casefold():
                return item.value
        raise ChoiceError(
            f"{name!r} is not one of {param_name(param_id)}'s values "
            f"({', '.join(repr(i.name) for i in items)})",
            value=name,
            limit=[i.name for i in items],
        )

    def param_info(self, hcam: int, param_id: int) -> ParamInfo:
        """All attributes of one parameter; refused attributes are recorded, not raised."""
        if not self.is_available(hcam, param_id):
            return ParamInfo(int(param_id), available=False)
        info = ParamInfo(int(param_id), available=True)
        info.type = self.param_type(hcam, param_id)
        info.access = self.access(hcam, param_id)
        scalar = info.type not in (ParamType.CHAR_PTR, ParamType.RGN_TYPE)
        wanted = {
            Attr.LIVE: "live",
            Attr.COUNT: "count",
            Attr.CURRENT: "current",
            Attr.DEFAULT: "default",
        }
        if scalar:
            wanted |= {Attr.MIN: "minimum", Attr.MAX: "maximum", Attr.INCREMENT: "increment"}
        for attr, field_name in wanted.items():
            try:
                setattr(info, field_name, self.get_param(hcam, param_id, attr))
            except PvcamError as exc:
                info.errors[attr] = exc
        if info.type == ParamType.ENUM:
            info.items = self.enum_items(hcam, param_id)
        return info


def param_name(param_id: int) -> str:
    """``PARAM_<NAME>`` of a known parameter, else its id in hex."""
    try:
        return f"PARAM_{Param(param_id).name}"
    except ValueError:
        return f"0x{int(param_id):08X}"
