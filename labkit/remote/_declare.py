"""A served instrument's PVs as the declarations of a remote instrument, with their I/O.

Each member's description (:mod:`._describe`) becomes the ``Setting``/``Reading``/``Action``
the serving instrument declares — same kind, unit, limits, choices, ramp, doc — whose ``get``
and ``set`` talk to the server through the instrument's :class:`~labkit.remote.PvaLink`:

- setting a value is a put that completes when the serving instrument acknowledged it;
- reading a setting asks for the PV (the value the server acknowledged last);
- a reading is read on demand (an RPC, which the station grants only to clients allowed to
  write); a client that may not gets, for a reading the server polls, its next update —
  measured after the request, so fresh, without commanding the instrument;
- an action is a put of 1;
- an array reading (a spectrum, a trace) declares the server's axes, and follows them: each
  value it gets comes with the axes it was measured on, and after each put the instrument asks
  the server whether the put moved them (a meter's sample count, a scope's timebase), so a
  run lays out the same coordinates as it would beside the serving instrument.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from labkit.core import Action, ConnectionLost, Reading, Setting
from labkit.remote._arrays import axes_from_fields, same_axes
from labkit.remote._describe import MemberDescription, RemoteDescription, factory_arguments
from labkit.remote._link import RemoteRefused
from labkit.remote._pvdata import put_value, value_from_wire

__all__ = ["follow_axes", "remote_declarations"]

_FACTORIES: dict[str, Callable[..., Any]] = {"setting": Setting, "reading": Reading}

# The axes text each remote instrument's array readings last followed: the same text again
# (every update carries it) costs a comparison, not a decoding.
_FOLLOWED: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, str]]] = weakref.WeakKeyDictionary()


def remote_declarations(
    description: RemoteDescription, link_of: Callable[[Any], Any]
) -> list[tuple[str, Any]]:
    """``(name, trait)`` for every member of the instrument itself (channels aside), in the
    server's order; ``link_of(instrument)`` gives the PvaLink the accessors use."""
    return [(m.name, _declare(m, description, link_of)) for m in description.members]


def _declare(
    member: MemberDescription, description: RemoteDescription, link_of: Callable[[Any], Any]
) -> Any:
    arguments = factory_arguments(member)
    declaration = member.declaration
    pv = member.pv
    if member.role == "action":

        def run(instrument: Any) -> None:
            link_of(instrument).put(pv, 1)

        return Action(run, **arguments)
    kind = arguments.pop("kind")
    name = member.name
    readable = "r" in declaration.get("access", "rw") or member.role == "reading"
    if member.role == "reading" and member.name in description.poll:
        getter = _fresh(pv, name, declaration, link_of)
    elif member.role == "reading":

        def getter(instrument: Any) -> Any:
            return _value(instrument, name, declaration, link_of(instrument).read_now(pv))

    else:

        def getter(instrument: Any) -> Any:
            return value_from_wire(declaration, link_of(instrument).get(pv)["value"])

    if member.role == "setting":

        def setter(instrument: Any, value: Any) -> None:
            link = link_of(instrument)
            link.put(
                pv,
                put_value(declaration, value),
                timeout=_ramp_time(instrument, name, value) + link.timeout,
            )
            instrument.follow_served_axes()

        writable = "w" in declaration.get("access", "rw")
        if not writable:
            arguments["access"] = "r"
        return Setting(
            kind,
            get=getter if readable else None,
            set=setter if writable else None,
            **arguments,
        )
    return Reading(kind, get=getter, side_effect=_side_effect_of(name), **arguments)


def follow_axes(instrument: Any, name: str, fields: Any) -> None:
    """Make the array reading ``name``'s axes and unit those its served PV's ``fields`` (a
    dict or a p4p Value) declare, if they moved."""
    if hasattr(fields, "todict"):
        fields = fields.todict()
    text = (fields.get("labkit") or {}).get("axes") or ""
    unit = (fields.get("display") or {}).get("units") or None
    followed = _FOLLOWED.setdefault(instrument, {})
    if not text or followed.get(name) == (text, unit or ""):
        return
    axes = axes_from_fields(fields)
    spec = instrument.readings[name].spec
    if axes is not None and (not same_axes(spec.axes, axes) or spec.unit != unit):
        instrument.update_declaration(name, axes=axes, unit=unit)
    followed[name] = (text, unit or "")


def _value(instrument: Any, name: str, declaration: Any, fields: Any) -> Any:
    """A reading's value from its PV's fields (an array's axes followed first)."""
    if declaration.get("kind") == "array":
        follow_axes(instrument, name, fields)
    return value_from_wire(declaration, fields["value"])


def _side_effect_of(name: str) -> Callable[[Any], str | None]:
    """What reading ``name`` would change on the served instrument, as its server last said
    (a meter's function follows its settings): looking here leaves it unread, as there."""

    def side_effect(instrument: Any) -> str | None:
        return instrument.server_side_effect(name)

    return side_effect


def _ramp_time(instrument: Any, name: str, value: Any) -> float:
    """How long the server's ramp to ``value`` takes (0 without one): a put waits for it."""
    rate = getattr(instrument, "server_ramp", lambda name: None)(name)
    current = instrument.last_value(name)
    if not rate or current is None or not isinstance(value, (int, float)):
        return 0.0
    return abs(float(value) - float(current)) / rate * 1.5 + 1.0


def _fresh(
    pv: str, name: str, declaration: Any, link_of: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """A getter for a reading the server polls: read on demand if this client may command
    the instrument (fast), else the server's next polled value (never a stale one)."""
    waiting = _next_update(pv, name, declaration, link_of)
    may_command = [True]

    def getter(instrument: Any) -> Any:
        if may_command[0]:
            try:
                return _value(instrument, name, declaration, link_of(instrument).read_now(pv))
            except RemoteRefused as refusal:
                if "Reading on demand" not in str(refusal):
                    raise
                may_command[0] = False  # read-only here: wait for the server's own reads
        return waiting(instrument)

    return getter


def _next_update(
    pv: str, name: str, declaration: Any, link_of: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """A getter returning the first update of ``pv`` that arrives after it was called.

    A new monitor first delivers the value the server has (measured before the request); the
    one after it was measured after. Arrival order, not time stamps: the server's clock and
    this machine's need not agree.
    """

    def getter(instrument: Any) -> Any:
        link = link_of(instrument)
        arrived = threading.Event()
        found: list[Any] = []
        delivered = [0]

        def update(value: Any) -> None:
            if isinstance(value, Exception):
                found.append(value)
                arrived.set()
                return
            delivered[0] += 1
            if delivered[0] > 1 and value["alarm.severity"] < 3:
                found.append(value)
                arrived.set()

        subscription = link.monitor(pv, update)
        try:
            if not arrived.wait(link.timeout):
                raise ConnectionLost(
                    f"{pv} had no new value from {link.server} within {link.timeout} s",
                    resource=link.resource,
                    hint="The server reads it at the station's poll rate; is it still serving?",
                )
        finally:
            subscription.close()
        if isinstance(found[0], Exception):
            raise found[0]
        return _value(instrument, name, declaration, found[0])

    return getter
