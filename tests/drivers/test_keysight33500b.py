"""Keysight 33500B: the protocol (command/response pairs) and the generator on the bench."""

from __future__ import annotations

import pytest

from labkit import (
    ChoiceError,
    ConfigurationError,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
    ReplyError,
)
from labkit.drivers.keysight import Keysight33500B, Keysight33511B, Keysight33522B
from labkit.sim import Dialogue, serve
from labkit.sim.twins._keysight33500b import Keysight33500BTwin

IDN = "Keysight Technologies,33522B,MY59001234,5.03-3.15-2.00-58-00"


def _channel_replies(n: int) -> dict[str, str]:
    return {
        f"SOUR{n}:FUNC?": "SIN",
        f"SOUR{n}:FREQ?": "+1.000000000000000E+03",
        f"SOUR{n}:VOLT?": "+1.000000000000000E-01",
        f"SOUR{n}:VOLT:OFFS?": "+0.000000000000000E+00",
        f"SOUR{n}:PHAS?": "+0.000000000000000E+00",
        f"SOUR{n}:FUNC:SQU:DCYC?": "+5.000000000000000E+01",
        f"SOUR{n}:FUNC:PULS:DCYC?": "+1.000000000000000E+01",
        f"SOUR{n}:FUNC:RAMP:SYMM?": "+1.000000000000000E+02",
        f"OUTP{n}:LOAD?": "+5.000000000000000E+01",
        f"OUTP{n}?": "0",
        f"SOUR{n}:BURS:STAT?": "0",
        f"SOUR{n}:BURS:MODE?": "TRIG",
        f"SOUR{n}:BURS:NCYC?": "+1.000000000000000E+00",
        f"SOUR{n}:BURS:INT:PER?": "+1.000000000000000E-02",
        f"TRIG{n}:SOUR?": "IMM",
        f"TRIG{n}:TIM?": "+1.000000000000000E-03",
    }


POWER_ON = {
    "*IDN?": IDN,
    **_channel_replies(1),
    **_channel_replies(2),
    "OUTP:TRIG?": "0",
    "OUTP:TRIG:SLOP?": "POS",
}
UNITS = ":SOUR1:VOLT:UNIT VPP;:SOUR2:VOLT:UNIT VPP;:UNIT:ANGL DEG"


@pytest.fixture
def scripted(unique_name):
    dialogue = serve(unique_name, Dialogue(dict(POWER_ON), error_query="SYST:ERR?"))
    fg = Keysight33522B(f"labsim://{unique_name}", name="fg", timeout=0.3)
    return fg, dialogue


def test_connecting_identifies_sets_the_units_and_reads_both_outputs(scripted):
    fg, dialogue = scripted
    assert dialogue.sent[:3] == ["*CLS", "*IDN?", UNITS]
    assert set(dialogue.sent[3:]) == set(POWER_ON) - {"*IDN?"}
    assert (fg.ch1.function, fg.ch1.frequency, fg.ch1.amplitude) == ("sine", 1e3, 0.1)
    assert (fg.ch2.load, fg.ch2.output) == ("50 ohm", False)
    assert fg.ch1.name == "fg.ch1"


@pytest.mark.parametrize(
    ("channel", "setting", "value", "command"),
    [
        ("ch1", "function", "square", "SOUR1:FUNC SQU"),
        ("ch2", "function", "ramp", "SOUR2:FUNC RAMP"),
        ("ch1", "frequency", "2.5 kHz", "SOUR1:FREQ 2500"),
        ("ch2", "frequency", 30e6, "SOUR2:FREQ 30000000"),
        ("ch1", "amplitude", "500 mV", "SOUR1:VOLT 0.5"),
        ("ch1", "offset", -1.5, "SOUR1:VOLT:OFFS -1.5"),
        ("ch2", "phase", 90, "SOUR2:PHAS 90"),
        ("ch1", "square_duty_cycle", 20, "SOUR1:FUNC:SQU:DCYC 20"),
        ("ch1", "pulse_duty_cycle", 5, "SOUR1:FUNC:PULS:DCYC 5"),
        ("ch1", "ramp_symmetry", 50, "SOUR1:FUNC:RAMP:SYMM 50"),
        ("ch1", "output", True, "OUTP1 ON"),
        ("ch2", "output", False, "OUTP2 OFF"),
    ],
)
def test_each_setting_sends_its_command_then_checks_the_error_queue(
    scripted, channel, setting, value, command
):
    fg, dialogue = scripted
    dialogue.sent.clear()
    getattr(fg, channel).set(setting, value)
    assert dialogue.sent == [command, "SYST:ERR?"]


def test_changing_the_load_reads_amplitude_and_offset_again(scripted):
    fg, dialogue = scripted
    dialogue.replies["SOUR1:VOLT?"] = "+2.000000000000000E-01"
    dialogue.sent.clear()
    fg.ch1.load = "high Z"
    assert dialogue.sent == ["OUTP1:LOAD INF", "SOUR1:VOLT?", "SOUR1:VOLT:OFFS?", "SYST:ERR?"]
    assert fg.ch1.amplitude == pytest.approx(0.2)


def test_static_limits_are_refused_before_any_byte(scripted):
    fg, dialogue = scripted
    dialogue.sent.clear()
    with pytest.raises(LimitError):
        fg.ch1.frequency = "31 MHz"
    with pytest.raises(LimitError):
        fg.ch2.amplitude = 25
    with pytest.raises(LimitError):
        fg.ch1.offset = -11
    with pytest.raises(LimitError):
        fg.ch1.load = "20 kohm"  # the generator takes 1 Ω to 10 kΩ, or high Z
    with pytest.raises(LimitError):
        fg.ch1.load = "0.5 ohm"
    with pytest.raises(ChoiceError):
        fg.ch1.load = "lots"
    with pytest.raises(ChoiceError):
        fg.ch1.function = "sawtooth"
    assert dialogue.sent == []


def test_a_clipped_value_is_an_error_and_the_generators_value_is_kept(scripted):
    fg, dialogue = scripted
    dialogue.errors.append('-222,"Data out of range;value clipped to upper limit"')
    dialogue.replies["SOUR1:VOLT?"] = "+1.000000000000000E+01"
    with pytest.raises(InstrumentError) as caught:
        fg.ch1.amplitude = 15
    assert caught.value.code == -222
    assert caught.value.command == "SOUR1:VOLT 15"
    assert caught.value.instrument == "fg.ch1"
    assert "10 V now" in str(caught.value)
    assert fg.ch1.amplitude == 10.0


def test_any_load_the_generator_can_have_is_read(scripted):
    """OUTPut:LOAD takes 1 Ω to 10 kΩ or INFinity: a generator left at 75 Ω is not an error."""
    fg, dialogue = scripted
    for reply, shown in [
        ("+7.500000000000000E+01", "75 ohm"),
        ("+1.000000000000000E+03", "1 kohm"),
        ("+1.000000000000000E+00", "1 ohm"),
        ("+9.900000000000000E+37", "high Z"),
    ]:
        dialogue.replies["OUTP1:LOAD?"] = reply
        assert fg.ch1.read("load") == shown
    dialogue.sent.clear()
    fg.ch1.load = "75 ohm"
    fg.ch1.load = "2.5 kohm"
    fg.ch1.load = "high Z"
    assert [c for c in dialogue.sent if "LOAD " in c] == [
        "OUTP1:LOAD 75",
        "OUTP1:LOAD 2500",
        "OUTP1:LOAD INF",
    ]


def test_text_where_a_number_belongs_is_an_error(scripted):
    fg, dialogue = scripted
    dialogue.replies["SOUR2:FREQ?"] = "SIN"
    with pytest.raises(ReplyError) as caught:
        fg.ch2.read("frequency")
    assert caught.value.command == "SOUR2:FREQ?"
    assert fg.ch2.frequency == 1e3


def test_make_safe_switches_both_outputs_off(scripted):
    fg, dialogue = scripted
    fg.ch1.output = True
    dialogue.sent.clear()
    fg.make_safe()
    assert [c for c in dialogue.sent if c != "SYST:ERR?"] == ["OUTP1 OFF", "OUTP2 OFF"]


def test_phases_synchronise(scripted):
    fg, dialogue = scripted
    dialogue.sent.clear()
    fg.sync_phases()
    assert dialogue.sent == ["PHAS:SYNC", "SYST:ERR?"]


def test_a_model_class_refuses_another_model(unique_name):
    serve(unique_name, Dialogue(dict(POWER_ON), error_query="SYST:ERR?"))
    with pytest.raises(ConfigurationError, match="not a 33511B"):
        Keysight33511B(f"labsim://{unique_name}", name="small_fg", timeout=0.3)


def test_the_family_class_drives_output_1_of_any_model(unique_name):
    replies = {**POWER_ON, "*IDN?": IDN.replace("33522B", "33511B")}
    dialogue = serve(unique_name, Dialogue(replies, error_query="SYST:ERR?"))
    fg = Keysight33500B(f"labsim://{unique_name}", name="any_fg", timeout=0.3)
    assert dialogue.sent[2] == ":SOUR1:VOLT:UNIT VPP;:UNIT:ANGL DEG"
    assert not any(c.startswith(("SOUR2", "OUTP2")) for c in dialogue.sent)
    assert list(fg.channels) == ["ch1"]


# -- on the bench, through pyvisa ----------------------------------------------------------------


@pytest.fixture
def generator(bench):
    fg = Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)
    return fg, bench.signal.generator


def test_the_load_setting_decides_what_reaches_the_high_impedance_path(generator):
    fg, physical = generator
    fg.ch1.amplitude = 1.0
    fg.ch1.offset = 0.25
    fg.ch1.output = True
    assert (physical.amplitude, physical.offset) == (pytest.approx(2.0), pytest.approx(0.5))
    fg.ch1.load = "high Z"  # the output does not change; what the generator reports does
    assert (fg.ch1.amplitude, fg.ch1.offset) == (pytest.approx(2.0), pytest.approx(0.5))
    assert physical.amplitude == pytest.approx(2.0)
    fg.ch1.amplitude = 1.0
    assert physical.amplitude == pytest.approx(1.0)
    assert physical.output is True


def test_waveform_frequency_and_phase_reach_the_bench(generator):
    fg, physical = generator
    fg.ch1.function = "triangle"
    fg.ch1.frequency = "12.5 kHz"
    fg.ch1.phase = -45
    assert (physical.waveform, physical.frequency, physical.phase) == ("triangle", 12.5e3, -45)
    fg.ch2.frequency = 5e3  # output 2 is not wired to the bench
    assert physical.frequency == 12.5e3


def test_the_generator_enforces_amplitude_and_offset_together(generator):
    fg, _ = generator
    with pytest.raises(InstrumentError) as caught:
        fg.ch1.amplitude = 15  # 10 Vpp at most into 50 Ω
    assert caught.value.code == -222
    assert fg.ch1.amplitude == pytest.approx(10.0)
    fg.ch1.amplitude = 1.0
    fg.ch1.offset = 4.0
    with pytest.raises(InstrumentError) as caught:
        fg.ch1.amplitude = 4.0  # |4 V| + 2 V > 5 V
    assert caught.value.code == -221
    assert fg.ch1.amplitude == pytest.approx(2.0)  # what the generator kept
    fg.ch1.load = "high Z"
    fg.ch1.offset = 0
    fg.ch1.amplitude = 15  # fine open-circuit
    assert fg.ch1.read("amplitude") == pytest.approx(15.0)


def test_ramps_stop_at_200_khz(generator):
    fg, _ = generator
    fg.ch1.frequency = 1e6
    with pytest.raises(InstrumentError) as caught:
        fg.ch1.function = "ramp"
    assert caught.value.code == -221
    assert fg.ch1.read("frequency") == pytest.approx(200e3)


def test_a_20_mhz_model(bench, served):
    twin = Keysight33500BTwin(bench, name="fg20", model="33511B")
    serve("fg20", twin)
    served.append("fg20")
    model = Keysight33511B("TCPIP0::fg20::INSTR@labkit", name="fg20", timeout=1.0)
    with pytest.raises(LimitError, match="20"):
        model.ch1.frequency = 25e6  # known before any byte
    family = Keysight33500B("TCPIP0::fg20::INSTR@labkit", name="fg20_family", timeout=1.0)
    with pytest.raises(InstrumentError) as caught:
        family.ch1.frequency = 25e6  # the family class learns it from the generator
    assert caught.value.code == -222
    assert family.ch1.frequency == pytest.approx(20e6)


def test_a_timeout_and_a_garbled_reply_are_typed_errors_and_the_generator_recovers(bench):
    fg = Keysight33522B(bench.address("fg"), name="fg", timeout=0.5)
    bench.inject("fg", "timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        fg.ch1.read("frequency")
    assert (caught.value.instrument, caught.value.command) == ("fg.ch1", "SOUR1:FREQ?")
    assert caught.value.resource == bench.address("fg")
    bench.inject("fg", "garbled")
    with pytest.raises(ReplyError) as caught:
        fg.ch2.read("amplitude")
    assert (caught.value.instrument, caught.value.command) == ("fg.ch2", "SOUR2:VOLT?")
    assert caught.value.resource == bench.address("fg")
    fg.ch1.frequency = 2e3
    assert fg.ch1.read("frequency") == 2e3
