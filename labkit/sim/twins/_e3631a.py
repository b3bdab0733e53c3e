"""Agilent E3631A triple-output supply twin (SCPI), powering the bench's heater and lamp.

Written from the E3631A User's Guide (see ``notes/instruments.md``, section 5): three outputs,
``P6V`` (0…6.18 V, 0…5.15 A), ``P25V`` (0…+25.75 V, 0…1.03 A) and ``N25V`` (0…−25.75 V,
0…1.03 A); a selected-output pointer (``INSTrument[:SELect]``, ``INSTrument:NSELect``) that
``[SOURce:]VOLTage`` and ``[SOURce:]CURRent`` act on (``MIN``/``MAX``/``DEF``, and
``? MIN|MAX``); ``APPLy <output>[,<V>[,<I>]]`` and ``APPLy?``; ``MEASure[:VOLTage]?`` and
``MEASure:CURRent?`` with an optional output (the selection stays); one ``OUTPut`` switch for
all three outputs; ``OUTPut:TRACk`` (the −25 V output follows the +25 V one, and the other way
round); ``SYSTem:REMote``/``LOCal``/``RWLock`` for RS-232 (9600 baud, 8N2); and the error queue
(``-222,"Data out of range"`` for a value beyond an output's range, which is then ignored).

Wiring on the bench: the +6 V output drives the stage's heater, a resistor of
``bench.thermal.heater_resistance`` ohms; the +25 V output lights the lamp
(``bench.optics.lamp``, whose current grows as √V); the −25 V output is open. Each output
regulates its voltage until the load would draw more than the current limit, then regulates
the current (CV/CC crossover). With the outputs off both loads get 0 V, so on a bench that
serves the supply, the lamp is dark until the supply lights it. A temperature controller in
closed loop (the TC200) overrides the heater power the supply sets, as on the bench.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import ScpiTwin, boolean, mnemonic, nr3, number, scpi

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["E3631ATwin"]

_IDENTIFIERS = {"P6V": "P6V", "P25V": "P25V", "N25V": "N25V"}
_VOLTAGE_NOISE = 2e-4  # V, the readback's scatter
_CURRENT_NOISE = 5e-5  # A
_MEASURE_TIME = 0.02  # s of bench time per MEASure


@dataclasses.dataclass
class _Output:
    """One output: its range (N25V's runs to negative volts) and its present set-points."""

    number: int
    low: float
    high: float
    current_max: float
    current_reset: float
    voltage: float = 0.0
    current: float = 0.0

    @property
    def voltage_max(self) -> float:
        """``VOLT MAX``: the end of the range away from 0 (−25.75 V for N25V)."""
        return self.high if self.high > 0 else self.low


class E3631ATwin(ScpiTwin):
    """An E3631A answering SCPI, whose +6 V output heats the stage and +25 V output lights the
    lamp."""

    identity = "HEWLETT-PACKARD,E3631A,0,2.1-5.0-1.0"
    serial_settings = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 2}

    def __init__(self, bench: Bench, name: str = "psu") -> None:
        super().__init__(name)
        self.bench = bench
        self._rng = bench.rng("psu")
        self.remote = False
        self.reset()

    # -- state ----------------------------------------------------------------------------

    def reset(self) -> None:
        self.outputs = {
            "P6V": _Output(1, 0.0, 6.18, 5.15, 5.0),
            "P25V": _Output(2, 0.0, 25.75, 1.03, 1.0),
            "N25V": _Output(3, -25.75, 0.0, 1.03, 1.0),
        }
        for output in self.outputs.values():
            output.current = output.current_reset
        self.selected = "P6V"
        self.output_on = False
        self.tracking = False
        self._deliver()

    @property
    def _output(self) -> _Output:
        return self.outputs[self.selected]

    def _identifier(self, value: str | None) -> str:
        if value is None or value.strip() == "":
            return self.selected
        return str(mnemonic(value, _IDENTIFIERS))

    # -- physics --------------------------------------------------------------------------

    def terminal(self, identifier: str) -> tuple[float, float]:
        """The voltage across an output's load and the current through it (V, A)."""
        output = self.outputs[identifier]
        if not self.output_on:
            return 0.0, 0.0
        volts = output.voltage
        if identifier == "P6V":
            resistance = self.bench.thermal.heater_resistance
            amps = volts / resistance
            if amps > output.current:
                amps, volts = output.current, output.current * resistance
            return volts, amps
        if identifier == "P25V":
            lamp = self.bench.optics.lamp
            amps = lamp.current(volts)
            if amps > output.current:
                amps, volts = output.current, lamp.voltage_at_current(output.current)
            return volts, amps
        return volts, 0.0  # N25V: nothing is connected

    def _deliver(self) -> None:
        """Give the heater and the lamp what the outputs now deliver."""
        heater_volts, heater_amps = self.terminal("P6V")
        lamp_volts, _ = self.terminal("P25V")
        with self.bench.changing():
            self.bench.thermal.heater_power = heater_volts * heater_amps
            self.bench.optics.lamp.voltage = lamp_volts

    # -- selecting an output --------------------------------------------------------------

    @scpi(":INSTrument[:SELect]")
    def _set_select(self, value: str | None = None) -> None:
        self.selected = str(mnemonic(value, _IDENTIFIERS))

    @scpi(":INSTrument[:SELect]?")
    def _get_select(self) -> str:
        return self.selected

    @scpi(":INSTrument:NSELect")
    def _set_nselect(self, value: str | None = None) -> None:
        wanted = round(number(value, low=1, high=3, integer=True))
        self.selected = next(k for k, o in self.outputs.items() if o.number == wanted)

    @scpi(":INSTrument:NSELect?")
    def _get_nselect(self) -> str:
        return str(self._output.number)

    # -- levels on the selected output ----------------------------------------------------

    def _voltage_value(self, output: _Output, value: str | None) -> float:
        return number(
            value,
            low=output.low,
            high=output.high,
            default=0.0,
            minimum=0.0,
            maximum=output.voltage_max,
        )

    def _current_value(self, output: _Output, value: str | None) -> float:
        return number(
            value, low=0.0, high=output.current_max, default=output.current_reset, minimum=0.0
        )

    def _set_level(self, identifier: str, voltage: float) -> None:
        self.outputs[identifier].voltage = voltage
        if self.tracking and identifier in ("P25V", "N25V"):
            partner = "N25V" if identifier == "P25V" else "P25V"
            self.outputs[partner].voltage = -voltage

    @scpi("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_voltage(self, value: str | None = None) -> None:
        self._set_level(self.selected, self._voltage_value(self._output, value))
        self._deliver()

    @scpi("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_voltage(self, which: str | None = None) -> str:
        output = self._output
        if which is not None:
            return nr3(
                self._voltage_value(output, mnemonic(which, {"MINimum": "MIN", "MAXimum": "MAX"}))
            )
        return nr3(output.voltage)

    @scpi("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _set_current(self, value: str | None = None) -> None:
        self._output.current = self._current_value(self._output, value)
        self._deliver()

    @scpi("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_current(self, which: str | None = None) -> str:
        output = self._output
        if which is not None:
            return nr3(
                self._current_value(output, mnemonic(which, {"MINimum": "MIN", "MAXimum": "MAX"}))
            )
        return nr3(output.current)

    @scpi(":APPLy")
    def _apply(self, identifier: str | None = None, *levels: str) -> None:
        if identifier is None:
            raise ScpiError(-109, "Missing parameter")
        if len(levels) > 2:
            raise ScpiError(-108, "Parameter not allowed")
        chosen = str(mnemonic(identifier, _IDENTIFIERS))
        output = self.outputs[chosen]
        voltage = self._voltage_value(output, levels[0]) if levels else None
        current = self._current_value(output, levels[1]) if len(levels) > 1 else None
        self.selected = chosen  # both values are checked before either is applied
        if voltage is not None:
            self._set_level(chosen, voltage)
        if current is not None:
            output.current = current
        self._deliver()

    @scpi(":APPLy?")
    def _apply_query(self, identifier: str | None = None) -> str:
        output = self.outputs[self._identifier(identifier)]
        return f'"{output.voltage:.6f},{output.current:.6f}"'

    # -- measuring ------------------------------------------------------------------------

    def _measure(self, identifier: str | None, which: int) -> str:
        chosen = self._identifier(identifier)
        self.busy_for(self.bench.clock.real_seconds(_MEASURE_TIME))
        with self.bench.lock:
            self.bench.sync()
            value = self.terminal(chosen)[which]
        noise = _VOLTAGE_NOISE if which == 0 else _CURRENT_NOISE
        return nr3(value + float(self._rng.normal(0.0, noise)))

    @scpi(":MEASure[:SCALar][:VOLTage][:DC]?")
    def _measure_voltage(self, identifier: str | None = None) -> str:
        return self._measure(identifier, 0)

    @scpi(":MEASure[:SCALar]:CURRent[:DC]?")
    def _measure_current(self, identifier: str | None = None) -> str:
        return self._measure(identifier, 1)

    # -- output, tracking, remote ---------------------------------------------------------

    @scpi(":OUTPut[:STATe]")
    def _set_output(self, value: str | None = None) -> None:
        self.output_on = boolean(value)
        self._deliver()

    @scpi(":OUTPut[:STATe]?")
    def _get_output(self) -> str:
        return "1" if self.output_on else "0"

    @scpi(":OUTPut:TRACk[:STATe]")
    def _set_tracking(self, value: str | None = None) -> None:
        self.tracking = boolean(value)
        if self.tracking:  # the -25 V output takes the +25 V output's value
            self.outputs["N25V"].voltage = -self.outputs["P25V"].voltage
        self._deliver()

    @scpi(":OUTPut:TRACk[:STATe]?")
    def _get_tracking(self) -> str:
        return "1" if self.tracking else "0"

    @scpi(":SYSTem:REMote", ":SYSTem:RWLock")
    def _remote(self) -> None:
        self.remote = True

    @scpi(":SYSTem:LOCal")
    def _local(self) -> None:
        self.remote = False

    @scpi(":SYSTem:VERSion?")
    def _version(self) -> str:
        return "1995.0"
