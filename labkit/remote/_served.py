"""The PVs of one served instrument, kept true to it.

Every setting, reading and action of the instrument (and of its channels) becomes one PV;
beside them ``_status``, ``_identity`` and ``_info``, and for a camera ``_acquire`` and
``_image``. The PVs follow the instrument, not the other way round: observers on its traits
post each acknowledged value (a ramp's every step included), each change of limits, lock,
ramp rate or busy state, and each refusal or fault as the PV's alarm — whoever caused it, a
remote client or a notebook in the serving process. What clients ask goes through
:mod:`._handlers`, where the instrument's own guards decide.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from typing import Any

from p4p.server.thread import SharedPV
from p4p.util import ThreadedWorkQueue

from labkit.core import Camera, Instrument
from labkit.remote import _introspect, _names
from labkit.remote._arrays import coordinate_fields
from labkit.remote._pvdata import (
    Alarm,
    SettingView,
    meta_fields,
    stamp,
    value_code,
    wire_value,
)
from labkit.remote._types import coordinate_type, make_value, pv_type, status_type, text_type

__all__ = ["Member", "ServedInstrument"]

log = logging.getLogger(__name__)

STATUS_CHOICES = ["disconnected", "idle", "busy", "acquiring"]


@dataclasses.dataclass
class Member:
    """One setting, reading or action and the PV serving it."""

    target: str  # "smu.source_voltage", "psu.p6v.voltage"
    pv_name: str
    instrument: Instrument  # the instrument or channel declaring it
    handle: Any
    code: str
    readable: bool
    writable: bool
    pv: Any = dataclasses.field(repr=False, default=None)  # the SharedPV, once made
    alarm: Alarm = dataclasses.field(default_factory=Alarm)
    runs: int = 0  # an action's count of completed runs

    @property
    def spec(self) -> Any:
        return self.handle.spec

    @property
    def role(self) -> str:
        return str(self.handle.spec.role)

    def view(self, claim: str = "") -> SettingView:
        if self.role != "setting":
            return SettingView()
        state = self.handle.state
        lock = state.lock
        locked: dict[str, Any] | None = None
        if lock is not None:
            locked = {"reason": lock.reason, "description": lock.describe()}
            if lock.locks_value:
                locked["value"] = lock.value
            else:
                locked.update(min=lock.min, max=lock.max)
        return SettingView(
            soft_min=state.soft_min,
            soft_max=state.soft_max,
            limits=self.handle.limits if self.spec.numeric else (0.0, 0.0),
            ramp=state.ramp_rate,
            lock=locked,
            busy=state.busy,
            claim=claim,
        )


class ServedInstrument:
    """The PVs of one instrument (with its channels), and the observers keeping them true."""

    def __init__(
        self,
        instrument: Instrument,
        *,
        prefix: str,
        claim_of: Any,
        poll: dict[str, float] | None = None,
    ) -> None:
        self.instrument = instrument
        self.prefix = prefix
        self.name = instrument.name
        self._claim_of = claim_of  # target -> description of the run holding it ("" if none)
        self.poll = dict(poll or {})
        self.queue = ThreadedWorkQueue(name=f"labkit-pva-{self.name}", maxsize=0, daemon=True)
        self.members: dict[str, Member] = {}
        self.pvs: dict[str, SharedPV] = {}
        # an array reading's coordinate PVs: by reading target, {axis name: PV name}
        self.coordinates: dict[str, dict[str, str]] = {}
        self.coordinate_targets: dict[str, str] = {}  # coordinate PV name -> reading target
        self._axes_posted: dict[str, tuple[Any, Any]] = {}  # target -> (axes, unit) posted
        self.camera = isinstance(instrument, Camera)
        self._observers: list[tuple[Any, Any, list[str]]] = []
        self._side_effects: dict[str, str] = {}  # as last posted, by target
        self._lock = threading.Lock()
        self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        for path, inst in self._instruments():
            for name, handle in _introspect.members(inst):
                spec = handle.spec
                member = Member(
                    target=f"{path}.{name}",
                    pv_name=_names.pv_name(self.prefix, path, name),
                    instrument=inst,
                    handle=handle,
                    code=value_code(spec),
                    readable=_introspect.can_read(inst, spec),
                    writable=_introspect.can_write(inst, spec),
                )
                member.pv = SharedPV(
                    queue=self.queue,
                    handler=None,
                    initial=make_value(
                        pv_type(member.code), self.field_values(member, initial=True)
                    ),
                )
                self.members[member.target] = member
                self.pvs[member.pv_name] = member.pv
                if spec.is_array:
                    self._add_coordinates(member)
        root = self.name
        self.status_pv = self._text_pv(_names.STATUS, status_type(), self._status_fields())
        self.identity_pv = self._text_pv(_names.IDENTITY, text_type(), self._identity_fields())
        self.info_pv = self._text_pv(_names.INFO, text_type(), self._info_fields())
        self.claim_pv_name = _names.pv_name(self.prefix, root, _names.CLAIM)
        self.acquire_pv_name = _names.pv_name(self.prefix, root, _names.ACQUIRE)
        self.image_pv_name = _names.pv_name(self.prefix, root, _names.IMAGE)

    def _add_coordinates(self, member: Member) -> None:
        """``<reading PV>:<axis>``: each axis' coordinate, for clients that plot against it."""
        spec = member.spec
        self._axes_posted[member.target] = (spec.axes, spec.unit)
        names = {}
        for axis in spec.axes or ():
            name = f"{member.pv_name}:{axis.name}"
            self.pvs[name] = SharedPV(
                queue=self.queue,
                initial=make_value(
                    coordinate_type(),
                    {**coordinate_fields(axis, member.target), "timeStamp": stamp()},
                ),
            )
            self.coordinate_targets[name] = member.target
            names[axis.name] = name
        self.coordinates[member.target] = names

    def _instruments(self) -> list[tuple[str, Instrument]]:
        found = [(self.name, self.instrument)]
        for channel_name, channel in _introspect.channels(self.instrument).items():
            found.append((f"{self.name}.{channel_name}", channel))
        return found

    def _text_pv(self, member: str, type_: Any, fields: dict[str, Any]) -> SharedPV:
        pv = SharedPV(queue=self.queue, initial=make_value(type_, fields))
        self.pvs[_names.pv_name(self.prefix, self.name, member)] = pv
        return pv

    def add_pv(self, member: str, pv: SharedPV) -> str:
        name = _names.pv_name(self.prefix, self.name, member)
        self.pvs[name] = pv
        return name

    # -- field dicts ------------------------------------------------------------------------

    def field_values(self, member: Member, *, initial: bool = False) -> dict[str, Any]:
        fields = meta_fields(
            member.spec,
            readable=member.readable,
            writable=member.writable,
            view=member.view(self._claim_of(member.target)),
            side_effect=self._side_effect(member),
        )
        fields["timeStamp"] = stamp()
        if member.role == "action":
            fields["value"] = member.runs
            return fields
        value = member.handle.value
        fields["value"] = wire_value(member.spec, value)
        if initial and value is None:
            why = "not read yet" if member.readable else "not set since the server started"
            member.alarm = Alarm.unknown(why)
        fields["alarm"] = member.alarm.fields()
        return fields

    def _side_effect(self, member: Member) -> str:
        """What reading ``member`` would change on the instrument now ("" nothing): remote
        panels and snapshots leave such readings unread, as local ones do."""
        if member.role != "reading" or member.spec.side_effect is None:
            return ""
        effect = member.spec.side_effect_of(member.instrument) or ""
        self._side_effects[member.target] = effect
        return effect

    def _post_side_effects(self, members: list[Member]) -> None:
        """A value changed: post each side effect that changed with it (a meter's function)."""
        for member in members:
            before = self._side_effects.get(member.target)
            effect = self._side_effect(member)
            if effect != before:
                self._post(member, {"labkit": {"side_effect": effect}})

    def wire(self, member: Member, value: Any) -> Any:
        return wire_value(member.spec, value)

    def _status_fields(self) -> dict[str, Any]:
        inst = self.instrument
        if not inst.connected:
            state, alarm = "disconnected", Alarm.unknown(f"{self.name} is not connected")
        else:
            acquiring = self.camera and bool(getattr(inst, "acquiring", False))
            state = "acquiring" if acquiring else ("busy" if inst.busy else "idle")
            alarm = Alarm()
        return {
            "value": {"index": STATUS_CHOICES.index(state), "choices": STATUS_CHOICES},
            "alarm": alarm.fields(),
            "timeStamp": stamp(),
            "display": {"description": f"{self.name}: connected, busy, acquiring"},
        }

    def _identity_fields(self) -> dict[str, Any]:
        inst = self.instrument
        text = json.dumps(
            {
                "name": self.name,
                "driver": f"{type(inst).__module__}.{type(inst).__qualname__}",
                "resource": inst.resource,
                "identity": inst.identity,
            }
        )
        return {
            "value": text,
            "timeStamp": stamp(),
            "display": {"description": f"who {self.name} says it is (JSON)"},
        }

    def _info_fields(self) -> dict[str, Any]:
        return {
            "value": json.dumps(self.info()),
            "timeStamp": stamp(),
            "display": {"description": f"the PVs serving {self.name} (JSON)"},
        }

    def _sensor_shape(self) -> list[int] | None:
        try:
            rows, columns = self.instrument.sensor_shape
            return [int(rows), int(columns)]
        except (TypeError, ValueError, AttributeError):
            return None

    def info(self) -> dict[str, Any]:
        """What this instrument serves: members by role, channels, polled readings, camera."""
        channels: dict[str, list[dict[str, str]]] = {}
        for member in self.members.values():
            path, _, name = member.target.rpartition(".")
            item: dict[str, Any] = {"name": name, "role": member.role, "pv": member.pv_name}
            if member.target in self.coordinates:
                item["coordinates"] = self.coordinates[member.target]
            channels.setdefault(path, []).append(item)
        root = channels.pop(self.name, [])
        return {
            "name": self.name,
            "driver": f"{type(self.instrument).__module__}.{type(self.instrument).__qualname__}",
            "members": root,
            "channels": {path.split(".", 1)[1]: items for path, items in channels.items()},
            "poll": self.poll,
            "camera": self.camera,
            **(
                {
                    "sensor_shape": self._sensor_shape(),
                    "region_note": str(getattr(self.instrument, "region_note", "") or ""),
                }
                if self.camera
                else {}
            ),
            "pvs": {
                "status": _names.pv_name(self.prefix, self.name, _names.STATUS),
                "identity": _names.pv_name(self.prefix, self.name, _names.IDENTITY),
                "claim": _names.pv_name(self.prefix, self.name, _names.CLAIM),
            },
        }

    # -- posting ----------------------------------------------------------------------------

    def post_value(self, member: Member, value: Any, *, timestamp: float | None = None) -> None:
        """A value the instrument acknowledged or measured: the PV shows it, alarm cleared."""
        member.alarm = Alarm()
        fields: dict[str, Any] = {"timeStamp": stamp(timestamp), "alarm": member.alarm.fields()}
        if member.spec.is_array and self.axes_moved(member):
            # the new axes travel with the value they belong to, in one update
            fields.update(self.field_values(member))
            fields.pop("value")
            self._post_coordinates(member)
        fields["value"] = member.runs if member.role == "action" else wire_value(member.spec, value)
        self._post(member, fields)

    @property
    def arrays(self) -> list[Member]:
        """The array readings served (of the instrument and its channels)."""
        return [m for m in self.members.values() if m.spec.is_array]

    def axes_moved(self, member: Member) -> bool:
        """An array reading's axes or unit changed since they were last posted (a scope's
        timebase, a meter's sample count or function): remember them as posted now."""
        spec = member.spec
        posted = self._axes_posted.get(member.target)
        now = (spec.axes, spec.unit)
        if posted is not None and posted[0] is now[0] and posted[1] == now[1]:
            return False
        self._axes_posted[member.target] = now
        return True

    def follow_axes(self, members: list[Member]) -> None:
        """Post the declaration and coordinates of each array reading whose axes moved."""
        for member in members:
            if self.axes_moved(member):
                self.post_meta(member)
                self._post_coordinates(member)

    def _follow_axes_later(self) -> None:
        """A setting changed: a driver moves the axes it sets (a sample count, a timebase)
        once the value is stored, so look on the instrument's worker, after that."""
        arrays = self.arrays
        if not arrays:
            return
        try:
            self.instrument.worker.submit(self.follow_axes, arrays)
        except Exception:  # closing: nothing to follow any more
            log.debug("axes not followed: the worker is gone", exc_info=True)

    def _post_coordinates(self, member: Member) -> None:
        names = self.coordinates.get(member.target, {})
        for axis in member.spec.axes or ():
            name = names.get(axis.name)
            if name is None:
                log.warning(
                    "%s: axis %s has no PV (renamed since serving began)", member.target, axis.name
                )
                continue
            fields = {**coordinate_fields(axis, member.target), "timeStamp": stamp()}
            self._post_pv(self.pvs[name], coordinate_type(), fields)

    def post_alarm(self, member: Member, alarm: Alarm) -> None:
        member.alarm = alarm
        self._post(member, {"alarm": alarm.fields(), "timeStamp": stamp()})

    def post_meta(self, member: Member) -> None:
        fields = self.field_values(member)
        fields.pop("value", None)
        fields.pop("timeStamp", None)
        fields.pop("alarm", None)
        self._post(member, fields)

    def post_status(self) -> None:
        self._post_pv(self.status_pv, status_type(), self._status_fields())

    def post_identity(self) -> None:
        self._post_pv(self.identity_pv, text_type(), self._identity_fields())

    def _post(self, member: Member, fields: dict[str, Any]) -> None:
        self._post_pv(member.pv, pv_type(member.code), fields)

    def _post_pv(self, pv: SharedPV, type_: Any, fields: dict[str, Any]) -> None:
        try:
            pv.post(make_value(type_, fields))
        except Exception:  # a closed PV (the server stopping) must not break the instrument
            log.debug("post to a closed PV ignored", exc_info=True)

    # -- following the instrument -----------------------------------------------------------

    def start(self) -> None:
        """Start the handler queue and the observers that keep the PVs true."""
        self.queue.start()
        by_instrument: dict[int, tuple[Instrument, list[Member]]] = {}
        for member in self.members.values():
            by_instrument.setdefault(id(member.instrument), (member.instrument, []))[1].append(
                member
            )
        for inst, members in by_instrument.values():
            valued = {m.handle.name: m for m in members if m.role != "action"}
            effects = [m for m in members if m.role == "reading" and m.spec.side_effect]

            def on_value(
                change: Any, valued: dict[str, Member] = valued, effects: list[Member] = effects
            ) -> None:
                member = valued[change["name"]]
                self.post_value(member, change["new"])
                if member.role == "setting":
                    if effects:
                        self._post_side_effects(effects)
                    self._follow_axes_later()

            self._observe(inst, on_value, list(valued))
            for member in members:
                if member.role == "setting":
                    self._follow_state(member)
        self._observe(self.instrument, self._on_status, ["connected", "busy"])
        if self.camera and "acquiring" in self.instrument.trait_names():
            self._observe(self.instrument, self._on_status, ["acquiring"])

    def _follow_state(self, member: Member) -> None:
        state = member.handle.state

        def on_state(change: Any) -> None:
            self.post_meta(member)

        def on_error(change: Any) -> None:
            if change["new"]:
                self.post_alarm(member, Alarm.refused(change["new"]))
            elif member.alarm.severity:
                self.post_alarm(member, Alarm())

        def on_busy(change: Any) -> None:  # every write flips it twice: post the flag alone
            self._post(member, {"labkit": {"busy": bool(change["new"])}})

        self._observe(state, on_state, ["soft_min", "soft_max", "lock", "ramp_rate"])
        self._observe(state, on_busy, ["busy"])
        self._observe(state, on_error, ["error"])

    def _on_status(self, change: Any) -> None:
        self.post_status()
        if change["name"] == "connected" and change["new"]:
            self.post_identity()

    def _observe(self, obj: Any, callback: Any, names: list[str]) -> None:
        if names:
            obj.observe(callback, names=names)
            self._observers.append((obj, callback, names))

    def local_run(self, target: str) -> str | None:
        """The run in the serving process moving ``target`` (None: none)."""
        return self.instrument.run_holds.holder(target.split(".", 1)[1])

    def claims_changed(self, targets: set[str]) -> None:
        for target in targets:
            member = self.members.get(target)
            if member is not None and member.role == "setting":
                self.post_meta(member)

    def stop(self) -> None:
        """Stop following the instrument and close the PVs (clients see a disconnect)."""
        for obj, callback, names in self._observers:
            try:
                obj.unobserve(callback, names=names)
            except ValueError:
                pass
        self._observers.clear()
        for pv in self.pvs.values():
            pv.close()
        self.queue.stop()
