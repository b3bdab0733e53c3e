"""Ocean Optics USB2000+ and USB4000 spectrometers, through the OOI USB protocol (pyusb).

Written from the OOI protocol as the data sheets and seabreeze document it: vendor 0x2457
(USB2000+ 0x101E, USB4000 0x1022); command bytes go to EP 0x01 (``0x01`` initialize,
``0x02`` integration time as uint32 µs, ``0x05`` query an information slot, ``0x09`` request a
spectrum, ``0xFE`` query status); slot and status answers come from EP 0x81; a spectrum comes
as uint16 little-endian counts per pixel followed by the sync byte 0x69, from EP 0x82 — except
that a USB4000 at high speed sends its first 2048 bytes from EP 0x86 (the status byte 14 says
the speed). A spectrum whose last byte is not 0x69 is a ``ReplyError``, never data.

On connecting the driver initializes the spectrometer (which resets its integration time),
reads its status (the pixel count must be the model's: a USB4000 driver refuses a USB2000+),
its serial number (slot 0), its wavelength calibration (slots 1–4: λ(p) = c0 + c1 p + c2 p²
+ c3 p³, p = 0…N−1) and its saturation level (slot 17).

Integration time is a setting in seconds (USB2000+: 1 ms…65 s, the data sheet's range;
USB4000: 10 µs…65.535 s); the protocol has no error channel and the spectrometer ignores a
value it does not take, so each set is read back from the status and a mismatch is an error.
Averaging (``scans_to_average``) and electric-dark correction (``dark_correction``: subtract
the mean of the optically masked pixels) are done here, in the driver.

A spectrum is the array reading ``spectrum``: ``spec.read("spectrum")`` takes one (counts per
pixel, ``scans_to_average`` averaged, dark-corrected when asked) over the ``wavelength`` axis,
whose coordinate is the calibration told at connect (``spec.wavelengths``, nm), so
``Read(spec.readings.spectrum)`` records spectra in a run with their wavelengths. Counts are
the detector's raw counts (seabreeze rescales them by 65535 / saturation level; this driver
keeps them and reports ``saturation_level`` instead).
"""

from __future__ import annotations

import math
import struct
import time
from typing import Any, ClassVar

import numpy as np

from labkit.core import (
    Axis,
    ConfigurationError,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    Reading,
    ReplyError,
    Setting,
)
from labkit.drivers.usb import UsbInstrument

__all__ = ["USB4000", "OceanOpticsSpectrometer", "USB2000Plus"]

SYNC = 0x69
COMMANDS = 0x01
QUERIES = 0x81
SPECTRA = 0x82
SPECTRA_FIRST = 0x86
HIGH_SPEED = 0x80
_DRAIN_TIMEOUT = 0.01  # s: a stale packet is already there
_DRAIN_LIMIT = 128


class OceanOpticsSpectrometer(UsbInstrument):
    """A fibre spectrometer speaking the OOI USB protocol; :class:`USB2000Plus` and
    :class:`USB4000` give each model's facts."""

    manufacturer = "Ocean Optics"
    model: ClassVar[str] = ""
    product_id: ClassVar[int] = 0
    pixels: ClassVar[int] = 0
    dark_pixels: ClassVar[tuple[int, ...]] = ()
    """Optically masked pixels (seabreeze's electric-dark indices) for ``dark_correction``."""
    split_bytes: ClassVar[int] = 0
    """Bytes of a spectrum that come from EP 0x86 first at high speed (USB4000: 2048)."""

    integration_time = Setting(
        unit="s",
        min=1e-6,
        max=4294.967295,
        doc="Time the detector collects light for each spectrum",
    )
    scans_to_average = Setting(
        int,
        min=1,
        max=1000,
        doc="Spectra averaged into one (in the driver; each takes the integration time)",
    )
    dark_correction = Setting(
        bool,
        doc="Subtract the mean of the optically masked pixels (the electric dark level)",
    )
    peak_wavelength = Reading(
        unit="nm",
        doc="Wavelength of the brightest pixel of a fresh spectrum (interpolated between pixels)",
    )
    saturated = Reading(
        bool, doc="Some pixel of a fresh spectrum reached the saturation level: shorten the time"
    )
    spectrum = Reading(
        unit="counts",
        axes=[Axis("wavelength", unit="nm", label="wavelength")],
        doc="A fresh spectrum: counts per pixel over the wavelength calibration (averaged and "
        "dark-corrected as set)",
    )

    def __init__(self, resource: str | None = None, **options: Any) -> None:
        self.coefficients: tuple[float, ...] = ()
        self.saturation_level = 65535
        self.high_speed = True
        self._wavelengths: np.ndarray | None = None
        self._scans = 1
        self._dark = False
        self._stale = True
        super().__init__(resource, **options)

    # -- the protocol ---------------------------------------------------------------------

    def _send(self, *data: int, payload: bytes = b"") -> None:
        self.bulk_write(COMMANDS, bytes(data) + payload, None)

    def _query(self, command: bytes, size: int) -> bytes:
        self.bulk_write(COMMANDS, command, None)
        reply = self.bulk_read(QUERIES, size, None)
        if len(reply) != size:
            raise ReplyError(
                f"expected {size} bytes after command {command[0]:#04x}, got {len(reply)}",
                command=f"EP 0x01: {command.hex(' ')}",
                reply=reply,
            )
        return reply

    def _read_status(self) -> dict[str, int]:
        raw = self._query(b"\xfe", 16)
        fields = struct.unpack("<HIBBBBBBHBB", raw)
        return {
            "pixels": fields[0],
            "integration_time_us": fields[1],
            "lamp": fields[2],
            "trigger_mode": fields[3],
            "acquiring": fields[4],
            "packets_per_spectrum": fields[5],
            "powered": fields[6],
            "packets_waiting": fields[7],
            "usb_speed": fields[9],
        }

    def status(self) -> dict[str, int]:
        """The status query (0xFE): pixels, integration time (µs), trigger mode, USB speed..."""
        return self.run_io(self._read_status)

    def _read_slot(self, slot: int) -> bytes:
        raw = self._query(bytes([0x05, slot]), 17)
        if raw[0] != 0x05 or raw[1] != slot:
            raise ReplyError(
                f"the answer to query slot {slot} starts {raw[:2].hex(' ')}, not 05 {slot:02x}",
                command=f"EP 0x01: 05 {slot:02x}",
                reply=raw,
            )
        return raw[2:]

    def query_information(self, slot: int) -> str:
        """The text of information slot ``slot`` (0 serial number, 1–4 calibration...)."""
        if not 0 <= int(slot) <= 19:
            raise LimitError(
                f"there is no information slot {slot}",
                value=slot,
                limit=(0, 19),
                instrument=self.name,
                hint="Slots are 0…19: 0 serial number, 1–4 wavelength calibration",
            )
        return self.run_io(lambda: _slot_text(self._read_slot(int(slot))))

    def _slot_number(self, slot: int) -> float:
        text = _slot_text(self._read_slot(slot))
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ReplyError(
                f"information slot {slot} holds {text!r}, not a number",
                command=f"EP 0x01: 05 {slot:02x}",
                reply=text,
                hint="The calibration in the spectrometer's memory is damaged; rewrite it",
            )
        return value

    # -- connecting -----------------------------------------------------------------------

    def _on_open(self) -> None:
        super()._on_open()
        self._stale = True  # packets of an interrupted spectrum may still wait
        self._send(0x01)  # initialize
        status = self._read_status()
        if status["pixels"] != self.pixels:
            raise ConfigurationError(
                f"the spectrometer at {self.resource} has {status['pixels']} pixels, "
                f"not the {self.pixels} of a {self.model}",
                instrument=self.name,
                hint="Use the driver of the model connected (check its product id)",
            )
        self.high_speed = status["usb_speed"] == HIGH_SPEED

    def identify(self) -> dict[str, str]:
        serial = _slot_text(self._read_slot(0))
        self.coefficients = tuple(self._slot_number(slot) for slot in range(1, 5))
        p = np.arange(self.pixels, dtype=float)
        self._wavelengths = sum(c * p**i for i, c in enumerate(self.coefficients))  # type: ignore[assignment]  # a sum of arrays is an array
        axis = self.readings.spectrum.spec.axes[0]  # type: ignore[index]
        self.update_declaration("spectrum", axes=[axis.with_values(self._wavelengths)])
        (saturation,) = struct.unpack("<H", self._read_slot(17)[4:6])
        self.saturation_level = saturation or 65535  # 0: never programmed
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": serial,
            "firmware": "",
        }

    @property
    def wavelengths(self) -> np.ndarray:
        """Wavelength (nm) of each pixel, from the calibration polynomial (slots 1–4)."""
        if self._wavelengths is None:
            raise ConfigurationError(
                "the wavelength calibration is read when connecting",
                instrument=self.name,
                hint=f"Call {self.name}.reconnect()",
            )
        return self._wavelengths.copy()

    # -- settings -------------------------------------------------------------------------

    def _get_integration_time(self) -> float:
        return self._read_status()["integration_time_us"] * 1e-6

    def _set_integration_time(self, value: float) -> None:
        micros = round(value * 1e6)
        self._send(0x02, payload=struct.pack("<I", micros))
        kept = self._read_status()["integration_time_us"]
        if kept != micros:
            raise InstrumentError(
                f"the spectrometer kept {kept} µs instead of {micros} µs: it ignored the value",
                command=f"EP 0x01: 02 {struct.pack('<I', micros).hex(' ')}",
                hint="The firmware's range is narrower than the data sheet's; choose another time",
            )

    def _get_scans_to_average(self) -> int:
        return self._scans

    def _set_scans_to_average(self, value: int) -> None:
        self._scans = int(value)

    def _get_dark_correction(self) -> bool:
        return self._dark

    def _set_dark_correction(self, value: bool) -> None:
        self._dark = bool(value)

    # -- spectra --------------------------------------------------------------------------

    def _drain(self) -> None:
        """Read and drop packets left by an interrupted spectrum."""
        endpoints = (SPECTRA_FIRST, SPECTRA) if self.split_bytes else (SPECTRA,)
        for endpoint in endpoints:
            for _ in range(_DRAIN_LIMIT):
                try:
                    self.bulk_read(endpoint, 512, _DRAIN_TIMEOUT)
                except InstrumentTimeout:
                    break
        self._stale = False

    def _read_exactly(self, endpoint: int, size: int, timeout: float) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(
                    f"only {len(data)} of {size} spectrum bytes from EP {endpoint:#04x} "
                    f"within {timeout:g} s",
                    command="EP 0x01: 09",
                )
            data += self.bulk_read(endpoint, size - len(data), remaining)
        return bytes(data)

    def _scan(self) -> np.ndarray:
        """One spectrum as the detector's counts (uint16 → float)."""
        if self._stale:
            self._drain()
        self._stale = True
        self._send(0x09)
        timeout = self.transport.timeout + (self.last_value("integration_time") or 0.0)
        size = 2 * self.pixels + 1
        raw = b""
        if self.high_speed and self.split_bytes:
            raw = self._read_exactly(SPECTRA_FIRST, self.split_bytes, timeout)
        raw += self._read_exactly(SPECTRA, size - len(raw), timeout)
        if raw[-1] != SYNC:
            raise ReplyError(
                f"the spectrum ends with {raw[-1]:#04x}, not the sync byte 0x69",
                command="EP 0x01: 09",
                reply=raw[-8:],
                hint="Packets were lost or corrupted; the next spectrum resynchronises",
            )
        self._stale = False
        return np.frombuffer(raw[:-1], dtype="<u2").astype(float)

    def _spectrum(self) -> np.ndarray:
        total = np.zeros(self.pixels)
        for _ in range(self._scans):
            total += self._scan()
        counts = total / self._scans
        if self._dark and self.dark_pixels:
            counts -= counts[list(self.dark_pixels)].mean()
        return counts

    def _get_spectrum(self) -> np.ndarray:
        return self._spectrum()

    def _get_peak_wavelength(self) -> float:
        counts = self._spectrum()
        lit = np.ones(self.pixels, dtype=bool)
        lit[list(self.dark_pixels)] = False
        index = int(np.flatnonzero(lit)[np.argmax(counts[lit])])
        offset = 0.0
        if 0 < index < self.pixels - 1:
            left, middle, right = counts[index - 1 : index + 2]
            curvature = left - 2 * middle + right
            if curvature < 0:
                offset = 0.5 * (left - right) / curvature
        pixel = index + offset
        return float(sum(c * pixel**i for i, c in enumerate(self.coefficients)))

    def _get_saturated(self) -> bool:
        return bool(self._scan().max() >= self.saturation_level)


def _slot_text(data: bytes) -> str:
    """An information slot's ASCII text: up to the first NUL, trimmed."""
    return data.split(b"\x00", 1)[0].decode("ascii", "replace").strip()


class USB2000Plus(OceanOpticsSpectrometer):
    """Ocean Optics USB2000+ (and Flame-S) spectrometer: 2048 pixels (Sony ILX511B), 16 bit,
    integration 1 ms…65 s."""

    model = "USB2000+"
    product_id = 0x101E
    pixels = 2048
    dark_pixels = tuple(range(6, 21))
    integration_time = OceanOpticsSpectrometer.integration_time.replace(min=1e-3, max=65.0)


class USB4000(OceanOpticsSpectrometer):
    """Ocean Optics USB4000 spectrometer: 3840 pixels read out (Toshiba TCD1304AP, 3648
    active), 16 bit, integration 10 µs…65.535 s."""

    model = "USB4000"
    product_id = 0x1022
    pixels = 3840
    dark_pixels = tuple(range(5, 16))
    split_bytes = 2048
    integration_time = OceanOpticsSpectrometer.integration_time.replace(min=1e-5, max=65.535)
