"""The conformance suite every driver runs against its simulator (as zarr ships StoreTests).

A plugin author subclasses :class:`DriverConformance` in a test file and says how to open the
driver on its simulator; pytest then checks what labkit users rely on:

- the declarations are valid and documented;
- a panel builds from them;
- every setting round-trips: set a value, read it back from the instrument, get the same value;
- out-of-range values, wrong types and unknown choices are refused before any byte is sent;
- readings read; the snapshot is plain JSON.

::

    class TestMyLaser(DriverConformance):
        driver = MyLaser

        def open_instrument(self):
            labkit.sim.serve("laser", MyLaserSimulator())
            return MyLaser("labsim://laser", name="laser")
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from labkit.core import (
    ChoiceError,
    Instrument,
    LimitError,
    SettingHandle,
    SettingTypeError,
    TraitSpec,
    ValidationError,
)
from labkit.core._units import check_unit
from labkit.testing._recording import record

__all__ = ["DriverConformance", "round_trip_values"]


def round_trip_values(handle: SettingHandle) -> list[Any]:
    """Values worth setting to prove a setting works: ends and middle of its range, every choice."""
    spec = handle.spec
    if spec.kind == "bool":
        return [True, False]
    if spec.choices is not None:
        return list(spec.choices)[:12]
    if spec.kind == "str":
        return ["labkit"]
    low, high = handle.limits
    if math.isfinite(low) and math.isfinite(high):
        values = [low, low + (high - low) / 2, high]
    elif math.isfinite(low):
        values = [low, low + 1, low + 10]
    elif math.isfinite(high):
        values = [high, high - 1, high - 10]
    else:
        values = [0, 1, -1]
    if spec.kind == "int":
        values = [round(v) for v in values]
        values = [v for v in values if low <= v <= high]
    return list(dict.fromkeys(values))


def _equal(spec: TraitSpec, got: Any, want: Any) -> bool:
    if spec.kind == "float" and isinstance(got, (int, float)):
        return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12 + (spec.step or 0) / 2)
    return bool(got == want)


class DriverConformance:
    """Subclass, set ``driver``, implement ``open_instrument()``; pytest does the rest.

    ``skip_settings`` maps setting names to why they cannot round-trip on the simulator
    (coupled to another setting, an interlock...). ``values`` overrides the values tried.
    """

    driver: ClassVar[type[Instrument]]
    skip_settings: ClassVar[dict[str, str]] = {}
    values: ClassVar[dict[str, list[Any]]] = {}

    def open_instrument(self) -> Instrument:
        """Open the driver on its simulator and return it (closed again after each test)."""
        raise NotImplementedError("implement open_instrument() to open the driver on a simulator")

    @pytest.fixture
    def instrument(self) -> Iterator[Instrument]:
        instrument = self.open_instrument()
        try:
            yield instrument
        finally:
            instrument.close()

    # -- the declarations -------------------------------------------------------------------

    def _specs(self) -> dict[str, TraitSpec]:
        if not self.driver.declared_at_connect:
            return self.driver.declarations()
        # The device declares at connect (a camera, a compiled plugin): check what it declared.
        instrument = self.open_instrument()
        try:
            return type(instrument).declarations()
        finally:
            instrument.close()

    def test_declarations_are_documented(self) -> None:
        assert self.driver.__doc__, f"{self.driver.__name__} needs a class doc string"
        undocumented = [n for n, s in self._specs().items() if not s.doc and n != "reset"]
        assert not undocumented, f"declare doc= for: {', '.join(undocumented)}"

    def test_declarations_are_consistent(self) -> None:
        for name, spec in self._specs().items():
            spec.validate_declaration()
            check_unit(spec.unit, where=f"{self.driver.__name__}.{name}")
            if spec.readback is not None:
                assert self._specs()[spec.readback].role == "reading", name
        outputs = [
            n for n, s in self._specs().items() if s.role == "setting" and s.safe is not None
        ]
        for name in outputs:
            spec = self._specs()[name]
            assert spec.access != "r", f"{name}: a read-only setting cannot be brought to safety"

    def test_snapshot_is_plain_json(self, instrument: Instrument) -> None:
        text = json.dumps(instrument.snapshot(), allow_nan=False)
        assert json.loads(text)["name"] == instrument.name

    def test_panel_shows_every_declaration(self, instrument: Instrument) -> None:
        pytest.importorskip("ipywidgets")
        panel = instrument.panel()
        assert panel.children, "the panel is empty"
        for owner in (instrument, *instrument.channels.values()):
            prefix = "" if owner is instrument else owner.name.split(".", 1)[1] + "."
            shown_as_readback = {s.spec.readback for s in owner.settings if s.spec.readback}
            for handle in owner.settings:
                panel.row(prefix + handle.name)  # raises if the panel has no row for it
            for reading in owner.readings:
                if reading.name not in shown_as_readback:
                    panel.row(prefix + reading.name)
        for action in instrument.actions:
            assert action.name in panel.actions, f"no button for the action {action.name}"

    # -- behaviour on the simulator --------------------------------------------------------

    def _handles(self, instrument: Instrument) -> Iterator[tuple[Instrument, SettingHandle]]:
        for owner in (instrument, *instrument.channels.values()):
            for handle in owner.settings:
                if handle.name not in self.skip_settings and handle.writable:
                    yield owner, handle

    def test_settings_round_trip(self, instrument: Instrument) -> None:
        failures = []
        for _owner, handle in self._handles(instrument):
            rate = handle.ramp_rate
            handle.ramp_rate = None  # round trips test values, not ramp timing
            try:
                for value in self.values.get(handle.name) or round_trip_values(handle):
                    handle.set(value)
                    stored = handle.value
                    got = handle.read() if handle.readable else stored
                    if not (_equal(handle.spec, stored, value) and _equal(handle.spec, got, value)):
                        failures.append(f"{handle.full_name}: set {value!r}, read back {got!r}")
            finally:
                handle.ramp_rate = rate
        assert not failures, "settings that do not round-trip:\n" + "\n".join(failures)

    def test_readings_read(self, instrument: Instrument) -> None:
        for owner in (instrument, *instrument.channels.values()):
            for handle in owner.readings:
                value = handle.read()
                assert value is not None, f"{handle.full_name} read None"
                if handle.spec.kind == "float":
                    assert isinstance(value, float), f"{handle.full_name} read {value!r}"

    def test_bad_values_are_refused_before_any_byte(self, instrument: Instrument) -> None:
        for _owner, handle in self._handles(instrument):
            spec = handle.spec
            bad: list[tuple[Any, type[ValidationError]]] = []
            low, high = handle.limits
            if spec.numeric and math.isfinite(high):
                bad.append((high + max(1.0, abs(high)), LimitError))
            if spec.numeric and math.isfinite(low):
                bad.append((low - max(1.0, abs(low)), LimitError))
            if spec.numeric:
                bad.append(("not a number", SettingTypeError))
            if spec.choices is not None and spec.kind in ("enum", "str"):
                bad.append(("no such choice", ChoiceError))
            if spec.kind == "bool":
                bad.append((7, SettingTypeError))
            for value, error in bad:
                with record(instrument) as log, pytest.raises(error):
                    handle.set(value)
                assert log.sent == [], f"{handle.full_name}={value!r} sent {log.sent!r}"
