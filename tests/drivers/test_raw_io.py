"""Raw I/O (``inst.write()``, ``query()``, ``write_bytes()`` and the drivers' own raw doors)
is no way around limits, interlocks or an instructor's lock — on the shipped drivers, over
their real libraries, with the simulators' own logs of what arrived as the proof that a
refused message sent nothing.

The rule (see ``labkit.core._raw``): a declared setting's command is checked like a set and
stored once sent (and the instrument's error queue read, as after a set); plain queries pass;
anything else goes through only where nothing is guarded (no limit on any setting), or inside
``inst.raw_access(key)``.
"""

from __future__ import annotations

import pytest

from labkit import InstrumentError, InterlockError, LimitError, LockedError, ValidationError
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.oceanoptics import USB2000Plus
from labkit.drivers.rigol import RigolDS1000Z
from labkit.drivers.stanford import SR830
from labkit.drivers.thorlabs import TC200ArgumentError, TC200UndefinedCommand, ThorlabsTC200


def arrived(bench, twin: str) -> list:
    """What the simulator received so far (its own log, below pyvisa/pyserial/pyusb)."""
    return list(bench.instrument(twin).received)


@pytest.fixture
def smu(bench):
    made = Keithley2450(bench.address("smu"), name="smu", timeout=2.0)
    yield made
    made.close()


def test_a_declared_command_is_checked_like_a_set_and_stored(smu, bench):
    before = arrived(bench, "smu")
    with pytest.raises(LimitError, match="hard limit") as refused:
        smu.write(":SOUR:VOLT 500")
    assert refused.value.instrument == "smu"
    assert refused.value.setting == "source_voltage"
    smu.settings.source_voltage.limit(max="5 V")
    with pytest.raises(LimitError, match="soft limit 5 V"):
        smu.write("SOURce:VOLTage 6")  # the long form is the same command
    with pytest.raises(LimitError, match="soft limit 5 V"):
        smu.query(":SOUR:VOLT 6;*OPC?")  # a query carrying a set
    assert arrived(bench, "smu") == before, "a refused raw message reached the instrument"
    # raw_access opens nothing for a declared command: it is still checked
    with smu.raw_access(), pytest.raises(LimitError):
        smu.write(":SOUR:VOLT 6")
    smu.write(":SOUR:VOLT 4")
    assert arrived(bench, "smu")[-2:] == [":SOUR:VOLT 4", ":SYST:ERR?"]
    assert smu.source_voltage == 4.0  # stored, as a set's value would be
    assert smu.read("source_voltage") == 4.0


def test_a_command_with_fixed_parameters_after_the_value_is_that_settings(smu, bench):
    # buffer_size's template is ':TRAC:POIN {}, "defbuffer1"': the value, then the buffer.
    before = arrived(bench, "smu")
    with pytest.raises(LimitError, match="hard limit") as refused:
        smu.write(':TRACe:POINts 5, "defbuffer1"')
    assert refused.value.setting == "buffer_size"
    with pytest.raises(LimitError, match="hard limit"):
        smu.write(":TRAC:POIN 7000000,'defbuffer1'")  # either quote, any spacing
    assert arrived(bench, "smu") == before
    smu.write(':TRAC:POIN 2000, "defbuffer1"')
    assert smu.buffer_size == 2000  # stored, as a set's value would be
    assert smu.read("buffer_size") == 2000
    smu.write(':trac:fill:mode once, "defbuffer1"')
    assert smu.buffer_fill_mode == "once"
    # Another buffer, or none named (the instrument's default), is not what the setting
    # declares: an unknown command, refused where a guard is in force.
    smu.settings.source_voltage.limit(max=5)
    for message in (':TRAC:POIN 5, "defbuffer2"', ":TRAC:POIN 5", ':TRAC:POIN 5, "DEFBUFFER1"'):
        with pytest.raises(LockedError, match="cannot check it"):
            smu.write(message)
    assert arrived(bench, "smu")[-2:] == [':trac:fill:mode once, "defbuffer1"', ":SYST:ERR?"]


def test_unknown_commands_need_raw_access_where_limits_are_in_force(smu, bench):
    # The driver's own limits are guards: with no soft limit, lock or interlock set, a
    # spelling no declaration gives (the optional :LEVel node, a saved setup) is refused.
    before = arrived(bench, "smu")
    for message in (":SOUR:VOLT:LEV 50", ":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 50", "*RCL 1"):
        with pytest.raises(LockedError, match="cannot check it") as refused:
            smu.write(message)
        assert refused.value.instrument == "smu"
        assert "smu.source_voltage is limited to -210 V … 210 V" in str(refused.value)
        assert "with smu.raw_access()" in refused.value.hint
    assert arrived(bench, "smu") == before
    smu.settings.source_voltage.limit(max=2)
    for message in ("*RST", ":SOUR:VOLT:LEV:IMM:AMPL 50", ":SYST:BEEP 440,0.1"):
        with pytest.raises(LockedError, match="cannot check it") as refused:
            smu.write(message)
        assert "smu.source_voltage has soft limits (-210 V … 2 V)" in str(refused.value)
        assert "raw_access()" in refused.value.hint
    with pytest.raises(LimitError, match="soft limit 2 V"):
        smu.write(":SOUR:VOLT 50")
    assert arrived(bench, "smu") == before
    assert smu.read("source_voltage") == 0.0
    assert smu.query("*IDN?").startswith("KEITHLEY")  # plain queries always pass
    with smu.raw_access():
        smu.write(":SYST:BEEP 440,0.1")
    assert arrived(bench, "smu")[-2:] == [":SYST:BEEP 440,0.1", ":SYST:ERR?"]
    with pytest.raises(LockedError):
        smu.write(":SYST:BEEP 440,0.1")  # only inside the block


def test_a_locked_instrument_takes_raw_commands_only_with_the_instructors_key(smu, bench):
    smu.settings.current_limit.lock(value="10 mA", reason="LED lab", key="s3cret")
    before = arrived(bench, "smu")
    with pytest.raises(LockedError, match="locked at"):
        smu.write(":SOUR:VOLT:ILIM 1")
    with pytest.raises(LockedError, match="instructor's key"):
        smu.write("*RST")
    with pytest.raises(LockedError, match="instructor's key"):
        smu.write_bytes(b"*RST\n")
    with pytest.raises(LockedError, match="instructor's key"), smu.raw_access():
        smu.write("*RST")  # raw_access() without the key opens no lock
    with pytest.raises(LockedError, match="does not open"), smu.raw_access("guess"):
        pass
    assert arrived(bench, "smu") == before
    with smu.raw_access("s3cret"):
        smu.write(":SYST:BEEP 440,0.1")
        with pytest.raises(LockedError, match="locked at"):
            smu.write(":SOUR:VOLT:ILIM 1")  # the key opens raw I/O, it does not lift the lock
    assert arrived(bench, "smu")[-2:] == [":SYST:BEEP 440,0.1", ":SYST:ERR?"]


def test_interlocks_guard_raw_commands(smu, bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=2.0)
    try:
        smu.settings.output.interlock(tc.readings.temperature < "0 degC", when=True)
        before = arrived(bench, "smu")
        with pytest.raises(InterlockError, match=r"tc\.temperature < 0 °C"):
            smu.write(":OUTP ON")
        with pytest.raises(LockedError, match="interlock"):
            smu.write(":OUTP:STAT ON")  # another spelling labkit does not know: refused too
        assert arrived(bench, "smu") == before
        assert smu.output is False
    finally:
        tc.close()


def test_a_driver_with_method_setters_refuses_what_it_cannot_check(bench):
    psu = AgilentE3631A(bench.address("psu"), name="psu", timeout=2.0)
    try:
        psu.p6v.settings.voltage.limit(max="3 V")
        before = arrived(bench, "psu")
        for raw in (psu.write, psu.p6v.write):
            with pytest.raises(LockedError, match=r"psu\.p6v\.voltage has soft limits"):
                raw("APPL P6V,6")
        assert arrived(bench, "psu") == before
        psu.p6v.voltage = 2
        assert psu.p6v.voltage == 2.0
    finally:
        psu.close()


def test_a_drivers_own_raw_door_is_guarded(bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=2.0)
    try:
        tc.settings.setpoint.lock(max="60 degC", key="k")
        before = arrived(bench, "tc")
        with pytest.raises(LockedError, match="instructor's key"):
            tc.command("tset=150")
        assert arrived(bench, "tc") == before
        with tc.raw_access("k"):
            tc.command("tset=40")
        assert arrived(bench, "tc")[-1] == "tset=40"
    finally:
        tc.close()


def test_raw_usb_data_to_a_locked_spectrometer_needs_the_key(bench):
    spec = USB2000Plus(bench.address("spectrometer"), name="spec", timeout=1.0)
    try:
        spec.settings.integration_time.lock(value="10 ms", key="k")
        before = arrived(bench, "spectrometer")
        with pytest.raises(LockedError, match="binary data"):
            spec.bulk_write(0x01, b"\x02\x10\x27\x00\x00")  # set integration time: 10 s
        with pytest.raises(LockedError, match="binary data"):
            spec.control_transfer(0x40, 0x01, data_or_length=b"\x00")
        assert arrived(bench, "spectrometer") == before
    finally:
        spec.close()


def test_a_raw_command_the_instrument_refuses_raises_its_own_error(smu, bench):
    smu.settings.source_voltage.limit(max=5)
    with smu.raw_access(), pytest.raises(InstrumentError) as refused:
        smu.write(":SYST:BEEP 440")  # the 2450 wants a duration too
    assert refused.value.code == -109
    assert refused.value.instrument == "smu"
    assert "the instrument refused ':SYST:BEEP 440': error -109" in str(refused.value)
    assert arrived(bench, "smu")[-3:] == [":SYST:BEEP 440", ":SYST:ERR?", ":SYST:ERR?"]
    # A declared command the instrument refuses (out of the fixed range it is on) is not
    # stored as the setting's value: labkit keeps what the instrument has.
    smu.source_voltage_range = "2 V"
    with pytest.raises(InstrumentError, match="error -222") as refused:
        smu.write(":SOUR:VOLT 4")
    assert refused.value.setting == "source_voltage"
    assert smu.source_voltage == 0.0
    assert smu.read("source_voltage") == 0.0
    smu.errors()  # nothing is left queued for the next set to trip over
    smu.write(":SOUR:VOLT 1.5")
    assert smu.source_voltage == 1.5


def test_the_error_check_never_steals_a_reply_the_user_will_read(smu, bench):
    smu.write("*IDN?")  # a query sent by write: its reply waits, so no error query follows
    assert arrived(bench, "smu")[-1] == "*IDN?"
    assert smu.read_message().startswith("KEITHLEY")
    # A query that also sets something has the queue read after its reply.
    assert smu.query(":SOUR:VOLT 1;*OPC?") == "1"
    assert arrived(bench, "smu")[-2:] == [":SOUR:VOLT 1;*OPC?", ":SYST:ERR?"]
    assert smu.source_voltage == 1.0
    smu.query(":SOUR:VOLT?")  # a plain query asks nothing more
    assert arrived(bench, "smu")[-1] == ":SOUR:VOLT?"


def test_a_ramped_setting_is_not_jumped_by_a_raw_command(smu, bench):
    smu.source_voltage = 1.0
    smu.settings.source_voltage.ramp_rate = "0.5 V/s"
    before = arrived(bench, "smu")
    with pytest.raises(ValidationError, match=r"would jump smu\.source_voltage to 3 V") as refused:
        smu.write(":SOUR:VOLT 3")
    assert "ramps at 0.5 V/s" in str(refused.value)
    with smu.raw_access(), pytest.raises(ValidationError, match="ramps"):
        smu.write(":SOUR:VOLT 3")  # raw_access opens nothing for a declared command
    assert arrived(bench, "smu") == before
    smu.write(":SOUR:VOLT 1")  # the value already there: no jump
    assert smu.read("source_voltage") == 1.0


def test_a_lock_in_checks_its_status_after_a_raw_command(bench):
    lockin = SR830(bench.address("lockin"), name="lockin", timeout=2.0)
    try:
        with lockin.raw_access(), pytest.raises(InstrumentError, match="command error") as bad:
            lockin.write("XYZZ 1")  # the SR830 has no such command
        assert bad.value.instrument == "lockin"
        assert arrived(bench, "lockin")[-3:] == ["XYZZ 1", "*ESR?", "LIAS?"]  # its own way
    finally:
        lockin.close()


def test_a_raw_message_makes_the_scope_forget_its_waveform_set_up(bench):
    scope = RigolDS1000Z(bench.address("scope"), name="scope", timeout=2.0)
    try:
        scope.waveform(1)
        assert scope.transfer_change(1) is None  # CH1's transfer set-up is in force
        with scope.raw_access():
            scope.write(":WAV:SOUR CHAN2")
        assert scope.transfer_change(1) is not None  # so the next transfer selects CH1 again
    finally:
        scope.close()


def test_a_controller_that_answers_every_command_has_its_answer_read(bench):
    tc = ThorlabsTC200(bench.address("tc"), name="tc", timeout=2.0)
    try:
        with tc.raw_access():
            tc.write("tset=40")  # its echo and answer are read now, not taken for the next
            with pytest.raises(TC200ArgumentError, match="CMD_ARG_RANGE_ERR") as refused:
                tc.write("tset=500")
            assert refused.value.instrument == "tc"
            with pytest.raises(TC200UndefinedCommand, match="CMD_NOT_DEFINED"):
                tc.query("bogus=1")
        assert tc.read("setpoint") == 40.0
    finally:
        tc.close()
