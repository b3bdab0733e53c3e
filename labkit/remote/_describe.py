"""A served instrument described from its PVs: the declarations a remote instrument is made of.

The server lists what it serves in ``<name>:_info``; each member's own PV carries its
declaration (units, limits, choices, kind, ramp, read-back...) and its state (soft limits,
lock, claim). :func:`describe` turns those PV values — plain dicts — into data: one
``MemberDescription`` per setting, reading and action, in the server's order, with the
keyword arguments of the ``Setting``/``Reading``/``Action`` factory that declares it. Pure:
:func:`fetch` is the only part that talks to the server.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from labkit.core import ConfigurationError
from labkit.remote._pvdata import declaration_from_fields, state_from_fields, value_from_wire

__all__ = ["MemberDescription", "RemoteDescription", "describe", "factory_arguments", "fetch"]

_FACTORY_FIELDS = {
    "setting": (
        "unit", "min", "max", "soft_min", "soft_max", "step", "ramp", "ramp_step", "choices",
        "readback", "access", "safe", "label", "doc",
    ),  # not "ramp": see factory_arguments
    "reading": ("unit", "choices", "axes", "dtype", "label", "doc"),
    "action": ("label", "confirm", "doc"),
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class MemberDescription:
    """One setting, reading or action as its PV describes it."""

    name: str
    role: str
    pv: str
    declaration: Mapping[str, Any]
    state: Mapping[str, Any]
    value: Any
    alarm: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class RemoteDescription:
    """A served instrument: who it is and what it declares."""

    name: str
    driver: str
    identity: Mapping[str, Any] | None
    members: tuple[MemberDescription, ...]
    channels: Mapping[str, tuple[MemberDescription, ...]]
    camera: bool
    poll: Mapping[str, float]
    pvs: Mapping[str, str]
    sensor_shape: tuple[int, int] | None = None
    """(rows, columns) of a served camera's sensor, when the server says."""
    region_note: str = ""
    """What a served camera's cropping cannot do, as the camera says ('' nothing)."""


def factory_arguments(member: MemberDescription) -> dict[str, Any]:
    """Keyword arguments for ``Setting``/``Reading``/``Action`` declaring ``member``
    (``kind`` first, as the factories take it): the declaration as the server has it."""
    declaration = member.declaration
    arguments: dict[str, Any] = {}
    if member.role != "action":
        arguments["kind"] = declaration.get("kind", "float")
    for field in _FACTORY_FIELDS[member.role]:
        if field in declaration:
            arguments[field] = declaration[field]
    if member.role == "setting":
        # The server's soft limits become this declaration's (its instructor's locks are
        # mirrored as locks by the remote instrument): a value the server would refuse for
        # them is refused here, before anything is sent.
        for field in ("soft_min", "soft_max"):
            if member.state.get(field) is not None:
                arguments[field] = member.state[field]
        # The server ramps (it owns the hardware); the declaration here does not, or every
        # step would be a put of its own.
    return arguments


def _member(item: Mapping[str, Any], fields: Mapping[str, Any]) -> MemberDescription:
    declaration = declaration_from_fields(fields)
    role = item.get("role") or declaration["role"]
    declaration["role"] = role
    wire = fields.get("value")
    try:
        value = value_from_wire(declaration, wire) if role != "action" else None
    except (ValueError, TypeError):
        value = None
    alarm = dict(fields.get("alarm") or {})
    if alarm.get("severity") == 3:  # INVALID: there is no value to show
        value = None
    return MemberDescription(
        name=item["name"],
        role=role,
        pv=item["pv"],
        declaration=declaration,
        state=state_from_fields(fields) if role != "action" else {},
        value=value,
        alarm=alarm,
    )


def describe(
    info: Mapping[str, Any],
    values: Mapping[str, Mapping[str, Any]],
    identity: Mapping[str, Any] | None = None,
) -> RemoteDescription:
    """The instrument ``info`` (the ``_info`` JSON) lists, from its members' PV ``values``
    (PV name → the value as a dict)."""

    def members(items: list[Mapping[str, Any]]) -> tuple[MemberDescription, ...]:
        missing = [item["pv"] for item in items if item["pv"] not in values]
        if missing:
            raise ConfigurationError(f"the server lists PVs it does not serve: {missing}")
        return tuple(_member(item, values[item["pv"]]) for item in items)

    return RemoteDescription(
        name=info["name"],
        driver=info.get("driver", ""),
        identity=(identity or {}).get("identity"),
        members=members(info.get("members", [])),
        channels={name: members(items) for name, items in info.get("channels", {}).items()},
        camera=bool(info.get("camera")),
        poll=dict(info.get("poll", {})),
        pvs=dict(info.get("pvs", {})),
        sensor_shape=tuple(info["sensor_shape"]) if info.get("sensor_shape") else None,
        region_note=str(info.get("region_note") or ""),
    )


def fetch(link: Any, base: str) -> RemoteDescription:
    """Ask the server behind ``link`` for the instrument whose PVs start with ``base:``."""
    info_value = link.get(f"{base}:_info")
    try:
        info = json.loads(info_value["value"])
    except (ValueError, KeyError) as error:
        raise ConfigurationError(
            f"{base}:_info on {link.server} is not a labkit instrument listing ({error})",
            hint="Connect to a PV prefix that `labkit serve` publishes",
        ) from None
    items = list(info.get("members", []))
    for channel in info.get("channels", {}).values():
        items.extend(channel)
    names = [item["pv"] for item in items]
    fetched = link.get_many(names) if names else []
    values = {name: value.todict() for name, value in zip(names, fetched, strict=True)}
    identity = json.loads(link.get(f"{base}:_identity")["value"])
    return describe(info, values, identity)
