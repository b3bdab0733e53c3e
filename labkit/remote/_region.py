"""A served camera's region of interest as the ``_region`` PV, and the check both sides make.

The PV is a structure whose ``value`` holds ``x``, ``y``, ``width``, ``height``, ``bin_x``
and ``bin_y`` in unbinned sensor pixels (what :class:`~labkit.core.Region` holds), readable
by any pvAccess client (``pvget PREFIXcam:_region``). A put of ``value.x``... asks the
serving camera to read at least that region: the camera rounds it outwards to what it can
read (its increments, its binning: the Camera protocol's own rules, on the server) and the
PV then shows the region read. A region reaching beyond the sensor is refused — naming the
sensor's size — rather than cut to fit: a region quietly smaller than the one asked for
would lose what the user selected. Pure data, no p4p.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.core import ConfigurationError, Region

__all__ = ["REGION_FIELDS", "check_region", "region_fields", "region_from_fields"]

REGION_FIELDS = ("x", "y", "width", "height", "bin_x", "bin_y")


def region_fields(region: Region) -> dict[str, int]:
    return {name: int(getattr(region, name)) for name in REGION_FIELDS}


def region_from_fields(asked: Mapping[str, Any], current: Region) -> Region:
    """The region a put asks for: the fields it sets (``asked``), the others as ``current``
    (so ``pvput PV '{"value": {"x": 8}}'`` moves the region, keeping its size). A binning of
    0 is the one in force. Refuses what is not a whole number of pixels, naming the field."""
    numbers: dict[str, int] = {}
    for name in REGION_FIELDS:
        raw = asked.get(name)
        if raw is None or (name.startswith("bin_") and raw == 0):
            numbers[name] = int(getattr(current, name))
            continue
        if isinstance(raw, bool) or float(raw) != round(float(raw)):
            raise ConfigurationError(f"the region's {name} {raw!r} is not a whole number of pixels")
        numbers[name] = round(float(raw))
    return Region(**numbers)


def check_region(
    region: Region, sensor_shape: tuple[int, int], binning: tuple[int, int], camera: str
) -> None:
    """Refuse a region the camera could only read by cutting it (outside the sensor, empty)
    or with another binning than the one in force; raises ConfigurationError saying so."""
    rows, columns = sensor_shape
    if region.width <= 0 or region.height <= 0:
        raise ConfigurationError(
            f"the region {region.width}×{region.height} at ({region.x}, {region.y}) is empty",
            instrument=camera,
            hint="Give a width and a height of at least one pixel",
        )
    right, bottom = region.x + region.width, region.y + region.height
    if region.x < 0 or region.y < 0 or (columns and right > columns) or (rows and bottom > rows):
        raise ConfigurationError(
            f"the region columns {region.x}…{right - 1}, rows {region.y}…{bottom - 1} reaches "
            f"beyond the {columns}×{rows} sensor (columns 0…{columns - 1}, rows 0…{rows - 1}); "
            "nothing was changed",
            instrument=camera,
            hint="Select a region inside the sensor, or full_sensor() for all of it",
        )
    if (region.bin_x, region.bin_y) != tuple(binning):
        raise ConfigurationError(
            f"the region asks for {region.bin_x}×{region.bin_y} binning; the camera bins "
            f"{binning[0]}×{binning[1]} and a region does not change that",
            instrument=camera,
            hint="Set the camera's binning setting first, or leave bin_x and bin_y at 0",
        )
