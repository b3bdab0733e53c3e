"""Keysight (formerly Agilent) instruments."""

from labkit.drivers.keysight._33500b import (
    Keysight33500B,
    Keysight33511B,
    Keysight33512B,
    Keysight33521B,
    Keysight33522B,
    WaveformOutput,
)
from labkit.drivers.keysight._34465a import Keysight34465A

__all__ = [
    "Keysight33500B",
    "Keysight33511B",
    "Keysight33512B",
    "Keysight33521B",
    "Keysight33522B",
    "Keysight34465A",
    "WaveformOutput",
]
