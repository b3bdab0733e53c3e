"""Station files: the lab's instruments declared once, in YAML, checked before connecting.

See :func:`load_station` for the format.
"""

from labkit.station._station import Station, load_station, resolve_driver
from labkit.station._yaml import StationError

__all__ = ["Station", "StationError", "load_station", "resolve_driver"]
