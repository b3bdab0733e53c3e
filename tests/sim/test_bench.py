"""The bench: clock, seeds, addresses, faults, extension."""

from __future__ import annotations

import pytest

from labkit.sim import Bench, find
from labkit.sim.bench import Clock


def test_the_clock_follows_real_time_scaled_and_jumps():
    clock = Clock(scale=0)
    assert clock.now() == 0
    assert clock.advance(2.5) == 2.5
    clock.scale = 1000
    assert clock.now() >= 2.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    assert Clock(0).real_seconds(10) == 0
    assert Clock(10).real_seconds(10) == 1


def test_the_bench_serves_its_instruments_and_says_where(bench):
    addresses = bench.addresses()
    assert addresses["smu"]["visa"] == "TCPIP0::smu::INSTR@labkit"
    assert addresses["smu"]["gpib"] == "GPIB0::18::INSTR@labkit"
    assert bench.address("dmm") == "TCPIP0::dmm::INSTR@labkit"
    assert bench.address("smu", "gpib") == "GPIB0::18::INSTR@labkit"
    assert find("smu") is bench.instrument("smu") is bench["smu"]
    with pytest.raises(KeyError, match="it has smu, dmm"):
        bench.address("laser")
    with pytest.raises(KeyError, match="not served over usb"):
        bench.address("smu", "usb")


def test_a_prefix_lets_two_benches_coexist(bench):
    with Bench(seed=1, time_scale=0, prefix="b2_") as other:
        assert other.address("smu") == "TCPIP0::b2_smu::INSTR@labkit"
        assert find("b2_smu") is other["smu"]
        assert find("smu") is bench["smu"]
    with pytest.raises(LookupError):
        find("b2_smu")


def test_choosing_instruments_and_the_device():
    with Bench(seed=0, time_scale=0, instruments=["dmm"], dut="resistor") as made:
        assert made.names() == ["dmm"]
        assert made.dut.name == "resistor"
        made.dut = "led"
        assert made.dut.name == "led"
    with pytest.raises(ValueError, match="no instrument"):
        Bench(instruments=["tc999"])
    with pytest.raises(ValueError, match="device under test"):
        Bench(dut="transistor")


def test_noise_streams_depend_on_the_seed_and_name_only():
    def draws(seed, order):
        with Bench(seed=seed, time_scale=0, instruments=[]) as made:
            out = {name: made.rng(name).normal() for name in order}
        return out

    first = draws(3, ["smu", "dmm"])
    assert draws(3, ["dmm", "smu"]) == first
    assert draws(4, ["smu", "dmm"]) != first


def test_faults_by_name(bench):
    bench.inject("smu", "timeout", count=2)
    assert bench["smu"].faults.active() == ["timeout"]
    bench.clear_faults()
    assert bench["smu"].faults.active() == []


def test_new_physics_is_advanced_with_the_rest(bench):
    class Magnet:
        name = "magnet"

        def __init__(self):
            self.times = []

        def advance(self, now):
            self.times.append(now)

    magnet = bench.add_subsystem(Magnet())
    bench.advance(3)
    assert magnet.times[-1] == 3
    assert "magnet" in bench.subsystems
    with pytest.raises(ValueError, match="already"):
        bench.add_subsystem(Magnet())
    with pytest.raises(TypeError, match="advance"):
        bench.add_subsystem(object(), name="x")


def test_changing_an_input_first_brings_the_physics_up_to_date(bench):
    bench.thermal.heater_power = 5.0
    bench.clock.advance(100)  # time passes without anyone looking
    bench.thermal.heater_power = 0.0  # the 100 s at 5 W are integrated before the change
    assert bench.thermal.heater_temperature > bench.thermal.ambient + 5


def test_a_new_bench_takes_over_and_the_drivers_on_it_are_reconnected():
    from labkit.drivers.keysight import Keysight34465A

    first = Bench(seed=0, time_scale=0, instruments=["dmm", "smu"])
    dmm = Keysight34465A(first.address("dmm"), name="dmm", timeout=0.5)
    dmm.nplc = 1
    second = Bench(seed=0, time_scale=0, instruments=["dmm", "smu"])  # the cell run again
    assert find("dmm") is second["dmm"]
    assert dmm.connected
    assert dmm.nplc == 10, "read again from the new twin, at its power-on value"
    second.circuit.smu.update(output=True, voltage=0.4)
    assert dmm.read("voltage") == pytest.approx(0.4, abs=1e-4)
    # The instrument cell run again returns the same, connected instrument.
    assert Keysight34465A(second.address("dmm"), name="dmm", timeout=0.5) is dmm
    dmm.close()
    second.close()


def test_an_instrument_the_new_bench_does_not_serve_stays_disconnected():
    from labkit import ConnectionLost
    from labkit.drivers.keysight import Keysight34465A

    first = Bench(seed=0, time_scale=0, instruments=["dmm"], prefix="gone_")
    dmm = Keysight34465A(first.address("dmm"), name="gone_dmm", timeout=0.5)
    second = Bench(seed=0, time_scale=0, instruments=["smu"], prefix="gone_")
    with pytest.raises(ConnectionLost, match="reconnect"):
        dmm.read("line_frequency")
    dmm.close()
    second.close()


def test_added_instruments_are_reachable_through_each_interface(bench):
    from labkit import open_transport
    from labkit.sim import Dialogue
    from labkit.sim._usb import VirtualUsbDevice

    echo = bench.add_instrument("echo", Dialogue({"HI?": "HELLO"}), interfaces=("serial", "visa"))
    assert bench.address("echo") == "labsim://echo"
    for kind in ("serial", "visa"):
        link = open_transport(bench.address("echo", kind), {"timeout": 0.5})
        assert link.query("HI?") == "HELLO"
        link.close()
    assert echo.sent == ["HI?", "HI?"]

    class Widget(VirtualUsbDevice):
        product_id = 0x0ABC

        def handle_bulk(self, endpoint, data):
            self.send(0x81, data.upper())

    bench.add_instrument("widget", Widget(serial_number="W9"), interfaces=("usb",))
    assert bench.address("widget") == "usb:0x1209:0x0abc:W9@labkit"
    link = open_transport(bench.address("widget"), {"timeout": 0.5})
    link.bulk_write(0x01, b"abc")
    assert link.bulk_read(0x81, 64) == b"ABC"
