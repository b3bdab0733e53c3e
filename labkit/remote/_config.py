"""The ``serve:`` sections of a station file, checked: prefix, interfaces, rates, access.

::

    serve:
      prefix: "LAB1:"              # PV names start with it (labkit serve --prefix overrides)
      interfaces: [127.0.0.1]      # where the server listens: loopback unless told otherwise
      port: 5075                   # TCP port (0: any free port); UDP searches on 5076
      frame_rate: 10               # camera frames a second sent to viewers
      access:
        write:                     # nothing is writable unless granted here
          - {account: alice, host: 127.0.0.1}
          - {group: instructors, host: 10.0.0.0/24}
          - {account: "*", host: 10.0.0.7, only: [smu.source_voltage, smu.output]}
        read: anyone               # or grants by host
    instruments:
      smu:
        driver: keithley2450
        serve:
          poll: {current: 5, voltage: 2 Hz}   # readings the server reads itself, per second
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import Any

from labkit.core import ConfigurationError, LabkitError
from labkit.core._units import to_number
from labkit.remote._access import AccessPolicy
from labkit.remote._names import check_prefix

__all__ = ["DEFAULT_PORT", "ServeConfig", "serve_config"]

DEFAULT_PORT = 5075  # pvAccess's registered TCP port (UDP searches go to 5076)
LOOPBACK = ("127.0.0.1",)


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """How a station is served."""

    prefix: str = ""
    interfaces: tuple[str, ...] = LOOPBACK
    port: int = DEFAULT_PORT
    broadcast_port: int | None = None
    frame_rate: float = 10.0
    access: AccessPolicy = dataclasses.field(default_factory=AccessPolicy)
    poll: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)

    @property
    def loopback_only(self) -> bool:
        return all(_is_loopback(i) for i in self.interfaces)


def _is_loopback(interface: str) -> bool:
    try:
        return ipaddress.ip_address(interface).is_loopback
    except ValueError:
        return interface == "localhost"


def _rate(value: Any, where: str) -> float:
    try:
        rate = to_number(value, "Hz", where=where)
    except LabkitError as error:
        raise ConfigurationError(f"{where}: {error.message}", hint=error.hint) from None
    if not rate > 0:
        raise ConfigurationError(f"{where}: a rate must be positive, not {value!r}")
    return rate


def serve_config(
    serve: Mapping[str, Any] | None,
    instruments: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    source: str = "the station",
    prefix: str | None = None,
    interfaces: tuple[str, ...] | None = None,
    port: int | None = None,
    broadcast_port: int | None = None,
) -> ServeConfig:
    """Check a station's ``serve:`` mapping and its instruments' ``serve:`` entries; keyword
    arguments (from the command line) override the file."""
    serve = dict(serve or {})
    known = {"prefix", "interfaces", "port", "frame_rate", "access"}
    unknown = set(serve) - known
    if unknown:
        raise ConfigurationError(
            f"{source}: serve has unknown keys {sorted(unknown)}",
            hint=f"It may have {', '.join(sorted(known))}",
        )
    chosen_prefix = prefix if prefix is not None else serve.get("prefix", "")
    check_prefix(chosen_prefix)
    listen = interfaces or tuple(serve.get("interfaces") or LOOPBACK)
    for interface in listen:
        if interface != "localhost":
            try:
                ipaddress.ip_address(interface)
            except ValueError:
                raise ConfigurationError(
                    f"{source}: serve.interfaces: {interface!r} is not an address",
                    hint="Give the addresses of this machine's interfaces (127.0.0.1, 0.0.0.0...)",
                ) from None
    chosen_port = port if port is not None else int(serve.get("port", DEFAULT_PORT))
    if not 0 <= chosen_port < 65536:
        raise ConfigurationError(f"{source}: port {chosen_port} is not a TCP port")
    polls: dict[str, dict[str, float]] = {}
    for name, entry in (instruments or {}).items():
        entry = dict(entry or {})
        extra = set(entry) - {"poll"}
        if extra:
            raise ConfigurationError(
                f"{source}: instruments.{name}.serve has unknown keys {sorted(extra)}",
                hint="It may have poll",
            )
        poll = entry.get("poll") or {}
        where = f"instruments.{name}.serve.poll"
        if isinstance(poll, list):
            raise ConfigurationError(
                f"{source}: {where} must map each reading to its rate",
                hint="e.g. poll: {current: 5, voltage: 2 Hz} (readings per second)",
            )
        polls[name] = {str(k): _rate(v, f"{where}.{k}") for k, v in dict(poll).items()}
    return ServeConfig(
        prefix=chosen_prefix,
        interfaces=tuple(listen),
        port=chosen_port,
        broadcast_port=broadcast_port,
        frame_rate=_rate(serve.get("frame_rate", 10.0), "serve.frame_rate"),
        access=AccessPolicy.from_config(serve.get("access"), source=source),
        poll=polls,
    )
