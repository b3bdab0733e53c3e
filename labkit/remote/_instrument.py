"""``RemoteInstrument``: an instrument another process serves, used here as if it were local.

``labkit.connect("pva://host:port/LAB1:smu")`` makes one. Its declarations come from the
server when it connects, through the instrument model's one mechanism (the link declares: see
:meth:`PvaLink.declarations`), so panels, units, limits, dry runs, runs, live views and
snapshots work unchanged. A value is checked here first — type, unit, choices, and the limits
in force on the server — and then by the serving instrument, which alone decides; what only the
server knows (a lock set a moment ago, an interlock, another run's claim) comes back as
:class:`RemoteRefused` with the server's own words.

The instrument follows the server: monitors keep every value current (a change made by anyone
shows here), the limits in force follow the server's, and the connection follows its status
PV — a server that goes away marks the instrument disconnected (its calls raise
``ConnectionLost`` naming the server) and it reconnects by itself when the server is back.
A run that moves its settings claims them on the server for as long as it runs.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from labkit.core import (
    ConnectionLost,
    Instrument,
    InterlockError,
    LabkitError,
    SettingInUse,
    SettingLock,
)
from labkit.core._declarations import device_class
from labkit.remote._address import parse_address
from labkit.remote._claims import IN_USE
from labkit.remote._declare import follow_axes, remote_declarations
from labkit.remote._describe import MemberDescription, RemoteDescription
from labkit.remote._link import DEFAULT_TIMEOUT, PvaLink, RemoteRefused
from labkit.remote._pvdata import MAJOR, declaration_from_fields, state_from_fields, value_from_wire
from labkit.runs._engine import interlock_tripped_elsewhere

__all__ = ["RemoteChannel", "RemoteInstrument"]

log = logging.getLogger(__name__)

LEASE = 5.0  # seconds a run's claim lasts unless renewed
RENEW = 1.5  # seconds between renewals


def _link_of(instrument: Any) -> Any:
    return instrument.link


def _tighter(mine: Any, theirs: Any, pick: Any) -> Any:
    if mine is None:
        return theirs
    if theirs is None:
        return mine
    return pick(mine, theirs)


class RemoteChannel(Instrument):
    """A channel of a remote instrument (``psu.p6v``); its declarations come from the server."""

    @classmethod
    def default_name(cls) -> str:
        return "channel"

    def server_ramp(self, name: str) -> float | None:
        """The ramp rate the server applies to ``name`` (None: it sets it in one step)."""
        parent: Any = self.parent
        return parent.server_ramp(f"{self.name.rsplit('.', 1)[-1]}.{name}")

    def server_side_effect(self, name: str) -> str | None:
        """What reading ``name`` would change on the served instrument now (None: nothing)."""
        parent: Any = self.parent
        return parent.server_side_effect(f"{self.name.rsplit('.', 1)[-1]}.{name}")

    def follow_served_axes(self) -> None:
        """Take the array readings' axes the server has now (a put may have moved them)."""
        parent: Any = self.parent
        parent.follow_served_axes()

    def require_connected(self) -> None:
        parent: Any = self.parent
        if not self.connected and parent is not None and not parent.closed:
            parent.require_connected()
        super().require_connected()

    def adopt(self, members: tuple[MemberDescription, ...], description: RemoteDescription) -> None:
        """Take the channel's declarations, as the server lists them (once, at connect)."""
        found = remote_declarations(
            RemoteDescription(
                name=self.name,
                driver=description.driver,
                identity=None,
                members=members,
                channels={},
                camera=False,
                poll={},
                pvs={},
            ),
            _link_of,
        )
        self.__class__ = device_class(self, found)
        for trait in type(self).class_own_traits().values():
            trait.instance_init(self)
        self._make_handles()


class RemoteInstrument(Instrument):
    """An instrument served over EPICS pvAccess by ``labkit serve`` in another process.

    ``RemoteInstrument("pva://host:port/PREFIXname")``; ``name`` defaults to the served name.
    ``timeout`` (s) bounds each request to the server (5 s).
    """

    declared_at_connect = True

    def __init__(
        self,
        resource: str | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        connect: bool = True,
        **options: Any,
    ) -> None:
        self._description: RemoteDescription | None = None
        self._runs: dict[str, tuple[list[str], threading.Event]] = {}
        self._trips: dict[str, str] = {}  # setting -> the server's trip alarm, once seen
        self._server_ramps: dict[str, float | None] = {}
        self._server_soft: dict[str, tuple[Any, Any]] = {}  # the server's, as last mirrored
        self._locks: dict[int, SettingLock] = {}  # the server's locks mirrored, by state
        self._side_effects: dict[str, str | None] = {}  # the server's, by reading
        self._arrays: list[tuple[Instrument, MemberDescription]] = []  # array readings
        super().__init__(resource, name=name, timeout=timeout, connect=connect, **options)

    @classmethod
    def default_name(cls) -> str:
        return "remote"

    def server_ramp(self, name: str) -> float | None:
        """The ramp rate the server applies to ``name`` (``"ch.name"`` for a channel's)."""
        return self._server_ramps.get(name)

    def server_side_effect(self, name: str) -> str | None:
        """What reading ``name`` (``"ch.name"``) would change on the served instrument now,
        as the server last said (None: nothing). Panels and snapshots leave it unread."""
        return self._side_effects.get(name)

    # -- the link and the declarations ------------------------------------------------------

    def make_link(self) -> PvaLink:
        if self.resource is None:
            raise LabkitError(
                "a remote instrument needs its pva:// address",
                instrument=self.name,
                hint="labkit.connect('pva://HOST:PORT/PREFIXname')",
            )
        timeout = float(self._options.get("timeout", DEFAULT_TIMEOUT))
        return PvaLink(self.resource, timeout=timeout, connect=False)

    @property
    def description(self) -> RemoteDescription | None:
        """What the server declared when this instrument connected."""
        return self._description

    def device_declarations(self) -> Iterable[Any]:
        link: PvaLink = self.link
        self._description = link.describe()
        if self._description.camera:
            from labkit.remote._remote_camera import become_camera

            become_camera(self)
        return remote_declarations(self._description, _link_of)

    def identify(self) -> dict[str, str] | None:
        return dict(self._description.identity or {}) if self._description else None

    def refresh_settings(self) -> dict[str, Any]:
        """The values the server has: from its PVs, without commanding the instrument."""
        link: PvaLink = self.link
        description = link.describe() if self.connected else self._description
        values: dict[str, Any] = {}
        if description is None:
            return values
        groups = [(self, description.members)]
        groups += [
            (self._channels[n], m) for n, m in description.channels.items() if n in self._channels
        ]
        for instrument, members in groups:
            for member in members:
                if member.role != "action" and member.value is not None:
                    instrument.store(member.name, member.value)
                    values[f"{instrument.name}.{member.name}"] = member.value
        return values

    def _on_open(self) -> None:
        description = self._description
        assert description is not None
        link: PvaLink = self.link
        for channel_name, members in description.channels.items():
            if channel_name not in self._channels:
                channel = RemoteChannel(parent=self, name=channel_name, connect=False)
                channel.adopt(members, description)
                self._channels[channel_name] = channel
        groups: list[tuple[Instrument, tuple[MemberDescription, ...]]] = [
            (self, description.members)
        ]
        groups += [(self._channels[n], m) for n, m in description.channels.items()]
        for instrument, members in groups:
            where = "" if instrument is self else instrument.name.rsplit(".", 1)[-1] + "."
            for member in members:
                if member.declaration.get("kind") == "array":
                    self._arrays.append((instrument, member))
                if member.role == "reading":
                    self._side_effects[where + member.name] = member.state.get("side_effect")
                if member.role == "setting":
                    handle = instrument.settings[member.name]
                    self._server_ramps[where + member.name] = member.state.get("ramp")
                    self._server_soft[where + member.name] = (
                        member.state.get("soft_min"),
                        member.state.get("soft_max"),
                    )
                    self._follow_lock(handle, member.state.get("lock"))
                link.monitor(member.pv, functools.partial(self._follow, instrument, member))
        link.on_connection(self._server_seen)
        link.watch_connection(description.pvs.get("status") or f"{link.address.name}:_status")

    # -- following the server ---------------------------------------------------------------

    def follow_served_axes(self) -> None:
        """Take the array readings' axes and units the server declares now: a setting just
        put may have moved them (a sample count, a timebase), and a run laid out next must
        see the same coordinates as beside the serving instrument."""
        if not self._arrays:
            return
        link: PvaLink = self.link
        values = link.get_many(
            [member.pv for _, member in self._arrays],
            request="field(display.units,labkit.axes,labkit.dtype)",
        )
        for (instrument, member), value in zip(self._arrays, values, strict=True):
            follow_axes(instrument, member.name, value)

    def _follow(self, instrument: Instrument, member: MemberDescription, value: Any) -> None:
        """A monitor update: store the value, follow the limits in force and the hard limits."""
        if isinstance(value, Exception):
            return  # the status PV's monitor says whether the server is there
        try:
            fields = value.todict()
            if member.declaration.get("kind") == "array":
                follow_axes(instrument, member.name, fields)
            if member.role != "action" and fields.get("alarm", {}).get("severity", 0) < 3:
                instrument.store(member.name, value_from_wire(member.declaration, fields["value"]))
            if member.role == "setting":
                self._follow_limits(instrument, member, fields)
                self._follow_trip(instrument, member, fields.get("alarm") or {})
            elif member.role == "reading":
                where = "" if instrument is self else instrument.name.rsplit(".", 1)[-1] + "."
                effect = fields.get("labkit", {}).get("side_effect") or None
                self._side_effects[where + member.name] = effect
        except (LabkitError, ValueError, KeyError, TypeError):
            log.debug("an update of %s could not be followed", member.pv, exc_info=True)

    def _follow_trip(
        self, instrument: Instrument, member: MemberDescription, alarm: dict[str, Any]
    ) -> None:
        """An interlock tripped on the server (a fault alarm saying so): runs here using this
        instrument fail with the server's message, once per trip."""
        key = f"{instrument.name}.{member.name}"
        message = str(alarm.get("message") or "")
        if alarm.get("severity", 0) < MAJOR or "interlock tripped" not in message:
            self._trips.pop(key, None)
            return
        if self._trips.get(key) == message:
            return
        self._trips[key] = message
        log.warning("%s: on the server, %s", self.name, message)
        error = InterlockError(
            f"on the server: {message}",
            instrument=instrument.name,
            setting=member.name,
            hint="Fix what the condition watches on the server's side, then start again",
        )
        interlock_tripped_elsewhere(self, error)

    def _follow_limits(
        self, instrument: Instrument, member: MemberDescription, fields: Any
    ) -> None:
        """The server's hard limits, soft limits, lock and ramp rate, mirrored here.

        A client's own narrowing of the soft limits (``handle.limit``, a station file's
        ``limits:``) is kept: the soft limits here are the server's, narrowed by it.
        """
        handle = instrument.settings[member.name]
        spec = handle.spec
        declared = declaration_from_fields(fields)
        changes = {
            key: declared.get(key)
            for key in ("min", "max")
            if spec.numeric and declared.get(key) != getattr(spec, key)
        }
        if changes:
            instrument.update_declaration(member.name, **changes)
        now = state_from_fields(fields)
        where = "" if instrument is self else instrument.name.rsplit(".", 1)[-1] + "."
        key = where + member.name
        self._server_ramps[key] = now.get("ramp")
        if spec.numeric:
            self._follow_soft_limits(key, handle, (now.get("soft_min"), now.get("soft_max")))
        self._follow_lock(handle, now.get("lock"))

    def _follow_soft_limits(self, key: str, handle: Any, server: tuple[Any, Any]) -> None:
        state = handle.state
        last = self._server_soft.get(key, (handle.spec.soft_min, handle.spec.soft_max))
        if server == last:
            return
        own = [
            mine if mine != theirs else None
            for mine, theirs in zip((state.soft_min, state.soft_max), last, strict=True)
        ]
        low = _tighter(own[0], server[0], max)
        high = _tighter(own[1], server[1], min)
        self._server_soft[key] = server
        handle.limit(low, high)

    def _follow_lock(self, handle: Any, lock: Any) -> None:
        state = handle.state
        mirrored = self._locks.get(id(state))
        if lock is None:
            if mirrored is not None and state.lock is mirrored:
                state.lock = None
            self._locks.pop(id(state), None)
            return
        wanted = SettingLock(
            value=lock["value"] if "value" in lock else SettingLock().value,
            min=lock.get("min"),
            max=lock.get("max"),
            reason=f"{lock.get('reason') or 'locked'}, on the server",
        )
        if mirrored == wanted and state.lock is mirrored:
            return
        if state.lock is None or state.lock is mirrored:
            state.lock = wanted
            self._locks[id(state)] = wanted

    def require_connected(self) -> None:
        """While the server is away, say so — naming it — rather than "not connected"."""
        if self.connected or self.closed or self.worker.on_worker():
            super().require_connected()
            return
        link: PvaLink = self.link
        raise self._attach(link.lost())

    def _server_seen(self, up: bool) -> None:
        if self.closed:
            return
        self._mark_connected(up)
        if not up:
            log.warning("%s: lost the pvAccess server %s", self.name, self.link.server)

    # -- runs -------------------------------------------------------------------------------

    def hold_for_run(
        self, run: str, settings: Iterable[str], *, about: Callable[[], str] | None = None
    ) -> None:
        """Claim ``settings`` on the server for ``run``, and keep the claim while it runs."""
        names = sorted(set(settings))
        if not names:
            return
        super().hold_for_run(run, names, about=about)  # one run per setting in this process too
        try:
            self._claim("claim", names, run)
        except RemoteRefused as error:
            super().release_from_run(run)
            raise _in_use(error, self.name, names, run) from None
        except BaseException:
            super().release_from_run(run)
            raise
        stop = threading.Event()
        self._runs[run] = (names, stop)
        threading.Thread(
            target=self._renew, args=(run, names, stop), name=f"labkit-claim-{run}", daemon=True
        ).start()

    def release_from_run(self, run: str) -> None:
        super().release_from_run(run)
        held = self._runs.pop(run, None)
        if held is None:
            return
        names, stop = held
        stop.set()
        try:
            self._claim("release", names, run)
        except LabkitError as error:  # lapses by itself after its lease
            log.info("%s: releasing run %s's claim failed (%s)", self.name, run, error)

    def _claim(self, action: str, names: list[str], run: str) -> None:
        link: PvaLink = self.link
        claim_pv = (self._description.pvs.get("claim") if self._description else None) or (
            f"{link.address.name}:_claim"
        )
        try:
            link.call(
                claim_pv,
                {"action": action, "settings": ",".join(names), "run": run, "lease": str(LEASE)},
            )
        except RemoteRefused as error:
            raise self._attach(error) from None

    def _renew(self, run: str, names: list[str], stop: threading.Event) -> None:
        while not stop.wait(RENEW):
            try:
                self._claim("renew", names, run)
            except ConnectionLost:
                continue  # the server is away: renew when it is back
            except LabkitError as error:
                log.warning("%s: run %s lost its claim: %s", self.name, run, error)

    def _on_close(self) -> None:
        for run in list(self._runs):
            self.release_from_run(run)

    # -- what a run records -----------------------------------------------------------------

    def snapshot(self, *, refresh: bool = False) -> dict[str, Any]:
        snapshot = super().snapshot(refresh=refresh)
        address = parse_address(self.resource) if self.resource else None
        snapshot["remote"] = {
            "url": self.resource,
            "server": address.server if address else None,
            "served_driver": self._description.driver if self._description else None,
            "server_ramps": {k: v for k, v in self._server_ramps.items() if v is not None},
        }
        return snapshot


def _in_use(error: RemoteRefused, instrument: str, names: list[str], run: str) -> LabkitError:
    """The server refused a claim: because another run holds a setting (SettingInUse, naming
    that run and the setting, as for a run in this process), or for another reason (as is)."""
    text = error.message
    if IN_USE not in text:
        return error
    held = re.search(r"run '([^']+)'", text)
    setting = next((n for n in names if re.search(rf"\.{re.escape(n)}\b", text)), None)
    return SettingInUse(
        f"the server refused run {run} its claim: {text}",
        run_id=held.group(1) if held else None,
        instrument=instrument,
        setting=setting,
        hint="Wait for that run to end (the setting's PV names it in labkit.claim), then start "
        "this one",
    )
