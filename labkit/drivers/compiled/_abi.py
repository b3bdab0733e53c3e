"""The C ABI of ``labkit_plugin.h`` mirrored in ctypes: the table, values and status codes.

Kept in step with the header by tests/drivers/compiled/test_abi.py, which compiles a probe of
the header's sizes and offsets and compares them with these structures.
"""

from __future__ import annotations

import ctypes

__all__ = [
    "ABI_MAJOR",
    "ABI_MINOR",
    "ABI_VERSION",
    "ENTRY_SYMBOL",
    "KIND_CODES",
    "STATUS_NAMES",
    "EntryFunction",
    "Table",
    "TableHeader",
    "Text",
    "Value",
    "format_version",
    "minimum_table_size",
]

ABI_MAJOR = 1
ABI_MINOR = 0
ABI_VERSION = (ABI_MAJOR << 16) | ABI_MINOR
ENTRY_SYMBOL = "labkit_plugin_entry"

OK = 0
ERROR = 1
ERROR_REFUSED = 2
ERROR_TIMEOUT = 3
ERROR_DISCONNECTED = 4
ERROR_NO_DEVICE = 5
ERROR_BAD_RESOURCE = 6
ERROR_UNKNOWN_NAME = 7
ERROR_WRONG_KIND = 8
ERROR_TEXT_TOO_LONG = 9
ERROR_UNSUPPORTED = 10
ERROR_NO_MEMORY = 11

STATUS_NAMES = {
    OK: "LABKIT_OK",
    ERROR: "LABKIT_ERROR",
    ERROR_REFUSED: "LABKIT_ERROR_REFUSED",
    ERROR_TIMEOUT: "LABKIT_ERROR_TIMEOUT",
    ERROR_DISCONNECTED: "LABKIT_ERROR_DISCONNECTED",
    ERROR_NO_DEVICE: "LABKIT_ERROR_NO_DEVICE",
    ERROR_BAD_RESOURCE: "LABKIT_ERROR_BAD_RESOURCE",
    ERROR_UNKNOWN_NAME: "LABKIT_ERROR_UNKNOWN_NAME",
    ERROR_WRONG_KIND: "LABKIT_ERROR_WRONG_KIND",
    ERROR_TEXT_TOO_LONG: "LABKIT_ERROR_TEXT_TOO_LONG",
    ERROR_UNSUPPORTED: "LABKIT_ERROR_UNSUPPORTED",
    ERROR_NO_MEMORY: "LABKIT_ERROR_NO_MEMORY",
}

FLOAT, INT, BOOL, TEXT = 1, 2, 3, 4
KIND_CODES = {"float": FLOAT, "int": INT, "bool": BOOL, "str": TEXT, "enum": TEXT}


class Text(ctypes.Structure):
    _fields_ = (("data", ctypes.c_void_p), ("size", ctypes.c_size_t))


class _As(ctypes.Union):
    _fields_ = (
        ("f", ctypes.c_double),
        ("i", ctypes.c_int64),
        ("b", ctypes.c_int32),
        ("text", Text),
    )


class Value(ctypes.Structure):
    _fields_ = (("kind", ctypes.c_int32), ("reserved", ctypes.c_int32), ("as_", _As))


_Device = ctypes.c_void_p
_Status = ctypes.c_int32

OpenFunction = ctypes.CFUNCTYPE(_Status, ctypes.c_char_p, ctypes.POINTER(_Device))
CloseFunction = ctypes.CFUNCTYPE(_Status, _Device)
SetFunction = ctypes.CFUNCTYPE(_Status, _Device, ctypes.c_char_p, ctypes.POINTER(Value))
GetFunction = ctypes.CFUNCTYPE(_Status, _Device, ctypes.c_char_p, ctypes.POINTER(Value))
ActionFunction = ctypes.CFUNCTYPE(_Status, _Device, ctypes.c_char_p)
LastErrorFunction = ctypes.CFUNCTYPE(ctypes.c_int32, _Device, ctypes.c_void_p, ctypes.c_size_t)
TextFunction = ctypes.CFUNCTYPE(_Status, _Device, ctypes.POINTER(Text))


class Table(ctypes.Structure):
    """``labkit_plugin``: read only as far as the plugin's ``struct_size`` reaches."""

    _fields_ = (
        ("abi_version", ctypes.c_uint32),
        ("struct_size", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("version", ctypes.c_char_p),
        ("description", ctypes.c_char_p),
        ("declarations", ctypes.c_char_p),
        ("open", OpenFunction),
        ("close", CloseFunction),
        ("set", SetFunction),
        ("get", GetFunction),
        ("read", GetFunction),
        ("action", ActionFunction),
        ("last_error", LastErrorFunction),
        ("identify", TextFunction),
        ("describe", TextFunction),
        ("reserved", ctypes.c_void_p * 8),
    )


EntryFunction = ctypes.CFUNCTYPE(ctypes.POINTER(Table), ctypes.c_uint32)

REQUIRED_FUNCTIONS = ("open", "close", "set", "get", "read", "action", "last_error")
OPTIONAL_FUNCTIONS = ("identify", "describe")


class TableHeader(ctypes.Structure):
    """The two fields read before trusting anything else: the version and the table's size."""

    _fields_ = (("abi_version", ctypes.c_uint32), ("struct_size", ctypes.c_uint32))


def minimum_table_size() -> int:
    """The bytes every 1.x table has: the whole 1.0 table, reserved slots included."""
    return ctypes.sizeof(Table)


def format_version(version: int) -> str:
    """``0x00010002`` → ``"1.2"``."""
    return f"{version >> 16}.{version & 0xFFFF}"
