"""Keithley instruments."""

from labkit.drivers.keithley._2450 import Keithley2450

__all__ = ["Keithley2450"]
