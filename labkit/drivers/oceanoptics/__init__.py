"""Ocean Optics spectrometers (OOI USB protocol)."""

from labkit.drivers.oceanoptics._spectrometer import USB4000, OceanOpticsSpectrometer, USB2000Plus

__all__ = ["USB4000", "OceanOpticsSpectrometer", "USB2000Plus"]
