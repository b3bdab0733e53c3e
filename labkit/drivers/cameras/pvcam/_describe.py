"""What one camera can do, read from the camera itself when it is opened.

Everything a PVCAM camera offers depends on the model: its readout ports, the speeds of each port
and the gains of each speed (with the bit depth and pixel container each combination gives),
exposure resolutions and their ranges, trigger, expose-out, clear and fan modes, binnings,
ROI count, centroids, cooling. :func:`describe` asks for all of it once (walking the speed table
as PyVCAM does: port, then speed, then gain, putting the camera back where it was), and the
camera's instrument class is declared from the resulting :class:`CameraDescription`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from labkit.core import ChoiceError, LimitError
from labkit.drivers.cameras.pvcam._errors import PvcamError
from labkit.drivers.cameras.pvcam._link import PvcamLink
from labkit.drivers.cameras.pvcam._params import (
    Access,
    Attr,
    ExpRes,
    ImageFormat,
    Param,
)
from labkit.drivers.cameras.pvcam._values import EnumItem

__all__ = [
    "Binning",
    "CameraDescription",
    "Centroids",
    "ExposureResolution",
    "Gain",
    "Port",
    "Speed",
    "describe",
]

UINT32_MAX = 0xFFFFFFFF


@dataclasses.dataclass(frozen=True)
class Gain:
    """One gain of a speed: PVCAM's index (1-based), name, bit depth and pixel container."""

    index: int
    name: str
    bit_depth: int
    image_format: int


@dataclasses.dataclass(frozen=True)
class Speed:
    """One speed of a port: its speed-table index, name, pixel time and gains."""

    index: int
    name: str
    pixel_time_ns: int | None
    gains: tuple[Gain, ...]

    def gain(self, name: str) -> Gain | None:
        return next((g for g in self.gains if g.name.casefold() == name.casefold()), None)


@dataclasses.dataclass(frozen=True)
class Port:
    """One readout port: its enumeration value, name and speeds."""

    value: int
    name: str
    speeds: tuple[Speed, ...]

    def speed(self, name: str) -> Speed | None:
        return next((s for s in self.speeds if s.name.casefold() == name.casefold()), None)


@dataclasses.dataclass(frozen=True)
class ExposureResolution:
    """One ``PARAM_EXP_RES`` choice: the unit in seconds and the exposure range in that unit."""

    value: int
    name: str
    unit: float
    min_count: int
    max_count: int

    @property
    def min_seconds(self) -> float:
        return self.min_count * self.unit

    @property
    def max_seconds(self) -> float:
        return self.max_count * self.unit


@dataclasses.dataclass(frozen=True)
class Binning:
    """One allowed binning: ``PARAM_BINNING_SER`` and ``_PAR`` items of the same index."""

    name: str
    serial: int
    parallel: int


@dataclasses.dataclass(frozen=True)
class Centroids:
    """What the camera's centroid engine offers (PrimeLocate and its successors)."""

    modes: tuple[EnumItem, ...]
    count: tuple[int, int]
    radius: tuple[int, int]


@dataclasses.dataclass(frozen=True)
class CameraDescription:
    """Everything the instrument class of one camera is declared from."""

    name: str
    vendor: str
    product: str
    chip: str
    serial: str
    firmware: str
    sensor_shape: tuple[int, int]
    pixel_size_um: tuple[float, float] | None
    ports: tuple[Port, ...]
    exposure_resolutions: tuple[ExposureResolution, ...]
    trigger_modes: tuple[EnumItem, ...]
    expose_out_modes: tuple[EnumItem, ...]
    clear_modes: tuple[EnumItem, ...]
    fan_speeds: tuple[EnumItem, ...]
    binnings: tuple[Binning, ...]
    max_rois: int
    metadata: bool
    centroids: Centroids | None
    temperature: bool
    setpoint_range: tuple[float, float] | None
    readout_time: bool
    host_formats: bool

    # -- the speed table ---------------------------------------------------------------------

    def port(self, name: str) -> Port:
        for port in self.ports:
            if port.name.casefold() == name.casefold():
                return port
        raise ChoiceError(
            f"{name!r} is not a readout port of {self.product}",
            value=name,
            limit=[p.name for p in self.ports],
            hint="Choose one of: " + ", ".join(repr(p.name) for p in self.ports),
        )

    def port_by_value(self, value: int) -> Port:
        for port in self.ports:
            if port.value == value:
                return port
        raise PvcamError(f"the camera reports readout port {value}, which it did not list")

    def speed_names(self) -> list[str]:
        """Every speed name of every port, in table order, each once."""
        return list(dict.fromkeys(s.name for p in self.ports for s in p.speeds))

    def gain_names(self) -> list[str]:
        return list(dict.fromkeys(g.name for p in self.ports for s in p.speeds for g in s.gains))

    def ports_with_speed(self, name: str) -> list[str]:
        return [p.name for p in self.ports if p.speed(name) is not None]

    def modes(self) -> list[tuple[Port, Speed, Gain]]:
        """Every (port, speed, gain) combination, in table order."""
        return [(p, s, g) for p in self.ports for s in p.speeds for g in s.gains]

    # -- exposure ----------------------------------------------------------------------------

    @property
    def exposure_range(self) -> tuple[float, float]:
        """The shortest and longest exposure any resolution allows, in seconds."""
        return (
            min(r.min_seconds for r in self.exposure_resolutions),
            max(r.max_seconds for r in self.exposure_resolutions),
        )

    @property
    def exposure_step(self) -> float:
        """The finest exposure resolution, in seconds."""
        return min(r.unit for r in self.exposure_resolutions)

    def exposure_counts(self, seconds: float) -> tuple[ExposureResolution, int]:
        """The finest resolution that can express ``seconds``, and the count in it.

        The count is rounded to the nearest unit; ``LimitError`` if no resolution reaches.
        """
        for resolution in sorted(self.exposure_resolutions, key=lambda r: r.unit):
            count = round(seconds / resolution.unit)
            if resolution.min_count <= count <= min(resolution.max_count, UINT32_MAX):
                return resolution, count
        low, high = self.exposure_range
        raise LimitError(
            f"{seconds:g} s is outside the exposures {self.product} can take "
            f"({low:g} s … {high:g} s)",
            value=seconds,
            limit=(low, high),
            hint=f"Choose an exposure in {low:g} s … {high:g} s",
        )

    # -- binning -----------------------------------------------------------------------------

    def binning(self, name: str) -> Binning:
        for binning in self.binnings:
            if binning.name.casefold() == name.casefold():
                return binning
        raise ChoiceError(
            f"{name!r} is not a binning of {self.product}",
            value=name,
            limit=[b.name for b in self.binnings],
            hint="Choose one of: " + ", ".join(repr(b.name) for b in self.binnings),
        )

    def binning_of(self, serial: int, parallel: int) -> Binning:
        for binning in self.binnings:
            if (binning.serial, binning.parallel) == (serial, parallel):
                return binning
        raise ChoiceError(
            f"binning {serial}x{parallel} is not one {self.product} offers",
            value=(serial, parallel),
            limit=[b.name for b in self.binnings],
            hint="Choose one of: " + ", ".join(b.name for b in self.binnings),
        )


# ---------------------------------------------------------------------------------- probing


def _try(link: PvcamLink, param: int, attr: Attr = Attr.CURRENT, default: Any = None) -> Any:
    try:
        if not link.available(param):
            return default
        return link.read_param(param, attr)
    except PvcamError:
        return default


def _items(link: PvcamLink, param: int) -> tuple[EnumItem, ...]:
    try:
        return tuple(link.enum_items(param)) if link.available(param) else ()
    except PvcamError:
        return ()


def _writable(link: PvcamLink, param: int) -> bool:
    return _try(link, param, Attr.ACCESS) in (Access.READ_WRITE, Access.WRITE_ONLY)


def _speed_name(link: PvcamLink, index: int) -> str:
    name = _try(link, Param.SPDTAB_NAME)
    if name:
        return str(name)
    pixel_time = _try(link, Param.PIX_TIME)
    return f"{1000 / pixel_time:g} MHz" if pixel_time else f"Speed {index}"


def _gain(link: PvcamLink, index: int, host_formats: bool) -> Gain:
    name = _try(link, Param.GAIN_NAME) or f"Gain {index}"
    bits = _try(link, Param.BIT_DEPTH_HOST if host_formats else Param.BIT_DEPTH)
    if bits is None:
        bits = _try(link, Param.BIT_DEPTH, default=16)
    image_format = _try(link, Param.IMAGE_FORMAT_HOST if host_formats else Param.IMAGE_FORMAT)
    if image_format is None:
        image_format = ImageFormat.MONO16 if bits > 8 else ImageFormat.MONO8
    return Gain(index, str(name), int(bits), int(image_format))


def _speed_table(link: PvcamLink, host_formats: bool) -> tuple[Port, ...]:
    """Walk port → speed → gain (the order PVCAM wants them set), then restore the camera."""
    ports = _items(link, Param.READOUT_PORT) or (EnumItem(0, "Default"),)
    can_port = _writable(link, Param.READOUT_PORT)
    can_speed = _writable(link, Param.SPDTAB_INDEX)
    can_gain = _writable(link, Param.GAIN_INDEX)
    start = (
        _try(link, Param.READOUT_PORT),
        _try(link, Param.SPDTAB_INDEX),
        _try(link, Param.GAIN_INDEX),
    )
    table = []
    try:
        for port in ports:
            if can_port and len(ports) > 1:
                link.write_param(Param.READOUT_PORT, port.value)
            count = _try(link, Param.SPDTAB_INDEX, Attr.COUNT, 1) if can_speed else 1
            speeds = []
            for index in range(max(int(count), 1)):
                if can_speed and count > 1:
                    link.write_param(Param.SPDTAB_INDEX, index)
                gains = []
                low = _try(link, Param.GAIN_INDEX, Attr.MIN, 1) if can_gain else None
                high = _try(link, Param.GAIN_INDEX, Attr.MAX, low) if can_gain else None
                step = _try(link, Param.GAIN_INDEX, Attr.INCREMENT, 1) or 1
                indices = (
                    range(low, high + 1, step) if low is not None and high is not None else [1]
                )
                for gain in indices:
                    if can_gain and len(indices) > 1:
                        link.write_param(Param.GAIN_INDEX, gain)
                    gains.append(_gain(link, gain, host_formats))
                pixel_time = _try(link, Param.PIX_TIME)
                speeds.append(Speed(index, _speed_name(link, index), pixel_time, tuple(gains)))
            table.append(Port(port.value, port.name, tuple(speeds)))
    finally:
        for param, value, writable in zip(
            (Param.READOUT_PORT, Param.SPDTAB_INDEX, Param.GAIN_INDEX),
            start,
            (can_port, can_speed, can_gain),
            strict=True,
        ):
            if writable and value is not None:
                link.write_param(param, value)
    return tuple(table)


def _exposure_resolutions(link: PvcamLink) -> tuple[ExposureResolution, ...]:
    items = _items(link, Param.EXP_RES) or (EnumItem(ExpRes.ONE_MILLISEC, "One Millisecond"),)
    writable = _writable(link, Param.EXP_RES) and len(items) > 1
    start = _try(link, Param.EXP_RES)
    if not writable:  # only the resolution in force can be used (and its range read)
        items = tuple(i for i in items if i.value == start) or items[:1]
    found = []
    try:
        for item in items:
            try:
                unit = ExpRes(item.value).seconds
            except ValueError:
                continue  # a resolution labkit does not know the unit of
            if writable:
                link.write_param(Param.EXP_RES, item.value)
            low = _try(link, Param.EXPOSURE_TIME, Attr.MIN, 1)
            high = _try(link, Param.EXPOSURE_TIME, Attr.MAX, UINT32_MAX)
            found.append(
                ExposureResolution(
                    item.value, item.name, unit, int(low), min(int(high), UINT32_MAX)
                )
            )
    finally:
        if writable and start is not None:
            link.write_param(Param.EXP_RES, start)
    if not found:
        found.append(ExposureResolution(0, "One Millisecond", 1e-3, 1, UINT32_MAX))
    return tuple(found)


_BINNING_NAME = re.compile(r"^\s*\d+\s*x\s*\d+\s*$", re.IGNORECASE)


def _binnings(link: PvcamLink) -> tuple[Binning, ...]:
    serial, parallel = _items(link, Param.BINNING_SER), _items(link, Param.BINNING_PAR)
    if not serial or not parallel or len(serial) != len(parallel):
        return (Binning("1x1", 1, 1),)
    out = []
    for s, p in zip(serial, parallel, strict=True):
        name = s.name if _BINNING_NAME.match(s.name) else f"{s.value}x{p.value}"
        out.append(Binning(name.replace(" ", ""), int(s.value), int(p.value)))
    return tuple(out)


def _centroids(link: PvcamLink) -> Centroids | None:
    if not _try(link, Param.CENTROIDS_ENABLED, Attr.AVAIL, False):
        return None
    modes = _items(link, Param.CENTROIDS_MODE) or (EnumItem(0, "Locate"),)
    count = (
        int(_try(link, Param.CENTROIDS_COUNT, Attr.MIN, 1)),
        int(_try(link, Param.CENTROIDS_COUNT, Attr.MAX, 1)),
    )
    radius = (
        int(_try(link, Param.CENTROIDS_RADIUS, Attr.MIN, 1)),
        int(_try(link, Param.CENTROIDS_RADIUS, Attr.MAX, 1)),
    )
    return Centroids(modes, count, radius)


def _firmware(value: Any) -> str:
    if isinstance(value, int):
        return f"{value >> 8}.{value & 0xFF}"
    return str(value or "")


def describe(link: PvcamLink) -> CameraDescription:
    """Ask the open camera on ``link`` what it can do."""
    width = int(link.read_param(Param.SER_SIZE))
    height = int(link.read_param(Param.PAR_SIZE))
    pixel_x, pixel_y = _try(link, Param.PIX_SER_SIZE), _try(link, Param.PIX_PAR_SIZE)
    host_formats = bool(_try(link, Param.BIT_DEPTH_HOST, Attr.AVAIL, False))
    setpoint = None
    if _writable(link, Param.TEMP_SETPOINT):
        low = _try(link, Param.TEMP_SETPOINT, Attr.MIN)
        high = _try(link, Param.TEMP_SETPOINT, Attr.MAX)
        if low is not None and high is not None:
            setpoint = (low / 100.0, high / 100.0)  # hundredths of °C on the wire
    metadata = _writable(link, Param.METADATA_ENABLED)
    max_rois = int(_try(link, Param.ROI_COUNT, Attr.MAX, 1)) if metadata else 1
    return CameraDescription(
        name=link.name,
        vendor=str(_try(link, Param.VENDOR_NAME, default="") or "Teledyne Photometrics"),
        product=str(_try(link, Param.PRODUCT_NAME, default="") or link.name),
        chip=str(_try(link, Param.CHIP_NAME, default="")),
        serial=str(_try(link, Param.HEAD_SER_NUM_ALPHA, default="")),
        firmware=_firmware(_try(link, Param.CAM_FW_VERSION)),
        sensor_shape=(height, width),
        pixel_size_um=(pixel_x / 1000, pixel_y / 1000) if pixel_x and pixel_y else None,
        ports=_speed_table(link, host_formats),
        exposure_resolutions=_exposure_resolutions(link),
        trigger_modes=_items(link, Param.EXPOSURE_MODE),
        expose_out_modes=_items(link, Param.EXPOSE_OUT_MODE)
        if _writable(link, Param.EXPOSE_OUT_MODE)
        else (),
        clear_modes=_items(link, Param.CLEAR_MODE) if _writable(link, Param.CLEAR_MODE) else (),
        fan_speeds=_items(link, Param.FAN_SPEED_SETPOINT)
        if _writable(link, Param.FAN_SPEED_SETPOINT)
        else (),
        binnings=_binnings(link),
        max_rois=max(max_rois, 1),
        metadata=metadata,
        centroids=_centroids(link) if metadata else None,
        temperature=bool(_try(link, Param.TEMP, Attr.AVAIL, False)),
        setpoint_range=setpoint,
        readout_time=bool(_try(link, Param.READOUT_TIME, Attr.AVAIL, False)),
        host_formats=host_formats,
    )
