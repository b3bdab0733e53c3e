"""labkit's core: the instrument model, the protocols the other layers meet at, units and errors.

``core`` imports no other labkit package and none of the I/O, storage or UI libraries.
"""

from labkit.core._camera import Camera, Frame, FrameBroadcaster, FrameQueue, Region, StreamClosed
from labkit.core._conditions import Condition, Interlock
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
    SettingTypeError,
    UnitError,
    ValidationError,
)
from labkit.core._exit import safe_on_exit
from labkit.core._handles import ActionHandle, Handle, Namespace, ReadingHandle, SettingHandle
from labkit.core._instrument import Channel, Instrument
from labkit.core._registry import close_all, instruments
from labkit.core._spec import TraitSpec
from labkit.core._traits import Action, Reading, Setting
from labkit.core._transport import Transport, UsbTransport

__all__ = [
    "AccessError",
    "Action",
    "ActionHandle",
    "Camera",
    "Channel",
    "ChoiceError",
    "Condition",
    "ConfigurationError",
    "ConnectionLost",
    "DeclarationError",
    "Frame",
    "FrameBroadcaster",
    "FrameFormatError",
    "FrameQueue",
    "Handle",
    "Instrument",
    "InstrumentError",
    "InstrumentTimeout",
    "Interlock",
    "InterlockError",
    "LabkitError",
    "LimitError",
    "LockedError",
    "MissingVendorLibrary",
    "Namespace",
    "NotConnectedError",
    "PluginError",
    "RampInterrupted",
    "Reading",
    "ReadingHandle",
    "Region",
    "ReplyError",
    "RunWaitTimeout",
    "Setting",
    "SettingHandle",
    "SettingTypeError",
    "StreamClosed",
    "TraitSpec",
    "Transport",
    "UnitError",
    "UsbTransport",
    "ValidationError",
    "close_all",
    "instruments",
    "safe_on_exit",
]
