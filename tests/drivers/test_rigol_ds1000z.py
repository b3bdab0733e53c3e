"""Rigol DS1000Z: the protocol, the binary waveform transfer, and the scope on the bench."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from labkit import (
    ChoiceError,
    ConfigurationError,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    ReplyError,
)
from labkit.drivers.keysight import Keysight33522B
from labkit.drivers.rigol import Preamble, RigolDS1000Z
from labkit.sim import Dialogue, serve

IDN = "RIGOL TECHNOLOGIES,DS1054Z,DS1ZA000000001,00.04.04.SP3"


def _channel(n: int) -> dict[str, str]:
    return {
        f":CHAN{n}:DISP?": "1" if n == 1 else "0",
        f":CHAN{n}:SCAL?": "1.000000e+00",
        f":CHAN{n}:OFFS?": "0.000000e+00",
        f":CHAN{n}:COUP?": "DC",
        f":CHAN{n}:PROB?": "1.000000e+01",
        f":CHAN{n}:BWL?": "OFF",
    }


POWER_ON = {
    "*IDN?": IDN,
    ":TIM:MAIN:SCAL?": "1.000000e-06",
    ":TIM:MAIN:OFFS?": "0.000000e+00",
    ":ACQ:MDEP?": "AUTO",
    ":TRIG:MODE?": "EDGE",
    ":TRIG:EDG:SOUR?": "CHAN1",
    ":TRIG:EDG:SLOP?": "POS",
    ":TRIG:EDG:LEV?": "0.000000e+00",
    ":TRIG:SWE?": "AUTO",
    ":ACQ:TYPE?": "NORM",
    ":ACQ:AVER?": "2",
    **_channel(1),
    **_channel(2),
    **_channel(3),
    **_channel(4),
}
ERROR_QUERY = "SYST:ERR?"


@pytest.fixture
def scripted(unique_name):
    dialogue = Dialogue(dict(POWER_ON), error_query=ERROR_QUERY, no_error='0,"No error"')
    dialogue.encoding = "latin-1"  # binary blocks: one byte per character
    serve(unique_name, dialogue)
    scope = RigolDS1000Z(f"labsim://{unique_name}", name="scope", timeout=0.5)
    return scope, dialogue


def test_connecting_identifies_and_reads_every_channel(scripted):
    scope, dialogue = scripted
    assert dialogue.sent[:2] == ["*CLS", "*IDN?"]
    assert set(dialogue.sent[2:]) == set(POWER_ON) - {"*IDN?"}
    assert (scope.timebase_scale, scope.memory_depth, scope.trigger_source) == (1e-6, "auto", "ch1")
    assert (scope.ch1.display, scope.ch2.display, scope.ch4.probe) == (True, False, 10)


@pytest.mark.parametrize(
    ("owner", "setting", "value", "command"),
    [
        (None, "timebase_scale", "200 us", ":TIM:MAIN:SCAL 0.0002"),
        (None, "timebase_offset", "-1 ms", ":TIM:MAIN:OFFS -0.001"),
        (None, "memory_depth", "1.2M", ":ACQ:MDEP 1200000"),
        (None, "memory_depth", "auto", ":ACQ:MDEP AUTO"),
        (None, "trigger_type", "edge", ":TRIG:MODE EDGE"),
        (None, "trigger_source", "ch2", ":TRIG:EDG:SOUR CHAN2"),
        (None, "trigger_slope", "falling", ":TRIG:EDG:SLOP NEG"),
        (None, "trigger_level", "150 mV", ":TRIG:EDG:LEV 0.15"),
        (None, "trigger_sweep", "normal", ":TRIG:SWE NORM"),
        ("ch3", "display", True, ":CHAN3:DISP 1"),
        ("ch1", "scale", "50 mV", ":CHAN1:SCAL 0.05"),
        ("ch2", "offset", -0.3, ":CHAN2:OFFS -0.3"),
        ("ch4", "coupling", "AC", ":CHAN4:COUP AC"),
        ("ch1", "bandwidth_limit", "20 MHz", ":CHAN1:BWL 20M"),
    ],
)
def test_each_setting_sends_its_command_then_checks_the_error_queue(
    scripted, owner, setting, value, command
):
    scope, dialogue = scripted
    dialogue.sent.clear()
    (getattr(scope, owner) if owner else scope).set(setting, value)
    assert dialogue.sent == [command, ERROR_QUERY]


def test_the_probe_ratio_rescales_scale_and_offset(scripted):
    scope, dialogue = scripted
    dialogue.replies[":CHAN1:SCAL?"] = "1.000000e-01"
    dialogue.sent.clear()
    scope.ch1.probe = 1
    assert dialogue.sent == [":CHAN1:PROB 1", ":CHAN1:SCAL?", ":CHAN1:OFFS?", ERROR_QUERY]
    assert scope.ch1.scale == pytest.approx(0.1)


def test_values_the_scope_cannot_take_are_refused_before_any_byte(scripted):
    scope, dialogue = scripted
    dialogue.sent.clear()
    with pytest.raises(ChoiceError, match="not one of the allowed values"):
        scope.timebase_scale = "300 us"
    with pytest.raises(ChoiceError):
        scope.timebase_scale = 1e-9  # faster than 5 ns/div
    with pytest.raises(ChoiceError):
        scope.memory_depth = "10k"
    with pytest.raises(ChoiceError):
        scope.ch2.probe = 3
    with pytest.raises(LimitError):
        scope.ch1.scale = 2e4
    assert dialogue.sent == []


def test_run_stop_single_and_the_trigger_status(scripted):
    scope, dialogue = scripted
    dialogue.replies[":TRIG:STAT?"] = "WAIT"
    dialogue.sent.clear()
    scope.halt()
    scope.run()
    scope.single()
    scope.force_trigger()
    assert [c for c in dialogue.sent if c != ERROR_QUERY] == [":STOP", ":RUN", ":SING", ":TFOR"]
    assert scope.read("trigger_status") == "waiting"
    dialogue.replies[":TRIG:STAT?"] = "BUSY"
    with pytest.raises(ReplyError):
        scope.read("trigger_status")


def _block(payload: bytes) -> str:
    return f"#9{len(payload):09d}".encode().decode() + payload.decode("latin-1")


def _memory(dialogue: Dialogue, codes: np.ndarray) -> None:
    """Answer :WAV:DATA? with the codes between the last :WAV:STAR and :WAV:STOP."""
    window = {"start": 1, "stop": len(codes)}

    def remember(message: str) -> None:
        for key, number in re.findall(r":WAV:(STAR|STOP) (\d+)", message):
            window["start" if key == "STAR" else "stop"] = int(number)

    def data(_: str) -> str:
        return _block(codes[window["start"] - 1 : window["stop"]].tobytes())

    dialogue.replies[re.compile(r".*:WAV:(STAR|STOP).*")] = lambda m: remember(m.string)
    dialogue.replies[":WAV:DATA?"] = data


def test_a_normal_transfer_scales_bytes_with_the_preamble(scripted):
    scope, dialogue = scripted
    codes = np.arange(1200) % 256
    dialogue.replies[":WAV:PRE?"] = "0,0,1200,1,2.000000e-08,-1.200000e-05,0,4.000000e-02,50,127"
    _memory(dialogue, codes.astype(np.uint8))
    dialogue.sent.clear()
    trace = scope.waveform(1)
    assert dialogue.sent == [
        ":WAV:SOUR CHAN1;:WAV:MODE NORM;:WAV:FORM BYTE;:WAV:STAR 1",
        ERROR_QUERY,
        ":WAV:PRE?",
        ":WAV:STOP 1200;:WAV:STAR 1",
        ":WAV:DATA?",
    ]
    assert trace.channel == 1
    assert trace.volts == pytest.approx((codes - 50 - 127) * 0.04)
    assert trace.time[0] == pytest.approx(-12e-6)
    assert np.diff(trace.time) == pytest.approx(np.full(1199, 2e-8))
    assert trace.sample_rate == pytest.approx(50e6)


def test_a_raw_transfer_reads_the_memory_in_chunks_of_250000_points(scripted):
    scope, dialogue = scripted
    codes = (np.arange(250_001) * 7 % 251).astype(np.uint8)
    dialogue.replies[":TRIG:STAT?"] = "STOP"
    dialogue.replies[":WAV:PRE?"] = "0,2,250001,1,1.000000e-09,-3.000000e-04,0,4.132813e-01,0,122"
    _memory(dialogue, codes)
    dialogue.sent.clear()
    trace = scope.waveform(1, mode="raw")
    windows = [c for c in dialogue.sent if c.startswith(":WAV:STOP")]
    assert windows == [":WAV:STOP 250000;:WAV:STAR 1", ":WAV:STOP 250001;:WAV:STAR 250001"]
    assert dialogue.sent.count(":WAV:DATA?") == 2
    assert dialogue.sent[0] == ":TRIG:STAT?"
    np.testing.assert_allclose(trace.volts, (codes - 122.0) * 0.4132813)
    assert trace.time[-1] == pytest.approx(-3e-4 + 250_000e-9)


def test_raw_needs_a_stopped_scope_and_an_off_channel_has_no_trace(scripted):
    scope, dialogue = scripted
    dialogue.replies[":TRIG:STAT?"] = "TD"
    with pytest.raises(ConfigurationError, match="halt"):
        scope.waveform(1, mode="raw")
    dialogue.sent.clear()
    with pytest.raises(ConfigurationError, match=r"ch2\.display = True"):
        scope.waveform(2)
    with pytest.raises(ConfigurationError):
        scope.waveform(5)
    assert dialogue.sent == []


def test_a_short_or_malformed_transfer_is_an_error(scripted):
    scope, dialogue = scripted
    dialogue.replies[":WAV:PRE?"] = "0,0,1200,1,2.000000e-08,-1.200000e-05,0,4.000000e-02,0,127"
    dialogue.replies[":WAV:DATA?"] = _block(bytes(1000))
    with pytest.raises(ReplyError, match="1000 bytes, not 1200") as caught:
        scope.waveform(1)
    assert caught.value.instrument == "scope"
    dialogue.replies[":WAV:DATA?"] = "1,2,3"
    with pytest.raises(ReplyError, match="block"):
        scope.waveform(1)
    dialogue.replies[":WAV:PRE?"] = "0,0,1200,1,0.000000,-0.000006,0,0.008000,50,127"
    with pytest.raises(ReplyError, match="increments"):
        scope.waveform(1)
    dialogue.replies[":WAV:PRE?"] = "0,0,1200"
    with pytest.raises(ReplyError, match="10") as caught:
        scope.preamble()
    assert (caught.value.instrument, caught.value.command) == ("scope", ":WAV:PRE?")


def test_the_preamble_parses_the_programming_guides_example():
    preamble = Preamble.parse("0,2,6000000,1,1.000000e-09,-3.000000e-03,0,4.132813e-01,0,122")
    assert (preamble.format, preamble.type, preamble.points) == (0, 2, 6_000_000)
    assert preamble.volts(np.array([122, 123])) == pytest.approx([0.0, 0.4132813])


# -- on the bench, through pyvisa ---------------------------------------------------------------


@pytest.fixture
def setup(bench):
    fg = Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)
    scope = RigolDS1000Z(bench.address("scope"), name="scope", timeout=1.0)
    fg.ch1.load = "high Z"
    fg.ch1.frequency = 3e3
    fg.ch1.amplitude = 1.6
    fg.ch1.output = True
    scope.ch1.probe = 1  # a BNC cable, not a 10:1 probe
    scope.ch1.scale = 0.2
    scope.timebase_scale = 1e-3
    return fg, scope, bench


def _peak_frequency(trace) -> float:
    spectrum = np.abs(np.fft.rfft(trace.volts - trace.volts.mean()))
    frequencies = np.fft.rfftfreq(len(trace), trace.preamble.x_increment)
    return float(frequencies[np.argmax(spectrum)])


def test_the_screen_shows_the_generators_frequency_and_amplitude(setup):
    _, scope, _ = setup
    trace = scope.waveform(1)
    assert len(trace) == 1200
    assert trace.time[-1] - trace.time[0] == pytest.approx(12e-3, rel=1e-3)
    resolution = 1 / 12e-3
    assert _peak_frequency(trace) == pytest.approx(3e3, abs=resolution)
    lsb = trace.preamble.y_increment
    assert (trace.volts.max() - trace.volts.min()) / 2 == pytest.approx(0.8, abs=lsb)


def test_the_trace_is_triggered_on_the_rising_edge_at_the_level(setup):
    _, scope, _ = setup
    scope.trigger_level = 0.4
    trace = scope.waveform(1)
    at_trigger = np.interp(0.0, trace.time, trace.volts)
    assert at_trigger == pytest.approx(0.4, abs=trace.preamble.y_increment)
    assert np.interp(2e-5, trace.time, trace.volts) > at_trigger  # rising


def test_raw_memory_through_the_block_path_in_chunks(setup):
    fg, scope, bench = setup
    scope.memory_depth = "1.2M"
    scope.ch2.display = False
    scope.single()
    assert scope.read("trigger_status") == "stopped"
    trace = scope.waveform(1, mode="raw")
    assert len(trace) == 1_200_000
    assert trace.sample_rate == pytest.approx(scope.read("sample_rate"))
    assert trace.sample_rate == pytest.approx(1.2e6 / 12e-3)
    assert _peak_frequency(trace) == pytest.approx(3e3, abs=1 / 12e-3)
    assert (trace.volts.max() - trace.volts.min()) / 2 == pytest.approx(0.8, abs=0.008)
    fg.ch1.frequency = 5e3  # a stopped scope keeps its record's timing
    bench.advance(1.0)
    assert len(scope.waveform(1, mode="raw")) == 1_200_000


def test_raw_data_of_a_running_scope_is_an_empty_block_and_a_queued_error(setup):
    _, _scope, bench = setup
    twin = bench.instrument("scope")
    twin.handle(":RUN;:WAV:SOUR CHAN1;:WAV:MODE RAW;:WAV:FORM BYTE")
    assert twin.handle(":WAV:DATA?") == "#9000000000"  # the query still gets its block
    assert twin.handle(":SYST:ERR?") == '-221,"Settings conflict;stop the scope to read RAW memory"'


def test_channel_2_sees_the_path_with_its_gain_lag_and_noise(setup):
    _, scope, bench = setup
    bench.signal.path.update(gain=0.5, cutoff=20e3)
    scope.ch2.display = True
    scope.ch2.probe = 1
    scope.ch2.scale = 0.1
    trace = scope.waveform(2)
    expected = 0.8 * abs(bench.signal.transfer(3e3))
    assert (np.percentile(trace.volts, 99) - np.percentile(trace.volts, 1)) / 2 == pytest.approx(
        expected, rel=0.1
    )
    assert _peak_frequency(trace) == pytest.approx(3e3, abs=1 / 12e-3)


def test_a_10_to_1_probe_setting_on_a_plain_cable_shows_ten_times_the_voltage(setup):
    _, scope, _ = setup
    scope.ch1.probe = 10
    assert scope.ch1.scale == pytest.approx(2.0)  # the trace keeps its size on screen
    trace = scope.waveform(1)
    assert (trace.volts.max() - trace.volts.min()) / 2 == pytest.approx(8.0, abs=0.08)


def test_the_scope_refuses_a_scale_the_probe_ratio_does_not_allow(setup):
    _, scope, _ = setup
    with pytest.raises(InstrumentError) as caught:
        scope.ch1.scale = 50  # 10 V/div at most with a 1:1 probe
    assert caught.value.code == -222
    assert scope.ch1.scale == pytest.approx(0.2)


def test_a_timeout_and_a_garbled_block_are_typed_errors_and_the_scope_recovers(setup):
    _, _, bench = setup
    address = bench.address("scope")
    scope = RigolDS1000Z(address, name="impatient_scope", timeout=0.3)
    bench.inject("scope", "timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        scope.read("timebase_scale")
    assert caught.value.instrument == "impatient_scope"
    assert caught.value.command == ":TIM:MAIN:SCAL?"
    assert caught.value.resource == address
    bench.inject("scope", "slow", delay=0.0, count=2)  # the error query and the preamble pass
    bench.inject("scope", "garbled")  # ...the data block does not
    with pytest.raises(ReplyError, match="block") as caught:
        scope.waveform(1)
    assert (caught.value.command, caught.value.resource) == (":WAV:DATA?", address)
    assert len(scope.waveform(1)) == 1200


# -- averaging and automatic measurements, on the bench --------------------------------------


def test_automatic_measurements_read_the_generators_square_wave(bench):
    fg = Keysight33522B(bench.address("fg"), name="fg_meas", timeout=1.0)
    scope = RigolDS1000Z(bench.address("scope"), name="scope_meas", timeout=2.0)
    fg.ch1.load = "high Z"
    fg.ch1.function = "square"
    fg.ch1.frequency = 1e3
    fg.ch1.amplitude = 2.0
    fg.ch1.output = True
    scope.ch1.scale = 0.5
    scope.ch1.probe = 1
    scope.timebase_scale = 500e-6
    assert scope.ch1.read("frequency") == pytest.approx(1e3, rel=0.01)
    assert scope.ch1.read("vamp") == pytest.approx(2.0, rel=0.05)
    assert scope.ch1.read("vpp") > 2.0  # the band-limited square wave rings at its edges
    assert scope.ch1.read("duty_cycle") == pytest.approx(0.5, abs=0.02)
    assert scope.ch3.read("vpp") == math.inf  # channel 3 is off: nothing to measure


def test_averaging_divides_the_noise_by_the_root_of_the_count(bench):
    scope = RigolDS1000Z(bench.address("scope"), name="scope_avg", timeout=2.0)
    scope.ch2.display = True
    bench.signal.path.update(noise_density=1e-4)
    scope.ch2.scale = 0.01
    noisy = scope.ch2.read("vrms")
    scope.averages = 64
    scope.acquire_type = "average"
    averaged = scope.ch2.read("vrms")
    assert averaged == pytest.approx(noisy / 8, rel=0.3)
    with pytest.raises(ChoiceError):
        scope.averages = 3


def test_a_second_transfer_of_the_same_trace_sends_only_queries(scripted):
    scope, dialogue = scripted
    dialogue.replies[":WAV:PRE?"] = "0,0,1200,1,2.000000e-08,-1.200000e-05,0,4.000000e-02,50,127"
    _memory(dialogue, (np.arange(1200) % 256).astype(np.uint8))
    assert scope.transfer_change(1) is not None  # nothing transferred yet: it would select CH1
    scope.waveform(1)
    assert scope.transfer_change(1) is None
    assert scope.ch1.readings.trace.spec.side_effect_of(scope.ch1) is None
    dialogue.sent.clear()
    scope.waveform(1)
    assert dialogue.sent == [":WAV:PRE?", ":WAV:DATA?"]
    scope.run()  # an action (a *RST, say) may move the set-up: the next transfer sends it
    dialogue.sent.clear()
    scope.waveform(1)
    assert dialogue.sent[0].startswith(":WAV:SOUR CHAN1")


def test_the_raw_memory_is_an_array_reading_over_the_preambles_time(setup):
    """``raw_trace``: the stopped scope's whole memory, float32 volts over x origin +
    (i − x reference) × x increment; its length is the scope's to tell (describe_raw)."""
    _, scope, _ = setup
    raw = scope.ch1.readings.raw_trace
    assert raw.spec.shape == (None,)
    assert raw.spec.dtype == "float32"
    assert "RAW" in raw.spec.side_effect_of(scope.ch1)  # a panel never transfers it by itself
    with pytest.raises(ConfigurationError, match="needs a stopped scope"):
        scope.ch1.describe_raw()
    scope.memory_depth = "1.2M"
    scope.ch2.display = False
    scope.single()
    assert scope.ch1.describe_raw().size == 1_200_000
    values = scope.ch1.read("raw_trace")
    assert values.dtype == np.float32
    assert values.shape == (1_200_000,)
    waveform = scope.waveform(1, mode="raw")
    np.testing.assert_allclose(raw.spec.axes[0].coordinate(), waveform.time)
    lsb = waveform.preamble.y_increment
    np.testing.assert_allclose(values, waveform.volts, atol=lsb)


def test_traces_has_a_row_per_shown_channel(setup):
    _, scope, _ = setup
    traces = scope.readings.traces
    scope.ch2.display = True
    assert traces.spec.axes[0].coordinate().tolist() == [1, 2]
    assert "each shown channel in turn" in traces.spec.side_effect_of(scope)
    values = scope.read("traces")
    assert values.shape == (2, 1200)
    np.testing.assert_allclose(values[0], scope.waveform(1).volts, atol=0.05)
    scope.ch2.display = False
    assert traces.spec.shape == (1, 1200)
    with pytest.raises(ConfigurationError, match="channel 2 is off"):
        scope.waveform(2)
