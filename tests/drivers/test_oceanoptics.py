"""Ocean Optics USB2000+ and USB4000: the OOI protocol on the wire (commands and fixed answers),
the twins' endpoints and packets through pyusb, the lamp and the LED seen on the bench, faults,
and the conformance suite."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import usb.core

from labkit import (
    ConfigurationError,
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    NotConnectedError,
    ReplyError,
    UnitError,
)
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.oceanoptics import USB4000, USB2000Plus
from labkit.drivers.thorlabs import ThorlabsTC200
from labkit.sim import Bench, serve, usb_backend
from labkit.sim._usb import Endpoint, VirtualUsbDevice
from labkit.sim.bench._optics import planck_photon_radiance
from labkit.sim.twins._oceanoptics import USB4000Twin
from labkit.testing import DriverConformance, record

WIEN_PHOTON = 3.6697e6  # nm·K: the peak of the photon spectral radiance per wavelength


class Scripted(VirtualUsbDevice):
    """An OOI spectrometer with fixed answers; ``sent`` lists the command transfers."""

    vendor_id = 0x2457
    product_id = 0x101E
    endpoints = (Endpoint(0x01), Endpoint(0x81), Endpoint(0x82), Endpoint(0x86))

    def __init__(self, pixels: int = 2048, *, split: int = 0, high_speed: bool = True) -> None:
        super().__init__("scripted", serial_number="SCRIPT1")
        self.pixels = pixels
        self.split = split if high_speed else 0
        self.speed_byte = 0x80 if high_speed else 0x00
        self.sent: list[bytes] = []
        self.integration = 10_000
        self.accept_integration = True
        self.slots = {
            0: b"USB2+SCRIPT",
            1: b"400.0",
            2: b"0.25",
            3: b"1e-06",
            4: b"0",
            17: bytes(4) + struct.pack("<H", 60000),
        }
        self.spectra: list[np.ndarray] = []
        self.sync = 0x69

    def handle_bulk(self, endpoint, data):
        self.sent.append(bytes(data))
        command = data[0]
        if command == 0xFE:
            self.send(0x81, struct.pack("<HIBBBBBBHBB", self.pixels, self.integration,
                                        0, 0, 0, 9, 1, 0, 0, self.speed_byte, 0))  # fmt: skip
        elif command == 0x05:
            text = self.slots.get(data[1], b"")
            self.send(0x81, bytes([0x05, data[1]]) + text.ljust(15, b"\x00")[:15])
        elif command == 0x02 and self.accept_integration:
            self.integration = struct.unpack("<I", data[1:5])[0]
        elif command == 0x09:
            counts = self.spectra.pop(0)
            raw = counts.astype("<u2").tobytes()
            if self.split:
                for i in range(0, self.split, 512):
                    self.send(0x86, raw[i : i + 512])
                raw = raw[self.split :]
            for i in range(0, len(raw), 512):
                self.send(0x82, raw[i : i + 512])
            self.send(0x82, bytes([self.sync]))


@pytest.fixture
def scripted():
    device = serve("scripted-spectrometer", Scripted())
    spec = USB2000Plus("usb:0x2457:0x101e:SCRIPT1@labkit", name="spec", timeout=0.3)
    return spec, device


def test_connecting_initializes_reads_the_status_the_serial_and_the_calibration(scripted):
    spec, device = scripted
    assert device.sent == [
        b"\x01",  # initialize
        b"\xfe",  # status: 2048 pixels, high speed
        *(bytes([0x05, slot]) for slot in (0, 1, 2, 3, 4, 17)),  # serial, λ(p), saturation
        b"\xfe",  # the integration time, read as a setting
    ]
    assert spec.identity["serial"] == "USB2+SCRIPT"
    assert spec.coefficients == (400.0, 0.25, 1e-6, 0.0)
    p = np.arange(2048)
    assert spec.wavelengths == pytest.approx(400.0 + 0.25 * p + 1e-6 * p**2)
    assert spec.saturation_level == 60000
    assert spec.integration_time == pytest.approx(0.01)


def test_integration_time_is_sent_in_microseconds_and_read_back(scripted):
    spec, device = scripted
    device.sent.clear()
    spec.integration_time = "100 ms"
    assert device.sent == [b"\x02" + struct.pack("<I", 100_000), b"\xfe"]
    device.accept_integration = False  # the firmware ignores what it does not take
    with pytest.raises(InstrumentError, match="kept 100000 µs instead of 200000 µs"):
        spec.integration_time = 0.2
    assert spec.integration_time == pytest.approx(0.1)


def test_limits_of_the_data_sheet_are_refused_before_any_byte(scripted):
    spec, _ = scripted
    with record(spec) as log:
        for value, error in (("0.5 ms", LimitError), (66, LimitError), ("1 V", UnitError)):
            with pytest.raises(error):
                spec.integration_time = value
        with pytest.raises(LimitError):
            spec.scans_to_average = 0
        with pytest.raises(LimitError):
            spec.query_information(20)
    assert log.sent == []


def test_a_spectrum_is_the_pixels_then_the_sync_byte(scripted):
    spec, device = scripted
    counts = (1000 + np.arange(2048) % 700).astype(np.uint16)
    device.spectra.append(counts)
    device.sent.clear()
    assert spec.read("spectrum") == pytest.approx(counts)
    assert device.sent == [b"\x09"]
    device.spectra.append(counts)
    device.sync = 0x00
    with pytest.raises(ReplyError, match="sync byte") as caught:
        spec.read("spectrum")
    assert caught.value.command == "EP 0x01: 09"
    assert caught.value.instrument == "spec"


def test_averaging_and_dark_correction_happen_in_the_driver(scripted):
    spec, device = scripted
    first = np.full(2048, 1000, dtype=np.uint16)
    second = np.full(2048, 1010, dtype=np.uint16)
    first[100] = second[100] = 5000
    second[6:21] = 1030  # the masked pixels read the dark level
    first[6:21] = 1010
    spec.scans_to_average = 2
    spec.dark_correction = True
    device.spectra += [first, second]
    device.sent.clear()
    spectrum = spec.read("spectrum")
    assert device.sent == [b"\x09", b"\x09"]
    assert spectrum[100] == pytest.approx(5000 - 1020)
    assert spectrum[50] == pytest.approx(1005 - 1020)


def test_the_peak_wavelength_is_interpolated_between_pixels(scripted):
    spec, device = scripted
    p = np.arange(2048)
    centre = 812.3
    device.spectra.append(1000 + 30000 * np.exp(-0.5 * ((p - centre) / 3.0) ** 2))
    wavelength = spec.read("peak_wavelength")
    expected = 400.0 + 0.25 * centre + 1e-6 * centre**2
    assert wavelength == pytest.approx(expected, abs=0.25 * 0.1)
    device.spectra.append(np.full(2048, 60000))
    assert spec.read("saturated") is True


def test_a_calibration_slot_that_is_not_a_number_is_an_error():
    device = serve("bad-calibration", Scripted())
    device.slots[2] = b"\xff\xfe garbage"
    with pytest.raises(ReplyError, match="slot 2"):
        USB2000Plus("usb:0x2457:0x101e:SCRIPT1@labkit", name="spec_bad", timeout=0.3)


def test_a_usb4000_splits_high_speed_spectra_over_two_endpoints():
    device = Scripted(3840, split=2048)
    device.product_id = 0x1022
    serve("scripted-4000", device)
    spec = USB4000("usb:0x2457:0x1022:SCRIPT1@labkit", name="u4", timeout=0.3)
    counts = (np.arange(3840) % 5000).astype(np.uint16)
    device.spectra.append(counts)
    assert spec.read("spectrum") == pytest.approx(counts)
    assert spec.high_speed


def test_the_wrong_model_is_refused():
    serve("a-2000plus", Scripted())
    with pytest.raises(ConfigurationError, match="2048 pixels, not the 3840 of a USB4000"):
        USB4000("usb:0x2457:0x101e:SCRIPT1@labkit", name="u4_wrong", timeout=0.3)


# -- the twins' endpoints and packets, through pyusb ---------------------------------------------


def _device(twin):
    device = usb.core.find(
        idVendor=0x2457,
        idProduct=twin.product_id,
        custom_match=lambda d: d.serial_number == twin.serial_number,
        backend=usb_backend(),
    )
    device.set_configuration()
    return device


@pytest.mark.parametrize(
    ("speed", "first", "rest"),
    [("high", [512] * 4, [512] * 11 + [1]), ("full", [], [64] * 120 + [1])],
)
def test_a_usb4000_twin_sends_its_packets_where_the_protocol_says(speed, first, rest):
    with Bench(seed=0, time_scale=0, instruments=[], prefix="u4_") as bench:
        twin = bench.add_instrument("u4", USB4000Twin(bench, "u4", speed=speed), interfaces=["usb"])
        device = _device(twin)
        assert device.manufacturer == "Ocean Optics"
        assert {ep.wMaxPacketSize for ep in device.get_active_configuration()[(0, 0)]} == {
            512 if speed == "high" else 64
        }
        device.write(0x01, b"\xfe")
        status = struct.unpack("<HIBBBBBBHBB", bytes(device.read(0x81, 16)))
        assert (status[0], status[1], status[5], status[9]) == (
            3840,
            10_000,
            len(first) + len(rest),
            0x80 if speed == "high" else 0x00,
        )
        device.write(0x01, b"\x09")
        sizes = {0x86: [], 0x82: []}
        for endpoint, expected in ((0x86, first), (0x82, rest)):
            for _ in expected:
                sizes[endpoint].append(len(device.read(endpoint, 512, 100)))
        assert (sizes[0x86], sizes[0x82]) == (first, rest)
        with pytest.raises(usb.core.USBTimeoutError):
            device.read(0x82, 512, 20)  # nothing more


def test_the_twin_answers_slots_and_ignores_integration_times_it_does_not_take(bench):
    twin = bench["spectrometer"]
    device = _device(twin)
    device.write(0x01, b"\x05\x01")
    reply = bytes(device.read(0x81, 17))
    assert reply[:2] == b"\x05\x01"
    assert float(reply[2:].split(b"\x00")[0]) == bench.optics.spectrometer.coefficients[0]
    device.write(0x01, b"\x02" + struct.pack("<I", 500))  # below 1 ms: ignored
    assert twin.integration_time == 10_000
    device.write(0x01, b"\x02" + struct.pack("<I", 2_000))
    assert twin.integration_time == 2_000


# -- on the bench: the lamp and the LED, through pyusb -------------------------------------------


@pytest.fixture
def lit(bench):
    """The E3631A lights the lamp; the USB2000+ looks at it."""
    psu = AgilentE3631A(bench.address("psu"), name="psu", timeout=1.0)
    spec = USB2000Plus(bench.address("spectrometer"), name="spec", timeout=1.0)
    spec.integration_time = "1 ms"
    spec.dark_correction = True
    spec.scans_to_average = 4
    return psu, spec, bench


def _photon_flux_shape(spec, bench, counts):
    """Measured counts over the detector's response: the lamp's photon flux, up to a factor."""
    model = bench.optics.spectrometer
    wavelengths = spec.wavelengths
    response = model.quantum_efficiency(wavelengths) * model.pixel_widths()
    lit_pixels = np.ones(wavelengths.size, dtype=bool)
    lit_pixels[list(spec.dark_pixels)] = False
    return wavelengths[lit_pixels], counts[lit_pixels] / response[lit_pixels]


def test_through_pyusb_the_spectrometer_returns_the_lamps_spectrum(lit):
    psu, spec, bench = lit
    assert spec.read("spectrum").max() < 50  # the supply is off: the lamp is dark
    psu.p25v.voltage = 12
    psu.output = True
    measured = spec.read("spectrum")
    model = bench.optics.spectrometer
    wavelengths = spec.wavelengths
    expected = model.expected_counts(bench.optics.flux(wavelengths), 1e-3)
    expected -= model.baseline + model.dark_current * 1e-3 / model.gain  # dark-corrected
    bright = expected > 500
    assert bright.sum() > 1000
    assert measured[bright] == pytest.approx(expected[bright], rel=0.03)


def test_a_hotter_filament_follows_plancks_law_and_wiens_peak(lit):
    psu, spec, bench = lit
    psu.output = True
    shapes = {}
    for volts in (12.0, 24.0):
        psu.p25v.voltage = volts
        assert psu.p25v.read("measured_voltage") == pytest.approx(volts, abs=1e-3)
        wavelengths, shapes[volts] = _photon_flux_shape(spec, bench, spec.read("spectrum"))
    lamp = bench.optics.lamp
    cool, hot = (lamp.nominal_temperature * (v / lamp.nominal_voltage) ** 0.42 for v in (12, 24))
    # the ratio of two spectra does not depend on the detector: Planck's law alone
    planck = planck_photon_radiance(wavelengths, hot) / planck_photon_radiance(wavelengths, cool)
    ratio = shapes[24.0] / shapes[12.0]
    usable = (wavelengths > 450) & (wavelengths < 1000)
    assert ratio[usable] == pytest.approx(planck[usable], rel=0.05)
    # and at 24 V the photon spectrum peaks inside the range, where Wien's law puts it
    smooth = np.convolve(shapes[24.0], np.ones(41) / 41, mode="same")
    inner = (wavelengths > 500) & (wavelengths < 1030)
    peak = wavelengths[inner][np.argmax(smooth[inner])]
    assert peak == pytest.approx(WIEN_PHOTON / hot, rel=0.01)


def test_the_leds_line_shifts_red_as_the_tc200_warms_the_sample(bench):
    bench.dut = "led"
    smu = Keithley2450(bench.address("smu"), name="smu", timeout=1.0)
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=1.0)
    spec = USB2000Plus(bench.address("spectrometer"), name="spec", timeout=1.0)
    spec.integration_time = "1 ms"
    spec.dark_correction = True
    smu.source_function = "current"
    smu.voltage_limit = 5
    smu.source_current = "10 uA"
    smu.output = True
    model = bench.optics.spectrometer

    def predicted() -> float:
        counts = model.expected_counts(bench.optics.flux(spec.wavelengths), 1e-3)
        return float(spec.wavelengths[np.argmax(counts)])

    cool = spec.read("peak_wavelength")
    assert cool == pytest.approx(predicted(), abs=0.5)
    tc.setpoint = 90
    tc.enabled = True
    bench.advance(3000)
    warm = spec.read("peak_wavelength")
    assert warm == pytest.approx(predicted(), abs=0.5)
    rise = bench.thermal.sample_temperature - bench.thermal.ambient
    assert rise > 40
    assert 0.05 * rise < warm - cool < 0.3 * rise  # nm per kelvin, as a red LED


# -- faults, through pyusb ------------------------------------------------------------------------


@pytest.fixture
def faulty(bench):
    spec = USB2000Plus(bench.address("spectrometer"), name="spec", timeout=0.25)
    return spec, bench, bench.address("spectrometer")


def test_a_spectrum_that_never_comes_then_the_next_one(faulty):
    spec, bench, address = faulty
    bench.inject("spectrometer", "timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        spec.read("spectrum")
    error = caught.value
    assert (error.instrument, error.resource, error.command) == ("spec", address, "EP 0x01: 09")
    assert spec.read("spectrum").shape == (2048,)


def test_a_status_answer_that_never_comes(faulty):
    spec, bench, address = faulty
    bench.inject("spectrometer", "timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        spec.read("integration_time")
    assert (caught.value.resource, caught.value.command) == (address, "EP 0x01: fe")
    assert spec.read("integration_time") == pytest.approx(0.01)


def test_a_garbled_spectrum_is_an_error_never_data(faulty):
    spec, bench, _ = faulty
    bench.inject("spectrometer", "garbled")
    with pytest.raises(ReplyError, match="sync byte") as caught:
        spec.read("spectrum")
    assert (caught.value.instrument, caught.value.command) == ("spec", "EP 0x01: 09")
    assert spec.read("spectrum").min() > 0


def test_a_stalled_endpoint_then_the_next_spectrum_is_whole(faulty):
    spec, bench, address = faulty
    bench.inject("spectrometer", "error")
    with pytest.raises(InstrumentError) as caught:
        spec.read("spectrum")
    error = caught.value
    assert (error.instrument, error.resource, error.command) == ("spec", address, "EP 0x01: 09")
    again = spec.read("spectrum")  # the rest of the interrupted spectrum was drained first
    model = bench.optics.spectrometer
    expected = model.expected_counts(bench.optics.flux(spec.wavelengths), 0.01)
    assert again[expected > 2000] == pytest.approx(expected[expected > 2000], rel=0.05)


def test_an_unplugged_spectrometer_then_reconnect(faulty):
    spec, bench, address = faulty
    spec.read("spectrum")
    bench.inject("spectrometer", "disconnect")
    with pytest.raises(ConnectionLost) as caught:
        spec.read("spectrum")
    error = caught.value
    assert (error.instrument, error.resource, error.command) == ("spec", address, "EP 0x01: 09")
    with pytest.raises(NotConnectedError):
        spec.read("spectrum")
    bench.clear_faults("spectrometer")
    spec.reconnect()
    assert spec.read("spectrum").shape == (2048,)
    assert math.isfinite(spec.read("peak_wavelength"))


# -- the conformance suite ------------------------------------------------------------------------


class TestUSB2000PlusConformance(DriverConformance):
    driver = USB2000Plus

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["spectrometer"])
        return USB2000Plus(bench.address("spectrometer"), name="spec", timeout=1.0)


class TestUSB4000Conformance(DriverConformance):
    driver = USB4000

    def open_instrument(self):
        bench = Bench(seed=0, time_scale=0, instruments=["usb4000"])
        return USB4000(bench.address("usb4000"), name="u4", timeout=1.0)
