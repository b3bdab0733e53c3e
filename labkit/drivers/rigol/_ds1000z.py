"""Rigol DS1000Z oscilloscopes (DS1054Z, DS1074Z, DS1104Z, MSO1074Z, MSO1104Z), SCPI over
USB-TMC or LAN.

Written from the MSO1000Z/DS1000Z Programming Guide (``notes/instruments.md``, section 6):
``:RUN``/``:STOP``/``:SINGle``/``:TFORce``, ``:TRIGger:STATus?``, ``:TIMebase[:MAIN]``,
``:CHANnel<n>`` (display, scale, offset, coupling, probe, bandwidth limit), the edge trigger
(``:TRIGger:EDGe``, ``:TRIGger:SWEep``), ``:ACQuire:MDEPth`` and ``:SRATe?``, and the waveform
transfer: ``:WAVeform:SOURce``, ``:MODE NORMal|RAW``, ``:FORMat BYTE``, ``:PREamble?`` and
``:DATA?`` as IEEE 488.2 definite-length blocks (``#9`` and nine digits).

:meth:`RigolDS1000Z.waveform` returns a :class:`Waveform` of NumPy arrays. ``mode="normal"``
reads the 1200 points on screen; ``mode="raw"`` reads the whole acquisition memory in chunks
of at most 250 000 points (the scope's limit per ``:DATA?`` in BYTE format), setting
``:WAV:STARt``/``:STOP`` for each, and needs a stopped scope (``halt()`` or ``single()``).
Points become volts as the programming guide says, (code − y origin − y reference) ×
y increment, times as x origin + index × x increment.

Scales and offsets are in displayed volts, which include the probe ratio. Their hard limits
here are the widest any probe ratio allows (1 mV/div at 0.01× … 10 V/div at 1000×); the scope
refuses what the present probe ratio does not allow, which the driver reports from the error
queue (``:SYSTem:ERRor?``). The timebase is the 1-2-5 sequence from 5 ns/div to 50 s/div.
Stopping is :meth:`halt` (``stop()`` is labkit's, for ramps).

Each channel's ``trace`` is an array reading: the screen's 1200 points in volts over the
``time`` axis from the trigger, whose start and step follow the timebase (the driver updates
the declaration whenever the timebase scale or offset is set or read, and checks it against
the preamble of every trace), so ``Read(scope.ch1.readings.trace)`` records traces in a run.
The scope's ``traces`` are every shown channel's at once, one row per channel (a ``channel``
axis of channel numbers that follows ``display``). A channel's ``raw_trace`` is its whole
memory in RAW mode (up to 24 M points, float32 volts) over the RAW preamble's time axis, the
memory centred on the trigger plus the timebase offset; its length is known once the scope
has said it (``describe_raw()`` or a first transfer), and a run stores it in 4 MiB chunks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from traitlets import TraitType

from labkit.core import (
    Action,
    Axis,
    Channel,
    ConfigurationError,
    InstrumentError,
    MessageInstrument,
    Reading,
    ReplyError,
    Setting,
    TraitSpec,
)
from labkit.drivers.rigol._tables import (
    EDGE_SOURCES,
    MEMORY_DEPTHS,
    TIMEBASE_SCALES,
    TRIGGER_TYPES,
    moved_time,
    parse_memory_depth,
    parse_trigger_status,
)
from labkit.drivers.rigol._waveform import Preamble, Waveform
from labkit.drivers.scpi import ScpiInstrument, parse_number
from labkit.manuals.rigol_ds1000z import (
    OFFSET_WIDE,
    PROBE_RATIOS,
    TRIGGER_DIVISIONS,
    VOLTS_PER_DIVISION,
)

__all__ = ["TIMEBASE_SCALES", "RigolDS1000Z", "ScopeChannel"]

_NORMAL_POINTS = 1200
_DIVISIONS = 12

# The widest the scope can ever take, over every probe ratio (the scope checks the range of
# the ratio set): declared so that nothing absurd (inf, 1e21 V) is ever sent.
_SCALES = (VOLTS_PER_DIVISION[0] * min(PROBE_RATIOS), VOLTS_PER_DIVISION[1] * max(PROBE_RATIOS))
_OFFSET = OFFSET_WIDE * max(PROBE_RATIOS)
_TRIGGER_LEVEL = TRIGGER_DIVISIONS * _SCALES[1] + _OFFSET


def _measurement(item: str, unit: str | None, doc: str) -> TraitType[Any, Any]:
    """A channel's automatic measurement ``item`` (``:MEASure:ITEM? <item>,CHANnel<n>``): a
    number in ``unit``, the overload value (inf) where the scope cannot measure it."""
    query = f":MEAS:ITEM? {item},CHAN{{self.index}}"
    return Reading(float, unit=unit, get=query, parse=parse_number, doc=doc)


class ScopeChannel(MessageInstrument):
    """One analog input of a DS1000Z: display, vertical scale and offset, coupling, probe."""

    index: int = 1

    display = Setting(
        bool,
        header=":CHAN{self.index}:DISP",
        doc="Show (and acquire) this channel; more channels share the sample rate and memory",
    )
    scale = Setting(
        unit="V",
        min=_SCALES[0],
        max=_SCALES[1],
        header=":CHAN{self.index}:SCAL",
        doc="Vertical scale per division, probe included (1 mV/div … 10 V/div times the "
        "probe ratio, checked by the scope)",
    )
    offset = Setting(
        unit="V",
        min=-_OFFSET,
        max=_OFFSET,
        header=":CHAN{self.index}:OFFS",
        doc="Vertical offset, probe included (±100 V at 1× from 500 mV/div up, ±2 V below; "
        "checked by the scope)",
    )
    coupling = Setting(
        choices={"DC": "DC", "AC": "AC", "ground": "GND"},
        header=":CHAN{self.index}:COUP",
        doc="Input coupling: DC, AC (blocks the DC part) or ground",
    )
    probe = Setting(
        float,
        choices=PROBE_RATIOS,
        get=":CHAN{self.index}:PROB?",
        doc="Probe attenuation the scope multiplies back (1 for a plain cable); scale and "
        "offset follow it",
    )
    bandwidth_limit = Setting(
        choices={"off": "OFF", "20 MHz": "20M"},
        header=":CHAN{self.index}:BWL",
        doc="20 MHz bandwidth limit (less noise on slow signals)",
    )

    # -- automatic measurements of the screen waveform: inf where the scope cannot measure --
    vmax = _measurement("VMAX", "V", "Maximum of the screen waveform")
    vmin = _measurement("VMIN", "V", "Minimum of the screen waveform")
    vpp = _measurement("VPP", "V", "Peak-to-peak voltage of the screen waveform")
    vamp = _measurement("VAMP", "V", "Amplitude: top minus base")
    vavg = _measurement("VAVG", "V", "Mean voltage of the screen waveform")
    vrms = _measurement("VRMS", "V", "RMS voltage of the screen waveform")
    period = _measurement("PER", "s", "Period (from successive rising mid-level crossings)")
    frequency = _measurement("FREQ", "Hz", "Frequency, 1 / period")
    rise_time = _measurement("RTIM", "s", "10 % to 90 % rise time")
    fall_time = _measurement("FTIM", "s", "90 % to 10 % fall time")
    duty_cycle = _measurement(
        "PDUT", None, "Positive duty cycle (fraction of the period above mid level)"
    )

    trace = Reading(
        unit="V",
        axes=[Axis("time", size=_NORMAL_POINTS, unit="s", label="time from the trigger")],
        side_effect=lambda channel: channel.parent.transfer_change(channel.index, "normal"),
        doc="The channel's trace as on screen (1200 points, :WAV:MODE NORM), in volts over "
        "time from the trigger",
    )

    raw_trace = Reading(
        unit="V",
        dtype="float32",
        axes=[Axis("memory_time", unit="s", label="time from the trigger")],
        side_effect=lambda channel: channel.parent.transfer_change(channel.index, "raw"),
        doc="The channel's whole acquisition memory (:WAV:MODE RAW, up to 24 M points; the "
        "scope must be stopped), in volts (float32 holds every 8-bit code exactly) over the "
        "preamble's time from the trigger; describe_raw() tells its length before a run",
    )

    def _get_raw_trace(self) -> np.ndarray:
        assert isinstance(self.parent, RigolDS1000Z)
        waveform = self.parent.waveform(self.index, mode="raw")
        self._follow_raw(waveform.preamble)
        return waveform.volts.astype(np.float32)

    def describe_raw(self) -> Axis:
        """Make ``raw_trace``'s time axis that of the memory now (``:WAV:PRE?`` in RAW mode;
        it selects this channel and RAW for :WAVeform, nothing about the acquisition), so a
        run can lay out its store before the first transfer."""
        assert isinstance(self.parent, RigolDS1000Z)
        self._follow_raw(self.parent.raw_preamble(self.index))
        (axis,) = self.readings.raw_trace.spec.axes or ()
        return axis

    def _follow_raw(self, preamble: Preamble) -> None:
        (axis,) = self.readings.raw_trace.spec.axes or ()
        start = preamble.x_origin - preamble.x_reference * preamble.x_increment
        moved = moved_time(axis, start, preamble.x_increment, preamble.points)
        if moved is not None:
            self.update_declaration("raw_trace", axes=[moved])

    def _get_trace(self) -> np.ndarray:
        assert isinstance(self.parent, RigolDS1000Z)
        waveform = self.parent.waveform(self.index)
        preamble = waveform.preamble
        start = preamble.x_origin - preamble.x_reference * preamble.x_increment
        self.follow_time_axis(start, preamble.x_increment, preamble.points)
        return waveform.volts

    def follow_time_axis(self, start: float, step: float, points: int = _NORMAL_POINTS) -> None:
        """Make the trace's declared time axis the scope's (if it moved)."""
        (axis,) = self.readings.trace.spec.axes or ()
        moved = moved_time(axis, start, step, points)
        if moved is not None:
            self.update_declaration("trace", axes=[moved])

    def store(self, name: str, value: Any) -> None:
        super().store(name, value)
        if name == "display" and isinstance(self.parent, RigolDS1000Z):
            self.parent.follow_traces()

    def _set_probe(self, value: float) -> None:
        self.write(f":CHAN{self.index}:PROB {value:g}")
        # The scope keeps the signal's size on screen: scale and offset change with the ratio.
        self.refresh("scale", "offset")

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        assert isinstance(self.parent, ScpiInstrument)
        self.parent.raise_queued_error(command, spec.name)


class RigolDS1000Z(ScpiInstrument):
    """Rigol DS1000Z four-channel oscilloscope, with binary waveform transfer into arrays."""

    manufacturer = "Rigol"
    models: ClassVar[tuple[str, ...]] = ("DS1054Z", "DS1074Z", "DS1104Z", "MSO1074Z", "MSO1104Z")
    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }
    max_points_per_read: ClassVar[int] = 250_000
    """Most points one ``:WAV:DATA?`` returns in BYTE format (the programming guide's limit)."""

    ch1 = Channel(ScopeChannel, index=1)
    ch2 = Channel(ScopeChannel, index=2)
    ch3 = Channel(ScopeChannel, index=3)
    ch4 = Channel(ScopeChannel, index=4)

    timebase_scale = Setting(
        float,
        unit="s",
        choices=TIMEBASE_SCALES,
        header=":TIM:MAIN:SCAL",
        fmt="g",
        doc="Horizontal scale per division (12 divisions on screen), 5 ns … 50 s in 1-2-5 steps",
    )
    timebase_offset = Setting(
        unit="s",
        min=-500.0,
        max=500.0,
        header=":TIM:MAIN:OFFS",
        doc="Time of the screen's centre relative to the trigger (the range the scope allows "
        "depends on the scale and on running or stopped)",
    )
    memory_depth = Setting(
        choices=MEMORY_DEPTHS,
        header=":ACQ:MDEP",
        parse=parse_memory_depth,
        doc="Acquisition memory (auto, or points: 12k…24M with one channel on, half with two, "
        "a quarter with three or four; the scope refuses the others)",
    )
    trigger_type = Setting(
        choices=TRIGGER_TYPES,
        header=":TRIG:MODE",
        doc="Trigger type (this driver sets up the edge trigger)",
    )
    trigger_source = Setting(
        choices=EDGE_SOURCES,
        header=":TRIG:EDG:SOUR",
        doc="Edge trigger source: an analog channel, the mains, or a digital input D0-D15 "
        "(MSO models)",
    )
    trigger_slope = Setting(
        choices={"rising": "POS", "falling": "NEG", "either": "RFAL"},
        header=":TRIG:EDG:SLOP",
        doc="Edge trigger slope",
    )
    trigger_level = Setting(
        unit="V",
        # The scope checks the level against its source channel; declared is the widest.
        min=-_TRIGGER_LEVEL,
        max=_TRIGGER_LEVEL,
        header=":TRIG:EDG:LEV",
        doc="Edge trigger level (within ±5 divisions of the source's screen centre, checked "
        "by the scope)",
    )
    trigger_sweep = Setting(
        choices={"auto": "AUTO", "normal": "NORM", "single": "SING"},
        header=":TRIG:SWE",
        doc="Auto acquires without a trigger too; normal only on triggers; single once",
    )

    trigger_status = Reading(
        choices=("triggered", "waiting", "running", "auto", "stopped"),
        get=":TRIG:STAT?",
        parse=parse_trigger_status,
        doc="Acquisition state (:TRIGger:STATus?)",
    )
    sample_rate = Reading(unit="Hz", get=":ACQ:SRAT?", doc="Sample rate now (samples per second)")
    acquire_type = Setting(
        choices={"normal": "NORM", "average": "AVER", "peak": "PEAK", "high resolution": "HRES"},
        header=":ACQ:TYPE",
        doc="Normal, averaged over `averages` acquisitions (noise / √N), peak detect, or "
        "high resolution",
    )
    averages = Setting(
        int,
        choices=tuple(2**n for n in range(1, 11)),
        header=":ACQ:AVER",
        doc="Acquisitions averaged in average mode (2 … 1024, powers of two)",
    )

    traces = Reading(
        unit="V",
        axes=[
            Axis("channel", values=(1,), label="channel"),
            Axis("time", size=_NORMAL_POINTS, unit="s", label="time from the trigger"),
        ],
        side_effect=lambda scope: scope.traces_effect(),
        doc="Every shown channel's trace as on screen (1200 points each, :WAV:MODE NORM), in "
        "volts: one row per channel over the time from the trigger they share",
    )

    run = Action(":RUN", doc="Acquire continuously")
    halt = Action(":STOP", label="Stop", doc="Stop acquiring; the last acquisition stays")
    single = Action(":SING", doc="Acquire once, at the next trigger, then stop")
    force_trigger = Action(":TFOR", doc="Trigger now, whatever the trigger condition")

    def store(self, name: str, value: Any) -> None:
        super().store(name, value)
        if name in ("timebase_scale", "timebase_offset"):
            scale = self.last_value("timebase_scale")
            offset = self.last_value("timebase_offset")
            if scale is not None and offset is not None:
                # Normal mode shows 12 divisions in 1200 points, centred on the offset.
                start = offset - _DIVISIONS / 2 * scale
                step = scale * _DIVISIONS / _NORMAL_POINTS
                for channel in self._channels.values():
                    assert isinstance(channel, ScopeChannel)
                    channel.follow_time_axis(start, step)
                self.follow_traces(start, step)

    # -- every shown channel at once ------------------------------------------------------

    def shown_channels(self) -> tuple[int, ...]:
        """The channels on screen (``display``), which ``traces`` transfers."""
        return tuple(
            number
            for number in (1, 2, 3, 4)
            if self._channels[f"ch{number}"].last_value("display") is not False
        )

    def follow_traces(self, start: float | None = None, step: float | None = None) -> None:
        """Make ``traces``' channel axis the shown channels and its time axis the scope's."""
        channel, time = self.readings.traces.spec.axes or ()
        shown = self.shown_channels()
        moved = None if start is None or step is None else moved_time(time, start, step, 1200)
        if tuple(channel.coordinate().tolist()) != shown or moved is not None:
            self.update_declaration("traces", axes=[channel.with_values(shown), moved or time])

    def traces_effect(self) -> str | None:
        """What transferring every shown channel changes (the waveform source, in turn)."""
        shown = self.shown_channels()
        if len(shown) == 1:
            return self.transfer_change(shown[0])
        return "transferring them selects each shown channel in turn (NORM, BYTE) for :WAVeform"

    def _get_traces(self) -> np.ndarray:
        shown = self.shown_channels()
        rows = []
        for number in shown:
            waveform = self._transfer(number, "normal")
            preamble = waveform.preamble
            start = preamble.x_origin - preamble.x_reference * preamble.x_increment
            channel = self._channels[f"ch{number}"]
            assert isinstance(channel, ScopeChannel)
            channel.follow_time_axis(start, preamble.x_increment, preamble.points)
            self.follow_traces(start, preamble.x_increment)
            rows.append(waveform.volts)
        return np.stack(rows) if rows else np.empty((0, _NORMAL_POINTS))

    # -- waveform transfer ----------------------------------------------------------------

    def _raise_errors(self, command: str) -> None:
        found = self._drain_errors()
        if found:
            code, message = found[0]
            raise InstrumentError(
                f"the scope refused {command!r}: error {code}, {message}",
                code=code,
                command=command,
                hint="Check the channel and the acquisition state",
            )

    def _on_open(self) -> None:
        super()._on_open()
        self._wav_setup: tuple[str, ...] = ()  # the :WAV: commands in force (sent by us)

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        if spec.role == "action":  # *RST and the like: the :WAV: set-up may have moved
            self._wav_setup = ()
        super()._after_set(spec, command)

    def after_raw_message(self, message: str, settings: list[str], reply: str | None) -> None:
        self._wav_setup = ()  # a raw message may have moved the :WAV: set-up too
        super().after_raw_message(message, settings, reply)

    def transfer_change(self, channel: int, mode: str = "normal") -> str | None:
        """What transferring ``channel``'s trace would change on the scope now: the waveform
        source, mode or format (None when the last transfer left them so)."""
        token = "RAW" if mode == "raw" else "NORM"
        if self._wav_setup[:1] == (f"CHAN{channel} {token}",):
            return None
        return f"transferring it selects CH{channel}, {token}, BYTE for :WAVeform"

    def _send_wav(self, key: str, command: str) -> None:
        """Send a :WAV: set-up unless the last one we sent is still in force."""
        position = 0 if key.startswith("CHAN") else 1
        setup = list(self._wav_setup) + [""] * (2 - len(self._wav_setup))
        if setup[position] == key:
            return
        self.write(command)
        if position == 0:
            self._raise_errors(command)
        setup[position] = key
        if position == 0:
            setup[1] = ""
        self._wav_setup = tuple(setup)

    def preamble(self) -> Preamble:
        """``:WAV:PRE?`` for the present waveform source and mode."""
        return self.run_io(self._preamble)

    def _preamble(self) -> Preamble:
        reply = self.query(":WAV:PRE?")
        try:
            return Preamble.parse(reply)
        except ReplyError as error:
            error.command = ":WAV:PRE?"
            raise

    def waveform(self, channel: int = 1, *, mode: str = "normal") -> Waveform:
        """Transfer one channel's trace: ``mode="normal"`` (the screen, 1200 points) or
        ``"raw"`` (the acquisition memory; the scope must be stopped)."""
        self._source(channel, mode)
        return self.run_io(self._transfer, channel, mode)

    def _source(self, channel: int, mode: str) -> None:
        """Refuse a channel that does not exist or is off, or a mode that does not exist."""
        if channel not in (1, 2, 3, 4):
            raise ConfigurationError(
                f"channel {channel!r} does not exist", instrument=self.name, hint="Use 1 to 4"
            )
        if mode not in ("normal", "raw"):
            raise ConfigurationError(
                f"mode {mode!r} is not 'normal' or 'raw'",
                instrument=self.name,
                hint="normal reads the screen, raw the memory",
            )
        source = self._channels[f"ch{channel}"]
        if source.last_value("display") is False:
            raise ConfigurationError(
                f"channel {channel} is off, so it has no waveform",
                instrument=self.name,
                hint=f"Turn it on: {self.name}.ch{channel}.display = True",
            )

    def raw_preamble(self, channel: int) -> Preamble:
        """The RAW-mode preamble of ``channel``'s memory (the scope must be stopped)."""
        self._source(channel, "raw")
        return self.run_io(self._raw_preamble, channel)

    def _raw_preamble(self, channel: int) -> Preamble:
        self._require_stopped()
        self._select(channel, "raw")
        return self._preamble()

    def _require_stopped(self) -> None:
        state = parse_trigger_status(self.query(":TRIG:STAT?"))
        if state != "stopped":
            raise ConfigurationError(
                f"raw mode reads the acquisition memory, which needs a stopped scope "
                f"(it is {state})",
                instrument=self.name,
                hint=f"Call {self.name}.halt() or {self.name}.single() first",
            )

    def _select(self, channel: int, mode: str) -> None:
        token = "RAW" if mode == "raw" else "NORM"
        setup = f":WAV:SOUR CHAN{channel};:WAV:MODE {token};:WAV:FORM BYTE;:WAV:STAR 1"
        self._send_wav(f"CHAN{channel} {token}", setup)

    def _transfer(self, channel: int, mode: str) -> Waveform:
        if mode == "raw":
            self._require_stopped()
        self._select(channel, mode)
        preamble = self._preamble()
        if preamble.format != 0:
            raise ReplyError(
                f"the preamble says format {preamble.format}, not BYTE (0)",
                command=":WAV:PRE?",
                reply=str(preamble),
            )
        codes = np.empty(preamble.points, dtype=np.uint8)
        chunk = self.max_points_per_read if mode == "raw" else _NORMAL_POINTS
        for first in range(1, preamble.points + 1, chunk):
            last = min(first + chunk - 1, preamble.points)
            # STOP first: chunks move up, so STARt never passes STOP on the way.
            self._send_wav(f"{first}-{last}", f":WAV:STOP {last};:WAV:STAR {first}")
            payload = self._query_block(":WAV:DATA?")
            if len(payload) != last - first + 1:
                raise ReplyError(
                    f":WAV:DATA? for points {first}…{last} returned {len(payload)} bytes, "
                    f"not {last - first + 1}",
                    command=":WAV:DATA?",
                    reply=payload[:40],
                    hint="The scope may have been running or reconfigured during the transfer",
                )
            codes[first - 1 : last] = np.frombuffer(payload, dtype=np.uint8)
        return Waveform(
            time=preamble.times(1, preamble.points),
            volts=preamble.volts(codes),
            channel=channel,
            preamble=preamble,
        )
