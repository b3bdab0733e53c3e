r"""The signal chain: a function generator, a noisy signal path, a lock-in amplifier.

**Generator.** A periodic waveform of frequency :math:`f`, peak-to-peak amplitude
:math:`A_{pp}` (the voltage it really delivers into the path's high-impedance input), offset
and phase :math:`\varphi`, written as its Fourier series
:math:`v(t) = V_{off} + \mathrm{Re}\sum_k c_k e^{j 2\pi k f t}`: a sine has
:math:`c_1 = \tfrac{A_{pp}}{2} e^{j\varphi}`; a square wave
:math:`c_k = \tfrac{4}{\pi k}\tfrac{A_{pp}}{2} e^{j k \varphi - j\pi/2}` (odd :math:`k`);
a triangle :math:`c_k = \tfrac{8}{\pi^2 k^2}\tfrac{A_{pp}}{2}(-1)^{(k-1)/2} e^{jk\varphi - j\pi/2}`
(odd :math:`k`); a ramp :math:`c_k = \tfrac{2}{\pi k}\tfrac{A_{pp}}{2}(-1)^{k+1}
e^{jk\varphi - j\pi/2}`. Harmonics up to the 99th are kept.

**Path.** A gain :math:`G` and a single-pole low-pass :math:`H(f) = G / (1 + j f/f_c)` (a cable
and an amplifier), then white noise of density :math:`e_n` (V/√Hz) added at the lock-in's
input. A resonator may sit in the path (``path.resonance`` :math:`f_0` > 0, quality factor
``path.quality`` :math:`Q`): a driven damped oscillator read across its resistance, the
band-pass :math:`1 / (1 + jQ(f/f_0 - f_0/f))`, whose magnitude peaks at 1 at :math:`f_0` with a
full width at half power of :math:`f_0/Q` and whose phase turns from +90° to −90° across it.

**Lock-in.** The reference is the generator's (external: same frequency, its phase) or the
lock-in's own oscillator (internal: its frequency, free-running phase). Demodulating at
harmonic :math:`h`, the signal component nearest :math:`h f_{ref}` (harmonic :math:`k`)
gives the phasor

.. math::

    z(t) = \frac{|c_k H(kf)|}{\sqrt 2}\,
        e^{j(\arg(c_k H(kf)) - h\varphi_{ref} - \theta_{ref} + 2\pi (k f - h f_{ref}) t)}

(RMS, as SR830-class lock-ins report :math:`X + jY`), which passes :math:`n` cascaded RC
low-pass stages of time constant :math:`\tau` (slope 6·n dB/octave):
:math:`\tau \dot y_i = y_{i-1} - y_i`. A reference slightly off the signal frequency makes
:math:`X` and :math:`Y` beat at the difference, attenuated by :math:`|1 + j 2\pi\Delta f \tau|^{-n}`.
The outputs carry the input noise filtered to the equivalent noise bandwidth
:math:`\mathrm{ENBW} = 1/4\tau, 1/8\tau, 3/32\tau, 5/64\tau` (n = 1…4): each of :math:`X, Y` is
an Ornstein–Uhlenbeck process with correlation time :math:`\tau` and standard deviation
:math:`e_n\sqrt{\mathrm{ENBW}}`. Other harmonics, and the :math:`2f` ripple of the mixer, are
assumed removed by the filter.
"""

from __future__ import annotations

import cmath
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.sim.bench._state import State

if TYPE_CHECKING:
    from labkit.sim.bench._bench import Bench

__all__ = ["WAVEFORMS", "SignalChain", "enbw"]

WAVEFORMS = ("sine", "square", "triangle", "ramp", "dc")
_HARMONICS = 99
_ENBW = {1: 1 / 4, 2: 1 / 8, 3: 3 / 32, 4: 5 / 64}
_MAX_STEPS = 4000


def enbw(time_constant: float, order: int) -> float:
    """Equivalent noise bandwidth (Hz) of ``order`` cascaded RC stages of ``time_constant``."""
    return _ENBW[order] / time_constant


class GeneratorState(State):
    """The function generator's output (``amplitude`` in Vpp really delivered; ``phase`` in °)."""

    waveform: str = "sine"
    frequency: float = 1_000.0
    amplitude: float = 0.1
    offset: float = 0.0
    phase: float = 0.0
    output: bool = False


class PathState(State):
    """The path from generator to lock-in: gain, single-pole cutoff (Hz), noise (V/√Hz), and
    a resonator (``resonance`` in Hz, 0 for none; ``quality`` its Q)."""

    gain: float = 0.5
    cutoff: float = 20_000.0
    noise_density: float = 2e-6
    resonance: float = 0.0
    quality: float = 20.0


class LockInState(State):
    """The lock-in's reference and filter: ``reference`` is ``"external"`` or ``"internal"``."""

    reference: str = "external"
    frequency: float = 1_000.0
    phase: float = 0.0
    harmonic: int = 1
    time_constant: float = 0.1
    order: int = 2


class SignalChain:
    """Generator → path → lock-in, integrated lazily to the bench clock."""

    name = "signal"

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.generator = GeneratorState(bench.sync)
        self.path = PathState(bench.sync)
        self.lockin = LockInState(bench.sync)
        self._stages = [0j] * 4
        self._beat_phase = 0.0
        self._time = bench.clock.now()
        self._noise = np.zeros(2)
        self._noise_time = self._time
        self._rng = bench.rng("lockin")

    # -- the signal -----------------------------------------------------------------------

    def harmonics(self) -> list[tuple[int, complex]]:
        """``[(k, c_k)]``: the generator's Fourier coefficients (peak volts) at harmonic k."""
        gen = self.generator
        if not gen.output or gen.waveform == "dc":
            return []
        half = gen.amplitude / 2.0
        phi = math.radians(gen.phase)
        shape = gen.waveform
        if shape == "sine":
            return [(1, half * cmath.exp(1j * phi))]
        out = []
        for k in range(1, _HARMONICS + 1):
            if shape in ("square", "triangle") and k % 2 == 0:
                continue
            if shape == "square":
                size = 4 / (math.pi * k)
            elif shape == "triangle":
                size = 8 / (math.pi**2 * k * k) * (-1) ** ((k - 1) // 2)
            elif shape == "ramp":
                size = 2 / (math.pi * k) * (-1) ** (k + 1)
            else:
                raise ValueError(f"unknown waveform {shape!r}; use one of {WAVEFORMS}")
            out.append((k, half * size * cmath.exp(1j * (k * phi - math.pi / 2))))
        return out

    def transfer(self, frequency: float) -> complex:
        """The path's complex gain :math:`H(f)`."""
        path = self.path
        gain = path.gain / complex(1.0, frequency / path.cutoff)
        if path.resonance > 0 and frequency > 0:
            detuning = frequency / path.resonance - path.resonance / frequency
            gain /= complex(1.0, path.quality * detuning)
        return gain

    def waveform(
        self, times: Any, *, point: str = "input", noise_bandwidth: float | None = None
    ) -> np.ndarray:
        """Instantaneous voltage at ``times`` (s): at the lock-in ``"input"`` or the
        ``"generator"`` output. With ``noise_bandwidth`` (Hz) the input noise is added."""
        t = np.asarray(times, dtype=float)
        gen = self.generator
        if not gen.output:
            out = np.zeros_like(t)
        else:
            gain0 = 1.0 if point == "generator" else self.path.gain
            out = np.full_like(t, gen.offset * gain0)
            for k, c in self.harmonics():
                h = 1.0 if point == "generator" else self.transfer(k * gen.frequency)
                out += np.real(c * h * np.exp(2j * np.pi * k * gen.frequency * t))
        if noise_bandwidth and point == "input":
            sigma = self.path.noise_density * math.sqrt(noise_bandwidth)
            out = out + self.bench.rng("scope").normal(0.0, sigma, size=t.shape)
        return out

    def reference_frequency(self) -> float:
        lockin = self.lockin
        return self.generator.frequency if lockin.reference == "external" else lockin.frequency

    def _component(self) -> tuple[complex, float]:
        """The demodulated component's RMS phasor (without the beat) and its beat (Hz)."""
        lockin = self.lockin
        harmonic = int(lockin.harmonic)
        f_ref = self.reference_frequency()
        f_sig = self.generator.frequency
        components = self.harmonics()
        if not components:
            return 0j, 0.0
        k, c = min(components, key=lambda kc: abs(kc[0] * f_sig - harmonic * f_ref))
        beat = k * f_sig - harmonic * f_ref
        phasor = c * self.transfer(k * f_sig) / math.sqrt(2.0)
        ref_phase = 0.0
        if lockin.reference == "external":
            ref_phase = harmonic * math.radians(self.generator.phase)
        phasor *= cmath.exp(-1j * (ref_phase + math.radians(lockin.phase)))
        return phasor, beat

    # -- integration ----------------------------------------------------------------------

    def advance(self, now: float) -> None:
        elapsed = now - self._time
        if elapsed <= 0:
            return
        self._time = now
        phasor, beat = self._component()
        tau = float(self.lockin.time_constant)
        order = int(self.lockin.order)
        omega = 2 * math.pi * beat
        if elapsed > 40 * tau:
            self._beat_phase += omega * elapsed
            target = phasor * cmath.exp(1j * self._beat_phase)
            for i in range(order):
                self._stages[i] = target / complex(1.0, omega * tau) ** (i + 1)
            return
        step = tau / 8
        if beat:
            step = min(step, 1 / (16 * abs(beat)))
        count = min(_MAX_STEPS, max(1, math.ceil(elapsed / step)))
        h = elapsed / count
        a = -math.expm1(-h / tau)
        for _ in range(count):
            u = phasor * cmath.exp(1j * (self._beat_phase + omega * h / 2))
            self._beat_phase += omega * h
            previous = u
            for i in range(order):
                self._stages[i] += (previous - self._stages[i]) * a
                previous = self._stages[i]

    def noise_sigma(self) -> float:
        """Standard deviation of the noise on X and on Y now (V)."""
        lockin = self.lockin
        return self.path.noise_density * math.sqrt(enbw(lockin.time_constant, int(lockin.order)))

    def outputs(self) -> tuple[float, float]:
        """The lock-in's :math:`X, Y` (V RMS) now, noise included."""
        now = self.bench.sync()
        tau = float(self.lockin.time_constant)
        dt = max(0.0, now - self._noise_time)
        self._noise_time = now
        decay = math.exp(-dt / tau)
        spread = self.noise_sigma() * math.sqrt(-math.expm1(-2 * dt / tau))
        if dt > 0:
            self._noise = self._noise * decay + self._rng.normal(0.0, 1.0, 2) * spread
        z = self._stages[int(self.lockin.order) - 1]
        return z.real + float(self._noise[0]), z.imag + float(self._noise[1])

    def expected(self) -> complex:
        """The noise-free, settled :math:`X + jY` for the present settings (beat excluded)."""
        phasor, beat = self._component()
        return phasor / complex(1.0, 2 * math.pi * beat * self.lockin.time_constant) ** int(
            self.lockin.order
        )
