r"""The thermal stage: a heater block and a sample, losing heat to the room.

Two bodies (heater block :math:`h`, sample :math:`s`) with heat capacities :math:`C_h, C_s`,
coupled by the conductance :math:`G_{hs}`, each losing heat to the ambient :math:`T_a`:

.. math::

    C_h \dot T_h = P - G_{hs}(T_h - T_s) - G_{ha}(T_h - T_a)

    C_s \dot T_s = G_{hs}(T_h - T_s) - G_{sa}(T_s - T_a)

For a constant heater power :math:`P` this linear system is solved exactly
(:math:`x(t+h) = x_\infty + e^{Ah}(x(t) - x_\infty)`, with the 2×2 matrix exponential from
the eigenvalues of :math:`A`, which are real and negative), so the result does not depend on
how often anyone looks. A temperature controller in closed loop (a TC200 does this) updates
the power every ``period`` seconds from a PID law on its sensor — on the heater block by
default, so the sample lags behind the reading, as on a real stage:

.. math::

    P = \mathrm{clip}\big(K_p e + K_i \textstyle\int e\,dt + K_d\,\dot e,\; 0,\; P_{max}\big),
    \qquad e = T_{set} - T_{sensor}

with the integral frozen while the output is clipped (anti-windup). The device under test
sits on the sample: its temperature is :math:`T_s`. The heater is a resistor of
``heater_resistance`` ohms, for a power supply driving it by hand (:math:`P = V^2/R`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labkit.sim.bench._state import State

if TYPE_CHECKING:
    from labkit.sim.bench._bench import Bench

__all__ = ["ControllerState", "ThermalStage"]


class ControllerState(State):
    """The temperature controller's loop: set-point (K), gains (W/K, W/(K·s), W·s/K), limit."""

    enabled: bool = False
    setpoint: float = 298.15
    kp: float = 2.0
    ki: float = 0.05
    kd: float = 0.0
    max_power: float = 18.0
    sensor: str = "heater"


class ThermalStage:
    """Heater block and sample stage; ``heater_power`` (W) drives it when no loop runs."""

    name = "thermal"

    def __init__(
        self,
        bench: Bench,
        *,
        ambient: float = 295.15,
        heater_capacity: float = 5.0,
        sample_capacity: float = 15.0,
        coupling: float = 0.3,
        heater_loss: float = 0.02,
        sample_loss: float = 0.1,
        period: float = 0.1,
        heater_resistance: float = 2.0,
    ) -> None:
        self.bench = bench
        self.ambient = ambient
        self.heater_capacity = heater_capacity
        self.sample_capacity = sample_capacity
        self.coupling = coupling
        self.heater_loss = heater_loss
        self.sample_loss = sample_loss
        self.period = period
        self.heater_resistance = heater_resistance
        self.heater_temperature = ambient
        self.sample_temperature = ambient
        self._manual_power = 0.0
        self.power = 0.0  # what the heater dissipates now (W)
        self.controller = ControllerState(self._sync)
        self._integral = 0.0
        self._last_error: float | None = None
        self._time = bench.clock.now()
        self._since_control = math.inf

    def _sync(self) -> None:
        self.bench.sync()

    @property
    def heater_power(self) -> float:
        """The power set by hand (W); the controller overrides it while enabled."""
        return self._manual_power

    @heater_power.setter
    def heater_power(self, watts: float) -> None:
        if watts < 0:
            raise ValueError(f"a resistive heater cannot cool: {watts} W")
        self._sync()
        self._manual_power = float(watts)
        if not self.controller.enabled:
            self.power = self._manual_power

    # -- physics --------------------------------------------------------------------------

    def _matrix(self) -> tuple[float, float, float, float]:
        ch, cs = self.heater_capacity, self.sample_capacity
        g, gh, gs = self.coupling, self.heater_loss, self.sample_loss
        return (-(g + gh) / ch, g / ch, g / cs, -(g + gs) / cs)

    def steady_state(self, power: float) -> tuple[float, float]:
        """Heater and sample temperatures a constant ``power`` settles to (K)."""
        g, gh, gs, ta = self.coupling, self.heater_loss, self.sample_loss, self.ambient
        # Linear balance: [g+gh, -g; -g, g+gs] · [Th-Ta, Ts-Ta] = [P, 0]
        det = (g + gh) * (g + gs) - g * g
        dh = power * (g + gs) / det
        ds = power * g / det
        return ta + dh, ta + ds

    def _evolve(self, seconds: float, power: float) -> None:
        """Exact solution of the linear system over ``seconds`` at constant ``power``."""
        if seconds <= 0:
            return
        a, b, c, d = self._matrix()
        h_inf, s_inf = self.steady_state(power)
        u, v = self.heater_temperature - h_inf, self.sample_temperature - s_inf
        trace, det = a + d, a * d - b * c
        disc = math.sqrt(max(trace * trace / 4 - det, 0.0))
        l1, l2 = trace / 2 + disc, trace / 2 - disc
        e1, e2 = math.exp(l1 * seconds), math.exp(l2 * seconds)
        if abs(l1 - l2) < 1e-15:
            # repeated eigenvalue: e^{At} = e^{lt} (I + (A - lI) t)
            m11, m12, m21, m22 = a - l1, b, c, d - l1
            self.heater_temperature = h_inf + e1 * (u + seconds * (m11 * u + m12 * v))
            self.sample_temperature = s_inf + e1 * (v + seconds * (m21 * u + m22 * v))
            return
        # Sylvester: e^{At} = (e1 (A - l2 I) - e2 (A - l1 I)) / (l1 - l2)
        k = 1.0 / (l1 - l2)
        p11 = k * (e1 * (a - l2) - e2 * (a - l1))
        p12 = k * (e1 - e2) * b
        p21 = k * (e1 - e2) * c
        p22 = k * (e1 * (d - l2) - e2 * (d - l1))
        self.heater_temperature = h_inf + p11 * u + p12 * v
        self.sample_temperature = s_inf + p21 * u + p22 * v

    def _control(self) -> float:
        loop = self.controller
        sensed = self.heater_temperature if loop.sensor == "heater" else self.sample_temperature
        error = loop.setpoint - sensed
        derivative = 0.0 if self._last_error is None else (error - self._last_error) / self.period
        self._last_error = error
        trial = loop.kp * error + loop.ki * (self._integral + error * self.period)
        trial += loop.kd * derivative
        if 0.0 < trial < loop.max_power:
            self._integral += error * self.period  # integrate only while not clipped
        return min(max(trial, 0.0), loop.max_power)

    def advance(self, now: float) -> None:
        elapsed = now - self._time
        if elapsed <= 0:
            return
        self._time = now
        if not self.controller.enabled:
            self._last_error = None
            self._integral = 0.0
            self._since_control = math.inf
            self.power = self._manual_power
            self._evolve(elapsed, self.power)
            return
        # Closed loop: the controller updates the power every period; the stage evolves
        # exactly in between.
        while elapsed > 0:
            if self._since_control >= self.period - 1e-12:
                self.power = self._control()
                self._since_control = 0.0
            step = min(elapsed, self.period - self._since_control)
            self._evolve(step, self.power)
            self._since_control += step
            elapsed -= step

    def sensor_temperature(self) -> float:
        """What the controller's sensor reads (K)."""
        if self.controller.sensor == "heater":
            return self.heater_temperature
        return self.sample_temperature
