"""A station served by ``labkit serve`` in a process of its own, for tests that kill it."""

from __future__ import annotations

import os
import sys

from labkit.remote import ServerProcess
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


def client_env(server: ServerProcess) -> dict[str, str]:
    """The environment of a client process that reaches ``server`` and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
    env.update(server.client_conf())
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
