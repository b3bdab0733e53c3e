"""A simulated power supply for driving panels headless: widget → bytes → instrument → widget.

``Supply`` is declared in thirteen lines; ``Bench`` serves its simulator, opens it, and records
every byte the transport writes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest

import labkit
from labkit import Action, Reading, Setting
from labkit.sim import ScpiSimulator, simulate, unserve


class Supply(labkit.ScpiInstrument):
    """A bench power supply."""

    models = ("PS30",)
    voltage = Setting(unit="V", min=0, max=30, get="VOLT?", set="VOLT {}", readback="measured_voltage", doc="Output voltage")  # fmt: skip
    current = Setting(unit="A", min=0, get="CURR?", set="CURR {}", doc="Current limit")
    output = Setting(bool, get="OUTP?", set="OUTP {}", bool_tokens=("ON", "OFF"))
    mode = Setting(choices={"constant voltage": "CV", "constant current": "CC"}, get="MODE?", set="MODE {}")  # fmt: skip
    span = Setting(float, unit="V", choices={3: "LOW", 30: "HIGH"}, get="RANG?", set="RANG {}")
    gain = Setting(int, min=1, max=10, get="GAIN?", set="GAIN {}")
    note = Setting(str, get="DISP?", set="DISP {}", label="Display text")
    measured_voltage = Reading(unit="V", get="MEAS:VOLT?")
    temperature = Reading(unit="degC", get="TEMP?", doc="Heat-sink temperature")
    zero = Action("ZERO", doc="Zero the current meter")


_names = itertools.count(1)


class Bench:
    """A served simulator, the instrument opened on it, and every byte written to it."""

    def __init__(self, driver: type[labkit.Instrument], **options: Any) -> None:
        self.name = f"psu{next(_names)}"
        self.simulator: ScpiSimulator = simulate(
            driver, self.name, readings={"temperature": lambda sim: self.temperature}
        )
        self.temperature = 31.5
        self.instrument: Any = driver(f"labsim://{self.name}", name=self.name, **options)
        self.wire: list[bytes] = []
        transport = self.instrument.transport
        write_bytes = transport.write_bytes

        def recording(data: bytes) -> None:
            self.wire.append(bytes(data))
            write_bytes(data)

        transport.write_bytes = recording

    def sent(self, prefix: str) -> list[str]:
        """Commands written since the bench opened that start with ``prefix``."""
        lines = b"".join(self.wire).decode().splitlines()
        return [line for line in lines if line.startswith(prefix)]

    def close(self) -> None:
        self.instrument.close()
        unserve(self.name)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll until ``condition()`` is truthy (widgets change on other threads); fail after."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what or 'a condition'}")
        time.sleep(0.005)
