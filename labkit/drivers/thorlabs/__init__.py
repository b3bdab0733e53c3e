"""Thorlabs instruments."""

from labkit.drivers.thorlabs._tc200 import (
    TC200ArgumentError,
    TC200CommandError,
    TC200UndefinedCommand,
    ThorlabsTC200,
)

__all__ = ["TC200ArgumentError", "TC200CommandError", "TC200UndefinedCommand", "ThorlabsTC200"]
