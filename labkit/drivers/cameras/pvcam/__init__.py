"""Teledyne Photometrics cameras through PVCAM's C library, bound with ctypes.

The library is loaded by path (:func:`find_library` says from where), so the vendor's libpvcam
and labkit's simulated one (``labkit.sim.pvcam.library_path()``) run through the same code::

    lib = PvcamLibrary.load()            # or PvcamLibrary.load("/path/to/libpvcam.so")
    with lib:                            # pl_pvcam_init / pl_pvcam_uninit, reference-counted
        hcam = lib.open_camera(lib.camera_names()[0])
        lib.set_param(hcam, Param.READOUT_PORT, "Dynamic Range")
        size = lib.setup_seq(hcam, 1, [Region.from_origin(0, 0, 512, 512)], exposure=10)
        buffer = lib.new_buffer(size, 1)
        lib.start_seq(hcam, buffer)
"""

from labkit.drivers.cameras.pvcam._api import Frame, PvcamLibrary
from labkit.drivers.cameras.pvcam._errors import ParamNotAvailable, ParamReadOnly, PvcamError
from labkit.drivers.cameras.pvcam._library import (
    ENV_VAR,
    find_library,
    load_library,
    standard_locations,
)
from labkit.drivers.cameras.pvcam._params import (
    CAM_NAME_LEN,
    ERROR_MSG_LEN,
    Access,
    Attr,
    CallbackEvent,
    CcsAbortMode,
    CentroidsMode,
    CircMode,
    ClearMode,
    ColorMode,
    ExposeOutMode,
    ExposureMode,
    ExpRes,
    FanSpeed,
    ImageCompression,
    ImageFormat,
    ImageStatus,
    MdExtTag,
    MdFrameFlag,
    MdRoiFlag,
    OpenMode,
    Param,
    ParamType,
    SwTriggerStatus,
    bytes_per_pixel,
    param_type,
)
from labkit.drivers.cameras.pvcam._session import PvcamSession, RawFrame
from labkit.drivers.cameras.pvcam._types import FrameInfo, Region, RgnType
from labkit.drivers.cameras.pvcam._values import EnumItem, ParamInfo

__all__ = [
    "CAM_NAME_LEN",
    "ENV_VAR",
    "ERROR_MSG_LEN",
    "Access",
    "Attr",
    "CallbackEvent",
    "CcsAbortMode",
    "CentroidsMode",
    "CircMode",
    "ClearMode",
    "ColorMode",
    "EnumItem",
    "ExpRes",
    "ExposeOutMode",
    "ExposureMode",
    "FanSpeed",
    "Frame",
    "FrameInfo",
    "ImageCompression",
    "ImageFormat",
    "ImageStatus",
    "MdExtTag",
    "MdFrameFlag",
    "MdRoiFlag",
    "OpenMode",
    "Param",
    "ParamInfo",
    "ParamNotAvailable",
    "ParamReadOnly",
    "ParamType",
    "PvcamError",
    "PvcamLibrary",
    "PvcamSession",
    "RawFrame",
    "Region",
    "RgnType",
    "SwTriggerStatus",
    "bytes_per_pixel",
    "find_library",
    "load_library",
    "param_type",
    "standard_locations",
]
