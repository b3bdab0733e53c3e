"""Ocean Optics USB2000+ and USB4000 twins: the OOI USB protocol over pyusb bulk endpoints.

Written from the OOI protocol as the data sheets and seabreeze document it (see
``notes/instruments.md``, section 8). Vendor 0x2457; commands arrive on EP 0x01 OUT as a
command byte and its little-endian payload:

======  ===============================  =============================================
byte    command                          answer
======  ===============================  =============================================
0x01    initialize                       none (integration time and trigger mode reset)
0x02    integration time, uint32 µs      none; a value outside the firmware's range is
                                         ignored (the protocol has no error channel)
0x05    query information, slot byte     17 bytes on EP 0x81: 0x05, slot, 15 ASCII
                                         bytes ending at the first NUL
0x06    write information, slot + text   none
0x09    request spectrum                 after the integration time: the pixels as
                                         uint16 LE, then the sync byte 0x69
0x0A    trigger mode, uint16             none
0xFE    query status                     16 bytes on EP 0x81 (pixels, integration time
                                         µs, lamp, trigger mode, acquiring, packets per
                                         spectrum, powered, packets waiting, reserved,
                                         USB speed 0x80 high / 0x00 full)
======  ===============================  =============================================

Spectra go out in 512-byte packets at high speed (64-byte at full speed), then a 1-byte
packet with the sync byte, on EP 0x82 — except on a USB4000 at high speed, whose first 2048
bytes come from EP 0x86. Information slots: 0 serial number, 1–4 wavelength calibration
coefficients (λ(p) = c0 + c1 p + c2 p² + c3 p³), 5 stray light, 6–13 non-linearity
coefficients, 14 non-linearity order, 15 optical bench, 16 detector, 17 with the saturation
level as uint16 LE at bytes 4–5 of the slot's data, 18 baud rate, 19 user text.

The spectrum is the bench's light (``bench.optics``: lamp, LED) on a detector. The USB2000+
twin *is* ``bench.optics.spectrometer`` (2048 pixels, its calibration, its noise); the USB4000
twin has a 3840-pixel detector of its own (unlit pixels 0–21 and 3670–3839, as the TCD1304's
3648 active pixels sit in the 3840 read out). A fault injected into a twin applies to a whole
spectrum (a timeout drops all of it, a garbled spectrum has a wrong sync byte); a stall
(``error``) halts the first endpoint the spectrum goes to.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from labkit.sim._usb import Endpoint, VirtualUsbDevice
from labkit.sim.bench._optics import SpectrometerModel

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["OceanOpticsTwin", "USB2000PlusTwin", "USB4000Twin"]

SYNC = 0x69
_COMMANDS = 0x01
_QUERIES = 0x81
_SPECTRA = 0x82
_SPECTRA_FIRST = 0x86


def _slot_text(text: str) -> bytes:
    """15 bytes of slot data: ASCII, NUL-terminated and padded."""
    return text.encode("ascii", "replace")[:14].ljust(15, b"\x00")


class OceanOpticsTwin(VirtualUsbDevice):
    """An OOI-protocol spectrometer on the bench's light; subclasses give the model's facts."""

    vendor_id = 0x2457
    manufacturer = "Ocean Optics"
    detector_name: ClassVar[str] = ""  # slot 16
    integration_range: ClassVar[tuple[int, int]] = (1_000, 655_350_000)  # µs the firmware takes
    default_integration: ClassVar[int] = 10_000  # µs after power-on and initialize
    split_bytes: ClassVar[int] = 0  # bytes sent from EP 0x86 first at high speed

    def __init__(
        self,
        bench: Bench,
        name: str = "spectrometer",
        *,
        serial_number: str | None = None,
        speed: str = "high",
        detector: SpectrometerModel | None = None,
    ) -> None:
        if speed not in ("high", "full"):
            raise ValueError(f"speed must be 'high' or 'full', not {speed!r}")
        packet = 512 if speed == "high" else 64
        self.speed = speed
        self.endpoints = tuple(
            Endpoint(address, max_packet=packet)
            for address in (_COMMANDS, _QUERIES, _SPECTRA, _SPECTRA_FIRST)
        )
        super().__init__(name, serial_number=serial_number)
        self.bench = bench
        self._detector = detector
        self._rng = bench.rng(name)
        self.user_slots: dict[int, bytes] = {}
        self.integration_time = self.default_integration
        self.trigger_mode = 0
        self.spectra_taken = 0

    # -- the detector ---------------------------------------------------------------------

    @property
    def model(self) -> SpectrometerModel:
        """The detector (pixels, calibration, noise, saturation): its own, or the bench's."""
        return self._detector if self._detector is not None else self.bench.optics.spectrometer

    def acquire(self, seconds: float) -> np.ndarray:
        """One spectrum of the bench's light (uint16 counts)."""
        if self._detector is None:
            return self.bench.optics.acquire(seconds)
        with self.bench.lock:
            self.bench.sync()
            flux = self.bench.optics.flux(self._detector.wavelengths())
            return self._detector.acquire(flux, seconds, self._rng)

    # -- the protocol ---------------------------------------------------------------------

    def handle_bulk(self, endpoint: int, data: bytes) -> None:
        if endpoint != _COMMANDS or not data:
            return  # nothing else listens; an empty transfer is no command
        command, payload = data[0], data[1:]
        if command == 0x01:
            self.integration_time = self.default_integration
            self.trigger_mode = 0
        elif command == 0x02 and len(payload) >= 4:
            (micros,) = struct.unpack("<I", payload[:4])
            low, high = self.integration_range
            if low <= micros <= high:
                self.integration_time = micros
        elif command == 0x05 and payload:
            reply = self.slot(payload[0])
            if reply is not None:
                self.send(_QUERIES, bytes([0x05, payload[0]]) + reply)
        elif command == 0x06 and payload and payload[0] == 19:
            self.user_slots[19] = _slot_text(payload[1:].decode("ascii", "replace"))
        elif command == 0x09:
            self._spectrum()
        elif command == 0x0A and len(payload) >= 2:
            self.trigger_mode = struct.unpack("<H", payload[:2])[0]
        elif command == 0xFE:
            self.send(_QUERIES, self.status())
        else:
            super().handle_bulk(endpoint, data)  # stalls: the device does not know it

    def slot(self, number: int) -> bytes | None:
        """The 15 data bytes of information slot ``number`` (None beyond slot 19)."""
        model = self.model
        coefficients = [*model.coefficients, 0.0, 0.0, 0.0, 0.0][:4]
        texts = {
            0: self.serial_number,
            **{1 + i: f"{c:.8g}" for i, c in enumerate(coefficients)},
            5: "0",
            6: "1",
            **{7 + i: "0" for i in range(7)},
            14: "7",
            15: "2 00 025",
            16: self.detector_name,
            18: "0",
            19: "",
        }
        if number == 17:
            return bytes(4) + struct.pack("<H", model.max_count) + bytes(9)
        if number in self.user_slots:
            return self.user_slots[number]
        text = texts.get(number)
        return None if text is None else _slot_text(text)

    def packets_per_spectrum(self) -> int:
        size = 512 if self.speed == "high" else 64
        return -(-2 * self.model.pixels // size) + 1

    def status(self) -> bytes:
        return struct.pack(
            "<HIBBBBBBHBB",
            self.model.pixels,
            self.integration_time,
            0,  # lamp enable
            self.trigger_mode,
            0,  # not acquiring
            self.packets_per_spectrum(),
            1,  # powered up
            0,  # packets waiting
            0,
            0x80 if self.speed == "high" else 0x00,
            0,
        )

    def _spectrum(self) -> None:
        seconds = self.integration_time * 1e-6
        counts = self.acquire(seconds)
        raw = counts.astype("<u2").tobytes() + bytes([SYNC])
        delay = self.bench.clock.real_seconds(seconds)
        fault = self.faults.take("timeout", "slow", "garbled")
        if fault is not None:
            if fault.kind == "timeout":
                return
            if fault.kind == "slow":
                delay += fault.delay
            if fault.kind == "garbled":
                raw = bytes(b ^ 0x5A for b in raw)
        self.spectra_taken += 1
        for endpoint, packet in self._packets(raw):
            self.send(endpoint, packet, delay=delay)

    def _packets(self, raw: bytes) -> list[tuple[int, bytes]]:
        size = 512 if self.speed == "high" else 64
        body, sync = raw[:-1], raw[-1:]
        out: list[tuple[int, bytes]] = []
        if self.speed == "high" and self.split_bytes:
            first, body = body[: self.split_bytes], body[self.split_bytes :]
            out += [(_SPECTRA_FIRST, first[i : i + size]) for i in range(0, len(first), size)]
        out += [(_SPECTRA, body[i : i + size]) for i in range(0, len(body), size)]
        out.append((_SPECTRA, sync))
        return out


class USB2000PlusTwin(OceanOpticsTwin):
    """A USB2000+ (Sony ILX511B, 2048 pixels): the bench's own spectrometer."""

    product_id = 0x101E
    product = "USB2000+"
    detector_name = "ILX511B"
    integration_range = (1_000, 655_350_000)

    def __init__(self, bench: Bench, name: str = "spectrometer", *, speed: str = "high") -> None:
        super().__init__(bench, name, serial_number="USB2+F01234", speed=speed)


class USB4000Twin(OceanOpticsTwin):
    """A USB4000 (Toshiba TCD1304AP, 3840 pixels read out) looking at the bench's light."""

    product_id = 0x1022
    product = "USB4000"
    detector_name = "TCD1304AP"
    integration_range = (10, 65_535_000)
    split_bytes = 2048

    def __init__(
        self,
        bench: Bench,
        name: str = "usb4000",
        *,
        speed: str = "high",
        serial_number: str = "USB4F05678",
    ) -> None:
        detector = SpectrometerModel(
            pixels=3840,
            coefficients=(180.0, 0.25, -1.0e-5, 0.0),
            dark_pixels=(*range(22), *range(3670, 3840)),
            gain=40.0,
            read_noise=8.0,
        )
        super().__init__(bench, name, serial_number=serial_number, speed=speed, detector=detector)
