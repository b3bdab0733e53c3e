r"""The electrical bench: a source-measure unit driving a device under test, a DMM across it.

Devices under test (at the temperature :math:`T` of the sample stage they sit on):

* :class:`Resistor` — :math:`R(T) = R_0\,[1 + \alpha (T - T_0)]`.
* :class:`Diode` — Shockley's law with series and shunt resistance. With the junction voltage
  :math:`V_j`, the current is
  :math:`I = I_s(T)\,[\exp(V_j / n V_t) - 1] + V_j / R_{sh}` and the terminal voltage
  :math:`V = V_j + I R_s`, where :math:`V_t = k_B T / q` and the saturation current follows
  SPICE's temperature law
  :math:`I_s(T) = I_{s0}\,(T/T_0)^{X_{TI}/n}\exp\!\big[(T/T_0 - 1)\,E_g / (n V_t)\big]`.
* :class:`Led` — a diode with a wider band gap that also emits light (see ``_optics``).

The network: the SMU's force terminals reach the device through two leads of resistance
:math:`R_\ell` each; the DMM (input resistance :math:`R_{in}`, 10 MΩ) sits across the device.
Sourcing a voltage, the SMU regulates it at its terminals (2-wire) or at the device (4-wire,
remote sense); sourcing a current, the current. Everything is solved in the junction voltage,
in which the whole network is monotonic, by safeguarded Newton iteration. Compliance: when
the current would exceed the current limit, the SMU becomes a current source at the limit (and
the other way round for the voltage limit). Output off: no current flows, the device sits at
0 V. The device does not heat itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

__all__ = [
    "BOLTZMANN",
    "ELEMENTARY_CHARGE",
    "Diode",
    "Led",
    "OperatingPoint",
    "Resistor",
    "solve_increasing",
    "thermal_voltage",
]

BOLTZMANN = 1.380649e-23  # J/K
ELEMENTARY_CHARGE = 1.602176634e-19  # C
_EXP_LIMIT = 600.0


def thermal_voltage(temperature: float) -> float:
    """:math:`V_t = k_B T / q` in volts."""
    return BOLTZMANN * temperature / ELEMENTARY_CHARGE


def solve_increasing(
    f: Callable[[float], float],
    slope: Callable[[float], float],
    low: float,
    high: float,
    *,
    tolerance: float = 1e-13,
    guess: float | None = None,
) -> float:
    """The root of an increasing ``f`` bracketed by ``[low, high]``: Newton, kept in the bracket.

    ``guess`` (the last solution, in a sweep) starts Newton near the root: a few steps instead
    of a few dozen."""
    f_low, f_high = f(low), f(high)
    step = max(1e-9, high - low)
    for _ in range(200):  # the bounds are hints: widen them until they hold the root
        if f_low <= 0 and f_high >= 0:
            break
        if f_low > 0:
            low -= step
            f_low = f(low)
        if f_high < 0:
            high += step
            f_high = f(high)
        step *= 2
    else:
        raise ValueError(f"root not bracketed: f({low})={f_low}, f({high})={f_high}")
    if f_low == 0:
        return low
    if f_high == 0:
        return high
    x = guess if guess is not None and low < guess < high else 0.5 * (low + high)
    for _ in range(200):
        value = f(x)
        if value == 0:
            return x
        if value < 0:
            low = x
        else:
            high = x
        d = slope(x)
        step = value / d if d > 0 else math.inf
        candidate = x - step
        if not (low < candidate < high):
            candidate = 0.5 * (low + high)
        if abs(candidate - x) <= tolerance * max(1.0, abs(x)) or high - low <= tolerance * max(
            1.0, abs(x)
        ):
            return candidate
        x = candidate
    return x


@dataclasses.dataclass
class Resistor:
    """A resistor: ``resistance`` Ω at ``reference_temperature`` K, tempco ``alpha`` per K."""

    resistance: float = 1_000.0
    alpha: float = 1.0e-4
    reference_temperature: float = 298.15
    name: str = "resistor"

    @property
    def series_resistance(self) -> float:
        return 0.0

    def resistance_at(self, temperature: float) -> float:
        return self.resistance * (1.0 + self.alpha * (temperature - self.reference_temperature))

    def junction_current(self, vj: float, temperature: float) -> float:
        return vj / self.resistance_at(temperature)

    def junction_slope(self, vj: float, temperature: float) -> float:
        return 1.0 / self.resistance_at(temperature)

    def junction_bound(self, current: float, temperature: float) -> float:
        return current * self.resistance_at(temperature) * 1.01 + math.copysign(1e-9, current)

    def current(self, voltage: float, temperature: float) -> float:
        """Current through the device with ``voltage`` across its terminals."""
        return voltage / self.resistance_at(temperature)

    def voltage(self, current: float, temperature: float) -> float:
        """Terminal voltage with ``current`` through the device."""
        return current * self.resistance_at(temperature)


@dataclasses.dataclass
class Diode:
    """A silicon diode (defaults near a 1N4148): Shockley with series and shunt resistance."""

    saturation_current: float = 2.52e-9  # A at the reference temperature
    ideality: float = 1.752
    series: float = 0.568  # Ω
    shunt: float = 1.0e10  # Ω, the leakage path
    band_gap: float = 1.11  # eV
    xti: float = 3.0  # saturation-current temperature exponent
    reference_temperature: float = 298.15
    name: str = "diode"

    @property
    def series_resistance(self) -> float:
        return self.series

    def saturation_current_at(self, temperature: float) -> float:
        ratio = temperature / self.reference_temperature
        vt = thermal_voltage(temperature)
        return (
            self.saturation_current
            * ratio ** (self.xti / self.ideality)
            * math.exp((ratio - 1.0) * self.band_gap / (self.ideality * vt))
        )

    def junction_current(self, vj: float, temperature: float) -> float:
        nvt = self.ideality * thermal_voltage(temperature)
        exponent = min(vj / nvt, _EXP_LIMIT)
        return self.saturation_current_at(temperature) * math.expm1(exponent) + vj / self.shunt

    def junction_slope(self, vj: float, temperature: float) -> float:
        nvt = self.ideality * thermal_voltage(temperature)
        exponent = min(vj / nvt, _EXP_LIMIT)
        return self.saturation_current_at(temperature) * math.exp(exponent) / nvt + 1 / self.shunt

    def junction_bound(self, current: float, temperature: float) -> float:
        """A junction voltage at which the junction carries at least ``current`` (its sign)."""
        saturation = self.saturation_current_at(temperature)
        if current >= 0:
            nvt = self.ideality * thermal_voltage(temperature)
            return nvt * math.log1p(current / saturation) + 1e-9
        return (current + saturation) * self.shunt - 1e-9

    def current(self, voltage: float, temperature: float) -> float:
        """Current with ``voltage`` across the terminals (solves :math:`V = V_j + I R_s`)."""

        def f(vj: float) -> float:
            return vj + self.series * self.junction_current(vj, temperature) - voltage

        def slope(vj: float) -> float:
            return 1.0 + self.series * self.junction_slope(vj, temperature)

        low, high = (min(voltage, 0.0), max(voltage, 0.0))
        vj = solve_increasing(f, slope, low, high)
        return self.junction_current(vj, temperature)

    def voltage(self, current: float, temperature: float) -> float:
        """Terminal voltage with ``current`` through the device."""
        bound = self.junction_bound(current, temperature)
        low, high = (min(bound, 0.0), max(bound, 0.0))
        vj = solve_increasing(
            lambda v: self.junction_current(v, temperature) - current,
            lambda v: self.junction_slope(v, temperature),
            low,
            high,
        )
        return vj + current * self.series


@dataclasses.dataclass
class Led(Diode):
    r"""A red LED: a diode with a wide band gap that emits light.

    The optical output is :math:`\eta\,I/q` photons per second (external quantum efficiency
    :math:`\eta`), spread over a band around the peak wavelength that shifts with temperature
    as the band gap does (Varshni: :math:`E_g(T) = E_{g0} - a T^2 / (T + b)`).
    """

    saturation_current: float = 1.0e-18
    ideality: float = 2.0
    series: float = 8.0
    shunt: float = 1.0e11
    band_gap: float = 1.95
    xti: float = 3.0
    peak_wavelength: float = 630.0  # nm at the reference temperature
    inhomogeneous_width: float = 0.012  # eV added to the thermal width 1.8 kT
    quantum_efficiency: float = 0.2
    varshni_alpha: float = 5.4e-4  # eV/K (GaAs-like)
    varshni_beta: float = 204.0  # K
    name: str = "led"


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """The SMU/DUT/DMM network solved: what each instrument's terminals see.

    ``smu_voltage`` is the voltage the SMU senses (its terminals in 2-wire, the device in
    4-wire), ``dut_voltage`` the voltage across the device (what the DMM sees), ``current``
    the current the SMU delivers, ``dut_current`` the part of it through the device (the rest
    flows into the DMM's input resistance), ``compliance`` whether a limit is in force.
    """

    smu_voltage: float
    dut_voltage: float
    current: float
    dut_current: float
    compliance: bool
    temperature: float
