"""labkit's core: the instrument model, the protocols the other layers meet at, units and errors.

``core`` imports no other labkit package and none of the I/O, storage or UI libraries.
"""

from labkit.core._acquisition import Acquired, RecordedQuantity, TimedAcquisition
from labkit.core._axes import Axis
from labkit.core._camera import (
    Camera,
    Frame,
    FrameBroadcaster,
    FrameQueue,
    FrameSource,
    Region,
    StreamClosed,
    fit_span,
)
from labkit.core._conditions import Condition, Interlock
from labkit.core._declarations import reserved_names
from labkit.core._device import Device
from labkit.core._errors import (
    AccessError,
    ChoiceError,
    ConfigurationError,
    ConnectionLost,
    DeclarationError,
    FrameFormatError,
    InstrumentError,
    InstrumentTimeout,
    InterlockError,
    LabkitError,
    LimitError,
    LockedError,
    MissingVendorLibrary,
    NotConnectedError,
    PluginError,
    RampInterrupted,
    ReplyError,
    RunWaitTimeout,
    SettingInUse,
    SettingTypeError,
    UnitError,
    UnknownSettingError,
    ValidationError,
)
from labkit.core._exit import safe_on_exit
from labkit.core._guards import (
    Bound,
    SettingLock,
    bounds_in_force,
    check_lock,
    check_ramp_rate,
    check_soft_limits,
    check_value,
    check_writable,
)
from labkit.core._handles import ActionHandle, Handle, Namespace, ReadingHandle, SettingHandle
from labkit.core._instrument import Channel, Instrument
from labkit.core._link import DeclaringLink, Link
from labkit.core._message import MessageInstrument
from labkit.core._moved import moved_names
from labkit.core._numbers import FrameNumbers
from labkit.core._registry import close_all, instruments
from labkit.core._spec import TraitSpec
from labkit.core._state import SettingState
from labkit.core._traits import Action, Reading, Setting, as_trait
from labkit.core._transport import Transport, UsbLink

__all__ = [
    "AccessError",
    "Acquired",
    "Action",
    "ActionHandle",
    "Axis",
    "Bound",
    "Camera",
    "Channel",
    "ChoiceError",
    "Condition",
    "ConfigurationError",
    "ConnectionLost",
    "DeclarationError",
    "DeclaringLink",
    "Device",
    "Frame",
    "FrameBroadcaster",
    "FrameFormatError",
    "FrameNumbers",
    "FrameQueue",
    "FrameSource",
    "Handle",
    "Instrument",
    "InstrumentError",
    "InstrumentTimeout",
    "Interlock",
    "InterlockError",
    "LabkitError",
    "LimitError",
    "Link",
    "LockedError",
    "MessageInstrument",
    "MissingVendorLibrary",
    "Namespace",
    "NotConnectedError",
    "PluginError",
    "RampInterrupted",
    "Reading",
    "ReadingHandle",
    "RecordedQuantity",
    "Region",
    "ReplyError",
    "RunWaitTimeout",
    "Setting",
    "SettingHandle",
    "SettingInUse",
    "SettingLock",
    "SettingState",
    "SettingTypeError",
    "StreamClosed",
    "TimedAcquisition",
    "TraitSpec",
    "Transport",
    "UnitError",
    "UnknownSettingError",
    "UsbLink",
    "ValidationError",
    "as_trait",
    "bounds_in_force",
    "check_lock",
    "check_ramp_rate",
    "check_soft_limits",
    "check_value",
    "check_writable",
    "close_all",
    "fit_span",
    "instruments",
    "reserved_names",
    "safe_on_exit",
]

__getattr__ = moved_names(
    "labkit.core",
    {
        "UsbTransport": (
            "labkit.core.UsbLink (pyusb's is labkit.transports.UsbTransport)",
            lambda: UsbLink,
        )
    },
)
