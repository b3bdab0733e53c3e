"""Declarations ↔ PV fields: what one side writes, the other reads back (no network)."""

from __future__ import annotations

import enum
import math

import pytest

from labkit import Action, Reading, Setting
from labkit.remote._pvdata import (
    Alarm,
    SettingView,
    declaration_from_fields,
    meta_fields,
    stamp,
    state_from_fields,
    value_code,
    value_from_wire,
    wire_value,
)


class Mode(enum.Enum):
    DC = "DC"
    AC = "AC"


def named(trait, name="x"):
    trait.spec.name = name
    return trait.spec


DECLARATIONS = [
    Setting(unit="V", min=-10, max=10, step=0.01, ramp=0.5, doc="output voltage", safe=0),
    Setting(int, min=1, max=250, doc="gain"),
    Setting(bool, doc="output on"),
    Setting(Mode, doc="coupling"),
    Setting(str, choices=["fast", "slow"]),
    Setting(choices=[0.1, 1, 10], unit="s"),
    Setting(str, doc="a label"),
    Setting(unit="degC", min=0),
    Reading(unit="A", doc="current"),
    Action("*RST", confirm="Reset?"),
]


@pytest.mark.parametrize("trait", DECLARATIONS, ids=lambda t: repr(t.spec.jsonable()))
def test_a_declaration_survives_the_trip_through_pv_fields(trait):
    spec = named(trait)
    fields = meta_fields(spec, readable=True, writable=spec.role == "setting")
    fields["value"] = wire_value(spec, None)
    back = declaration_from_fields(fields)
    assert back["role"] == spec.role
    assert back["kind"] == spec.kind
    assert back.get("unit") == spec.unit
    assert back.get("min") == spec.min
    assert back.get("max") == spec.max
    assert back.get("step") == spec.step
    if spec.choices is not None:
        assert list(back["choices"]) == list(spec.choices)
    assert back.get("doc", "") == (spec.doc or spec.title)
    assert back.get("safe") == spec.safe
    assert back.get("confirm") == spec.confirm


def test_value_codes_follow_the_kind():
    codes = [value_code(named(t)) for t in DECLARATIONS]
    assert codes == ["d", "l", "?", "enum", "enum", "d", "s", "d", "d", "l"]


def test_missing_limits_are_nan_for_floats_and_the_type_bounds_for_integers():
    spec = named(Setting(unit="degC", min=0))
    fields = meta_fields(spec, readable=True, writable=True)
    assert fields["display"]["limitLow"] == 0
    assert math.isnan(fields["display"]["limitHigh"])
    integer = named(Setting(int, min=0))
    fields = meta_fields(integer, readable=True, writable=True)
    assert fields["display"]["limitHigh"] == 2**63 - 1
    assert "max" not in declaration_from_fields(fields)
    assert state_from_fields(fields)["limits"] == (None, None)


def test_the_limits_in_force_are_the_control_limits():
    spec = named(Setting(unit="V", min=-10, max=10))
    view = SettingView(soft_min=-1, soft_max=2, limits=(-1, 1.5), lock={"max": 1.5})
    fields = meta_fields(spec, readable=True, writable=True, view=view)
    assert (fields["control"]["limitLow"], fields["control"]["limitHigh"]) == (-1, 1.5)
    assert (fields["display"]["limitLow"], fields["display"]["limitHigh"]) == (-10, 10)
    state = state_from_fields(fields)
    assert (state["soft_min"], state["soft_max"]) == (-1, 2)
    assert state["lock"] == {"max": 1.5}


def test_enumerations_travel_as_index_and_come_back_as_the_choice():
    spec = named(Setting(Mode))
    wire = wire_value(spec, "AC")
    assert wire == {"index": 1, "choices": ["DC", "AC"]}
    declaration = {"kind": "enum", "choices": ["DC", "AC"]}
    assert value_from_wire(declaration, wire) == "AC"
    assert value_from_wire(declaration, 0) == "DC"
    with pytest.raises(ValueError, match="none of 0…1"):
        value_from_wire(declaration, 5)


def test_values_from_the_wire_keep_their_kind():
    assert value_from_wire({"kind": "int"}, 3.0) == 3
    with pytest.raises(ValueError, match="not a whole number"):
        value_from_wire({"kind": "int"}, 3.5)
    assert value_from_wire({"kind": "bool"}, 1) is True
    assert type(value_from_wire({"kind": "float"}, 2)) is float


def test_a_foreign_pv_without_labkit_fields_still_declares_something():
    foreign = {
        "value": 1.5,
        "display": {"units": "mm", "limitLow": 0.0, "limitHigh": 25.0, "description": "stage x"},
    }
    assert declaration_from_fields(foreign) == {
        "role": "reading",
        "kind": "float",
        "unit": "mm",
        "doc": "stage x",
        "min": 0.0,
        "max": 25.0,
    }


def test_alarms_and_stamps():
    assert Alarm.refused("no").fields() == {"severity": 1, "status": 7, "message": "no"}
    assert Alarm.fault("gone").severity == 2
    assert Alarm.unknown("?").severity == 3
    assert stamp(1.5) == {"secondsPastEpoch": 1, "nanoseconds": 500_000_000, "userTag": 0}
