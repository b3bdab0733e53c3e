"""Shared pieces of the served-station tests: a station for a server process of its own (for
tests that kill it), the simulated libpvcam they need and the write grant they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.core import MissingVendorLibrary
from tests.remote.conftest import ACCOUNT

STATION = f"""\
simulated: true
bench: {{seed: 5, dut: diode, time_scale: 0}}
serve:
  access:
    write:
      - {{account: {ACCOUNT}, host: 127.0.0.1}}
instruments:
  smu:
    driver: keithley2450
    ramps: {{source_voltage: 1 V/s}}
    serve:
      poll: {{current: 10}}
"""


def _simulated_libpvcam() -> Path | None:
    try:
        from labkit.sim import pvcam

        return pvcam.library_path()
    except MissingVendorLibrary:  # built without a C compiler
        return None


SIM_PATH = _simulated_libpvcam()
needs_simulated_libpvcam = pytest.mark.skipif(
    SIM_PATH is None, reason="simulated libpvcam not built"
)
WRITERS = {"write": [{"account": ACCOUNT, "host": "127.0.0.1"}]}
"""The station's grant that lets this test's account write from loopback."""
