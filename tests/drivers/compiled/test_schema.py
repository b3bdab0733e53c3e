"""The declarations schema of compiled plugins: what it accepts, and the errors it gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.core import DeclarationError
from labkit.drivers.compiled import parse_declarations
from labkit.drivers.compiled._traits import check_declarations


def document(*declarations: dict[str, Any], **top: Any) -> str:
    return json.dumps({"labkit_declarations": 1, "declarations": list(declarations), **top})


VOLTAGE = {"role": "setting", "name": "voltage", "unit": "V", "min": 0, "max": 30, "doc": "V"}


def test_a_full_document_becomes_plain_declarations_in_order() -> None:
    parsed = parse_declarations(
        document(
            {**VOLTAGE, "safe": 0, "ramp": 2, "readback": "measured", "x-vendor": 1},
            {"role": "setting", "name": "mode", "kind": "enum", "choices": ["A", "B"], "doc": "M"},
            {"role": "setting", "name": "count", "kind": "int", "min": 1, "max": 9, "doc": "N"},
            {"role": "reading", "name": "measured", "unit": "V", "doc": "Measured"},
            {"role": "action", "name": "reset", "confirm": "Sure?", "doc": "Reset it"},
            test_resource="sim://x",
            **{"x-build": "abc"},
        ),
        plugin="demo",
    )
    assert [d.name for d in parsed] == ["voltage", "mode", "count", "measured", "reset"]
    assert parsed.test_resource == "sim://x"
    voltage = parsed.named("voltage")
    assert voltage.options == {
        "doc": "V",
        "unit": "V",
        "readback": "measured",
        "kind": "float",
        "min": 0,
        "max": 30,
        "ramp": 2,
        "safe": 0.0,
    }
    assert parsed.named("mode").options["choices"] == ("A", "B")
    assert parsed.named("reset").options == {"doc": "Reset it", "confirm": "Sure?"}
    check_declarations(parsed, plugin="demo")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        (
            '{"labkit_declarations": 1, "declarations": [{"role": "setting", "name": "v", '
            '"min": NaN, "doc": "v"}]}',
            "NaN is not JSON",
        ),
        ("[]", "must be a JSON object, not a list"),
        ('{"declarations": []}', "'labkit_declarations' (the schema version, 1) is missing"),
        (document(VOLTAGE, labkit_declarations=2), "schema version 2 is newer than this labkit"),
        (document(VOLTAGE, labkit_declarations="1"), "labkit_declarations: must be the schema"),
        (document(VOLTAGE, settings=[]), "'settings' is not a key labkit knows here"),
        (document(), "declarations: is empty"),
        (document(VOLTAGE, test_resource=""), "test_resource: must be a non-empty resource"),
        (document({**VOLTAGE, "role": "knob"}), "declarations[0] ('voltage').role: must be"),
        (document({**VOLTAGE, "name": "2v"}), "'2v' is not a usable name"),
        (document({**VOLTAGE, "name": "_v"}), "'_v' is not a usable name"),
        (document({**VOLTAGE, "name": "class"}), "'class' is not a usable name"),
        (document({**VOLTAGE, "maximum": 3}), "('voltage').maximum: 'maximum' is not a key"),
        (document({**VOLTAGE, "doc": " "}), "('voltage').doc: every declaration needs a doc"),
        (document({**VOLTAGE, "max": "30"}), "('voltage').max: must be a finite number, not '30'"),
        (document({**VOLTAGE, "max": True}), "('voltage').max: must be a finite number, not True"),
        (document({**VOLTAGE, "max": 10**400}), "must be a finite number"),
        (document({**VOLTAGE, "kind": "double"}), "('voltage').kind: must be one of"),
        (document({**VOLTAGE, "unit": 5}), "('voltage').unit: must be non-empty text"),
        (document({**VOLTAGE, "kind": "enum"}), "an enum needs its choices"),
        (document({**VOLTAGE, "choices": []}), "choices: must be a non-empty list"),
        (document({**VOLTAGE, "choices": [1, 1]}), "lists a choice twice"),
        (document({**VOLTAGE, "choices": [1, "x"]}), "choices[1]: 'x' is not a float value"),
        (document({**VOLTAGE, "safe": "0"}), "('voltage').safe: '0' is not a float value"),
        (document({**VOLTAGE, "access": "ro"}), "access: must be 'rw', 'r' or 'w'"),
        (document({**VOLTAGE, "lockable": 1}), "lockable: must be true or false"),
        (document({**VOLTAGE, "readback": "nothing"}), "'nothing' is not a reading declared"),
        (document(VOLTAGE, VOLTAGE), "'voltage' is declared twice"),
        (
            document({"role": "action", "name": "go", "doc": "Go", "unit": "V"}),
            "('go').unit: 'unit' is not a key labkit knows here",
        ),
        (
            document({"role": "reading", "name": "r", "doc": "R", "safe": 1}),
            "('r').safe: 'safe' is not a key",
        ),
        (
            document(
                {"role": "setting", "name": "s", "kind": "str", "choices": ["a\u0000"], "doc": "S"}
            ),
            "contains a NUL character",
        ),
    ],
)
def test_a_bad_document_is_refused_naming_the_plugin_and_the_key(text: str, message: str) -> None:
    with pytest.raises(DeclarationError) as caught:
        parse_declarations(text, plugin="demo")
    assert str(caught.value).startswith("the demo plugin's declarations")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({**VOLTAGE, "min": 10, "max": 1}, "'voltage': min 10 is above max 1"),
        ({**VOLTAGE, "safe": 40}, "safe value 40.0 lies outside the hard limits"),
        ({**VOLTAGE, "unit": "glorps"}, "glorps"),
        ({**VOLTAGE, "ramp_step": 0.1}, "ramp_step needs a ramp rate"),
        (
            {"role": "setting", "name": "on", "kind": "bool", "min": 0, "doc": "On"},
            "min= only makes sense for a number",
        ),
    ],
)
def test_what_the_instrument_model_refuses_is_refused_naming_the_plugin(
    declaration: dict[str, Any], message: str
) -> None:
    parsed = parse_declarations(document(declaration), plugin="demo")
    with pytest.raises(DeclarationError) as caught:
        check_declarations(parsed, plugin="demo")
    assert "the demo plugin's declaration" in str(caught.value)
    assert message in str(caught.value)
