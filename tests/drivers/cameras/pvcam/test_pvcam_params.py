"""Cameras, parameters, attributes, enumerations and errors through the binding."""

from __future__ import annotations

import ctypes
import time

import pytest

from labkit.core import ChoiceError, InstrumentError, SettingTypeError
from labkit.drivers.cameras.pvcam import (
    Access,
    Attr,
    ErrorCode,
    ExposureMode,
    FrameInfo,
    ImageFormat,
    Param,
    ParamNotAvailable,
    ParamReadOnly,
    ParamType,
    PvcamError,
    PvcamLibrary,
    Rgn,
    RgnType,
    param_type,
)
from labkit.sim import pvcam as pvsim

#: Every parameter the simulated cameras answer, with its value type.
SUPPORTED = {
    Param.CHIP_NAME: ParamType.CHAR_PTR,
    Param.VENDOR_NAME: ParamType.CHAR_PTR,
    Param.PRODUCT_NAME: ParamType.CHAR_PTR,
    Param.HEAD_SER_NUM_ALPHA: ParamType.CHAR_PTR,
    Param.CAM_FW_VERSION: ParamType.UNS16,
    Param.EXPOSURE_TIME: ParamType.UNS64,
    Param.EXP_RES: ParamType.ENUM,
    Param.EXP_RES_INDEX: ParamType.UNS16,
    Param.EXPOSURE_MODE: ParamType.ENUM,
    Param.EXPOSE_OUT_MODE: ParamType.ENUM,
    Param.CLEAR_MODE: ParamType.ENUM,
    Param.READOUT_PORT: ParamType.ENUM,
    Param.SPDTAB_INDEX: ParamType.INT16,
    Param.SPDTAB_NAME: ParamType.CHAR_PTR,
    Param.GAIN_INDEX: ParamType.INT16,
    Param.GAIN_NAME: ParamType.CHAR_PTR,
    Param.PIX_TIME: ParamType.UNS16,
    Param.BIT_DEPTH: ParamType.INT16,
    Param.BIT_DEPTH_HOST: ParamType.INT16,
    Param.IMAGE_FORMAT: ParamType.ENUM,
    Param.IMAGE_FORMAT_HOST: ParamType.ENUM,
    Param.IMAGE_COMPRESSION: ParamType.ENUM,
    Param.IMAGE_COMPRESSION_HOST: ParamType.ENUM,
    Param.SER_SIZE: ParamType.UNS16,
    Param.PAR_SIZE: ParamType.UNS16,
    Param.PIX_SER_SIZE: ParamType.UNS16,
    Param.PIX_PAR_SIZE: ParamType.UNS16,
    Param.BINNING_SER: ParamType.ENUM,
    Param.BINNING_PAR: ParamType.ENUM,
    Param.ROI: ParamType.RGN_TYPE,
    Param.ROI_COUNT: ParamType.UNS16,
    Param.METADATA_ENABLED: ParamType.BOOLEAN,
    Param.CENTROIDS_ENABLED: ParamType.BOOLEAN,
    Param.CENTROIDS_RADIUS: ParamType.UNS16,
    Param.CENTROIDS_COUNT: ParamType.UNS16,
    Param.CENTROIDS_MODE: ParamType.ENUM,
    Param.TEMP: ParamType.INT16,
    Param.TEMP_SETPOINT: ParamType.INT16,
    Param.FAN_SPEED_SETPOINT: ParamType.ENUM,
    Param.CIRC_BUFFER: ParamType.BOOLEAN,
    Param.FRAME_BUFFER_SIZE: ParamType.UNS64,
    Param.READOUT_TIME: ParamType.UNS32,
}


def test_library_version_and_cameras(lib: PvcamLibrary) -> None:
    assert lib.version() == (3, 10, 0)
    assert lib.missing_functions == []
    assert lib.camera_count() == 2
    assert lib.camera_names() == [pvsim.KINETIX, pvsim.PRIME_BSI]
    assert PvcamLibrary.load(lib.path) is lib  # one binding per library: shared ref-count


def test_init_is_reference_counted(lib: PvcamLibrary) -> None:
    lib.init()
    lib.uninit()
    assert lib.initialized
    assert lib.camera_count() == 2


def test_open_close_and_handle_errors(lib: PvcamLibrary) -> None:
    hcam = lib.open_camera(pvsim.PRIME_BSI)
    with pytest.raises(PvcamError) as info:
        lib.open_camera(pvsim.PRIME_BSI)
    assert info.value.name == "PL_ERR_DEVICE_ALREADY_OPEN"
    lib.close_camera(hcam)
    with pytest.raises(PvcamError) as info:
        lib.get_param(hcam, Param.SER_SIZE)
    assert info.value.name == "PL_ERR_DEVICE_HANDLE_INVALID"
    with pytest.raises(PvcamError) as info:
        lib.open_camera("no-such-camera")
    assert info.value.name == "PL_ERR_DEVICE_NAME_UNKNOWN"
    assert info.value.function == "pl_cam_open"
    with pytest.raises(PvcamError) as info:
        lib.camera_name(7)
    assert info.value.name == "PL_ERR_INDEX_OUT_OF_RANGE"


def test_error_carries_code_message_and_function(lib: PvcamLibrary, kinetix: int) -> None:
    with pytest.raises(PvcamError) as info:
        lib.set_param(kinetix, Param.READOUT_PORT, 9)
    error = info.value
    assert isinstance(error, InstrumentError)
    assert error.function == "pl_set_param"
    assert error.name == "PL_ERR_VALUE_INVALID"
    assert isinstance(error.code, int)
    assert error.code > 0
    assert error.code == ErrorCode.VALUE_INVALID == 164
    # PVCAM's convention: a sentence without final period, the code's name in parentheses, and
    # as the vendor's library does, the detail of the failure after it.
    assert error.pvcam_message == (
        "Invalid value (PL_ERR_VALUE_INVALID). The value is not one of the parameter's "
        "enumerated values"
    )
    assert error.pvcam_message == lib.error_message(error.code)
    assert "PARAM_READOUT_PORT" in str(error)


@pytest.mark.parametrize("camera", [pvsim.KINETIX, pvsim.PRIME_BSI])
def test_every_supported_param_and_its_attributes(lib: PvcamLibrary, camera: str) -> None:
    hcam = lib.open_camera(camera)
    try:
        for param_id, expected_type in SUPPORTED.items():
            info = lib.param_info(hcam, param_id)
            assert info.available, info.name
            assert info.type == expected_type, info.name
            assert info.access in (Access.READ_ONLY, Access.READ_WRITE), info.name
            if param_id == Param.FRAME_BUFFER_SIZE:
                # Only known once an acquisition is set up.
                assert info.errors[Attr.CURRENT].name == "PL_ERR_ACQUISITION_SETUP_REQUIRED"
                continue
            assert not info.errors, (info.name, info.errors)
            assert info.current is not None
            assert info.default is not None
            if expected_type == ParamType.CHAR_PTR:
                assert isinstance(info.current, str)
                assert info.current
                assert info.count == len(info.current) + 1
            elif expected_type == ParamType.RGN_TYPE:
                assert isinstance(info.current, Rgn)
            elif expected_type == ParamType.ENUM:
                assert info.count == len(info.items) > 0
                assert info.current in {item.value for item in info.items}
                assert all(item.name for item in info.items)
            else:
                assert info.minimum <= info.current <= info.maximum, info.name
                assert info.increment >= 1
    finally:
        lib.close_camera(hcam)


def test_param_id_encodes_its_type() -> None:
    assert param_type(Param.EXPOSURE_TIME) == ParamType.UNS64
    assert param_type(Param.READOUT_PORT) == ParamType.ENUM
    assert param_type(Param.ROI) == ParamType.RGN_TYPE
    assert param_type(Param.READOUT_TIME) == ParamType.FLT64  # the header's known mistake


def test_sensor_and_attributes(lib: PvcamLibrary, kinetix: int, primebsi: int) -> None:
    assert lib.get_param(kinetix, Param.SER_SIZE) == 3200
    assert lib.get_param(kinetix, Param.PAR_SIZE) == 3200
    assert lib.get_param(primebsi, Param.SER_SIZE) == 2048
    assert lib.get_param(kinetix, Param.PIX_SER_SIZE) == 6500
    assert lib.get_param(kinetix, Param.ROI_COUNT, Attr.MAX) == 15
    assert lib.get_param(kinetix, Param.TEMP, Attr.LIVE) is True
    assert lib.get_param(kinetix, Param.SER_SIZE, Attr.LIVE) is False
    assert lib.get_param(kinetix, Param.METADATA_ENABLED, Attr.ACCESS) == Access.READ_WRITE
    assert lib.get_param(kinetix, Param.BIT_DEPTH, Attr.ACCESS) == Access.READ_ONLY
    assert lib.get_param(kinetix, Param.CIRC_BUFFER) is True
    assert lib.get_param(kinetix, Param.ROI) == Rgn(0, 3199, 1, 0, 3199, 1)


def test_enumerations_have_real_names(lib: PvcamLibrary, kinetix: int) -> None:
    ports = {i.name: i.value for i in lib.enum_items(kinetix, Param.READOUT_PORT)}
    assert ports == {"Sensitivity": 0, "Speed": 1, "Dynamic Range": 2, "Sub-Electron": 3}
    modes = {i.value: i.name for i in lib.enum_items(kinetix, Param.EXPOSURE_MODE)}
    assert modes[ExposureMode.EXT_TRIG_INTERNAL] == "Internal Trigger"
    assert modes[ExposureMode.EXT_TRIG_SOFTWARE_EDGE] == "Software Trigger Edge"
    fans = [i.name for i in lib.enum_items(kinetix, Param.FAN_SPEED_SETPOINT)]
    assert fans == ["High", "Medium", "Low", "Off"]
    centroids = [i.name for i in lib.enum_items(kinetix, Param.CENTROIDS_MODE)]
    assert centroids == ["Locate", "Track", "Blob"]
    binnings = [(i.value, i.name) for i in lib.enum_items(kinetix, Param.BINNING_SER)]
    assert binnings == [(1, "1x1"), (2, "2x2"), (4, "4x4")]


def test_enum_errors_from_the_raw_calls(lib: PvcamLibrary, kinetix: int) -> None:
    value, text = ctypes.c_int32(), ctypes.create_string_buffer(4)
    with pytest.raises(PvcamError) as info:
        lib.call("pl_get_enum_param", kinetix, Param.READOUT_PORT, 0, ctypes.byref(value), text, 4)
    assert info.value.name == "PL_ERR_BUFFER_TOO_SMALL"
    length = ctypes.c_uint32()
    with pytest.raises(PvcamError) as info:
        lib.call("pl_enum_str_length", kinetix, Param.READOUT_PORT, 99, ctypes.byref(length))
    assert info.value.name == "PL_ERR_INDEX_OUT_OF_RANGE"
    with pytest.raises(PvcamError) as info:
        lib.call("pl_enum_str_length", kinetix, Param.SER_SIZE, 0, ctypes.byref(length))
    assert info.value.name == "PL_ERR_PARAMETER_NOT_ENUM"
    with pytest.raises(PvcamError) as info:
        lib.call("pl_get_param", kinetix, 0x06029999, 0, ctypes.byref(length))
    assert info.value.name == "PL_ERR_PARAMETER_UNKNOWN"
    with pytest.raises(PvcamError) as info:
        lib.call("pl_get_param", kinetix, Param.CHIP_NAME, Attr.MIN, text)
    assert info.value.name == "PL_ERR_ATTRIBUTE_NOT_AVAILABLE"


def test_port_speed_gain_follow_the_speed_table(lib: PvcamLibrary, kinetix: int, primebsi: int):
    lib.set_param(kinetix, Param.READOUT_PORT, "Speed")
    assert lib.get_param(kinetix, Param.BIT_DEPTH) == 8
    assert lib.get_param(kinetix, Param.IMAGE_FORMAT) == ImageFormat.MONO8
    assert lib.get_param(kinetix, Param.READOUT_TIME) == 2000  # µs, reference §4.2
    lib.set_param(kinetix, Param.READOUT_PORT, "Dynamic Range")
    assert lib.get_param(kinetix, Param.BIT_DEPTH_HOST) == 16
    assert lib.get_param(kinetix, Param.IMAGE_FORMAT_HOST) == ImageFormat.MONO16
    assert lib.get_param(kinetix, Param.READOUT_TIME) == 12000
    lib.set_param(kinetix, Param.READOUT_PORT, 0)
    assert lib.get_param(kinetix, Param.BIT_DEPTH) == 12
    assert lib.get_param(kinetix, Param.READOUT_TIME) == 11300

    assert lib.get_param(primebsi, Param.SPDTAB_INDEX, Attr.COUNT) == 2
    lib.set_param(primebsi, Param.GAIN_INDEX, 3)
    assert lib.get_param(primebsi, Param.GAIN_NAME) == "Sensitivity"
    assert lib.get_param(primebsi, Param.BIT_DEPTH) == 11
    lib.set_param(primebsi, Param.SPDTAB_INDEX, 1)  # resets the gain to 1
    assert lib.get_param(primebsi, Param.GAIN_INDEX) == 1
    assert lib.get_param(primebsi, Param.GAIN_INDEX, Attr.MAX) == 1
    assert lib.get_param(primebsi, Param.SPDTAB_NAME) == "100 MHz"
    assert lib.get_param(primebsi, Param.BIT_DEPTH) == 16
    assert lib.get_param(primebsi, Param.PIX_TIME) == 10
    with pytest.raises(PvcamError) as info:
        lib.set_param(primebsi, Param.GAIN_INDEX, 2)
    assert info.value.name == "PL_ERR_VALUE_OUT_OF_RANGE"


def test_exposure_resolution(lib: PvcamLibrary, primebsi: int) -> None:
    assert lib.get_param(primebsi, Param.EXPOSURE_TIME, Attr.DEFAULT) == 10  # ms
    lib.set_param(primebsi, Param.EXP_RES, "One Microsecond")
    assert lib.get_param(primebsi, Param.EXP_RES_INDEX) == 1
    assert lib.get_param(primebsi, Param.EXPOSURE_TIME, Attr.DEFAULT) == 10_000
    lib.set_param(primebsi, Param.EXP_RES_INDEX, 2)
    assert lib.get_param(primebsi, Param.EXP_RES) == 2
    lib.setup_seq(primebsi, 1, [Rgn.from_origin(0, 0, 32, 32)], 2)  # two seconds
    assert lib.get_param(primebsi, Param.EXPOSURE_TIME) == 2


def test_settings_and_their_errors(lib: PvcamLibrary, kinetix: int) -> None:
    lib.set_param(kinetix, Param.METADATA_ENABLED, True)
    assert lib.get_param(kinetix, Param.METADATA_ENABLED) is True
    lib.set_param(kinetix, Param.CENTROIDS_ENABLED, True)
    lib.set_param(kinetix, Param.CENTROIDS_MODE, "Track")
    lib.set_param(kinetix, Param.CENTROIDS_RADIUS, 5)
    lib.set_param(kinetix, Param.CENTROIDS_COUNT, 100)
    assert lib.get_param(kinetix, Param.CENTROIDS_COUNT) == 100
    lib.set_param(kinetix, Param.EXPOSE_OUT_MODE, "Any Row")
    assert lib.get_param(kinetix, Param.EXPOSE_OUT_MODE) == 2

    with pytest.raises(PvcamError) as info:
        lib.set_param(kinetix, Param.CENTROIDS_RADIUS, 16)
    assert info.value.name == "PL_ERR_VALUE_OUT_OF_RANGE"
    with pytest.raises(PvcamError) as info:
        lib.set_param(kinetix, Param.TEMP_SETPOINT, -9000)
    assert info.value.name == "PL_ERR_VALUE_OUT_OF_RANGE"
    with pytest.raises(ParamReadOnly):
        lib.set_param(kinetix, Param.SER_SIZE, 100)
    with pytest.raises(ParamNotAvailable):  # a monochrome sensor has no colour mode
        lib.get_param(kinetix, Param.COLOR_MODE)
    assert lib.is_available(kinetix, Param.COLOR_MODE) is False
    assert lib.param_info(kinetix, Param.COLOR_MODE).available is False
    with pytest.raises(SettingTypeError):
        lib.set_param(kinetix, Param.CENTROIDS_RADIUS, 2.5)
    with pytest.raises(SettingTypeError):
        lib.set_param(kinetix, Param.CENTROIDS_RADIUS, 70000)  # does not fit a u16
    with pytest.raises(ChoiceError, match="'Sensitivity'"):
        lib.set_param(kinetix, Param.READOUT_PORT, "Turbo")


def test_temperature_approaches_the_set_point(
    lib: PvcamLibrary, primebsi: int, sim: pvsim.SimulatedPvcam
) -> None:
    sim.set_thermal(primebsi, ambient_c=25.0, time_constant_s=0.4)
    lib.set_param(primebsi, Param.TEMP_SETPOINT, -1000)
    readings = []
    for _ in range(6):
        readings.append(lib.get_param(primebsi, Param.TEMP))
        time.sleep(0.2)
    distances = [abs(r - -1000) for r in readings]
    assert distances == sorted(distances, reverse=True)
    assert distances[0] > distances[-1]
    deadline = time.monotonic() + 3
    while abs(lib.get_param(primebsi, Param.TEMP) + 1000) > 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert abs(lib.get_param(primebsi, Param.TEMP) + 1000) <= 10
    # With the fan off the cooler cannot reach 35 °C below ambient.
    lib.set_param(primebsi, Param.TEMP_SETPOINT, -2500)
    lib.set_param(primebsi, Param.FAN_SPEED_SETPOINT, "Off")
    time.sleep(1.0)
    assert lib.get_param(primebsi, Param.TEMP) > -2500 + 500


def test_ctypes_structures_match_the_c_layout() -> None:
    assert ctypes.sizeof(FrameInfo) == 48
    offsets = {name: getattr(FrameInfo, name).offset for name, _ in FrameInfo._fields_}
    assert offsets == {
        "FrameInfoGUID": 0,
        "hCam": 16,
        "FrameNr": 20,
        "TimeStamp": 24,
        "ReadoutTime": 32,
        "TimeStampBOF": 40,
    }
    assert ctypes.sizeof(RgnType) == 12
    assert RgnType.from_region(Rgn(1, 2, 3, 4, 5, 6)).to_region() == Rgn(1, 2, 3, 4, 5, 6)
