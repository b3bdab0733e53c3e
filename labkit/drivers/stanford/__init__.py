"""Stanford Research Systems instruments."""

from labkit.drivers.stanford._sr830 import SR830, LockInStatusError

__all__ = ["SR830", "LockInStatusError"]
