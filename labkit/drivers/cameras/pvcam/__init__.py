"""Teledyne Photometrics cameras through PVCAM's C library, bound with ctypes.

The camera instrument (a labkit ``Instrument`` and ``Camera``)::

    cam = PvcamCamera("pvcam://Kinetix", name="cam")   # or "pvcam://<name>@/path/libpvcam.so"
    cam.set_readout("Dynamic Range")                    # port, then speed and gain
    cam.exposure = "10 ms"; cam.metadata = True
    cam.roi = "0,0,1600,1600; 1600,1600,1600,1600"     # or cam.set_rois([Rgn(...), ...])
    frame = cam.snap()                                  # a labkit Frame: pixels, number, times
    queue = cam.subscribe(maxsize=16); cam.start() ...  # live frames; cam.stop(); cam.close()

The library is loaded by path (:func:`find_library` says from where), so the vendor's libpvcam
and labkit's simulated one (``labkit.sim.pvcam.library_path()``) run through the same code. The
binding underneath::

    lib = PvcamLibrary.load()            # or PvcamLibrary.load("/path/to/libpvcam.so")
    with lib:                            # pl_pvcam_init / pl_pvcam_uninit, reference-counted
        hcam = lib.open_camera(lib.camera_names()[0])
        lib.set_param(hcam, Param.READOUT_PORT, "Dynamic Range")
        size = lib.setup_seq(hcam, 1, [Rgn.from_origin(0, 0, 512, 512)], exposure=10)
        buffer = lib.new_buffer(size, 1)
        lib.start_seq(hcam, buffer)
"""

from labkit.drivers.cameras.pvcam._address import SCHEME, format_address, parse_address
from labkit.drivers.cameras.pvcam._api import Frame, PvcamLibrary
from labkit.drivers.cameras.pvcam._camera import PvcamCamera, list_cameras
from labkit.drivers.cameras.pvcam._describe import CameraDescription
from labkit.drivers.cameras.pvcam._errors import (
    CameraRemoved,
    ErrorCode,
    ParamNotAvailable,
    ParamReadOnly,
    PvcamError,
    ReadoutFailed,
)
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
    FrameSummingFormat,
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
from labkit.drivers.cameras.pvcam._types import FrameInfo, Rgn, RgnType
from labkit.drivers.cameras.pvcam._values import EnumItem, ParamInfo

__all__ = [
    "CAM_NAME_LEN",
    "ENV_VAR",
    "ERROR_MSG_LEN",
    "SCHEME",
    "Access",
    "Attr",
    "CallbackEvent",
    "CameraDescription",
    "CameraRemoved",
    "CcsAbortMode",
    "CentroidsMode",
    "CircMode",
    "ClearMode",
    "ColorMode",
    "EnumItem",
    "ErrorCode",
    "ExpRes",
    "ExposeOutMode",
    "ExposureMode",
    "FanSpeed",
    "Frame",
    "FrameInfo",
    "FrameSummingFormat",
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
    "PvcamCamera",
    "PvcamError",
    "PvcamLibrary",
    "PvcamSession",
    "RawFrame",
    "ReadoutFailed",
    "Rgn",
    "RgnType",
    "SwTriggerStatus",
    "bytes_per_pixel",
    "find_library",
    "format_address",
    "list_cameras",
    "load_library",
    "param_type",
    "parse_address",
    "standard_locations",
]
