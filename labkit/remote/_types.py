"""The p4p types and values of labkit's PVs, from the pure field dicts of :mod:`._pvdata`."""

from __future__ import annotations

import functools
from typing import Any

from p4p import Type, Value
from p4p.nt import NTEnum, NTNDArray, NTScalar
from p4p.nt.common import alarm, timeStamp

from labkit.remote._arrays import ARRAY_FIELDS, COORDINATE_CODE
from labkit.remote._pvdata import LABKIT_FIELDS
from labkit.remote._region import REGION_FIELDS

__all__ = [
    "coordinate_type",
    "frame_type",
    "make_value",
    "pv_type",
    "region_type",
    "text_type",
]

_LABKIT = ("labkit", ("S", None, list(LABKIT_FIELDS)))
_LABKIT_ARRAY = ("labkit", ("S", None, [*LABKIT_FIELDS, *ARRAY_FIELDS]))


@functools.cache
def pv_type(code: str) -> Type:
    """The type of a setting, reading or action PV with value code ``code`` (see value_code)."""
    if code == "enum":
        return NTEnum.buildType(extra=[_LABKIT], display=True)
    if code.startswith("a"):  # an array reading: NTScalarArray
        return NTScalar.buildType(code, extra=[_LABKIT_ARRAY], display=True)
    return NTScalar.buildType(code, extra=[_LABKIT], display=True, control=code in ("d", "l"))


@functools.cache
def coordinate_type() -> Type:
    """An array reading's coordinate along one axis: an NTScalarArray of doubles with units."""
    return NTScalar.buildType(COORDINATE_CODE, display=True)


@functools.cache
def text_type() -> Type:
    """An NTScalar string with a description (identity, info)."""
    return NTScalar.buildType("s", display=True)


@functools.cache
def status_type() -> Type:
    return NTEnum.buildType(display=True)


@functools.cache
def region_type() -> Type:
    """A camera's region of interest: ``value.x``, ``value.y``, ``value.width``...
    in sensor pixels, with an alarm (a refused region) and a time stamp."""
    return Type(
        [
            ("value", ("S", "labkit:Region:1.0", [(name, "l") for name in REGION_FIELDS])),
            ("alarm", alarm),
            ("timeStamp", timeStamp),
            ("display", ("S", None, [("description", "s")])),
        ],
        id="labkit:CameraRegion:1.0",
    )


@functools.cache
def frame_type() -> Type:
    return NTNDArray.buildType()


def make_value(type_: Type, fields: dict[str, Any]) -> Value:
    """A Value of ``type_`` with ``fields`` set (and marked changed, so a post sends them)."""
    return Value(type_, fields)
