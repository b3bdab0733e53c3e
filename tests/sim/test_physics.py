"""The bench's physics checked against the equations it claims, computed independently."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from labkit.sim import Bench
from labkit.sim.bench import Diode, Led, Resistor, enbw, thermal_voltage
from labkit.sim.bench._optics import led_peak_energy

ROOM = 298.15


# -- devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("volts", [-1.0, 0.1, 0.45, 0.6, 0.75, 0.9])
def test_diode_current_satisfies_shockley_with_series_resistance(volts):
    diode = Diode()
    current = diode.current(volts, ROOM)
    vj = volts - current * diode.series
    nvt = diode.ideality * thermal_voltage(ROOM)
    expected = diode.saturation_current * math.expm1(vj / nvt) + vj / diode.shunt
    assert current == pytest.approx(expected, rel=1e-9, abs=1e-18)
    assert diode.voltage(current, ROOM) == pytest.approx(volts, abs=1e-9)


def test_diode_forward_voltage_falls_about_two_millivolts_per_kelvin():
    diode = Diode()
    slope = (diode.voltage(1e-3, 318.15) - diode.voltage(1e-3, 298.15)) / 20
    assert -2.6e-3 < slope < -1.4e-3


def test_saturation_current_follows_the_spice_temperature_law():
    diode = Diode()
    t = 350.0
    ratio = t / diode.reference_temperature
    expected = (
        diode.saturation_current
        * ratio ** (diode.xti / diode.ideality)
        * math.exp((ratio - 1) * diode.band_gap / (diode.ideality * thermal_voltage(t)))
    )
    assert diode.saturation_current_at(t) == pytest.approx(expected, rel=1e-12)
    assert diode.saturation_current_at(diode.reference_temperature) == diode.saturation_current


def test_resistor_temperature_coefficient():
    resistor = Resistor(resistance=100.0, alpha=3.9e-3)
    assert resistor.current(1.0, resistor.reference_temperature + 10) == pytest.approx(
        1 / (100 * 1.039)
    )


def test_led_turns_on_near_its_band_gap():
    led = Led()
    assert 1.7 < led.voltage(10e-3, ROOM) < 2.3
    assert led.current(1.0, ROOM) < 1e-9


# -- the circuit -----------------------------------------------------------------------------


@pytest.fixture
def quiet():
    with Bench(seed=0, time_scale=0, instruments=[]) as made:
        yield made


def test_two_wire_loses_the_lead_drop_four_wire_does_not(quiet):
    quiet.dut = Resistor(resistance=10.0, alpha=0.0)
    quiet.circuit.dmm_input_resistance = None
    smu = quiet.circuit.smu
    smu.update(output=True, voltage=1.05, current_limit=1.0)
    two = quiet.circuit.operating_point()
    assert two.dut_voltage == pytest.approx(1.05 * 10 / 10.5)
    assert two.smu_voltage == pytest.approx(1.05)
    smu.remote_sense = True
    four = quiet.circuit.operating_point()
    assert four.dut_voltage == pytest.approx(1.05)
    assert four.current == pytest.approx(0.105)


def test_the_dmm_input_resistance_loads_the_circuit(quiet):
    quiet.dut = Resistor(resistance=1e6, alpha=0.0)
    quiet.circuit.smu.update(output=True, voltage=1.0, remote_sense=True)
    point = quiet.circuit.operating_point()
    assert point.current == pytest.approx(1e-6 + 1e-7)
    assert point.dut_current == pytest.approx(1e-6)


def test_voltage_source_turns_current_source_at_its_limit(quiet):
    quiet.circuit.smu.update(output=True, voltage=2.0, current_limit=1e-3, remote_sense=True)
    point = quiet.circuit.operating_point()
    assert point.compliance
    assert point.current == pytest.approx(1e-3)
    assert point.dut_voltage == pytest.approx(
        Diode().voltage(1e-3 - point.dut_voltage / 10e6, quiet.thermal.sample_temperature), abs=1e-6
    )


def test_current_source_turns_voltage_source_at_its_limit(quiet):
    quiet.dut = Resistor(resistance=1e3, alpha=0.0)
    quiet.circuit.smu.update(
        output=True, function="current", current=0.1, voltage_limit=5.0, remote_sense=True
    )
    point = quiet.circuit.operating_point()
    assert point.compliance
    assert point.smu_voltage == pytest.approx(5.0)
    assert point.dut_current == pytest.approx(5e-3)


def test_output_off_drives_nothing(quiet):
    quiet.circuit.smu.update(voltage=5.0, output=False)
    point = quiet.circuit.operating_point()
    assert (point.current, point.dut_voltage) == (0.0, 0.0)


# -- heat --------------------------------------------------------------------------------------


def _reference_heat(stage, power, seconds, steps=200_000):
    """RK4 on the two-body equations, written out independently."""
    ch, cs, g = stage.heater_capacity, stage.sample_capacity, stage.coupling
    gh, gs, ta = stage.heater_loss, stage.sample_loss, stage.ambient

    def rates(th, ts):
        return (
            (power - g * (th - ts) - gh * (th - ta)) / ch,
            (g * (th - ts) - gs * (ts - ta)) / cs,
        )

    th = ts = ta
    h = seconds / steps
    for _ in range(steps):
        a = rates(th, ts)
        b = rates(th + h / 2 * a[0], ts + h / 2 * a[1])
        c = rates(th + h / 2 * b[0], ts + h / 2 * b[1])
        d = rates(th + h * c[0], ts + h * c[1])
        th += h / 6 * (a[0] + 2 * b[0] + 2 * c[0] + d[0])
        ts += h / 6 * (a[1] + 2 * b[1] + 2 * c[1] + d[1])
    return th, ts


def test_heater_and_sample_follow_the_two_body_equations(quiet):
    stage = quiet.thermal
    stage.heater_power = 4.0
    quiet.advance(60.0)
    expected = _reference_heat(stage, 4.0, 60.0, steps=20_000)
    assert stage.heater_temperature == pytest.approx(expected[0], abs=1e-6)
    assert stage.sample_temperature == pytest.approx(expected[1], abs=1e-6)
    assert stage.heater_temperature > stage.sample_temperature  # the sample lags


def test_the_result_does_not_depend_on_how_often_one_looks():
    def run(pieces):
        with Bench(seed=0, time_scale=0, instruments=[]) as made:
            made.thermal.heater_power = 3.0
            for _ in range(pieces):
                made.advance(100.0 / pieces)
            return made.thermal.sample_temperature

    assert run(1) == pytest.approx(run(37), abs=1e-9)


def test_constant_power_settles_where_the_heat_balance_says(quiet):
    stage = quiet.thermal
    stage.heater_power = 2.0
    quiet.advance(50_000.0)
    g, gh, gs = stage.coupling, stage.heater_loss, stage.sample_loss
    # In steady state all 2 W leave to the room: gh (Th - Ta) + gs (Ts - Ta) = P,
    # and the sample passes on what it gets: g (Th - Ts) = gs (Ts - Ta).
    dh, ds = stage.heater_temperature - stage.ambient, stage.sample_temperature - stage.ambient
    assert gh * dh + gs * ds == pytest.approx(2.0, rel=1e-9)
    assert g * (dh - ds) == pytest.approx(gs * ds, rel=1e-9)


def test_the_controller_holds_its_sensor_at_the_setpoint(quiet):
    loop = quiet.thermal.controller
    loop.update(enabled=True, setpoint=330.0, sensor="sample")
    quiet.advance(3000.0)
    assert quiet.thermal.sample_temperature == pytest.approx(330.0, abs=0.05)
    assert 0 < quiet.thermal.power < loop.max_power
    loop.update(setpoint=500.0)
    quiet.advance(100.0)
    assert quiet.thermal.power == loop.max_power  # saturated while far below


def test_the_device_under_test_is_at_the_sample_temperature(quiet):
    quiet.thermal.heater_power = 5.0
    quiet.advance(400.0)
    assert quiet.circuit.temperature == quiet.thermal.sample_temperature > 300


# -- the signal chain --------------------------------------------------------------------------


@pytest.fixture
def chain(quiet):
    signal = quiet.signal
    signal.path.update(noise_density=0.0, gain=0.5, cutoff=2_000.0)
    signal.generator.update(frequency=1_000.0, amplitude=0.2, phase=30.0, output=True)
    signal.lockin.update(time_constant=0.01, order=2, reference="external", phase=0.0)
    return quiet


def test_the_lockin_reads_the_rms_of_the_filtered_sine(chain):
    chain.advance(1.0)
    x, y = chain.signal.outputs()
    h = 0.5 / complex(1, 1_000 / 2_000)
    assert math.hypot(x, y) == pytest.approx(0.2 / 2 / math.sqrt(2) * abs(h), rel=1e-6)
    # external reference: the generator's own phase cancels, the path's lag stays
    assert math.degrees(math.atan2(y, x)) == pytest.approx(math.degrees(cmath.phase(h)), abs=1e-6)


def test_the_reference_phase_rotates_x_into_y(chain):
    chain.signal.lockin.phase = math.degrees(cmath.phase(0.5 / complex(1, 0.5))) + 90
    chain.advance(1.0)
    x, y = chain.signal.outputs()
    assert abs(x) < 1e-9
    assert y < 0


def test_a_first_order_filter_rises_as_one_minus_exp(chain):
    chain.signal.lockin.update(order=1, time_constant=0.1)
    chain.signal.generator.output = False
    chain.advance(10.0)
    chain.signal.generator.output = True
    chain.advance(0.1)  # one time constant
    x, y = chain.signal.outputs()
    final = abs(chain.signal.expected())
    assert math.hypot(x, y) == pytest.approx(final * (1 - math.exp(-1)), rel=2e-3)


def test_an_off_frequency_reference_beats_and_is_attenuated(chain):
    lockin = chain.signal.lockin
    lockin.update(reference="internal", frequency=1_002.0, time_constant=0.3, order=2)
    chain.advance(30.0)
    x, y = chain.signal.outputs()
    on_frequency = 0.2 / 2 / math.sqrt(2) * abs(0.5 / complex(1, 0.5))
    attenuation = abs(complex(1, 2 * math.pi * 2.0 * 0.3)) ** -2
    assert math.hypot(x, y) == pytest.approx(on_frequency * attenuation, rel=5e-3)


def test_a_square_waves_harmonics_are_there(chain):
    chain.signal.generator.waveform = "square"
    chain.advance(1.0)
    fundamental = math.hypot(*chain.signal.outputs())
    chain.signal.lockin.harmonic = 3
    chain.advance(1.0)
    third = math.hypot(*chain.signal.outputs())
    h1, h3 = abs(1 / complex(1, 0.5)), abs(1 / complex(1, 1.5))
    assert fundamental == pytest.approx(4 / math.pi * 0.2 / 2 / math.sqrt(2) * 0.5 * h1, rel=1e-6)
    assert third / fundamental == pytest.approx(h3 / (3 * h1), rel=1e-6)


def test_output_noise_matches_the_equivalent_noise_bandwidth(quiet):
    signal = quiet.signal
    signal.path.noise_density = 1e-6
    signal.lockin.update(time_constant=0.01, order=2)
    samples = []
    for _ in range(2000):
        quiet.advance(0.2)  # 20 time constants apart: independent
        samples.extend(signal.outputs())
    expected = 1e-6 * math.sqrt(enbw(0.01, 2))
    assert np.std(samples) == pytest.approx(expected, rel=0.06)
    assert abs(np.mean(samples)) < 4 * expected / math.sqrt(len(samples))


def test_the_waveform_is_the_fourier_series(chain):
    chain.signal.generator.update(offset=0.1, phase=0.0)
    t = np.linspace(0, 2e-3, 101)
    out = chain.signal.waveform(t, point="generator")
    assert out == pytest.approx(0.1 + 0.1 * np.cos(2 * np.pi * 1e3 * t), abs=1e-12)


# -- light -----------------------------------------------------------------------------------


def test_the_lamp_is_a_planck_radiator(quiet):
    lamp = quiet.optics.lamp
    wavelengths = np.linspace(300, 4000, 20_000)
    for volts in (6.0, 12.0):
        lamp.voltage = volts
        peak = wavelengths[np.argmax(lamp.flux(wavelengths))]
        assert peak == pytest.approx(3.6697e6 / lamp.temperature, rel=2e-3)  # photon Wien law
    assert lamp.temperature == pytest.approx(3000.0)
    lamp.voltage = 0
    assert not lamp.flux(wavelengths).any()


def test_the_spectrometer_integrates_and_saturates(quiet):
    spectrometer = quiet.optics.spectrometer
    flux = quiet.optics.flux(spectrometer.wavelengths())
    short = spectrometer.expected_counts(flux, 0.001) - spectrometer.baseline
    longer = spectrometer.expected_counts(flux, 0.002) - spectrometer.baseline
    assert longer == pytest.approx(2 * short)
    counts = quiet.optics.acquire(0.001)
    assert counts.dtype == np.uint16
    assert counts.size == 2048
    lit = short > 200
    assert np.allclose(counts[lit], spectrometer.baseline + short[lit], rtol=0.05)
    dark = list(spectrometer.dark_pixels)
    assert np.all(np.abs(counts[dark].astype(float) - spectrometer.baseline) < 40)
    saturated = quiet.optics.acquire(5.0)
    assert saturated.max() == spectrometer.max_count


def test_the_led_glows_with_current_and_shifts_red_when_warm(quiet):
    quiet.dut = "led"
    quiet.optics.lamp.voltage = 0
    circuit = quiet.circuit
    wavelengths = np.linspace(550, 720, 3401)
    assert not quiet.optics.flux(wavelengths).any()
    circuit.smu.update(output=True, function="current", current=0.01, voltage_limit=5)
    cool = quiet.optics.flux(wavelengths)
    assert wavelengths[np.argmax(cool)] == pytest.approx(circuit.dut.peak_wavelength, abs=1.0)
    photons = np.trapezoid(cool, wavelengths)
    expected = circuit.dut.quantum_efficiency * 0.01 / 1.602176634e-19 * quiet.optics.led_coupling
    assert photons == pytest.approx(expected * circuit.led_current() / 0.01, rel=0.02)
    quiet.thermal.heater_power = 6.0
    quiet.advance(2000.0)
    warm = quiet.optics.flux(wavelengths)
    shift = wavelengths[np.argmax(warm)] - wavelengths[np.argmax(cool)]
    rise = quiet.thermal.sample_temperature - quiet.thermal.ambient
    assert 0.05 * rise < shift < 0.3 * rise  # nm per kelvin, as red LEDs do


def test_led_peak_energy_follows_varshni():
    led = Led()
    e0, _ = led_peak_energy(led, led.reference_temperature)
    e1, width = led_peak_energy(led, 350.0)
    assert e0 == pytest.approx(1239.84198 / led.peak_wavelength, rel=1e-6)
    assert e1 < e0
    assert width == pytest.approx(1.8 * 8.617333e-5 * 350 + led.inhomogeneous_width, rel=1e-5)


def test_a_resonator_in_the_path_is_a_band_pass_of_width_f0_over_q(quiet):
    path = quiet.signal.path
    plain = quiet.signal.transfer(12_000.0)
    path.update(resonance=12_000.0, quality=40.0)
    assert quiet.signal.transfer(12_000.0) == pytest.approx(plain)  # on resonance: all through
    # Half power where Q (f/f0 - f0/f) = ±1: f0 (√(1 + 1/4Q²) ± 1/2Q), f0/Q apart.
    edges = [12_000.0 * (math.sqrt(1 + 1 / 6400) + s / 80) for s in (-1, 1)]
    assert edges[1] - edges[0] == pytest.approx(12_000.0 / 40)
    for frequency in edges:
        low_pass = path.gain / complex(1.0, frequency / path.cutoff)
        ratio = abs(quiet.signal.transfer(frequency)) / abs(low_pass)
        assert ratio == pytest.approx(1 / math.sqrt(2), rel=1e-9)
    assert abs(quiet.signal.transfer(6_000.0)) < 0.05 * abs(plain)
