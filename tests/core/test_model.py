"""The instrument model: an explicit link, declarations from the class body or from the device
at connect through one path, the driver-author API, and one path for every set and read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import labkit
from labkit import (
    ConfigurationError,
    ConnectionLost,
    DeclarationError,
    LimitError,
    Reading,
    Setting,
)
from labkit.core import TraitSpec, reserved_names
from labkit.core._worker import INSTANT_WINDOW


class DeclaringLink:
    """A link that describes its device (as a pvAccess context or a plugin library would)."""

    opened = 0

    def __init__(self, resource: str, table: list[dict[str, Any]] | None = None) -> None:
        self.resource = resource
        self.is_open = False
        self.values: dict[str, Any] = {"setpoint": 20.0, "mode": "idle", "temperature": 21.0}
        self.table = table if table is not None else TABLE
        self.fail_with: Exception | None = None

    def open(self) -> None:
        type(self).opened += 1
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def get(self, name: str) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        return self.values[name]

    def put(self, name: str, value: Any) -> None:
        self.values[name] = value

    def declarations(self) -> Iterator[TraitSpec]:
        for entry in self.table:
            name = entry["name"]
            accessors: dict[str, Any] = {"get": lambda inst, n=name: inst.link.get(n)}
            if entry["role"] == "setting" and entry.get("access") != "r":
                accessors["set"] = lambda inst, value, n=name: inst.link.put(n, value)
            yield TraitSpec.from_jsonable(entry, **accessors)


TABLE = [
    {"name": "setpoint", "role": "setting", "unit": "K", "min": 4, "max": 300, "doc": "Set-point"},
    {"name": "mode", "role": "setting", "choices": ["idle", "run"], "doc": "Mode"},
    {"name": "temperature", "role": "reading", "unit": "K", "doc": "Sample temperature"},
]


class Remote(labkit.Instrument):
    """An instrument whose device declares everything when it connects."""

    declared_at_connect = True

    def make_link(self) -> DeclaringLink:
        return DeclaringLink(self.resource or "remote://")


@pytest.fixture
def remote(unique_name: str) -> Iterator[Remote]:
    instrument = Remote("remote://cryo", name=unique_name)
    yield instrument
    instrument.close()


# -- declarations at connect ---------------------------------------------------------------


def test_the_device_declares_at_connect_and_everything_works_as_for_a_class_body(remote):
    assert Remote.declarations() == {}
    assert set(type(remote).declarations()) == {"setpoint", "mode", "temperature"}
    assert remote.driver_class is Remote
    assert isinstance(remote, Remote)
    assert remote.setpoint == 20.0  # read when it connected
    remote.setpoint = "77 K"
    assert remote.link.values["setpoint"] == 77
    with pytest.raises(LimitError, match="above the upper hard limit 300 K"):
        remote.setpoint = 400
    assert remote.link.values["setpoint"] == 77
    remote.mode = "RUN"
    assert remote.link.values["mode"] == "run"
    assert remote.read("temperature") == 21.0
    snapshot = remote.snapshot()
    assert snapshot["settings"]["setpoint"] == {"value": 77.0, "unit": "K", "min": 4, "max": 300}
    assert snapshot["driver"].endswith("Remote")


def test_the_rerun_rule_is_applied_before_anything_connects(remote):
    opened = DeclaringLink.opened
    assert Remote("remote://cryo", name=remote.name) is remote
    with pytest.raises(ConfigurationError, match="already open"):
        Remote("remote://other", name=remote.name)
    assert DeclaringLink.opened == opened


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "snapshot", "role": "setting"}, "taken by labkit's Instrument API"),
        ({"name": "setpoint", "role": "setting"}, "declares 'setpoint' twice"),
        ({"name": "x", "role": "setting", "min": 5, "max": 1}, "min 5 is above max 1"),
        ({"name": "x", "role": "setting", "unit": "volts per banana"}, "banana"),
        ({"name": "x", "role": "sensor"}, "role 'sensor'"),
        ({"name": "x", "role": "setting", "colour": "red"}, "unknown declaration fields: colour"),
    ],
)
def test_what_a_device_declares_is_checked_as_a_class_body_is(unique_name, entry, message):
    class Bad(Remote):
        def make_link(self) -> DeclaringLink:
            return DeclaringLink("remote://bad", [*TABLE, entry])

    with pytest.raises(DeclarationError, match=message):
        Bad(name=unique_name)
    assert unique_name not in [i.name for i in labkit.instruments()]


def test_a_link_that_cannot_declare_is_a_clear_error(unique_name):
    class Plain:
        resource, is_open = "plain://", True

        def open(self) -> None: ...
        def close(self) -> None: ...

    with pytest.raises(ConfigurationError, match="has no declarations"):
        Remote(name=unique_name, link=Plain())


def test_declarations_from_data_round_trip():
    spec = TraitSpec.from_jsonable(
        {"role": "setting", "unit": "V", "min": 0, "max": 5, "safe": 0, "doc": "Out"},
        set=lambda inst, value: None,
    )
    assert TraitSpec.from_jsonable(spec.jsonable(), set=spec.set).jsonable() == spec.jsonable()
    tokens = TraitSpec.from_jsonable({"role": "setting", "choices": {"fast": "F", "slow": "S"}})
    assert tokens.kind == "enum"
    assert tokens.token("slow") == "S"


def test_names_a_device_may_not_take_are_the_instruments_api(remote):
    taken = reserved_names(type(remote), instance=remote)
    assert {"snapshot", "link", "store", "run_io", "settings", "name"} <= taken
    assert "setpoint" not in reserved_names(Remote)


def test_update_declaration_moves_the_limits_in_force(remote):
    remote.update_declaration("setpoint", max=100)
    assert remote.settings.setpoint.limits == (4, 100)
    with pytest.raises(LimitError, match="100 K"):
        remote.setpoint = 150


# -- readable and writable, settled when the class is made --------------------------------


def test_a_method_added_in_a_subclass_serves_an_inherited_declaration():
    class Base(labkit.Instrument):
        level = Setting(unit="V", access="r")

    class Readable(Base):
        def _get_level(self) -> float:
            return 1.0

    assert not Base.declarations()["level"].readable
    assert Readable.declarations()["level"].readable
    assert Base.declarations()["level"] is not Readable.declarations()["level"]


# -- the driver-author API -----------------------------------------------------------------


def test_run_io_names_the_instrument_and_a_lost_link_marks_it_disconnected(remote):
    remote.link.fail_with = ConnectionLost("the cable", resource="remote://cryo")
    with pytest.raises(ConnectionLost, match=f"{remote.name}.*reconnect") as raised:
        remote.run_io(remote.link.get, "temperature")
    assert raised.value.instrument == remote.name
    assert not remote.connected
    remote.link.fail_with = None
    remote.reconnect()
    assert remote.connected
    assert remote.read("temperature") == 21.0


def test_store_tells_observers_and_last_value_asks_nothing(remote):
    seen: list[Any] = []
    remote.observe(lambda change: seen.append(change["new"]), names="temperature")
    remote.store("temperature", 3.5)
    assert seen == [3.5]
    remote.link.fail_with = RuntimeError("no I/O expected")
    assert remote.last_value("temperature") == 3.5


def test_message_io_on_a_plain_instrument_still_works_with_a_warning(unique_name):
    class Old(labkit.Instrument):
        level = Reading(unit="V", get="LEV?")

    labkit.sim.simulate(Old, unique_name, readings={"level": lambda sim: 1.5})
    try:
        old = Old(f"labsim://{unique_name}", name=unique_name)
        try:
            with pytest.warns(DeprecationWarning, match="MessageInstrument"):
                assert old.read("level") == 1.5  # its template, through the moved query()
            with pytest.warns(DeprecationWarning, match="MessageInstrument"):
                assert old.query("LEV?").startswith("+1.5")
        finally:
            old.close()
    finally:
        labkit.sim.unserve(unique_name)


def test_a_device_that_is_not_message_based_says_so(remote):
    with pytest.raises(ConfigurationError, match="not message-based"):
        remote.query("T?")


# -- one path for every set and read --------------------------------------------------------


class Memory(labkit.Instrument):
    level = Setting(unit="V", min=-1, max=1)

    def _get_level(self) -> float:
        return getattr(self, "_level", 0.0)

    def _set_level(self, value: float) -> None:
        self._level = value


def test_an_instant_instrument_takes_the_same_path_busy_flags_and_all(unique_name):
    link = DeclaringLink("memory://")
    memory = Memory(name=unique_name, link=link)
    try:
        for _ in range(INSTANT_WINDOW):
            memory.level = 0.1
        assert memory.instant
        flags: list[tuple[str, bool]] = []
        memory.observe(lambda c: flags.append(("instrument", c["new"])), names="busy")
        memory.settings.level.state.observe(lambda c: flags.append(("setting", c["new"])), "busy")
        thread = threading.current_thread().name
        memory.level = 0.5
        assert threading.current_thread().name == thread
        assert flags == [("setting", True), ("instrument", True), ("setting", False),
                         ("instrument", False)]  # fmt: skip
        assert memory.level == 0.5
    finally:
        memory.close()
