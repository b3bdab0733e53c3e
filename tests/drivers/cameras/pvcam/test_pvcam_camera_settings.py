"""Settings built from the camera's own tables, and checked before anything reaches it."""

from __future__ import annotations

import json

import pytest

from labkit.core import ChoiceError, LimitError, SettingTypeError
from labkit.drivers.cameras.pvcam import (
    Attr,
    ExpRes,
    Param,
    PvcamCamera,
    PvcamError,
    PvcamLibrary,
)
from labkit.testing import record


def raw(cam: PvcamCamera) -> tuple[PvcamLibrary, int]:
    """The library and handle under the instrument, to ask PVCAM directly."""
    assert cam.library is not None
    assert cam.handle is not None
    return cam.library, cam.handle


def names(cam: PvcamCamera, param: int) -> list[str]:
    lib, hcam = raw(cam)
    return [item.name for item in lib.enum_items(hcam, param)]


def test_choices_are_the_names_the_camera_reports(kinetix_cam: PvcamCamera) -> None:
    specs = kinetix_cam._labkit_specs
    assert list(specs["readout_port"].choices) == names(kinetix_cam, Param.READOUT_PORT)
    assert list(specs["trigger_mode"].choices) == names(kinetix_cam, Param.EXPOSURE_MODE)
    assert list(specs["expose_out_mode"].choices) == names(kinetix_cam, Param.EXPOSE_OUT_MODE)
    assert list(specs["clear_mode"].choices) == names(kinetix_cam, Param.CLEAR_MODE)
    assert list(specs["fan_speed"].choices) == names(kinetix_cam, Param.FAN_SPEED_SETPOINT)
    assert list(specs["centroid_mode"].choices) == names(kinetix_cam, Param.CENTROIDS_MODE)
    assert list(specs["binning"].choices) == names(kinetix_cam, Param.BINNING_SER)


def test_each_camera_model_gets_its_own_declarations(
    kinetix_cam: PvcamCamera, bsi_cam: PvcamCamera
) -> None:
    assert type(kinetix_cam) is not type(bsi_cam)
    lib, hcam = raw(bsi_cam)
    assert list(bsi_cam._labkit_specs["trigger_mode"].choices) == names(
        bsi_cam, Param.EXPOSURE_MODE
    )
    low = lib.get_param(hcam, Param.TEMP_SETPOINT, Attr.MIN) / 100
    high = lib.get_param(hcam, Param.TEMP_SETPOINT, Attr.MAX) / 100
    assert bsi_cam.settings.temperature_setpoint.limits == (low, high)
    assert kinetix_cam.settings.temperature_setpoint.limits != (low, high)


def test_the_speed_table_is_walked_port_speed_gain(bsi_cam: PvcamCamera) -> None:
    lib, hcam = raw(bsi_cam)
    table = {}
    for mode in bsi_cam.readout_modes():
        bsi_cam.set_readout(mode["port"], mode["speed"], mode["gain"])
        assert (bsi_cam.readout_port, bsi_cam.speed, bsi_cam.gain) == (
            mode["port"],
            mode["speed"],
            mode["gain"],
        )
        # what PVCAM itself says in that state
        assert lib.get_param(hcam, Param.SPDTAB_NAME) == mode["speed"]
        assert lib.get_param(hcam, Param.GAIN_NAME) == mode["gain"]
        assert bsi_cam.bit_depth == lib.get_param(hcam, Param.BIT_DEPTH_HOST) == mode["bit_depth"]
        table.setdefault(mode["speed"], []).append(mode["gain"])
    speeds = lib.get_param(hcam, Param.SPDTAB_INDEX, Attr.COUNT)
    assert len(table) == speeds > 1
    assert sum(len(g) for g in table.values()) > speeds  # a speed with several gains


def test_bit_depth_and_container_per_kinetix_port(kinetix_cam: PvcamCamera) -> None:
    lib, hcam = raw(kinetix_cam)
    for port in names(kinetix_cam, Param.READOUT_PORT):
        kinetix_cam.readout_port = port
        assert kinetix_cam.bit_depth == lib.get_param(hcam, Param.BIT_DEPTH)
        (mode,) = [m for m in kinetix_cam.readout_modes() if m["port"] == port]
        assert mode["bit_depth"] == kinetix_cam.bit_depth
        expected = lib.get_param(hcam, Param.IMAGE_FORMAT_HOST)
        assert mode["image_format"] == ("MONO8" if expected == 2 else "MONO16")


def test_the_port_resets_speed_and_gain_and_speed_resets_gain(bsi_cam: PvcamCamera) -> None:
    bsi_cam.speed = "200 MHz"
    bsi_cam.gain = "Sensitivity"
    bsi_cam.speed = "100 MHz"
    assert bsi_cam.gain == "HDR"  # PVCAM reset the gain; the instrument shows it
    assert bsi_cam.bit_depth == 16
    bsi_cam.speed = "200 MHz"
    assert bsi_cam.gain == "Full Well"
    assert bsi_cam.bit_depth == 11


def test_a_speed_or_gain_of_another_port_is_refused_naming_the_valid_ones(
    kinetix_cam: PvcamCamera, bsi_cam: PvcamCamera
) -> None:
    kinetix_cam.readout_port = "Speed"
    with record(kinetix_cam) as log, pytest.raises(ChoiceError) as caught:
        kinetix_cam.speed = "Dynamic Range"
    assert log.sent == []
    assert "'Speed'" in str(caught.value)  # the valid one
    assert "Dynamic Range" in str(caught.value.hint)  # where the asked one lives
    assert kinetix_cam.speed == "Speed"
    with record(bsi_cam) as log, pytest.raises(ChoiceError, match="not a gain of speed"):
        bsi_cam.gain = "HDR"  # a gain of the other speed
    assert log.sent == []
    with record(bsi_cam) as log, pytest.raises(ChoiceError):
        bsi_cam.set_readout("Normal", "200 MHz", "HDR")
    assert log.sent == []


def test_set_readout_writes_port_then_speed_then_gain(bsi_cam: PvcamCamera) -> None:
    with record(bsi_cam) as log:
        bsi_cam.set_readout("Normal", "200 MHz", "Balanced")
    order = ("READOUT_PORT", "SPDTAB_INDEX", "GAIN_INDEX")
    written = [name for entry in log.sent for name in order if f"Param.{name}:".encode() in entry]
    assert written == list(order)
    assert (bsi_cam.speed, bsi_cam.gain, bsi_cam.bit_depth) == ("200 MHz", "Balanced", 11)


def test_exposure_limits_and_resolution(kinetix_cam: PvcamCamera) -> None:
    lib, hcam = raw(kinetix_cam)
    finest = []
    for item in lib.enum_items(hcam, Param.EXP_RES):
        lib.set_param(hcam, Param.EXP_RES, item.value)
        unit = ExpRes(item.value).seconds
        finest.append(unit)
        low = lib.get_param(hcam, Param.EXPOSURE_TIME, Attr.MIN) * unit
        high = lib.get_param(hcam, Param.EXPOSURE_TIME, Attr.MAX) * unit
        assert kinetix_cam.settings.exposure.limits[0] <= low
        assert kinetix_cam.settings.exposure.limits[1] >= high
    assert kinetix_cam.settings.exposure.spec.step == min(finest)
    kinetix_cam.exposure = "2.5 ms"
    assert kinetix_cam.exposure == pytest.approx(2.5e-3)
    kinetix_cam.exposure = 1.2345678e-3  # rounded to the finest resolution, 1 µs
    assert kinetix_cam.exposure == pytest.approx(1.235e-3, abs=1e-12)
    with record(kinetix_cam) as log:
        with pytest.raises(LimitError):
            kinetix_cam.exposure = "2 h"
        with pytest.raises(LimitError):
            kinetix_cam.exposure = "0.1 us"
        with pytest.raises(SettingTypeError):
            kinetix_cam.exposure = "fast"
    assert log.sent == []


def test_temperature_setpoint_travels_in_hundredths(kinetix_cam: PvcamCamera) -> None:
    lib, hcam = raw(kinetix_cam)
    kinetix_cam.temperature_setpoint = "-5.257 degC"
    assert lib.get_param(hcam, Param.TEMP_SETPOINT) == -526
    assert kinetix_cam.temperature_setpoint == pytest.approx(-5.26)
    kinetix_cam.temperature_setpoint = "270 K"
    assert lib.get_param(hcam, Param.TEMP_SETPOINT) == round((270 - 273.15) * 100)
    before = lib.get_param(hcam, Param.TEMP) / 100  # cooling: it moves while we look
    reading = kinetix_cam.read("temperature")
    after = lib.get_param(hcam, Param.TEMP) / 100
    assert min(before, after) <= reading <= max(before, after)
    _low, high = kinetix_cam.settings.temperature_setpoint.limits
    with record(kinetix_cam) as log, pytest.raises(LimitError):
        kinetix_cam.temperature_setpoint = high + 1
    assert log.sent == []


def test_settings_read_back_from_the_camera(kinetix_cam: PvcamCamera) -> None:
    lib, hcam = raw(kinetix_cam)
    kinetix_cam.fan_speed = "Low"
    kinetix_cam.clear_mode = "Pre-Sequence"
    kinetix_cam.expose_out_mode = "All Rows"
    kinetix_cam.metadata = True
    kinetix_cam.centroid_count = 33
    assert lib.get_param(hcam, Param.FAN_SPEED_SETPOINT) == 2
    assert lib.get_param(hcam, Param.CLEAR_MODE) == 2
    assert lib.get_param(hcam, Param.EXPOSE_OUT_MODE) == 1
    assert lib.get_param(hcam, Param.METADATA_ENABLED) is True
    assert lib.get_param(hcam, Param.CENTROIDS_COUNT) == 33
    lib.set_param(hcam, Param.FAN_SPEED_SETPOINT, 3)  # changed behind the instrument's back
    assert kinetix_cam.refresh()["fan_speed"] == "Off"


def test_a_pvcam_failure_carries_its_code_and_message(kinetix_cam: PvcamCamera) -> None:
    with pytest.raises(PvcamError) as caught:
        kinetix_cam.software_trigger()  # nothing is acquiring
    error = caught.value
    assert error.code is not None
    assert error.code != 0
    assert error.name == "PL_ERR_STATE_INVALID"
    assert error.pvcam_message
    assert error.pvcam_message in str(error)
    assert error.instrument == "kinetix"


def test_snapshot_and_panel(kinetix_cam: PvcamCamera) -> None:
    snapshot = json.loads(json.dumps(kinetix_cam.snapshot(), allow_nan=False))
    settings = snapshot["settings"]
    assert settings["readout_port"]["choices"] == names(kinetix_cam, Param.READOUT_PORT)
    assert settings["roi"]["value"] == "0,0,3200,3200"
    assert settings["exposure"]["unit"] == "s"
    pytest.importorskip("ipywidgets")
    panel = kinetix_cam.panel()
    for handle in kinetix_cam.settings:
        panel.row(handle.name)
