"""Rigol DS1054Z oscilloscope twin (SCPI), sampling the bench's signal chain.

Written from the MSO1000Z/DS1000Z Programming Guide (``notes/instruments.md``, section 6):
``:RUN``, ``:STOP``, ``:SINGle``, ``:TFORce``, ``:TRIGger:STATus?`` (TD, WAIT, RUN, AUTO,
STOP), ``:TIMebase[:MAIN]:SCALe``/``:OFFSet``, ``:CHANnel<n>:DISPlay``/``:SCALe``/``:OFFSet``/
``:COUPling``/``:PROBe``/``:BWLimit``, ``:TRIGger:MODE``, ``:TRIGger:EDGe:SOURce``/``:SLOPe``/
``:LEVel``, ``:TRIGger:SWEep``, ``:ACQuire:MDEPth``/``:SRATe?``, ``:WAVeform:SOURce``/``:MODE``/
``:FORMat``/``:STARt``/``:STOP``/``:PREamble?``/``:DATA?`` and the error queue
(``-222,"Data out of range"``). Numbers are answered as ``1.000000e-03``.

Acquisition. Channels 1 and 2 are wired to the bench: CH1 to the generator's output, CH2 to
the end of the signal path (the lock-in's input, with the path's noise); CH3 and CH4 see
nothing. One, two, or three and four channels on share 1 GSa/s, 500 MSa/s or 250 MSa/s and a
memory of 12k…24M, 6k…12M or 3k…6M points; ``AUTO`` depth fills the screen at the highest
rate, up to the largest memory. A capture is the record around a trigger: the first crossing
of the trigger level on the source, with the slope, after the moment of the capture (the
noise-free signal is searched, so triggering is stable); without one, ``AUTO`` sweep
free-runs, ``NORMal`` and ``SINGle`` keep waiting. While running, each query sees a new
capture when the bench clock has moved or a setting changed; ``STOP`` and a completed
``SINGle`` freeze it. A capture is rendered lazily, chunk by chunk, from the bench's
``waveform(t)`` at the moment it is read (a stopped scope re-reads the generator's present
settings — a simplification).

Transfer, as the guide describes it: ``NORMal`` is the screen, 1200 points, x increment =
scale/100; ``RAW`` the memory (the scope must be stopped), x increment = 1/sample rate;
``MAXimum`` is the one or the other. Bytes are (V + offset)/y increment + 127 clipped to
0…255, with y increment = scale/25 (25 codes a division, the display's ±4 divisions within
the ADC's ±5.1); preamble ``format,type,points,1,xinc,xorigin,0,yinc,yorigin,127`` with
y origin = offset/yinc rounded. ``:DATA?`` answers points STARt…STOP (1-based, clamped) as
``#9<nine digits><bytes>``, at most 250 000 (BYTE), 125 000 (WORD: two bytes, high byte 0)
or 15 625 (ASCii: ``%e`` values); asking for more queues ``-222`` and sends an empty block.
Scales and offsets carry the probe ratio; changing the ratio rescales them. Not simulated:
coupling AC/ground (the trace of DC coupling is sent), the bandwidth limit (it lowers the
noise bandwidth only), trigger types other than edge (acquisition types and measurements: ``_rigol_measure``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.manuals import rigol_ds1000z as manual
from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import ScpiTwin, boolean, mnemonic, number, scpi
from labkit.sim.twins._rigol_measure import ScopeMeasurements

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["RigolDS1000ZTwin"]

_SCREEN_POINTS = 1200
_DIVISIONS = 12
_CODES_PER_DIVISION = 25.0
_Y_REFERENCE = 127
_MAX_RATE = {1: 1e9, 2: 500e6, 3: 250e6, 4: 250e6}
_DEPTH_BASE = {1: 12_000, 2: 6_000, 3: 3_000, 4: 3_000}
_DEPTH_STEPS = (1, 10, 100, 1000, 2000)
_MAX_POINTS = {"BYTE": 250_000, "WORD": 125_000, "ASC": 15_625}
_WIRING = {1: "generator", 2: "input"}  # channel → bench point
_BANDWIDTH = 50e6  # Hz: the DS1054Z's analog bandwidth
_TRIGGER_MODES = {
    "EDGE": "EDGE",
    "PULSe": "PULS",
    "RUNT": "RUNT",
    "WINDow": "WIND",
    "SLOPe": "SLOP",
    "NEDGe": "NEDG",
    "PATTern": "PATT",
    "DELay": "DEL",
    "TIMeout": "TIM",
    "DURation": "DUR",
    "SHOLd": "SHOL",
    "RS232": "RS232",
    "IIC": "IIC",
    "SPI": "SPI",
}


def _e(value: float) -> str:
    return f"{value:.6e}"


def _one_two_five(value: float) -> float:
    """The nearest timebase setting of the 1-2-5 sequence."""
    exponent = math.floor(math.log10(value))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    return min(candidates, key=lambda c: abs(math.log(c / value)))


@dataclasses.dataclass
class _Channel:
    display: bool
    scale: float = 1.0  # V/div on screen, probe included
    offset: float = 0.0
    coupling: str = "DC"
    probe: float = 10.0
    bandwidth_limit: str = "OFF"

    @property
    def y_increment(self) -> float:
        return self.scale / _CODES_PER_DIVISION

    @property
    def y_origin(self) -> int:
        return round(self.offset / self.y_increment)


@dataclasses.dataclass
class _Capture:
    """One acquisition: the record's timing (rendered on demand)."""

    trigger_time: float  # bench time of the trigger (s)
    sample_rate: float
    depth: int
    first: float  # time of memory point 1, relative to the trigger
    screen_first: float  # time of screen point 1, relative to the trigger
    screen_step: float
    triggered: bool


class RigolDS1000ZTwin(ScopeMeasurements, ScpiTwin):
    """A DS1054Z answering SCPI; CH1 probes the generator, CH2 the lock-in's input."""

    identity = "RIGOL TECHNOLOGIES,DS1054Z,DS1ZA000000001,00.04.04.SP3"
    encoding = "latin-1"  # binary blocks travel as one byte per character

    def __init__(self, bench: Bench, name: str = "scope", *, model: str = "DS1054Z") -> None:
        super().__init__(name)
        self.model = model
        self.identity = f"RIGOL TECHNOLOGIES,{model},DS1ZA000000001,00.04.04.SP3"
        self.bench = bench
        self.reset()

    def reset(self) -> None:
        self.channels = {n: _Channel(display=n == 1) for n in (1, 2, 3, 4)}
        self.timebase_scale = 1e-6
        self.timebase_offset = 0.0
        self.depth_index: int | None = None  # None = AUTO, else an index into _DEPTH_STEPS
        self.trigger_mode = "EDGE"
        self.trigger_source = "CHAN1"
        self.trigger_slope = "POS"
        self.trigger_level = 0.0
        self.sweep = "AUTO"
        self.running = True
        self.single_armed = False
        self.waiting = False
        self.capture: _Capture | None = None
        self._capture_key: Any = None
        self.wave_source = 1
        self.wave_mode = "NORM"
        self.wave_format = "BYTE"
        self.wave_start = 1
        self.wave_stop = _SCREEN_POINTS
        self.reset_measurements()

    def format_error(self, code: int, message: str) -> str:
        return f'{code},"{message}"'

    # -- acquisition model ------------------------------------------------------------------

    def _enabled(self) -> int:
        return max(1, sum(c.display for c in self.channels.values()))

    def _depths(self) -> list[int]:
        base = _DEPTH_BASE[self._enabled()]
        return [base * step for step in _DEPTH_STEPS]

    def _timing(self) -> tuple[float, int]:
        """Sample rate and memory depth for the present settings."""
        rate_max = _MAX_RATE[self._enabled()]
        screen = _DIVISIONS * self.timebase_scale
        if self.depth_index is None:
            depth = int(min(self._depths()[-2], max(_SCREEN_POINTS, rate_max * screen)))
            return depth / screen if depth < rate_max * screen else rate_max, depth
        depth = self._depths()[self.depth_index]
        return min(rate_max, depth / screen), depth

    def _settings_key(self) -> Any:
        return (
            self.timebase_scale,
            self.timebase_offset,
            self.depth_index,
            self.trigger_source,
            self.trigger_slope,
            self.trigger_level,
            self.sweep,
            tuple(dataclasses.astuple(c) for c in self.channels.values()),
        )

    def _point(self, channel: int) -> str | None:
        return _WIRING.get(channel)

    def _signal(self, channel: int, times: np.ndarray, noise: bool) -> np.ndarray:
        """Volts on screen (probe ratio applied) at bench ``times``."""
        settings = self.channels[channel]
        point = self._point(channel)
        if point is None:
            out = np.zeros_like(times)
        else:
            bandwidth = 20e6 if settings.bandwidth_limit == "20M" else _BANDWIDTH
            with self.bench.lock:
                out = self.bench.signal.waveform(
                    times, point=point, noise_bandwidth=bandwidth if noise else None
                )
                if noise and self.noise_factor() < 1:  # averaging keeps the signal
                    clean = self.bench.signal.waveform(times, point=point, noise_bandwidth=None)
                    out = clean + (out - clean) * self.noise_factor()
        return out * settings.probe

    def screen_volts(self, channel: int) -> tuple[np.ndarray, float] | None:
        """The screen waveform of ``channel`` (volts, seconds per point), None if it is off."""
        capture = self.capture
        if capture is None or not self.channels[channel].display:
            return None
        index = np.arange(_SCREEN_POINTS, dtype=float)
        times = capture.trigger_time + capture.screen_first + index * capture.screen_step
        return self._signal(channel, times, noise=True), capture.screen_step

    def _find_trigger(self, start: float) -> float | None:
        """The first crossing of the trigger level on the source after ``start``."""
        if not self.trigger_source.startswith("CHAN") or self.trigger_mode != "EDGE":
            return None
        channel = int(self.trigger_source[4:])
        generator = self.bench.signal.generator
        if not generator.output or self._point(channel) is None:
            return None
        period = 1.0 / generator.frequency
        window = np.linspace(start, start + 2.0 * period, 4001)
        v = self._signal(channel, window, noise=False) - self.trigger_level
        rising = (v[:-1] < 0) & (v[1:] >= 0)
        falling = (v[:-1] > 0) & (v[1:] <= 0)
        edges = {"POS": rising, "NEG": falling, "RFAL": rising | falling}[self.trigger_slope]
        found = np.flatnonzero(edges)
        if not len(found):
            return None
        i = int(found[0])
        fraction = v[i] / (v[i] - v[i + 1]) if v[i] != v[i + 1] else 0.0
        return float(window[i] + fraction * (window[i + 1] - window[i]))

    def _acquire(self) -> None:
        """Take a new capture if running and the clock or the settings moved."""
        if not self.running:
            return
        now = self.bench.sync()
        key = (now, self._settings_key())
        if self.capture is not None and key == self._capture_key:
            return
        found = self._find_trigger(now)
        if found is None and (self.sweep != "AUTO" or self.single_armed):
            self.waiting = True
            return  # normal and single sweeps wait; the last capture stays
        self.waiting = False
        rate, depth = self._timing()
        screen_first = self.timebase_offset - _DIVISIONS / 2 * self.timebase_scale
        self.capture = _Capture(
            trigger_time=now if found is None else found,
            sample_rate=rate,
            depth=depth,
            first=self.timebase_offset - depth / rate / 2,
            screen_first=screen_first,
            screen_step=self.timebase_scale * _DIVISIONS / _SCREEN_POINTS,
            triggered=found is not None,
        )
        self._capture_key = key
        if self.single_armed:
            self.single_armed = False
            self.running = False

    def _codes(self, channel: int, first: int, count: int) -> np.ndarray:
        """ADC codes of ``count`` points from the 1-based ``first``, in the present mode."""
        capture = self.capture
        settings = self.channels[channel]
        if capture is None or not settings.display:
            return np.full(count, _Y_REFERENCE, dtype=np.uint8)
        index = np.arange(first - 1, first - 1 + count, dtype=float)
        if self._raw():
            times = capture.first + index / capture.sample_rate
        else:
            times = capture.screen_first + index * capture.screen_step
        volts = self._signal(channel, capture.trigger_time + times, noise=True)
        codes = np.rint(volts / settings.y_increment + settings.y_origin + _Y_REFERENCE)
        return np.clip(codes, 0, 255).astype(np.uint8)

    def _raw(self) -> bool:
        return self.wave_mode == "RAW" or (self.wave_mode == "MAX" and not self.running)

    def _points(self) -> int:
        if not self._raw():
            return _SCREEN_POINTS
        return self.capture.depth if self.capture is not None else self._timing()[1]

    # -- run control ------------------------------------------------------------------------

    @scpi(":RUN")
    def _run(self) -> None:
        self.running, self.single_armed = True, False

    @scpi(":STOP")
    def _stop(self) -> None:
        self._acquire()
        self.running, self.single_armed, self.waiting = False, False, False

    @scpi(":SINGle")
    def _single(self) -> None:
        self.running, self.single_armed = True, True
        self._capture_key = None
        self._acquire()

    @scpi(":TFORce")
    def _force(self) -> None:
        if self.running:
            sweep, self.sweep = self.sweep, "AUTO"
            self._capture_key = None
            armed = self.single_armed
            self._acquire()
            self.sweep = sweep
            if armed:
                self.running = False

    @scpi(":TRIGger:STATus?")
    def _status(self) -> str:
        self._acquire()
        if not self.running:
            return "STOP"
        if self.waiting:
            return "WAIT"
        if self.capture is not None and not self.capture.triggered:
            return "AUTO"
        return "TD"

    # -- horizontal ---------------------------------------------------------------------------

    @scpi(":TIMebase[:MAIN]:SCALe")
    def _set_scale(self, value: str | None = None) -> None:
        wanted = number(value, low=5e-9, high=50.0)
        self.timebase_scale = _one_two_five(wanted)

    @scpi(":TIMebase[:MAIN]:SCALe?")
    def _get_scale(self) -> str:
        return _e(self.timebase_scale)

    @scpi(":TIMebase[:MAIN]:OFFSet")
    def _set_offset(self, value: str | None = None) -> None:
        self.timebase_offset = number(value, low=-500.0, high=500.0)

    @scpi(":TIMebase[:MAIN]:OFFSet?")
    def _get_offset(self) -> str:
        return _e(self.timebase_offset)

    # -- vertical -------------------------------------------------------------------------------

    def _channel(self) -> _Channel:
        index = self.suffix()
        if index not in self.channels:
            raise ScpiError(-113, "Undefined header")
        return self.channels[index]

    @scpi(":CHANnel#:DISPlay")
    def _set_display(self, value: str | None = None) -> None:
        self._channel().display = boolean(value)

    @scpi(":CHANnel#:DISPlay?")
    def _get_display(self) -> str:
        return "1" if self._channel().display else "0"

    @scpi(":CHANnel#:SCALe")
    def _set_channel_scale(self, value: str | None = None) -> None:
        channel = self._channel()
        wanted = number(value)
        low, high = (end * channel.probe for end in manual.VOLTS_PER_DIVISION)
        if not low * (1 - 1e-9) <= wanted <= high * (1 + 1e-9):
            raise ScpiError(-222, "Data out of range")
        channel.scale = wanted

    @scpi(":CHANnel#:SCALe?")
    def _get_channel_scale(self) -> str:
        return _e(self._channel().scale)

    @scpi(":CHANnel#:OFFSet")
    def _set_channel_offset(self, value: str | None = None) -> None:
        channel = self._channel()
        wanted = number(value)
        wide = channel.scale >= manual.OFFSET_WIDE_FROM * channel.probe
        reach = (manual.OFFSET_WIDE if wide else manual.OFFSET_NARROW) * channel.probe
        if abs(wanted) > reach * (1 + 1e-9):
            raise ScpiError(-222, "Data out of range")
        channel.offset = wanted

    @scpi(":CHANnel#:OFFSet?")
    def _get_channel_offset(self) -> str:
        return _e(self._channel().offset)

    @scpi(":CHANnel#:COUPling")
    def _set_coupling(self, value: str | None = None) -> None:
        self._channel().coupling = mnemonic(value, {"AC": "AC", "DC": "DC", "GND": "GND"})

    @scpi(":CHANnel#:COUPling?")
    def _get_coupling(self) -> str:
        return self._channel().coupling

    @scpi(":CHANnel#:PROBe")
    def _set_probe(self, value: str | None = None) -> None:
        channel = self._channel()
        wanted = number(value)
        ratio = next(
            (p for p in manual.PROBE_RATIOS if math.isclose(p, wanted, rel_tol=1e-6)), None
        )
        if ratio is None:
            raise ScpiError(-222, "Data out of range")
        # The trace keeps its size on screen: scale and offset follow the ratio.
        channel.scale *= ratio / channel.probe
        channel.offset *= ratio / channel.probe
        channel.probe = ratio

    @scpi(":CHANnel#:PROBe?")
    def _get_probe(self) -> str:
        return _e(self._channel().probe)

    @scpi(":CHANnel#:BWLimit")
    def _set_bandwidth(self, value: str | None = None) -> None:
        self._channel().bandwidth_limit = mnemonic(value, {"20M": "20M", "OFF": "OFF"})

    @scpi(":CHANnel#:BWLimit?")
    def _get_bandwidth(self) -> str:
        return self._channel().bandwidth_limit

    # -- acquisition --------------------------------------------------------------------------

    @scpi(":ACQuire:MDEPth")
    def _set_depth(self, value: str | None = None) -> None:
        if value is not None and value.strip().upper() == "AUTO":
            self.depth_index = None
            return
        wanted = number(value)
        depths = self._depths()
        if wanted not in depths:
            raise ScpiError(-221, "Settings conflict")
        self.depth_index = depths.index(int(wanted))

    @scpi(":ACQuire:MDEPth?")
    def _get_depth(self) -> str:
        return "AUTO" if self.depth_index is None else str(self._depths()[self.depth_index])

    @scpi(":ACQuire:SRATe?")
    def _get_rate(self) -> str:
        return _e(self._timing()[0])

    # -- trigger --------------------------------------------------------------------------------

    @scpi(":TRIGger:MODE")
    def _set_trigger_mode(self, value: str | None = None) -> None:
        self.trigger_mode = mnemonic(value, _TRIGGER_MODES)

    @scpi(":TRIGger:MODE?")
    def _get_trigger_mode(self) -> str:
        return self.trigger_mode

    @scpi(":TRIGger:EDGe:SOURce")
    def _set_trigger_source(self, value: str | None = None) -> None:
        choices = {f"CHANnel{n}": f"CHAN{n}" for n in (1, 2, 3, 4)}
        if self.model.startswith("MSO"):  # the logic analyzer's inputs
            choices.update({f"D{n}": f"D{n}" for n in range(16)})
        self.trigger_source = mnemonic(value, {**choices, "AC": "AC"})

    @scpi(":TRIGger:EDGe:SOURce?")
    def _get_trigger_source(self) -> str:
        return self.trigger_source

    @scpi(":TRIGger:EDGe:SLOPe")
    def _set_slope(self, value: str | None = None) -> None:
        self.trigger_slope = mnemonic(
            value, {"POSitive": "POS", "NEGative": "NEG", "RFALl": "RFAL"}
        )

    @scpi(":TRIGger:EDGe:SLOPe?")
    def _get_slope(self) -> str:
        return self.trigger_slope

    @scpi(":TRIGger:EDGe:LEVel")
    def _set_level(self, value: str | None = None) -> None:
        wanted = number(value)
        if self.trigger_source.startswith("CHAN"):
            source = self.channels[int(self.trigger_source[4:])]
            low = -manual.TRIGGER_DIVISIONS * source.scale - source.offset
            high = manual.TRIGGER_DIVISIONS * source.scale - source.offset
            if not low - 1e-12 <= wanted <= high + 1e-12:
                raise ScpiError(-222, "Data out of range")
        self.trigger_level = wanted

    @scpi(":TRIGger:EDGe:LEVel?")
    def _get_level(self) -> str:
        return _e(self.trigger_level)

    @scpi(":TRIGger:SWEep")
    def _set_sweep(self, value: str | None = None) -> None:
        self.sweep = mnemonic(value, {"AUTO": "AUTO", "NORMal": "NORM", "SINGle": "SING"})
        if self.sweep == "SING":
            self._single()

    @scpi(":TRIGger:SWEep?")
    def _get_sweep(self) -> str:
        return self.sweep

    # -- waveform transfer ------------------------------------------------------------------------

    @scpi(":WAVeform:SOURce")
    def _set_wave_source(self, value: str | None = None) -> None:
        choices = {f"CHANnel{n}": n for n in (1, 2, 3, 4)}
        self.wave_source = mnemonic(value, choices)

    @scpi(":WAVeform:SOURce?")
    def _get_wave_source(self) -> str:
        return f"CHAN{self.wave_source}"

    @scpi(":WAVeform:MODE")
    def _set_wave_mode(self, value: str | None = None) -> None:
        self.wave_mode = mnemonic(value, {"NORMal": "NORM", "MAXimum": "MAX", "RAW": "RAW"})

    @scpi(":WAVeform:MODE?")
    def _get_wave_mode(self) -> str:
        return self.wave_mode

    @scpi(":WAVeform:FORMat")
    def _set_wave_format(self, value: str | None = None) -> None:
        self.wave_format = mnemonic(value, {"BYTE": "BYTE", "WORD": "WORD", "ASCii": "ASC"})

    @scpi(":WAVeform:FORMat?")
    def _get_wave_format(self) -> str:
        return self.wave_format

    @scpi(":WAVeform:STARt")
    def _set_start(self, value: str | None = None) -> None:
        self.wave_start = int(number(value, low=1, integer=True))

    @scpi(":WAVeform:STARt?")
    def _get_start(self) -> str:
        return str(min(self.wave_start, self._points()))

    @scpi(":WAVeform:STOP")
    def _set_stop_point(self, value: str | None = None) -> None:
        self.wave_stop = int(number(value, low=1, integer=True))

    @scpi(":WAVeform:STOP?")
    def _get_stop_point(self) -> str:
        return str(min(self.wave_stop, self._points()))

    @scpi(":WAVeform:PREamble?")
    def _preamble(self) -> str:
        self._acquire()
        channel = self.channels[self.wave_source]
        form = {"BYTE": 0, "WORD": 1, "ASC": 2}[self.wave_format]
        kind = {"NORM": 0, "MAX": 1, "RAW": 2}[self.wave_mode]
        capture = self.capture
        if self._raw() and capture is not None:
            x_increment, x_origin = 1.0 / capture.sample_rate, capture.first
        else:
            x_increment = self.timebase_scale * _DIVISIONS / _SCREEN_POINTS
            x_origin = self.timebase_offset - _DIVISIONS / 2 * self.timebase_scale
        return (
            f"{form},{kind},{self._points()},1,{_e(x_increment)},{_e(x_origin)},0,"
            f"{_e(channel.y_increment)},{channel.y_origin},{_Y_REFERENCE}"
        )

    @scpi(":WAVeform:DATA?")
    def _data(self) -> str:
        self._acquire()
        if self.wave_mode == "RAW" and self.running:
            raise _EmptyBlock(-221, "Settings conflict;stop the scope to read RAW memory")
        points = self._points()
        first, last = min(self.wave_start, points), min(self.wave_stop, points)
        count = last - first + 1
        if count < 1 or count > _MAX_POINTS[self.wave_format]:
            raise _EmptyBlock(-222, "Data out of range")
        codes = self._codes(self.wave_source, first, count)
        if self.wave_format == "BYTE":
            body = codes.tobytes().decode("latin-1")
        elif self.wave_format == "WORD":
            body = codes.astype("<u2").tobytes().decode("latin-1")
        else:
            channel = self.channels[self.wave_source]
            volts = (codes.astype(float) - channel.y_origin - _Y_REFERENCE) * channel.y_increment
            body = ",".join(_e(v) for v in volts)
        return f"#9{len(body):09d}{body}"

    def execute(self, command: str) -> str | None:
        try:
            return super().execute(command)
        except _EmptyBlock as refused:
            self.push_error(refused.code, refused.message)
            return "#9000000000"


class _EmptyBlock(ScpiError):
    """``:DATA?`` refused: the error is queued and an empty block still answers the query."""
