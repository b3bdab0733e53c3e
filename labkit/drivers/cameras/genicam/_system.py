"""The GenTL producers open in this process, each behind one harvesters ``Harvester``.

A GenTL producer can be initialised only once per process: a second ``Harvester`` on the same
``.cti`` sees no cameras. And ``Harvester.update()`` destroys every image acquirer it made. So
labkit keeps one Harvester per producer, shared by every camera opened through it; the device
list is refreshed only while none of its cameras is open, and the Harvester is reset (releasing
the producer) when its last camera closes.

Addresses name one camera: ``genicam://<device>[@<producer>]``. ``<device>`` is the GenTL device
ID, serial number or user-defined name (empty for "the only camera"); ``<producer>`` is
``viky`` or a path to a ``.cti`` file (default: the producers :func:`find_producers` finds).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from labkit.core import ConfigurationError, InstrumentError, MissingVendorLibrary
from labkit.drivers.cameras.genicam._producers import (
    Producer,
    find_producers,
    no_producer_error,
    resolve_producers,
)

__all__ = ["SCHEME", "CameraInfo", "OpenDevice", "list_cameras", "open_device", "parse_address"]

SCHEME = "genicam://"

_ACCESS_STATUS = {
    0: "unknown",
    1: "available",
    2: "read-only",
    3: "no access",
    4: "busy",
    5: "open",
    6: "open read-only",
}


@dataclasses.dataclass(frozen=True)
class CameraInfo:
    """What a GenTL producer says about one camera, before it is opened."""

    id: str
    vendor: str
    model: str
    serial: str
    user_name: str
    version: str
    tl_type: str
    access: str
    producer: Producer = dataclasses.field(repr=False)

    @property
    def address(self) -> str:
        """The address that opens this camera (names the producer if it was named)."""
        suffix = f"@{self.producer.spec}" if self.producer.explicit else ""
        return f"{SCHEME}{self.id}{suffix}"

    def matches(self, device: str) -> bool:
        return device in (self.id, self.serial, self.user_name)


def parse_address(address: str) -> tuple[str, str | None]:
    """``genicam://dev@producer`` → ``("dev", "producer")``; the producer part is optional."""
    if not isinstance(address, str) or not address.startswith(SCHEME):
        raise ConfigurationError(
            f"{address!r} is not a GenICam camera address",
            hint=f"Write {SCHEME}<device id or serial>[@<producer .cti or 'viky'>], "
            "e.g. genicam://VikyTL_DEV_red@viky; labkit.drivers.cameras.genicam.list_cameras() "
            "lists the addresses",
        )
    rest = address[len(SCHEME) :]
    device, at, producer = rest.partition("@")
    if at and not producer:
        raise ConfigurationError(
            f"{address!r} ends with '@' but names no producer",
            hint=f"Write e.g. {SCHEME}{device or '<device>'}@viky, or leave the '@' out",
        )
    return device, (producer if at else None)


class _System:
    """One producer's Harvester and the cameras open through it."""

    def __init__(self, producer: Producer) -> None:
        from harvesters.core import Harvester

        self.producer = producer
        self.harvester = Harvester()
        self.harvester.add_file(str(producer.path))
        self.acquirers: set[Any] = set()
        self.open_ids: dict[str, str] = {}  # device id -> the address it was opened with
        self.devices: list[Any] = []
        self.update()

    def update(self) -> None:
        """Ask the producer for its cameras again (only when none of them is open)."""
        if self.acquirers:
            return
        self.harvester.update()
        if not getattr(self.harvester, "_producers", [None]):
            # harvesters logs and skips a producer whose initialisation failed; say so instead.
            raise MissingVendorLibrary(
                f"the GenTL producer {self.producer.path} did not initialise",
                searched=[str(self.producer.path)],
                hint="Check the vendor's installation (drivers, licences) or that no other "
                "program in this process holds it",
            )
        self.devices = list(self.harvester.device_info_list)

    def infos(self) -> list[CameraInfo]:
        return [_info(device, self.producer) for device in self.devices]

    def release(self) -> None:
        self.harvester.reset()


def _text(device: Any, attribute: str) -> str:
    try:
        value = getattr(device, attribute)
    except Exception:  # a producer may not report a field (GenTL NotAvailable)
        return ""
    return "" if value is None else str(value)


def _info(device: Any, producer: Producer) -> CameraInfo:
    try:
        status = int(device.access_status)
    except Exception:
        status = 0
    return CameraInfo(
        id=_text(device, "id_"),
        vendor=_text(device, "vendor"),
        model=_text(device, "model"),
        serial=_text(device, "serial_number"),
        user_name=_text(device, "user_defined_name"),
        version=_text(device, "version"),
        tl_type=_text(device, "tl_type"),
        access=_ACCESS_STATUS.get(status, str(status)),
        producer=producer,
    )


_lock = threading.RLock()
_systems: dict[str, _System] = {}


def _system(producer: Producer) -> _System:
    key = str(producer.path.resolve())
    system = _systems.get(key)
    if system is None:
        system = _systems[key] = _System(producer)
    else:
        system.update()
    return system


def _drop_if_unused(system: _System) -> None:
    if not system.acquirers:
        _systems.pop(str(system.producer.path.resolve()), None)
        system.release()


def _producers_for(producers: object, address_producer: str | None) -> list[Producer]:
    if address_producer is not None:
        found = resolve_producers(address_producer, origin="address")
    else:
        found = find_producers(producers)
    if not found:
        raise no_producer_error()
    return found


def list_cameras(producers: object = None) -> list[CameraInfo]:
    """Every camera the producers see: vendor, model, serial, id, producer and its address.

    ``producers`` names ``.cti`` files, folders or ``"viky"``; by default those of
    ``GENICAM_GENTL64_PATH`` and labkit's configuration. Cameras already open in this process
    are listed from the last time their producer was asked.
    """
    _require_harvesters()
    cameras: list[CameraInfo] = []
    with _lock:
        for producer in _producers_for(producers, None):
            system = _system(producer)
            try:
                cameras += system.infos()
            finally:
                _drop_if_unused(system)
    return cameras


@dataclasses.dataclass
class OpenDevice:
    """One camera opened through its producer's Harvester: the harvesters ``ImageAcquirer``."""

    info: CameraInfo
    acquirer: Any
    _system: _System = dataclasses.field(repr=False)

    @property
    def harvester(self) -> Any:
        return self._system.harvester

    def close(self) -> None:
        """Destroy the acquirer; the producer is released when its last camera closed."""
        with _lock:
            try:
                self.acquirer.destroy()
            finally:
                self._system.acquirers.discard(self.acquirer)
                self._system.open_ids.pop(self.info.id, None)
                _drop_if_unused(self._system)


def open_device(address: str, producers: object = None) -> OpenDevice:
    """Open the camera ``address`` names (exclusive access) and return its acquirer.

    Call from a thread other than the main one: harvesters replaces the interpreter's Ctrl-C
    handler when an acquirer is made on the main thread.
    """
    _require_harvesters()
    device, producer_spec = parse_address(address)
    with _lock:
        candidates: list[tuple[_System, Any, CameraInfo]] = []
        systems = []
        try:
            for producer in _producers_for(producers, producer_spec):
                system = _system(producer)
                systems.append(system)
                for raw, info in zip(system.devices, system.infos(), strict=True):
                    if not device or info.matches(device):
                        candidates.append((system, raw, info))
            exact = [c for c in candidates if c[2].id == device]
            chosen = exact or candidates
            if len(chosen) != 1:
                raise _not_unique(address, device, chosen, systems)
            system, raw, info = chosen[0]
            if info.id in system.open_ids:
                raise ConfigurationError(
                    f"camera {info.id} is already open in this process "
                    f"(at {system.open_ids[info.id]})",
                    hint="Use the instrument that holds it, or close that one first",
                )
            acquirer = _create(system, raw, info, address)
            system.acquirers.add(acquirer)
            system.open_ids[info.id] = address
            return OpenDevice(info, acquirer, system)
        finally:
            for system in systems:
                _drop_if_unused(system)


def _create(system: _System, raw: Any, info: CameraInfo, address: str) -> Any:
    from genicam.genapi import GenericException as GenApiError
    from genicam.gentl import GenericException as GenTLError

    try:
        return system.harvester.create(raw)
    except (GenTLError, GenApiError) as error:
        raise InstrumentError(
            f"camera {info.id} ({info.vendor} {info.model}) could not be opened: {error}",
            resource=address,
            hint="Another program (or another labkit kernel) may be using it; close that first",
        ) from None


def _not_unique(address: str, device: str, chosen: list[Any], systems: list[_System]) -> Exception:
    every = [info for system in systems for info in system.infos()]
    listed = "; ".join(f"{i.address} ({i.vendor} {i.model}, serial {i.serial})" for i in every)
    if not chosen:
        what = f"no camera {device!r}" if device else "no camera"
        producers = ", ".join(s.producer.spec for s in systems)
        return InstrumentError(
            f"{what} found through {producers}",
            resource=address,
            hint=f"Cameras found: {listed}"
            if every
            else "Check that the camera is plugged in and "
            "powered, and that its producer is the one named",
        )
    return ConfigurationError(
        f"{address!r} matches {len(chosen)} cameras",
        hint=f"Name one: {listed}",
    )


def _require_harvesters() -> None:
    try:
        import genicam.gentl  # noqa: F401
        import harvesters.core  # noqa: F401
    except ImportError as error:
        raise MissingVendorLibrary(
            f"GenICam cameras need the harvesters package, which is not installed ({error})",
            hint="pip install 'labkit[genicam]'",
        ) from error
