"""Tools for testing drivers and plugins: the conformance suites (drivers, cameras) and a
recording transport.

Imports pytest; meant for test environments, not for ``import labkit``.
"""

from labkit.testing._camera import CameraConformance
from labkit.testing._conformance import DriverConformance, round_trip_values
from labkit.testing._recording import RecordingTransport, record

__all__ = [
    "CameraConformance",
    "DriverConformance",
    "RecordingTransport",
    "record",
    "round_trip_values",
]
