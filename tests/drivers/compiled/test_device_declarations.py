"""A compiled plugin's devices declare themselves at connect (the instrument model's path), and
labkit's guards refuse what a device's declarations forbid before any call reaches the library —
counted inside the library itself, where no Python wrapper could hide a call."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import pytest

import labkit
from labkit.drivers.compiled import driver_class


class Counters:
    """What reached the test plugin, read from the library through its own exports."""

    def __init__(self, path: Path) -> None:
        library = ctypes.CDLL(str(path.resolve()))  # dlopen hands back the loaded library
        self._writes = library.testplugin_writes
        self._open = library.testplugin_open_devices
        self._writes.restype = self._open.restype = ctypes.c_long

    @property
    def writes(self) -> int:
        return int(self._writes())

    @property
    def open_devices(self) -> int:
        return int(self._open())


def test_the_device_declares_its_own_limits_at_connect(
    build_plugin: Callable[..., Path], data_root: Path
) -> None:
    path = build_plugin("NARROW_DEVICE")
    meter_class = driver_class(path)
    counters = Counters(path)
    assert meter_class.declared_at_connect
    assert meter_class.declarations() == {}  # known once a device says what it is
    with meter_class("meter://narrow", name="narrow") as meter:
        assert meter.driver_class is meter_class
        assert type(meter) is not meter_class  # a class of its own, made by the model
        spec = type(meter).declarations()["range"]
        assert (spec.min, spec.max, spec.unit, spec.safe) == (0.1, 10, "V", 10)
        assert meter.settings.range.limits == (0.1, 10)
        assert "[0.1 … 10]" in meter.describe()
        assert meter.snapshot()["settings"]["range"]["max"] == 10

        before = counters.writes
        with pytest.raises(labkit.LimitError, match="above the upper hard limit 10 V"):
            meter.range = 50  # within the library's 100 V, beyond this device's 10 V
        with pytest.raises(labkit.LimitError):
            meter.gain = 9
        with pytest.raises(labkit.ValidationError):
            meter.gain = "lots"
        with pytest.raises(labkit.SettingTypeError, match="control character"):
            meter.label = "a\x00b"
        with pytest.raises(labkit.LimitError):
            labkit.sweep(meter.settings.range, [1, 5, 20], read=[meter.readings.signal]).wait()
        assert counters.writes == before, "a refused value reached the library"
        assert meter.range == 10  # the last acknowledged value is unchanged

        meter.range = 5
        assert counters.writes == before + 1
        assert meter.link.get("range") == 5
        assert counters.open_devices == 1
    assert counters.open_devices == 0


def test_a_device_with_bad_declarations_is_refused_and_its_handle_released(
    build_plugin: Callable[..., Path],
) -> None:
    path = build_plugin("BAD_DESCRIBE")
    meter_class = driver_class(path)
    counters = Counters(path)
    with pytest.raises(labkit.DeclarationError, match=r"own declarations \(describe\)") as caught:
        meter_class("meter://bad", name="bad_meter")
    assert "meter" in str(caught.value)
    assert counters.open_devices == 0
    assert counters.writes == 0
    assert labkit.instruments() == []


def test_devices_of_one_library_keep_their_own_state_and_are_released(
    build_plugin: Callable[..., Path],
) -> None:
    path = build_plugin()
    meter_class = driver_class(path)
    counters = Counters(path)
    first = meter_class("meter://one", name="one")
    second = meter_class("meter://two", name="two")
    try:
        assert counters.open_devices == 2
        first.gain = 3
        second.gain = 5
        assert (first.link.get("gain"), second.link.get("gain")) == (3, 5)
        assert first.read("signal") == pytest.approx(3.0)
        first.reconnect()  # the same device again: same declarations, one handle
        assert counters.open_devices == 2
        assert type(first).declarations()["range"].max == 100
    finally:
        first.close()
        second.close()
    assert counters.open_devices == 0
