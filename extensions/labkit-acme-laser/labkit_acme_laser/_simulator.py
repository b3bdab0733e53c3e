"""A simulated LD-100, served beneath pyserial: the driver cannot tell it from the real one."""

from __future__ import annotations

import labkit.sim

THRESHOLD_MA = 30.0  # lasing threshold
SLOPE_MW_PER_MA = 0.8  # slope efficiency above threshold


class LD100Simulator(labkit.sim.VirtualInstrument):
    """The LD-100's protocol and a simple laser: light above threshold, if emission is on."""

    read_termination = "\r"
    write_termination = "\r"
    serial_settings = {"baudrate": 19200}

    def __init__(self, name: str = "ld100", *, key_switch: bool = True) -> None:
        super().__init__(name)
        self.values = {"I": 0.0, "T": 25.0, "EN": 0, "MOD": "OFF"}
        self.key_switch = key_switch

    def power(self) -> float:
        if not self.values["EN"]:
            return 0.0
        return max(0.0, self.values["I"] - THRESHOLD_MA) * SLOPE_MW_PER_MA

    def handle(self, message: str) -> str:
        if message == "ID?":
            return "ID=ACME,LD-100,SIM-0001,2.3"
        if message == "CLR":
            return "OK"
        if message.endswith("?"):
            key = message[:-1]
            if key == "P":
                return f"P={self.power():.3f}"
            if key == "TA":
                return f"TA={self.values['T']:.2f}"
            if key == "KEY":
                return f"KEY={int(self.key_switch)}"
            if key in self.values:
                value = self.values[key]
                return f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}"
            return "ERR 1 unknown command"
        key, equals, text = message.partition("=")
        if not equals or key not in self.values:
            return "ERR 1 unknown command"
        return self._set(key, text)

    def _set(self, key: str, text: str) -> str:
        try:
            if key == "MOD":
                if text not in ("OFF", "AM", "TTL"):
                    return "ERR 3 bad value"
                self.values[key] = text
                return "OK"
            number = float(text)
        except ValueError:
            return "ERR 3 bad value"
        limits = {"I": (0, 250), "T": (15, 35), "EN": (0, 1)}[key]
        if not limits[0] <= number <= limits[1]:
            return "ERR 2 out of range"
        if key == "EN" and number and not self.key_switch:
            return "ERR 4 key switch off"
        self.values[key] = int(number) if key == "EN" else number
        return "OK"


def serve_simulator(name: str = "ld100", **options: bool) -> str:
    """Serve a simulated LD-100 as ``labsim://<name>`` and return that address."""
    labkit.sim.serve(name, LD100Simulator(name, **options))
    return f"labsim://{name}"
