"""Keysight (formerly Agilent) instruments."""

from labkit.drivers.keysight._34465a import Keysight34465A

__all__ = ["Keysight34465A"]
