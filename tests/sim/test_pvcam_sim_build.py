"""The simulated libpvcam as built by ``pip install``: a loadable library with PVCAM's symbols."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
import textwrap

import pytest

from labkit.core import MissingVendorLibrary
from labkit.sim import pvcam as pvsim

try:
    LIBRARY = pvsim.library_path()
except MissingVendorLibrary:  # installed without a C compiler
    LIBRARY = None
pytestmark = pytest.mark.skipif(
    LIBRARY is None, reason="needs labkit's compiled parts: the simulated libpvcam is not built"
)

#: Every C entry point of reference §0 a binding needs (pl_md_* excluded: labkit decodes itself).
PVCAM_ENTRY_POINTS = {
    "pl_pvcam_get_ver",
    "pl_pvcam_init",
    "pl_pvcam_uninit",
    "pl_cam_get_total",
    "pl_cam_get_name",
    "pl_cam_open",
    "pl_cam_close",
    "pl_cam_register_callback_ex3",
    "pl_cam_deregister_callback",
    "pl_error_code",
    "pl_error_message",
    "pl_get_param",
    "pl_set_param",
    "pl_get_enum_param",
    "pl_enum_str_length",
    "pl_exp_setup_seq",
    "pl_exp_start_seq",
    "pl_exp_finish_seq",
    "pl_exp_setup_cont",
    "pl_exp_start_cont",
    "pl_exp_get_latest_frame",
    "pl_exp_get_latest_frame_ex",
    "pl_exp_get_oldest_frame",
    "pl_exp_get_oldest_frame_ex",
    "pl_exp_unlock_oldest_frame",
    "pl_exp_check_status",
    "pl_exp_check_cont_status",
    "pl_exp_check_cont_status_ex",
    "pl_exp_trigger",
    "pl_exp_stop_cont",
    "pl_exp_abort",
}

CONTROL_FUNCTIONS = {
    "pvsim_set_scene",
    "pvsim_get_scene",
    "pvsim_set_header_version",
    "pvsim_inject_fault",
    "pvsim_set_thermal",
    "pvsim_hardware_trigger",
    "pvsim_hardware_trigger_at",
    "pvsim_get_trigger_stats",
    "pvsim_benchmark_render",
    "pvsim_get_stats",
}


def test_library_is_built_next_to_the_package() -> None:
    assert LIBRARY.is_file()
    assert LIBRARY.parent == pvsim.Path(pvsim.__file__).resolve().parent
    assert LIBRARY.name.startswith("_libpvcam_sim")


@pytest.mark.skipif(shutil.which("nm") is None, reason="binutils nm not installed")
def test_exports_exactly_pvcam_entry_points_and_controls() -> None:
    listing = subprocess.run(
        ["nm", "-D", "--defined-only", str(LIBRARY)], capture_output=True, text=True, check=True
    ).stdout
    exported = {line.split()[-1] for line in listing.splitlines() if " T " in line}
    assert exported == PVCAM_ENTRY_POINTS | CONTROL_FUNCTIONS
    assert not any(name.startswith("PyInit") for name in exported)  # not a Python module


def test_loads_by_path_with_ctypes() -> None:
    library = ctypes.CDLL(str(LIBRARY))
    for name in PVCAM_ENTRY_POINTS | CONTROL_FUNCTIONS:
        assert hasattr(library, name), name


def run_isolated(body: str) -> None:
    """Run ``body`` in a fresh interpreter: library-wide init state is per process."""
    script = textwrap.dedent(
        f"""
        import ctypes
        lib = ctypes.CDLL({str(LIBRARY)!r})
        lib.pl_error_code.restype = ctypes.c_int16
        lib.pl_error_message.argtypes = [ctypes.c_int16, ctypes.c_char_p]
        def message(code):
            text = ctypes.create_string_buffer(255)
            ok = lib.pl_error_message(code, text)
            return ok, text.value.decode()
        """
    ) + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_library_lifecycle_and_error_codes() -> None:
    run_isolated(
        """
        total = ctypes.c_int16()
        assert lib.pl_cam_get_total(ctypes.byref(total)) == 0
        assert message(lib.pl_error_code()) == (
            1, "The PVCAM library has not been initialized (PL_ERR_LIBRARY_NOT_INITIALIZED)")
        assert lib.pl_pvcam_init() == 1
        assert lib.pl_error_code() == 0
        assert lib.pl_pvcam_init() == 0
        assert message(lib.pl_error_code())[1].endswith("(PL_ERR_LIBRARY_ALREADY_INITIALIZED)")
        assert lib.pl_cam_get_total(ctypes.byref(total)) == 1 and total.value == 2
        assert lib.pl_error_code() == 0  # reset by the successful call
        hcam = ctypes.c_int16()
        assert lib.pl_cam_open(b"pvsim-kinetix", ctypes.byref(hcam), 0) == 1
        assert lib.pl_cam_open(b"pvsim-primebsi", ctypes.byref(hcam), 1) == 0
        assert lib.pl_error_code() == 183
        assert message(183)[1] == (
            "Invalid mode (PL_ERR_MODE_INVALID). The open mode is not supported")
        assert lib.pl_pvcam_uninit() == 1  # closes the open camera
        assert lib.pl_pvcam_uninit() == 0
        assert lib.pl_pvcam_init() == 1
        assert lib.pl_cam_open(b"pvsim-kinetix", ctypes.byref(hcam), 0) == 1
        assert message(12345) == (0, "Unknown error")
        assert message(181)[1].endswith("(PL_ERR_REGION_INVALID)")
        assert message(182)[1].endswith("(PL_ERR_BINNING_INVALID)")
        assert message(188)[1].endswith("(PL_ERR_ACQUISITION_SETUP_REQUIRED)")
        assert message(183)[1] == "Invalid mode (PL_ERR_MODE_INVALID)"  # the detail was that call's
        """
    )
