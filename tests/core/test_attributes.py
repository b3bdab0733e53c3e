"""A misspelt name on an instrument is an AttributeError with the nearest names, never a new
attribute that changes nothing: on instruments, their channels and cameras."""

from __future__ import annotations

import pytest

from labkit.testing import record
from tests.drivers.cameras.toy_camera import ToyCamera


def test_a_typo_in_an_assignment_is_refused_with_a_suggestion(supply, supply_sim):
    with record(supply) as wire, pytest.raises(AttributeError) as refused:
        supply.current_limt = 1
    message = str(refused.value)
    assert "'current_limt'" in message
    assert "Did you mean 'current_limit'" in message
    assert "nothing was sent" in message
    assert wire.sent == []
    assert "current_limt" not in vars(supply)
    with pytest.raises(AttributeError, match="Did you mean 'current_limit'"):
        supply.current_limt  # noqa: B018 -- reading it says the same


def test_a_name_with_nothing_near_lists_what_there_is(supply):
    with pytest.raises(AttributeError, match=r"settings, readings and actions: .*voltage"):
        supply.xyzzy = 1


def test_channels_refuse_typos_too(supply):
    with pytest.raises(AttributeError, match="Did you mean 'voltage'"):
        supply.aux.voltge = 1


def test_what_an_instrument_has_is_still_assignable(supply, supply_sim):
    supply.voltage = 1.5  # a setting
    assert supply_sim.value("voltage") == 1.5
    supply.stale_input = False  # a public attribute of the class


def test_private_names_stay_free_for_drivers(supply):
    supply._driver_cache = {"x": 1}  # drivers keep their own state under _names
    assert supply._driver_cache == {"x": 1}


def test_a_camera_refuses_typos(unique_name):
    camera = ToyCamera("toy://one", name=unique_name)
    try:
        assert camera.sensor_shape  # set by the driver while connecting, on its worker
        with pytest.raises(AttributeError, match="Did you mean 'exposure'"):
            camera.exposrue = 0.01
    finally:
        camera.close()
