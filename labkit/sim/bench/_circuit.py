"""The source-measure circuit subsystem: SMU state, the device under test, the DMM's loading.

See ``_electrical`` for the equations. The circuit has no dynamics of its own: it is solved at
the moment an instrument measures, at the present temperature of the sample stage. The solution
depends on nothing else, so the last one is kept and reused while none of its inputs changed
(an SMU reading and a DMM reading of the same point solve once).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labkit.sim.bench._electrical import Diode, Led, OperatingPoint, Resistor, solve_increasing
from labkit.sim.bench._state import State

if TYPE_CHECKING:
    from labkit.sim.bench._bench import Bench

__all__ = ["DUTS", "Circuit", "SmuState", "make_dut"]

DUTS = {"resistor": Resistor, "diode": Diode, "led": Led}


def make_dut(dut: Any) -> Any:
    """A device from a name (``"diode"``) or a device object (returned as is)."""
    if isinstance(dut, str):
        try:
            return DUTS[dut.casefold()]()
        except KeyError:
            raise ValueError(
                f"no device under test is called {dut!r}; choose {', '.join(DUTS)}"
            ) from None
    if not hasattr(dut, "junction_current"):
        raise TypeError(f"{dut!r} is not a device model (it has no junction_current)")
    return dut


class SmuState(State):
    """What the source-measure unit does: ``function`` is ``"voltage"`` or ``"current"``."""

    function: str = "voltage"
    voltage: float = 0.0
    current: float = 0.0
    current_limit: float = 105e-6
    voltage_limit: float = 21.0
    output: bool = False
    remote_sense: bool = False


class Circuit:
    """An SMU driving a device through two leads; a DMM (``dmm_input_resistance``) across it."""

    name = "circuit"

    def __init__(
        self,
        bench: Bench,
        dut: Any = "diode",
        *,
        lead_resistance: float = 0.25,
        dmm_input_resistance: float | None = 10e6,
    ) -> None:
        self.bench = bench
        self.smu = SmuState()
        self.dut = make_dut(dut)
        self.lead_resistance = lead_resistance
        self.dmm_input_resistance = dmm_input_resistance
        self._last: tuple[tuple[Any, ...], OperatingPoint] | None = None
        self._guess: float | None = None  # the last junction voltage solved: where Newton starts

    def advance(self, now: float) -> None:
        """Nothing to integrate: the circuit is solved when measured."""

    @property
    def temperature(self) -> float:
        """The device's temperature: the sample stage's (K)."""
        return self.bench.thermal.sample_temperature

    def select(self, dut: Any) -> Any:
        """Put another device under test (``"resistor"``, ``"diode"``, ``"led"`` or a model)."""
        self.dut = make_dut(dut)
        return self.dut

    # -- the network ----------------------------------------------------------------------

    def _network(self, temperature: float) -> tuple[Any, ...]:
        dut = self.dut
        rs = dut.series_resistance
        r_in = self.dmm_input_resistance or math.inf
        leads = 2.0 * self.lead_resistance

        def dut_voltage(vj: float) -> float:
            return vj + rs * dut.junction_current(vj, temperature)

        def total_current(vj: float) -> float:
            return dut.junction_current(vj, temperature) + dut_voltage(vj) / r_in

        def terminal_voltage(vj: float) -> float:
            return dut_voltage(vj) + leads * total_current(vj)

        def d_dut_voltage(vj: float) -> float:
            return 1.0 + rs * dut.junction_slope(vj, temperature)

        def d_total_current(vj: float) -> float:
            return dut.junction_slope(vj, temperature) + d_dut_voltage(vj) / r_in

        def d_terminal_voltage(vj: float) -> float:
            return d_dut_voltage(vj) + leads * d_total_current(vj)

        return (
            dut_voltage,
            total_current,
            terminal_voltage,
            d_dut_voltage,
            d_total_current,
            d_terminal_voltage,
        )

    def operating_point(self) -> OperatingPoint:
        """Solve the network for the SMU's present state (the last solution if nothing that
        decides it changed: the SMU, the device and its parameters, the leads, the DMM's input
        resistance, the temperature)."""
        temperature = self.temperature
        dut = self.dut
        key = (
            tuple(vars(self.smu).values()),
            id(dut),
            tuple(vars(dut).values()),
            self.lead_resistance,
            self.dmm_input_resistance,
            temperature,
        )
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        point = self._solve(temperature)
        self._last = (key, point)
        return point

    def _solve(self, temperature: float) -> OperatingPoint:
        smu = self.smu
        if not smu.output:
            return OperatingPoint(0.0, 0.0, 0.0, 0.0, False, temperature)
        if smu.function == "voltage":
            vj = self._hold_voltage(smu.voltage, temperature)
            point = self._point(vj, temperature, compliance=False)
            if abs(point.current) > smu.current_limit:
                limit = math.copysign(smu.current_limit, point.current)
                point = self._point(self._hold_current(limit, temperature), temperature, True)
            return point
        vj = self._hold_current(smu.current, temperature)
        point = self._point(vj, temperature, compliance=False)
        if abs(point.smu_voltage) > smu.voltage_limit:
            limit = math.copysign(smu.voltage_limit, point.smu_voltage)
            point = self._point(self._hold_voltage(limit, temperature), temperature, True)
        return point

    def _hold_voltage(self, volts: float, temperature: float) -> float:
        v_dut, _i, v_term, dv_dut, _di, dv_term = self._network(temperature)
        sensed, slope = (v_dut, dv_dut) if self.smu.remote_sense else (v_term, dv_term)
        low, high = min(volts, 0.0), max(volts, 0.0)
        self._guess = solve_increasing(
            lambda vj: sensed(vj) - volts, slope, low, high, guess=self._guess
        )
        return self._guess

    def _hold_current(self, amps: float, temperature: float) -> float:
        _v, total, _t, _dv, d_total, _dt = self._network(temperature)
        bound = self.dut.junction_bound(amps, temperature)
        low, high = min(bound, 0.0), max(bound, 0.0)
        self._guess = solve_increasing(
            lambda vj: total(vj) - amps, d_total, low, high, guess=self._guess
        )
        return self._guess

    def _point(self, vj: float, temperature: float, compliance: bool) -> OperatingPoint:
        v_dut, total, v_term, *_ = self._network(temperature)
        dut_voltage = v_dut(vj)
        current = total(vj)
        sensed = dut_voltage if self.smu.remote_sense else v_term(vj)
        return OperatingPoint(
            smu_voltage=sensed,
            dut_voltage=dut_voltage,
            current=current,
            dut_current=self.dut.junction_current(vj, temperature),
            compliance=compliance,
            temperature=temperature,
        )

    def led_current(self) -> float:
        """Forward current through the LED now (0 when the device is not an LED)."""
        if not isinstance(self.dut, Led):
            return 0.0
        return max(0.0, self.operating_point().dut_current)
