"""The simulated libpvcam and the driver speak the vendor's error codes, checked against the table.

The table is ``tests/data/pvcam-errors.md``, a checked-in copy of the reference note on
Teledyne's libpvcam (PVCAM 3.10) with its provenance; where the shared reference folder is
present, the copy must still equal it. Checked here:

- the driver's :class:`ErrorCode` is that table, number for number and name for name;
- every ``PL_ERR_…`` the simulator's C sources name, and every code its failure conditions map
  to, is in the table with that number;
- at run time ``pl_error_message`` knows exactly the table's codes, each under its own name;
- the codes the simulator actually raises, over a sweep of failing calls, are the table's, and
  a message with detail after ``(PL_ERR_…)`` still gives the code and name.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.core import MissingVendorLibrary
from labkit.drivers.cameras.pvcam import (
    Attr,
    ErrorCode,
    Param,
    PvcamError,
    PvcamLibrary,
    Rgn,
)
from labkit.sim import pvcam as pvsim

try:
    LIBRARY = pvsim.library_path()
except MissingVendorLibrary:  # installed without a C compiler
    LIBRARY = None
pytestmark = pytest.mark.skipif(
    LIBRARY is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)


ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "data" / "pvcam-errors.md"
SHARED = Path("/work/shared/reference/pvcam-errors.md")
SOURCES = ROOT / "native" / "pvcam_sim"
_ROW = re.compile(r"^\| (\d+) \| `(PL_ERR_[A-Z0-9_]+)` \|$", re.M)


def vendor_table(text: str) -> dict[int, str]:
    rows = {int(code): name for code, name in _ROW.findall(text)}
    assert len(rows) == len(_ROW.findall(text)), "a code appears twice"
    return rows


VENDOR = vendor_table(TABLE.read_text())


def test_the_copy_of_the_table_is_whole_and_current() -> None:
    assert len(VENDOR) == 74  # 0-18, 129, 150-203
    assert VENDOR[0] == "PL_ERR_NONE"
    assert VENDOR[169] == "PL_ERR_DATA_NOT_AVAILABLE_YET"
    assert VENDOR[173] == "PL_ERR_BUFFER_OVERRUN"
    assert VENDOR[180] == "PL_ERR_DEVICE_REMOVED"
    assert not set(VENDOR) & (set(range(19, 129)) | set(range(130, 150)))  # unused ranges
    if SHARED.is_file():  # on a developer's machine: the copy has not drifted
        assert vendor_table(SHARED.read_text()) == VENDOR


def test_the_drivers_codes_are_the_vendors() -> None:
    assert {int(code): code.vendor_name for code in ErrorCode} == VENDOR


def test_the_simulators_sources_name_only_vendor_codes() -> None:
    header = (SOURCES / "pvsim.h").read_text()
    declared = {name: int(code) for name, code in re.findall(r"(PL_ERR_\w+) = (\d+),", header)}
    assert declared == {name: code for code, name in VENDOR.items()}
    named = set()
    for source in SOURCES.glob("*.[ch]"):
        named |= set(re.findall(r"\bPL_ERR_\w+", source.read_text()))
    assert named <= set(VENDOR.values()), named - set(VENDOR.values())
    # Each of the simulator's own failure conditions is reported as a vendor code.
    errors = (SOURCES / "pvsim_errors.c").read_text()
    mapping = dict(re.findall(r"\{(PVSIM_E_\w+), (PL_ERR_\w+),", errors))
    conditions = re.findall(r"\b(PVSIM_E_\w+),", header)
    assert set(mapping) == set(conditions) - {"PVSIM_E_COUNT"}
    assert set(mapping.values()) <= set(VENDOR.values())


@pytest.fixture(scope="module")
def raw() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(LIBRARY))
    lib.pl_error_message.argtypes = [ctypes.c_int16, ctypes.c_char_p]
    lib.pl_error_message.restype = ctypes.c_uint16
    return lib


def test_every_message_names_its_code(raw: ctypes.CDLL) -> None:
    known = {}
    for code in range(-1, 1024):
        text = ctypes.create_string_buffer(256)
        if raw.pl_error_message(code, text):
            known[code] = text.value.decode()
        else:
            assert text.value == b"Unknown error"
    assert set(known) == set(VENDOR)
    for code, message in known.items():
        head, _, _ = message.partition(")")
        assert head.endswith(f"({VENDOR[code]}"), message
        assert not head.split(" (")[0].endswith(".")  # a sentence without a final period


@pytest.fixture(scope="module")
def lib() -> Iterator[PvcamLibrary]:
    library = PvcamLibrary.load(LIBRARY)
    with library:
        yield library


@pytest.fixture
def kinetix(lib: PvcamLibrary) -> Iterator[int]:
    hcam = lib.open_camera(pvsim.KINETIX)
    yield hcam
    lib.close_camera(hcam)


def failures(lib: PvcamLibrary, hcam: int) -> Iterator[PvcamError]:
    """A sweep of calls the simulator refuses, each with one of its conditions."""
    length, value, text = ctypes.c_uint32(), ctypes.c_int32(), ctypes.create_string_buffer(4)
    region = [Rgn(0, 99, 1, 0, 99, 1)]
    attempts = [
        lambda: lib.open_camera("no such camera"),
        lambda: lib.open_camera(pvsim.KINETIX),
        lambda: lib.camera_name(99),
        lambda: lib.call("pl_cam_close", 77),
        lambda: lib.set_param(hcam, Param.READOUT_PORT, 9),
        lambda: lib.set_param(hcam, Param.SER_SIZE, 5),
        lambda: lib.set_param(hcam, Param.TEMP_SETPOINT, 30000),
        lambda: lib.call("pl_get_param", hcam, 0x06029999, 0, ctypes.byref(length)),
        lambda: lib.call("pl_get_param", hcam, Param.CHIP_NAME, Attr.MIN, text),
        lambda: lib.call("pl_get_param", hcam, Param.CHIP_NAME, 42, text),
        lambda: lib.call("pl_get_param", hcam, Param.COLOR_MODE, 0, ctypes.byref(length)),
        lambda: lib.call(
            "pl_get_enum_param", hcam, Param.READOUT_PORT, 0, ctypes.byref(value), text, 4
        ),
        lambda: lib.call("pl_enum_str_length", hcam, Param.READOUT_PORT, 99, ctypes.byref(length)),
        lambda: lib.call("pl_enum_str_length", hcam, Param.SER_SIZE, 0, ctypes.byref(length)),
        lambda: lib.setup_seq(hcam, 1, [Rgn(0, 3200, 1, 0, 9, 1)], 10),
        lambda: lib.setup_seq(hcam, 1, [Rgn(0, 99, 3, 0, 99, 3)], 10),
        lambda: lib.setup_seq(hcam, 1, [Rgn(0, 7, 1, 0, 7, 1), Rgn(20, 27, 1, 0, 7, 1)], 10),
        lambda: lib.setup_seq(hcam, 1, region, 0),
        lambda: lib.setup_seq(hcam, 1, region, 10, exp_mode=0x0F00),
        lambda: lib.setup_seq(hcam, 0, region, 10),
        lambda: lib.setup_seq(hcam, 65535, [Rgn(0, 3199, 1, 0, 3199, 1)], 10),
        lambda: lib.call("pl_exp_start_seq", hcam, None),
        lambda: lib.call("pl_exp_unlock_oldest_frame", hcam),
        lambda: lib.trigger(hcam),
        lambda: lib.call("pl_cam_register_callback_ex3", hcam, 99, None, None),
        lambda: lib.call("pl_pvcam_init"),
    ]
    for attempt in attempts:
        try:
            attempt()
        except PvcamError as error:
            if error.code is not None:
                yield error
        else:
            raise AssertionError("the simulator accepted a call it should refuse")


def test_the_codes_raised_are_the_vendors(lib: PvcamLibrary, kinetix: int) -> None:
    seen = {}
    for error in failures(lib, kinetix):
        assert error.code in VENDOR, error
        assert error.name == VENDOR[error.code]
        assert f"({VENDOR[error.code]})" in error.pvcam_message
        seen[error.code] = error.pvcam_message
    assert len(seen) >= 15, sorted(VENDOR[c] for c in seen)
    # several conditions share a code; the detail after the name tells them apart
    assert any(")." in message for message in seen.values())


def test_a_message_with_detail_after_the_name_still_gives_the_name() -> None:
    message = "The camera has been removed (PL_ERR_DEVICE_REMOVED). Failed to load library libx.so"
    from_text = PvcamError("x", function="pl_cam_open", pvcam_message=message)
    assert from_text.name == "PL_ERR_DEVICE_REMOVED"
    by_code = PvcamError("x", function="pl_cam_open", pvcam_message="garbled text", code=180)
    assert by_code.name == "PL_ERR_DEVICE_REMOVED"
    assert by_code.has_code(ErrorCode.DEVICE_REMOVED)
    unknown = PvcamError("x", function="f", pvcam_message="Unknown error", code=77)
    assert unknown.name is None
