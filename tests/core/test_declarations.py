"""Declarations: what a driver author writes once, and the mistakes refused at class creation."""

from __future__ import annotations

import enum
import re

import pytest
from traitlets import HasTraits, TraitType

import labkit
from labkit import Action, DeclarationError, Reading, Setting


def test_factories_make_real_traitlets_traits_with_labkit_metadata() -> None:
    class Meter(labkit.MessageInstrument):
        """A meter."""

        range = Setting(unit="V", min=0.1, max=1000, get="RANG?", set="RANG {}", doc="Range")
        value = Reading(unit="V", get="READ?", doc="Reading")
        reset = Action("*RST")

    trait = Meter.class_traits()["range"]
    assert isinstance(trait, TraitType)
    assert trait.spec.unit == "V"
    assert (trait.spec.min, trait.spec.max) == (0.1, 1000)
    assert trait.metadata["labkit"] == "setting"
    assert trait.help == "Range"
    assert list(Meter.declarations()) == ["range", "value", "reset"]
    assert issubclass(Meter, HasTraits)


@pytest.mark.parametrize(
    ("factory", "kind"),
    [
        (lambda: Setting(set="X {}"), "float"),
        (lambda: Setting(int, set="X {}"), "int"),
        (lambda: Setting(bool, set="X {}"), "bool"),
        (lambda: Setting(str, set="X {}"), "str"),
        (lambda: Setting(choices=["A", "B"], set="X {}"), "enum"),
        (lambda: Setting(choices={1e-3: 0, 3e-3: 1}, unit="s", set="X {}"), "float"),
    ],
)
def test_kind_comes_from_the_python_type_or_the_choices(factory, kind) -> None:
    assert factory().spec.kind == kind


def test_an_enum_class_gives_choices_and_tokens() -> None:
    class Coupling(enum.Enum):
        AC = "AC"
        DC = "DC"

    spec = Setting(Coupling, set="COUP {}").spec
    assert spec.kind == "enum"
    assert spec.choices == ("AC", "DC")
    assert spec.coerce(Coupling.DC) == "DC"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min": 5, "max": 1}, "min 5 is above max 1"),
        ({"min": 0, "max": 10, "soft_max": 11}, "soft_max 11 lies outside"),
        ({"ramp": -1}, "ramp must be positive"),
        ({"ramp_step": 0.1}, "ramp_step needs a ramp rate"),
        ({"min": 0, "max": 10, "safe": 20}, "safe value 20 lies outside"),
        ({"min": float("nan")}, "must be a finite number"),
        ({"choices": []}, "choices must not be empty"),
        ({"set": "VOLT {1}"}, "does not format"),
    ],
)
def test_impossible_declarations_are_refused_naming_the_problem(arguments, message) -> None:
    with pytest.raises(DeclarationError, match=message):
        Setting(**arguments)


def test_only_float_settings_ramp() -> None:
    with pytest.raises(DeclarationError, match="only float settings can ramp"):
        Setting(int, ramp=1)


def test_class_level_checks_name_the_attribute() -> None:
    class Broken(labkit.MessageInstrument):
        level = Setting(unit="volts per banana", set="L {}")

    with pytest.raises(DeclarationError, match=r"Broken\.level.*unit 'volts per banana'"):
        Broken(connect=False)  # units are checked when the first instrument is made

    with pytest.raises(DeclarationError, match="a reading needs a way to read it"):

        class NoGetter(labkit.Instrument):
            level = Reading(unit="V")

    with pytest.raises(DeclarationError, match="needs a way to write it"):

        class NoSetter(labkit.MessageInstrument):
            level = Setting(unit="V", get="L?")

    with pytest.raises(DeclarationError, match="readback 'nothing' is not a reading"):

        class BadReadback(labkit.MessageInstrument):
            level = Setting(unit="V", set="L {}", readback="nothing")

    with pytest.raises(DeclarationError, match="taken by labkit's Instrument API"):

        class Clash(labkit.MessageInstrument):
            snapshot = Setting(set="S {}")


def test_a_header_says_the_query_and_the_command_at_once() -> None:
    class Source(labkit.MessageInstrument):
        level = Setting(unit="V", min=0, max=5, header=":SOUR{self.index}:VOLT")
        serial = Setting(str, header="SERN", access="r")
        text = Setting(str, header="DISP:TEXT", access="w")

    specs = Source.declarations()
    assert (specs["level"].get, specs["level"].set) == (
        ":SOUR{self.index}:VOLT?",
        ":SOUR{self.index}:VOLT {}",
    )
    assert (specs["serial"].get, specs["serial"].set) == ("SERN?", None)
    assert (specs["text"].get, specs["text"].set) == (None, "DISP:TEXT {}")
    assert specs["level"].readable
    assert specs["level"].writable
    assert not specs["serial"].writable
    assert not specs["text"].readable


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"header": "VOLT", "get": "VOLT?"}, "either header= or get=/set="),
        ({"header": "VOLT", "set": "VOLT {}"}, "either header= or get=/set="),
        ({"header": "VOLT?"}, "ends with '\\?'"),
        ({"header": ""}, "not a command header"),
        ({"header": " VOLT"}, "not a command header"),
    ],
)
def test_a_header_that_cannot_work_is_refused(arguments, message) -> None:
    with pytest.raises(DeclarationError) as caught:
        Setting(unit="V", **arguments)
    assert re.search(message, str(caught.value))


def test_getter_and_setter_methods_are_found_by_name() -> None:
    class Laser(labkit.Instrument):
        """A laser whose protocol needs code, not templates."""

        power = Setting(unit="mW", min=0, max=5, doc="Power")

        def _get_power(self) -> float:
            return 1.0

        def _set_power(self, value: float) -> None:
            pass

    assert Laser.declarations()["power"].role == "setting"


def test_a_subclass_can_narrow_an_inherited_setting() -> None:
    class Base(labkit.MessageInstrument):
        voltage = Setting(unit="V", min=-20, max=20, set="V {}")

    class Smaller(Base):
        voltage = Base.voltage.replace(min=-5, max=5)

    assert Smaller.declarations()["voltage"].max == 5
    assert Base.declarations()["voltage"].max == 20
    assert Smaller.declarations()["voltage"].owner == "Smaller"


def test_action_as_a_decorator_takes_the_method_and_its_doc() -> None:
    class Stage(labkit.Instrument):
        @Action(label="Home")
        def home(self) -> None:
            """Move to the reference switch."""

    spec = Stage.declarations()["home"]
    assert spec.role == "action"
    assert spec.doc == "Move to the reference switch."
    assert spec.title == "Home"
