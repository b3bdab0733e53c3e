"""Simulated instruments and a synthetic camera for the runs, store and ui tests.

Small, fast stand-ins for the virtual bench (``labkit.sim.Bench``), shaped for the run engine's
tests: a resistor under test between a source-measure unit and a multimeter (the SMU sets a voltage,
both read the current through the resistor), a thermal stage whose temperature follows its
heater with a first-order lag, and a camera producing numbered frames. They talk through
labkit's real code path: the SCPI driver, the serial transport, pyserial's ``labsim://`` URL
handler and the virtual instruments beneath it.
"""

from __future__ import annotations

import threading
import time

import numpy as np

import labkit
from labkit import Reading, Setting
from labkit.core import Frame, FrameBroadcaster
from labkit.sim import ScpiSimulator, serve, unserve

RESISTANCE = 1000.0  # ohm


class Smu(labkit.ScpiInstrument):
    """A source-measure unit: sets a voltage, measures the current it drives."""

    manufacturer = "Labsim"
    models = ("SMU-1",)
    voltage = Setting(unit="V", min=-10, max=10, get="VOLT?", set="VOLT {}", safe=0)
    output = Setting(bool, get="OUTP?", set="OUTP {}", safe=False)
    current = Reading(unit="A", get="MEAS:CURR?")


class Dmm(labkit.ScpiInstrument):
    """A multimeter measuring current."""

    manufacturer = "Labsim"
    models = ("DMM-1",)
    current = Reading(unit="A", get="MEAS:CURR?")
    mode = Setting(choices={"dc": "DC", "ac": "AC"}, get="MODE?", set="MODE {}")


class Stage(labkit.ScpiInstrument):
    """A thermal stage: a heater and a thermometer."""

    manufacturer = "Labsim"
    models = ("TC-1",)
    heater = Setting(unit="W", min=0, max=20, get="HEAT?", set="HEAT {}", safe=0)
    temperature = Reading(unit="K", get="TEMP?")


class ThermalSample:
    """dT/dt = (T_env + gain·P − T) / tau, integrated in real time at each query."""

    def __init__(self, ambient: float = 290.0, gain: float = 5.0, tau: float = 0.6) -> None:
        self.ambient, self.gain, self.tau = ambient, gain, tau
        self.temperature = ambient
        self.power = 0.0
        self._when = time.monotonic()
        self._lock = threading.Lock()

    def advance(self) -> float:
        with self._lock:
            now = time.monotonic()
            dt, self._when = now - self._when, now
            steady = self.ambient + self.gain * self.power
            self.temperature = steady + (self.temperature - steady) * np.exp(-dt / self.tau)
            return self.temperature

    def set_power(self, power: float) -> None:
        self.advance()
        with self._lock:
            self.power = power


class Lab:
    """The simulated instruments, served and connected, closed on exit."""

    def __init__(self, *, latency: float = 0.0, prefix: str = "t") -> None:
        self.prefix = prefix
        self.sample = ThermalSample()
        self.smu_sim = ScpiSimulator(
            Smu,
            f"{prefix}smu",
            latency=latency,
            readings={"current": lambda s: s.value("voltage") / RESISTANCE},
        )
        self.dmm_sim = ScpiSimulator(
            Dmm,
            f"{prefix}dmm",
            latency=latency,
            readings={"current": lambda s: self.smu_sim.value("voltage") / RESISTANCE},
        )
        sample = self.sample

        class StageSim(ScpiSimulator):
            def on_set(self, name, value):
                if name == "heater":
                    sample.set_power(value)

        self.stage_sim = StageSim(
            Stage, f"{prefix}stage", readings={"temperature": lambda s: sample.advance()}
        )
        for sim in (self.smu_sim, self.dmm_sim, self.stage_sim):
            serve(sim.name, sim)
        self.smu = Smu(f"labsim://{prefix}smu", name="smu", timeout=1.0)
        self.dmm = Dmm(f"labsim://{prefix}dmm", name="dmm", timeout=1.0)
        self.stage = Stage(f"labsim://{prefix}stage", name="stage", timeout=1.0)

    def close(self) -> None:
        for instrument in (self.smu, self.dmm, self.stage):
            instrument.close()
        for sim in (self.smu_sim, self.dmm_sim, self.stage_sim):
            unserve(sim.name)


class SyntheticCamera:
    """A camera following labkit's Camera protocol: numbered frames at a steady rate.

    Pixel values encode the frame number (``pixels[0, 0] == number % 65536``) so tests can
    check which frames were stored.
    """

    def __init__(
        self, name: str = "cam", shape: tuple[int, int] = (64, 48), rate: float = 200.0
    ) -> None:
        self.name = name
        self._shape = shape
        self.rate = rate
        self._broadcaster = FrameBroadcaster()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._count = 0
        self.fail_after: int | None = None

    @property
    def sensor_shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def acquiring(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _frame(self) -> Frame:
        self._count += 1
        pixels = np.full(self._shape, self._count % 65536, dtype=np.uint16)
        return Frame(
            pixels=pixels,
            number=self._count,
            timestamp=time.time(),
            hardware_timestamp=self._count / self.rate,
            exposure=1e-3,
        )

    def snap(self, timeout: float | None = None) -> Frame:
        return self._frame()

    def start(self) -> None:
        self._stop.clear()
        self._count = 0
        self._broadcaster.start()
        self._thread = threading.Thread(target=self._acquire, daemon=True)
        self._thread.start()

    def _acquire(self) -> None:
        period = 1.0 / self.rate
        next_time = time.monotonic()
        while not self._stop.is_set():
            if self.fail_after is not None and self._count >= self.fail_after:
                self._broadcaster.fail(
                    labkit.ConnectionLost("camera unplugged", instrument=self.name)
                )
                return
            self._broadcaster.publish(self._frame())
            next_time += period
            self._stop.wait(max(0.0, next_time - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def subscribe(self, maxsize: int = 8):
        return self._broadcaster.subscribe(maxsize)

    def unsubscribe(self, queue) -> None:
        self._broadcaster.unsubscribe(queue)


def serve_bench_stage(bench, name: str = "stage") -> str:
    """Serve a ``Stage`` on a :class:`labkit.sim.Bench`: its heater is the bench's heater, its
    thermometer the bench's sample. Returns the address."""

    class BenchStage(ScpiSimulator):
        def on_set(self, setting, value):
            if setting == "heater":
                bench.thermal.heater_power = value

    def sample_temperature(_simulator):
        with bench.changing():
            return bench.thermal.sample_temperature

    twin = BenchStage(Stage, name, readings={"temperature": sample_temperature})
    bench.add_instrument(name, twin, interfaces=("serial",))
    return bench.address(name)
