"""labkit's core: the instrument model, the protocols the other layers meet at, units and errors.

``core`` imports no other labkit package and none of the I/O, storage or UI libraries.
"""

from labkit.core._errors import (
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
    SettingTypeError,
    UnitError,
    ValidationError,
)

__all__ = [
    "ChoiceError",
    "ConfigurationError",
    "ConnectionLost",
    "DeclarationError",
    "FrameFormatError",
    "InstrumentError",
    "InstrumentTimeout",
    "InterlockError",
    "LabkitError",
    "LimitError",
    "LockedError",
    "MissingVendorLibrary",
    "NotConnectedError",
    "PluginError",
    "RampInterrupted",
    "ReplyError",
    "SettingTypeError",
    "UnitError",
    "ValidationError",
]
