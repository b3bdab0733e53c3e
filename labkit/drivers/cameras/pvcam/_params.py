"""PVCAM's constants: parameter IDs, attribute and type codes, enumerations.

Values are those of the PVCAM 3.10 public header as collected in labkit's reference notes
(``pvcam-frames.md`` §0–§3). A parameter ID packs its value type in the top byte:
``id = (type << 24) + (class << 16) + index``; :func:`param_type` unpacks it.
"""

from __future__ import annotations

from enum import IntEnum

from labkit.native import FrameFlag, ImageCompression, ImageFormat, RoiFlag

__all__ = [
    "CAM_NAME_LEN",
    "ERROR_MSG_LEN",
    "PV_FAIL",
    "PV_OK",
    "Access",
    "Attr",
    "CallbackEvent",
    "CcsAbortMode",
    "CentroidsMode",
    "CircMode",
    "ClearMode",
    "ColorMode",
    "ExpRes",
    "ExposeOutMode",
    "ExposureMode",
    "FanSpeed",
    "FrameSummingFormat",
    "ImageCompression",
    "ImageFormat",
    "ImageStatus",
    "MdExtTag",
    "MdFrameFlag",
    "MdRoiFlag",
    "OpenMode",
    "Param",
    "ParamType",
    "SwTriggerStatus",
    "bytes_per_pixel",
    "param_type",
]

PV_OK = 1
PV_FAIL = 0
CAM_NAME_LEN = 32  # bytes, including the terminating NUL
ERROR_MSG_LEN = 255  # bytes, including the terminating NUL


class Attr(IntEnum):
    """Attributes of a parameter, the third argument of ``pl_get_param``."""

    CURRENT = 0
    COUNT = 1
    TYPE = 2
    MIN = 3
    MAX = 4
    DEFAULT = 5
    INCREMENT = 6
    ACCESS = 7
    AVAIL = 8
    LIVE = 9


class Access(IntEnum):
    """Values of ``ATTR_ACCESS``."""

    ERROR = 0
    READ_ONLY = 1
    READ_WRITE = 2
    EXIST_CHECK_ONLY = 3
    WRITE_ONLY = 4


class ParamType(IntEnum):
    """Value type codes, as answered by ``ATTR_TYPE`` and packed into parameter IDs."""

    INT16 = 1
    INT32 = 2
    FLT64 = 4
    UNS8 = 5
    UNS16 = 6
    UNS32 = 7
    UNS64 = 8
    ENUM = 9
    BOOLEAN = 11
    INT8 = 12
    CHAR_PTR = 13
    VOID_PTR = 14
    VOID_PTR_PTR = 15
    INT64 = 16
    SMART_STREAM_TYPE = 17
    SMART_STREAM_TYPE_PTR = 18
    FLT32 = 19
    RGN_TYPE = 20
    RGN_TYPE_PTR = 21


class Param(IntEnum):
    """Parameter IDs (reference §3.3 and the 3.10 header)."""

    # Camera identity
    CHIP_NAME = 0x0D020081
    VENDOR_NAME = 0x0D020083
    PRODUCT_NAME = 0x0D020084
    CAM_FW_VERSION = 0x06020214
    HEAD_SER_NUM_ALPHA = 0x0D020215
    # Exposure and triggering
    EXPOSURE_MODE = 0x09020217
    EXPOSE_OUT_MODE = 0x09020230
    EXP_RES = 0x09030002
    EXP_RES_INDEX = 0x06030004
    EXPOSURE_TIME = 0x08030008
    EXP_TIME = 0x06030001
    CLEAR_MODE = 0x0902020B
    CLEAR_CYCLES = 0x06020061
    PMODE = 0x0902020C
    # Speed table: port → speed → gain
    READOUT_PORT = 0x090200F7
    SPDTAB_INDEX = 0x01020201
    SPDTAB_NAME = 0x0D020203
    GAIN_INDEX = 0x01020200
    GAIN_NAME = 0x0D020202
    PIX_TIME = 0x06020204
    # Pixel format
    BIT_DEPTH = 0x010201FF
    BIT_DEPTH_HOST = 0x01020227
    IMAGE_FORMAT = 0x090200F8
    IMAGE_FORMAT_HOST = 0x09020228
    IMAGE_COMPRESSION = 0x090200F9
    IMAGE_COMPRESSION_HOST = 0x090200FD
    HOST_FRAME_DECOMPRESSION_ENABLED = 0x0B020105
    HOST_FRAME_SUMMING_ENABLED = 0x0B020102
    HOST_FRAME_SUMMING_COUNT = 0x07020103
    HOST_FRAME_SUMMING_FORMAT = 0x09020104
    COLOR_MODE = 0x090201F8
    # Sensor geometry and regions
    SER_SIZE = 0x0602003A
    PAR_SIZE = 0x06020039
    PIX_SER_SIZE = 0x0602003E
    PIX_PAR_SIZE = 0x0602003F
    BINNING_SER = 0x090300A5
    BINNING_PAR = 0x090300A6
    ROI = 0x14030001
    ROI_COUNT = 0x060300A9
    # Metadata and centroids
    METADATA_ENABLED = 0x0B0300A8
    CENTROIDS_ENABLED = 0x0B0300AA
    CENTROIDS_RADIUS = 0x060300AB
    CENTROIDS_COUNT = 0x060300AC
    CENTROIDS_MODE = 0x090300AD
    CENTROIDS_BG_COUNT = 0x090300AE
    CENTROIDS_THRESHOLD = 0x070300AF
    # Cooling
    TEMP = 0x0102020D
    TEMP_SETPOINT = 0x0102020E
    FAN_SPEED_SETPOINT = 0x090202C6
    # Buffers and timing
    CIRC_BUFFER = 0x0B03012B
    FRAME_BUFFER_SIZE = 0x0803012C
    READOUT_TIME = 0x040200B3
    CLEARING_TIME = 0x100200B4
    POST_TRIGGER_DELAY = 0x100200B5
    PRE_TRIGGER_DELAY = 0x100200B6
    SCAN_MODE = 0x090300FA
    SCAN_DIRECTION = 0x090300FB
    SCAN_LINE_TIME = 0x100300FE
    FRAME_DELIVERY_MODE = 0x09030190


def param_type(param_id: int) -> ParamType | int:
    """The value type packed into a parameter ID (its top byte)."""
    code = (int(param_id) >> 24) & 0xFF
    try:
        return ParamType(code)
    except ValueError:
        return code


class ExposureMode(IntEnum):
    """``PL_EXPOSURE_MODES``: legacy modes and the extended ones (OR-ed with an expose-out mode)."""

    TIMED = 0
    STROBED = 1
    BULB = 2
    TRIGGER_FIRST = 3
    FLASH = 4
    VARIABLE_TIMED = 5
    INT_STROBE = 6
    MAX_EXPOSE_MODE = 7
    EXT_TRIG_INTERNAL = 7 << 8
    EXT_TRIG_TRIG_FIRST = 8 << 8
    EXT_TRIG_EDGE_RISING = 9 << 8
    EXT_TRIG_LEVEL = 10 << 8
    EXT_TRIG_SOFTWARE_FIRST = 11 << 8
    EXT_TRIG_SOFTWARE_EDGE = 12 << 8
    EXT_TRIG_LEVEL_OVERLAP = 13 << 8
    EXT_TRIG_LEVEL_PULSED = 14 << 8


class ExposeOutMode(IntEnum):
    """``PL_EXPOSE_OUT_MODES``: what the expose-out line follows."""

    FIRST_ROW = 0
    ALL_ROWS = 1
    ANY_ROW = 2
    ROLLING_SHUTTER = 3
    LINE_TRIGGER = 4
    GLOBAL_SHUTTER = 5


class ClearMode(IntEnum):
    """``PL_CLEAR_MODES`` (NEVER means automatic clearing on modern sCMOS)."""

    NEVER = 0
    PRE_EXPOSURE = 1
    PRE_SEQUENCE = 2
    POST_SEQUENCE = 3
    PRE_POST_SEQUENCE = 4
    PRE_EXPOSURE_POST_SEQ = 5


class ExpRes(IntEnum):
    """``PL_EXP_RES_MODES``: the unit of exposure times."""

    ONE_MILLISEC = 0
    ONE_MICROSEC = 1
    ONE_SEC = 2

    @property
    def seconds(self) -> float:
        """One unit of this resolution, in seconds."""
        return {0: 1e-3, 1: 1e-6, 2: 1.0}[int(self)]


class FanSpeed(IntEnum):
    """``PL_FAN_SPEEDS``."""

    HIGH = 0
    MEDIUM = 1
    LOW = 2
    OFF = 3


class ColorMode(IntEnum):
    """``PL_COLOR_MODES``, also the ``colorMask`` byte of the frame header."""

    NONE = 0
    RESERVED = 1
    RGGB = 2
    GRBG = 3
    GBRG = 4
    BGGR = 5


_BYTES_PER_PIXEL = {
    ImageFormat.MONO16: 2,
    ImageFormat.BAYER16: 2,
    ImageFormat.MONO8: 1,
    ImageFormat.BAYER8: 1,
    ImageFormat.MONO24: 3,
    ImageFormat.BAYER24: 3,
    ImageFormat.RGB24: 3,
    ImageFormat.RGB48: 6,
    ImageFormat.RGB72: 9,
    ImageFormat.MONO32: 4,
    ImageFormat.BAYER32: 4,
    ImageFormat.RGB96: 12,
}


def bytes_per_pixel(image_format: int) -> int:
    """Bytes one pixel occupies in a frame of ``image_format`` (all samples of a colour pixel)."""
    return _BYTES_PER_PIXEL[ImageFormat(image_format)]


class FrameSummingFormat(IntEnum):
    """``PL_FRAME_SUMMING_FORMATS``: the container of host-summed frames (MONO16/24/32)."""

    BIT_16 = 0
    BIT_24 = 1
    BIT_32 = 2


class CentroidsMode(IntEnum):
    """``PL_CENTROIDS_MODES``."""

    LOCATE = 0
    TRACK = 1
    BLOB = 2


class CircMode(IntEnum):
    """``PL_CIRC_MODES``: the buffer mode of ``pl_exp_setup_cont``."""

    NONE = 0
    OVERWRITE = 1
    NO_OVERWRITE = 2


class ImageStatus(IntEnum):
    """``PL_IMAGE_STATUSES`` from ``pl_exp_check_status``/``_cont_status``.

    READOUT_COMPLETE means a whole sequence in sequence mode and "a frame is available"
    (``FRAME_AVAILABLE``) in continuous mode.
    """

    READOUT_NOT_ACTIVE = 0
    EXPOSURE_IN_PROGRESS = 1
    READOUT_IN_PROGRESS = 2
    READOUT_COMPLETE = 3
    FRAME_AVAILABLE = 3
    READOUT_FAILED = 4
    ACQUISITION_IN_PROGRESS = 5


class CcsAbortMode(IntEnum):
    """``PL_CCS_ABORT_MODES`` for ``pl_exp_abort``/``pl_exp_stop_cont`` (HALT suits sCMOS)."""

    NO_CHANGE = 0
    HALT = 1
    HALT_CLOSE_SHTR = 2
    CLEAR = 3
    CLEAR_CLOSE_SHTR = 4
    OPEN_SHTR = 5
    CLEAR_OPEN_SHTR = 6


class CallbackEvent(IntEnum):
    """``PL_CALLBACK_EVENT`` for ``pl_cam_register_callback_ex3``."""

    BOF = 0
    EOF = 1
    CHECK_CAMS = 2
    CAM_REMOVED = 3
    CAM_RESUMED = 4


class OpenMode(IntEnum):
    """``PL_OPEN_MODES``."""

    EXCLUSIVE = 0


class SwTriggerStatus(IntEnum):
    """Flags returned by ``pl_exp_trigger``: IGNORED means an exposure was in progress."""

    TRIGGERED = 0
    IGNORED = 1


class MdExtTag(IntEnum):
    """``PL_MD_EXT_TAGS``: extended-metadata items (1-byte tag + u32 value)."""

    PARTICLE_ID = 0
    PARTICLE_M0 = 1
    PARTICLE_M2 = 2


# The metadata flags and the image formats are the frame decoder's own: one definition.
MdFrameFlag = FrameFlag
MdRoiFlag = RoiFlag
