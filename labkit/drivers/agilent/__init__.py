"""Agilent (formerly HP, now Keysight) instruments."""

from labkit.drivers.agilent._e3631a import (
    AgilentE3631A,
    E3631ANegativeOutput,
    E3631AOutput,
    E3631APositive25VOutput,
)

__all__ = ["AgilentE3631A", "E3631ANegativeOutput", "E3631AOutput", "E3631APositive25VOutput"]
