r"""Thorlabs TC200 heater controller twin (its serial text protocol), closing the bench's loop.

Written from the TC200's protocol as two independent drivers document it (see
``notes/instruments.md``, section 7): 115200 baud, 8N1, no handshake; each command ends with
CR. The controller echoes the command and a CR, then its answer and a CR, then the prompt
``> ``: ``"tact?\r24.5 C\r> "``, ``"tset=40.0\r> "``. ``stat?`` is the exception: its status
byte in hex, without leading zero and without CR, ``"stat?\r15 > "``. A refused command answers
``Command error CMD_ARG_RANGE_ERR`` (an argument out of range), an unknown one
``Command error CMD_NOT_DEFINED``, each followed by LF CR (as seen on ``mode=normal``, which
the firmware refuses spuriously although it switches the mode).

Commands: ``tset=``/``tset?`` (set-point, °C, 20…min(200, tmax), answered as ``"40.0 Celsius"``),
``tact?`` (the sensor, in the display unit: ``"24.5 C"``, ``"297.7 K"``, ``"76.1 F"``),
``tmax=``/``tmax?`` (20…205 °C), ``pmax=``/``pmax?`` (0.1…18 W), ``pgain=`` (1…250),
``igain=``, ``dgain=`` (0…250), ``pid?`` (``"P I D"``), ``ens`` (toggles the heater output;
nothing happens while the sensor alarm is on), ``unit=c|f|k``, ``sns=``/``sns?`` (sensor type),
``beta=``/``beta?``, ``mode=normal|cycle``, ``*idn?`` and ``id?``. Status bits: 0x01 output on,
0x02 cycle mode, 0x0C sensor (0x00 TH10K, 0x04 PTC100, 0x08 PTC1000, 0x0C NTC10K: assumed,
no source gives that code), 0x30 display unit
(0x00 K, 0x10 °C, 0x20 °F), 0x40 sensor alarm, 0x80 cycle paused.

On the bench the TC200 *is* ``bench.thermal.controller``: ``tset`` is its set-point (in kelvin
there), ``ens`` enables it, ``pmax`` is its power limit, and the gains map onto the PID law
in SI units, :math:`K_p = 0.1\,\mathrm{W/K} \times P`, :math:`K_i = 0.005\,\mathrm{W/(K\,s)}
\times I`, :math:`K_d = 0.1\,\mathrm{W\,s/K} \times D` (the manual's scaling of the gains is not
in the sources; these give the bench's default loop at P = 20, I = 10, D = 0). ``tact?`` reads
the controller's sensor (on the heater block: the sample lags behind it) with 0.01 K of noise,
rounded to 0.1. The fitted sensor is a PTC100: choosing another type raises the sensor alarm,
which turns the heater off. An injected ``error`` fault makes the next command answer
``CMD_ARG_RANGE_ERR`` and do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from labkit.sim._virtual import VirtualInstrument

if TYPE_CHECKING:
    from labkit.sim.bench import Bench
    from labkit.sim.bench._thermal import ControllerState

__all__ = ["TC200Twin"]

KELVIN_OFFSET = 273.15
P_SCALE = 0.1  # W/K per unit of pgain
I_SCALE = 0.005  # W/(K·s) per unit of igain
D_SCALE = 0.1  # W·s/K per unit of dgain
# The fourth code of the two sensor bits for NTC10K is an assumption (no source gives it).
_SENSORS = {"th10k": 0x00, "ptc100": 0x04, "ptc1000": 0x08, "ntc10k": 0x0C}
_UNITS = {"k": 0x00, "c": 0x10, "f": 0x20}
_UNIT_LETTER = {"k": "K", "c": "C", "f": "F"}
_ARG_RANGE = "Command error CMD_ARG_RANGE_ERR\n"
_NOT_DEFINED = "Command error CMD_NOT_DEFINED\n"
_NOISE = 0.01  # K


class _Refused(Exception):
    """A command the controller answers with an error text."""

    def __init__(self, text: str) -> None:
        self.text = text


def _in_range(argument: str, low: float, high: float, *, integer: bool = False) -> float:
    try:
        value = float(argument)
    except ValueError:
        raise _Refused(_ARG_RANGE) from None
    if integer and value != round(value):
        raise _Refused(_ARG_RANGE)
    if not low <= value <= high:
        raise _Refused(_ARG_RANGE)
    return value


class TC200Twin(VirtualInstrument):
    """A TC200 on the bench's heater: echo, answer, prompt; the loop is the bench's."""

    read_termination = "\r"
    write_termination = "> "
    serial_settings = {"baudrate": 115200, "bytesize": 8, "parity": "N", "stopbits": 1}
    identity = "THORLABS TC200 VERSION 2.0"
    fitted_sensor = "ptc100"

    def __init__(self, bench: Bench, name: str = "tc") -> None:
        super().__init__(name)
        self.bench = bench
        self._rng = bench.rng("tc")
        self._setters: dict[str, Callable[[str], None]] = {
            "tset": self._set_setpoint,
            "tmax": self._set_tmax,
            "pmax": self._set_pmax,
            "pgain": self._set_pgain,
            "igain": self._set_igain,
            "dgain": self._set_dgain,
            "unit": self._set_unit,
            "sns": self._set_sensor,
            "beta": self._set_beta,
            "mode": self._set_mode,
        }
        self._queries: dict[str, Callable[[], str]] = {
            "tset?": lambda: f"{self.setpoint:.1f} Celsius",
            "tact?": self._actual,
            "tmax?": lambda: f"{self.tmax:.1f}",
            "pmax?": lambda: f"{self.controller.max_power:.1f}",
            "pid?": lambda: f"{self.pgain} {self.igain} {self.dgain}",
            "sns?": lambda: f"Sensor = {self.sensor.upper()}, Beta = {self.beta}",
            "beta?": lambda: str(self.beta),
            "*idn?": lambda: self.identity,
            "id?": lambda: self.identity,
        }
        self.reset()

    @property
    def controller(self) -> ControllerState:
        """The bench's loop, which this controller is."""
        return self.bench.thermal.controller

    def reset(self) -> None:
        """Power-on state: heater off, 25 °C set-point, display in °C, PTC100 sensor."""
        self.tmax = 205.0
        self.unit = "c"
        self.sensor = self.fitted_sensor
        self.beta = 3988
        self.cycle = False
        self.pgain, self.igain, self.dgain = 20, 10, 0
        with self.bench.lock:
            self.controller.update(
                enabled=False,
                setpoint=25.0 + KELVIN_OFFSET,
                kp=self.pgain * P_SCALE,
                ki=self.igain * I_SCALE,
                kd=self.dgain * D_SCALE,
                max_power=18.0,
            )

    # -- what the controller reports ------------------------------------------------------

    @property
    def setpoint(self) -> float:
        """The set-point in °C."""
        return float(self.controller.setpoint) - KELVIN_OFFSET

    @property
    def alarm(self) -> bool:
        return self.sensor != self.fitted_sensor

    def status(self) -> int:
        byte = 0x01 if self.controller.enabled else 0x00
        byte |= 0x02 if self.cycle else 0x00
        byte |= _SENSORS[self.sensor] | _UNITS[self.unit]
        byte |= 0x40 if self.alarm else 0x00
        return byte

    def _actual(self) -> str:
        with self.bench.lock:
            self.bench.sync()
            kelvin = self.bench.thermal.sensor_temperature()
        kelvin += float(self._rng.normal(0.0, _NOISE))
        shown = {
            "k": kelvin,
            "c": kelvin - KELVIN_OFFSET,
            "f": (kelvin - KELVIN_OFFSET) * 9 / 5 + 32,
        }[self.unit]
        return f"{shown:.1f} {_UNIT_LETTER[self.unit]}"

    # -- the protocol ---------------------------------------------------------------------

    def handle(self, message: str) -> str:
        echo = message + "\r"
        if message == "":
            return echo
        key, equals, argument = message.partition("=")
        key = key.strip().lower()
        if self.faults.take("error") is not None:
            return f"{echo}{_ARG_RANGE}\r"  # an injected refusal of this command
        try:
            if equals:
                setter = self._setters.get(key)
                if setter is None:
                    raise _Refused(_NOT_DEFINED)
                setter(argument.strip().lower())
                return echo
            if key == "stat?":
                return f"{echo}{self.status():x} "
            if key == "ens":
                self._toggle()
                return echo
            query = self._queries.get(key)
            if query is None:
                raise _Refused(_NOT_DEFINED)
            return f"{echo}{query()}\r"
        except _Refused as refusal:
            return f"{echo}{refusal.text}\r"

    def _toggle(self) -> None:
        if self.alarm:
            return  # the output stays off while the sensor alarm is on
        with self.bench.lock:
            self.controller.enabled = not self.controller.enabled

    def _set_setpoint(self, argument: str) -> None:
        value = _in_range(argument, 20.0, min(200.0, self.tmax))
        with self.bench.lock:
            self.controller.setpoint = round(value, 1) + KELVIN_OFFSET

    def _set_tmax(self, argument: str) -> None:
        self.tmax = round(_in_range(argument, 20.0, 205.0), 1)

    def _set_pmax(self, argument: str) -> None:
        value = round(_in_range(argument, 0.1, 18.0), 1)
        with self.bench.lock:
            self.controller.max_power = value

    def _set_pgain(self, argument: str) -> None:
        self.pgain = round(_in_range(argument, 1, 250, integer=True))
        with self.bench.lock:
            self.controller.kp = self.pgain * P_SCALE

    def _set_igain(self, argument: str) -> None:
        self.igain = round(_in_range(argument, 0, 250, integer=True))
        with self.bench.lock:
            self.controller.ki = self.igain * I_SCALE

    def _set_dgain(self, argument: str) -> None:
        self.dgain = round(_in_range(argument, 0, 250, integer=True))
        with self.bench.lock:
            self.controller.kd = self.dgain * D_SCALE

    def _set_unit(self, argument: str) -> None:
        if argument not in _UNITS:
            raise _Refused(_ARG_RANGE)
        self.unit = argument

    def _set_sensor(self, argument: str) -> None:
        if argument not in _SENSORS:
            raise _Refused(_ARG_RANGE)
        self.sensor = argument
        if self.alarm:
            with self.bench.lock:
                self.controller.enabled = False

    def _set_beta(self, argument: str) -> None:
        self.beta = round(_in_range(argument, 2000, 6000, integer=True))

    def _set_mode(self, argument: str) -> None:
        if argument == "cycle":
            self.cycle = True
            return
        if argument == "normal":
            self.cycle = False
            raise _Refused(_ARG_RANGE)  # the firmware's spurious refusal; the mode did change
        raise _Refused(_ARG_RANGE)
