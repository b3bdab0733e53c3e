"""Tools for testing drivers and plugins: the conformance suite and a recording transport.

Imports pytest; meant for test environments, not for ``import labkit``.
"""

from labkit.testing._conformance import DriverConformance, round_trip_values
from labkit.testing._recording import RecordingTransport, record

__all__ = ["DriverConformance", "RecordingTransport", "record", "round_trip_values"]
