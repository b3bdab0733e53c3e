"""``labkit demo``: the quickstart experiment, headless, on simulated instruments.

A bench power supply drives a 100 Ω load; the demo steps the voltage through the real pyserial
code path (the simulator sits beneath pyserial), reads the current at each step, and shows that
an out-of-range value is refused before anything is sent.
"""

from __future__ import annotations

from labkit.core import LimitError, Reading, Setting
from labkit.drivers.scpi import ScpiInstrument

__all__ = ["DemoSupply", "run_demo"]

LOAD_OHMS = 100.0


class DemoSupply(ScpiInstrument):
    """A bench power supply (0–30 V, 0–3 A) with a current read-back."""

    manufacturer = "labkit"
    models = ("DEMO-PSU",)
    voltage = Setting(
        unit="V",
        min=0,
        max=30,
        get="VOLT?",
        set="VOLT {}",
        ramp=50,
        readback="current",
        safe=0,
        doc="Output voltage set-point",
    )
    current_limit = Setting(
        unit="A", min=0, max=3, get="CURR?", set="CURR {}", doc="Current limit (compliance)"
    )
    output = Setting(bool, get="OUTP?", set="OUTP {}", safe=False, doc="Output on/off")
    current = Reading(unit="A", get="MEAS:CURR?", doc="Measured output current")


def serve_demo_supply(name: str = "demo_psu") -> str:
    """Serve a simulated supply with a 100 Ω load; returns its address."""
    from labkit.sim import ScpiSimulator, serve

    def load_current(sim: ScpiSimulator) -> float:
        if not sim.value("output"):
            return 0.0
        return min(sim.value("voltage") / LOAD_OHMS, sim.value("current_limit"))

    serve(name, ScpiSimulator(DemoSupply, name, readings={"current": load_current}))
    return f"labsim://{name}"


def run_demo(seed: int = 0) -> int:
    address = serve_demo_supply()
    with DemoSupply(address, name="psu") as psu:
        print(f"Connected to {psu.identity['manufacturer']} {psu.identity['model']} at {address}")
        psu.current_limit = "500 mA"
        psu.output = True
        print(f"{'voltage':>10} {'current':>12}")
        for step in range(6):
            psu.voltage = f"{step * 2} V"
            print(f"{psu.voltage:>8.2f} V {psu.read('current') * 1e3:>9.2f} mA")
        try:
            psu.voltage = "45 V"
        except LimitError as error:
            print(f"Refused before anything was sent: {error}")
        psu.make_safe()
        print(f"Made safe: voltage {psu.voltage} V, output {'on' if psu.output else 'off'}")
    return 0
