r"""Light: a tungsten-halogen lamp and the LED under test, seen by a fibre spectrometer.

**Lamp.** The filament temperature follows the supply voltage,
:math:`T = T_{nom}\,(V / V_{nom})^{0.42}` (the usual tungsten rule), and emits as a grey body:
Planck's photon radiance :math:`B_\gamma(\lambda, T) = \frac{2c}{\lambda^4}\,
\frac{1}{e^{hc/\lambda k_B T} - 1}`. The photon flux into the fibre per nanometre is
:math:`F(\lambda) = F_0\, B_\gamma(\lambda, T) / B_\gamma(\lambda_0, T_{nom})`, so that
``peak_flux`` :math:`F_0` is reached at the nominal voltage at the Wien peak :math:`\lambda_0`.
Electrically, the filament's resistance grows about as :math:`T^{1.2}`, so as
:math:`V^{0.5}`: the lamp draws :math:`I = I_{nom}\sqrt{V / V_{nom}}` (a supply in constant
current delivers :math:`V = V_{nom} (I / I_{nom})^2`).

**LED.** :math:`\eta I / q` photons per second, spread over a Gaussian in photon energy centred
at :math:`E_p(T) = E_p(T_0) - [E_g^V(T) - E_g^V(T_0)] + k_B (T - T_0)/2` (Varshni band gap
:math:`E_g^V(T) = -a T^2 / (T + b)` plus the thermal energy of the carriers), with FWHM
:math:`1.8\,k_B T + \Gamma_0`; per nanometre it is weighted by :math:`|dE/d\lambda| = hc/\lambda^2`.
A fraction ``led_coupling`` of it reaches the fibre.

**Spectrometer.** Pixel :math:`p` sees wavelength :math:`\lambda(p) = \sum_i a_i p^i`, over a
width :math:`|d\lambda/dp|`. In an integration time :math:`t` it collects
:math:`N_e = \mathrm{QE}(\lambda)\, F(\lambda)\, |d\lambda/dp|\, t` photo-electrons (no light on
the shielded dark pixels), plus dark current; counts are
:math:`\mathrm{baseline} + (N_e + N_{dark} + \text{shot noise}) / g + \text{read noise}`,
rounded and clipped at ``max_count`` (saturation). Shot noise is Poisson (Gaussian for large
:math:`N`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.sim.bench._electrical import BOLTZMANN, ELEMENTARY_CHARGE, Led

if TYPE_CHECKING:
    from labkit.sim.bench._bench import Bench

__all__ = ["Lamp", "Optics", "SpectrometerModel", "planck_photon_radiance"]

PLANCK = 6.62607015e-34
LIGHT_SPEED = 299_792_458.0
HC_EV_NM = PLANCK * LIGHT_SPEED / ELEMENTARY_CHARGE * 1e9  # 1239.84 eV·nm


def planck_photon_radiance(wavelength_nm: Any, temperature: float) -> np.ndarray:
    """Photon spectral radiance (photons s⁻¹ m⁻² sr⁻¹ m⁻¹) of a black body."""
    lam = np.asarray(wavelength_nm, dtype=float) * 1e-9
    if temperature <= 0:
        return np.zeros_like(lam)
    x = PLANCK * LIGHT_SPEED / (lam * BOLTZMANN * temperature)
    with np.errstate(over="ignore"):
        return 2 * LIGHT_SPEED / lam**4 / np.expm1(np.minimum(x, 700.0))


@dataclasses.dataclass
class Lamp:
    """A tungsten-halogen lamp: ``voltage`` (V) sets its filament temperature; 0 is off."""

    voltage: float = 12.0
    nominal_voltage: float = 12.0
    nominal_temperature: float = 3000.0
    peak_flux: float = 4.0e9  # photons s⁻¹ nm⁻¹ into the fibre at nominal, at the Wien peak
    nominal_current: float = 0.42  # A at the nominal voltage (a 5 W lamp)

    @property
    def temperature(self) -> float:
        """Filament temperature (K); the room's when off."""
        if self.voltage <= 0:
            return 0.0
        return self.nominal_temperature * (self.voltage / self.nominal_voltage) ** 0.42

    def current(self, voltage: float | None = None) -> float:
        """The current (A) the lamp draws at ``voltage`` (default: its own voltage)."""
        volts = self.voltage if voltage is None else voltage
        if volts <= 0:
            return 0.0
        return self.nominal_current * math.sqrt(volts / self.nominal_voltage)

    def voltage_at_current(self, current: float) -> float:
        """The voltage (V) at which the lamp draws ``current``: the inverse of :meth:`current`."""
        if current <= 0:
            return 0.0
        return self.nominal_voltage * (current / self.nominal_current) ** 2

    def flux(self, wavelength_nm: Any) -> np.ndarray:
        """Photons per second per nanometre reaching the fibre."""
        wien = 2.897771955e-3 / self.nominal_temperature * 1e9
        scale = self.peak_flux / planck_photon_radiance(wien, self.nominal_temperature)
        return scale * planck_photon_radiance(wavelength_nm, self.temperature)


@dataclasses.dataclass
class SpectrometerModel:
    """The detector of a fibre spectrometer (defaults like a USB2000+: 2048 pixels, 16 bit)."""

    pixels: int = 2048
    coefficients: tuple[float, ...] = (339.4, 0.3806, -1.55e-5, 0.0)
    dark_pixels: tuple[int, ...] = tuple(range(6, 21))
    baseline: float = 1000.0  # counts
    gain: float = 50.0  # electrons per count
    read_noise: float = 6.0  # counts
    dark_current: float = 8000.0  # electrons per second
    max_count: int = 65535
    quantum_peak: float = 0.45
    quantum_centre: float = 550.0  # nm
    quantum_width: float = 380.0  # nm

    def wavelengths(self) -> np.ndarray:
        p = np.arange(self.pixels, dtype=float)
        return sum(c * p**i for i, c in enumerate(self.coefficients))  # type: ignore[return-value]  # a sum of arrays is an array

    def pixel_widths(self) -> np.ndarray:
        p = np.arange(self.pixels, dtype=float)
        slope = sum(i * c * p ** (i - 1) for i, c in enumerate(self.coefficients) if i)
        return np.abs(slope)

    def quantum_efficiency(self, wavelength_nm: Any) -> np.ndarray:
        lam = np.asarray(wavelength_nm, dtype=float)
        return self.quantum_peak * np.exp(
            -(((lam - self.quantum_centre) / self.quantum_width) ** 2)
        )

    def expected_counts(self, flux: np.ndarray, integration_time: float) -> np.ndarray:
        """Mean counts per pixel (no noise, no clipping) for ``flux`` photons s⁻¹ nm⁻¹."""
        lam = self.wavelengths()
        electrons = self.quantum_efficiency(lam) * flux * self.pixel_widths() * integration_time
        electrons[list(self.dark_pixels)] = 0.0
        electrons += self.dark_current * integration_time
        return self.baseline + electrons / self.gain

    def acquire(
        self, flux: np.ndarray, integration_time: float, rng: np.random.Generator
    ) -> np.ndarray:
        """One spectrum (uint16 counts) for ``flux`` photons s⁻¹ nm⁻¹ per pixel."""
        lam = self.wavelengths()
        electrons = self.quantum_efficiency(lam) * flux * self.pixel_widths() * integration_time
        electrons[list(self.dark_pixels)] = 0.0
        electrons += self.dark_current * integration_time
        collected = rng.poisson(np.minimum(electrons, 1e15)).astype(float)
        counts = self.baseline + collected / self.gain + rng.normal(0.0, self.read_noise, lam.size)
        return np.clip(np.rint(counts), 0, self.max_count).astype(np.uint16)


class Optics:
    """The lamp, the LED's light and the spectrometer's detector."""

    name = "optics"

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.lamp = Lamp()
        self.spectrometer = SpectrometerModel()
        self.led_coupling = 0.01  # fraction of the LED's photons reaching the fibre
        self._rng = bench.rng("spectrometer")

    def advance(self, now: float) -> None:
        """The lamp and the LED follow their supplies at once (filaments take ~0.1 s)."""

    def led_flux(self, wavelength_nm: Any) -> np.ndarray:
        """Photons s⁻¹ nm⁻¹ from the LED under test into the fibre (0 unless it is lit)."""
        lam = np.asarray(wavelength_nm, dtype=float)
        circuit = self.bench.circuit
        led = circuit.dut
        if not isinstance(led, Led):
            return np.zeros_like(lam)
        current = circuit.led_current()
        if current <= 0:
            return np.zeros_like(lam)
        temperature = circuit.temperature
        peak, width = led_peak_energy(led, temperature)
        sigma = width / (2 * math.sqrt(2 * math.log(2)))
        energy = HC_EV_NM / lam
        density = np.exp(-0.5 * ((energy - peak) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        photons = led.quantum_efficiency * current / ELEMENTARY_CHARGE * self.led_coupling
        return photons * density * HC_EV_NM / lam**2

    def flux(self, wavelength_nm: Any) -> np.ndarray:
        """All light into the fibre: lamp plus LED (photons s⁻¹ nm⁻¹)."""
        return self.lamp.flux(wavelength_nm) + self.led_flux(wavelength_nm)

    def acquire(self, integration_time: float) -> np.ndarray:
        """What the spectrometer's detector reads now (uint16 counts per pixel)."""
        with self.bench.lock:
            self.bench.sync()
            flux = self.flux(self.spectrometer.wavelengths())
            return self.spectrometer.acquire(flux, integration_time, self._rng)


def led_peak_energy(led: Led, temperature: float) -> tuple[float, float]:
    """The LED's emission peak (eV) and FWHM (eV) at ``temperature`` (K)."""
    t0 = led.reference_temperature

    def shift(t: float) -> float:
        return led.varshni_alpha * t * t / (t + led.varshni_beta)

    kev = BOLTZMANN / ELEMENTARY_CHARGE
    peak0 = HC_EV_NM / led.peak_wavelength
    peak = peak0 - (shift(temperature) - shift(t0)) + kev * (temperature - t0) / 2
    width = 1.8 * kev * temperature + led.inhomogeneous_width
    return peak, width
