"""Remote declarations: every driver of the bench, served, declares exactly what it declares
locally (as data, through its PVs alone)."""

from __future__ import annotations

import pytest

from labkit import Action, Reading, Setting
from labkit.remote._arrays import servable
from labkit.remote._describe import factory_arguments, fetch
from labkit.remote._link import PvaLink

WHOLE_BENCH = """\
simulated: true
bench: {seed: 1, dut: resistor, time_scale: 0}
serve: {prefix: "D:"}
instruments:
  smu:
    driver: keithley2450
    limits: {source_voltage: {min: -1, max: 2}}
    ramps: {source_voltage: 0.5}
  dmm: {driver: keysight34465a}
  psu: {driver: e3631a}
  tc: {driver: tc200}
  fg: {driver: keysight33522b}
  lockin: {driver: sr830}
  scope: {driver: rigol_ds1000z}
  spectrometer: {driver: oceanoptics_usb2000plus}
"""

FACTORIES = {"setting": Setting, "reading": Reading, "action": Action}


def declared_again(member):
    arguments = factory_arguments(member)
    if member.role == "action":
        return Action(lambda self: None, **arguments).spec
    return FACTORIES[member.role](arguments.pop("kind"), **arguments).spec


def test_every_bench_driver_declares_the_same_through_its_pvs(serve_station):
    station, server = serve_station(WHOLE_BENCH)
    checked = 0
    for name, instrument in station.items():
        with PvaLink(server.address(name)) as link:
            description = fetch(link, f"D:{name}")
        assert description.identity == instrument.identity
        groups = [(instrument, description.members)]
        groups += [(instrument.channels[c], m) for c, m in description.channels.items()]
        assert set(description.channels) == set(instrument.channels)
        for inst, members in groups:
            local = {h.name: h for ns in (inst.settings, inst.readings, inst.actions) for h in ns}
            # Array readings too, with their axes; not those of two or more dimensions (the
            # scope's trace per channel): an NTScalarArray has no shape (remote/_arrays.py).
            specs = type(inst)._labkit_specs
            served = [n for n, spec in specs.items() if not spec.is_array or servable(spec)]
            assert [m.name for m in members] == served
            for member in members:
                handle = local[member.name]
                mine = handle.spec.jsonable()
                if member.role == "setting":
                    state = handle.state
                    # the server ramps: the rate is its state, not the client's declaration
                    assert member.state["ramp"] == state.ramp_rate
                    mine.pop("ramp", None)
                    mine.pop("ramp_step", None)
                    mine["soft_min"], mine["soft_max"] = state.soft_min, state.soft_max
                    mine = {k: v for k, v in mine.items() if v is not None}
                mine.pop("access", None)  # the served access says what the server can do:
                theirs = declared_again(member).jsonable()
                theirs.pop("access", None)
                assert theirs == mine, f"{inst.name}.{member.name}"
                if member.role == "setting" and handle.value is not None:
                    assert (
                        member.value == pytest.approx(handle.value) or member.value == handle.value
                    )
                checked += 1
    assert checked > 150
