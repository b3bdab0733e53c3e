"""``Server``: a station's instruments served over pvAccess, and ``serve()`` to start one.

The serving process owns the hardware: every request goes through the instrument's own
guards (limits, ramps, locks, interlocks) and the station's grants, and a run's claim keeps
other clients off the settings it moves. The server listens on loopback unless the station
or the command line names other interfaces.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from p4p.server import DynamicProvider
from p4p.server import Server as _P4pServer
from p4p.server.thread import SharedPV

from labkit.core import ConfigurationError, Instrument, SettingInUse, _watch
from labkit.remote._access import AccessPolicy, host_of_peer
from labkit.remote._camera import serve_camera
from labkit.remote._claims import Claims
from labkit.remote._config import ServeConfig, serve_config
from labkit.remote._frames import FramePublisher
from labkit.remote._handlers import attach_handlers
from labkit.remote._poll import Poller
from labkit.remote._pvdata import Alarm, stamp
from labkit.remote._served import ServedInstrument
from labkit.remote._types import make_value, text_type

__all__ = ["Server", "serve"]

log = logging.getLogger(__name__)

_CLAIM_SWEEP = 1.0  # seconds between checks for lapsed claims


class Server:
    """Serve ``instruments`` (a Station or a ``{name: instrument}`` mapping) over pvAccess.

    ``config`` says how (prefix, interfaces, port, polled readings, access; see
    :func:`labkit.remote.serve_config`). The server runs from :meth:`start` until
    :meth:`stop` (or the end of a ``with`` block).
    """

    def __init__(self, instruments: Mapping[str, Instrument], config: ServeConfig) -> None:
        self.config = config
        self.instruments = dict(instruments)
        unknown = set(config.poll) - set(self.instruments)
        if unknown:
            raise ConfigurationError(
                f"serve.poll names instruments that are not served: {sorted(unknown)}"
            )
        self.claims = Claims(on_change=self._claims_changed)
        self.served: dict[str, ServedInstrument] = {}
        self.pollers: list[Poller] = []
        self.publishers: list[FramePublisher] = []
        self._targets: dict[str, str] = {}
        self._refusals: dict[str, SharedPV] = {}
        self._server: _P4pServer | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._run_hooks: list[tuple[Any, Any, Any]] = []
        for name, instrument in self.instruments.items():
            self._serve_one(name, instrument)

    def _serve_one(self, name: str, instrument: Instrument) -> None:
        if instrument.name != name:
            raise ConfigurationError(
                f"the instrument served as {name!r} is named {instrument.name!r}",
                hint="Serve each instrument under its own name",
            )
        rates = dict(self.config.poll.get(name, {}))
        served = ServedInstrument(
            instrument, prefix=self.config.prefix, claim_of=self._holder, poll=rates
        )
        attach_handlers(served, self.config.access, self.claims)
        for reading in rates:
            member = served.members.get(f"{name}.{reading}")
            if member is None or not member.readable:
                readable = [
                    m.target.split(".", 1)[1] for m in served.members.values() if m.readable
                ]
                raise ConfigurationError(
                    f"serve.poll: {name}.{reading} is not something the server can read",
                    instrument=name,
                    hint=f"It can read: {', '.join(readable)}",
                )
        if served.camera:
            self.publishers.append(
                serve_camera(served, self.config.access, self.claims, rate=self.config.frame_rate)
            )
        self.pollers.append(Poller(served, rates))
        self.served[name] = served
        for pv_name in served.pvs:
            path, _, leaf = pv_name[len(self.config.prefix) :].rpartition(":")
            # a coordinate PV is read (and refused) as the reading it belongs to
            self._targets[pv_name] = served.coordinate_targets.get(
                pv_name, f"{path.replace(':', '.')}.{leaf}"
            )

    # -- the PV names -------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every PV this server serves, instrument by instrument."""
        return [name for served in self.served.values() for name in served.pvs]

    def describe(self) -> str:
        """What ``labkit serve`` prints: where, who may do what, and the PV names."""
        lines = [f"labkit serves {len(self.served)} instruments at {self.where}"]
        lines += [f"  {line}" for line in self.config.access.describe()]
        if not self.config.loopback_only:
            lines.append(
                "  NOTE: pvAccess does not authenticate clients (docs/concepts/trust-model.md); "
                "serve beyond loopback only on a network you trust"
            )
        for served in self.served.values():
            lines.append(f"{served.name}:")
            for pv_name, target in ((n, self._targets[n]) for n in served.pvs):
                member = served.members.get(target)
                role = member.role if member is not None else "labkit"
                if pv_name in served.coordinate_targets:
                    role = "coordinate"
                elif member is not None and member.spec.is_array:
                    role = "array reading"
                rate = served.poll.get(target.split(".", 1)[1])
                extra = f"  (read {rate:g}/s)" if rate else ""
                lines.append(f"  {pv_name:<48} {role}{extra}")
        return "\n".join(lines)

    @property
    def where(self) -> str:
        conf = self.conf()
        port = conf.get("EPICS_PVAS_SERVER_PORT", str(self.config.port))
        return f"{' '.join(self.config.interfaces)} port {port}"

    # -- running ------------------------------------------------------------------------------

    def start(self) -> Server:
        if self._server is not None:
            return self
        for served in self.served.values():
            served.start()
        self._follow_runs()
        _serving.add(self)
        provider = DynamicProvider(f"labkit-{id(self)}", _Directory(self))
        self._server = _P4pServer(providers=[provider], conf=self._p4p_conf(), useenv=True)
        self._provider = provider
        for poller in self.pollers:
            poller.start()
        for publisher in self.publishers:
            publisher.start()
        self._sweeper = threading.Thread(target=self._sweep, name="labkit-pva-claims", daemon=True)
        self._sweeper.start()
        log.info("serving %d PVs at %s", len(self._targets), self.where)
        return self

    def _p4p_conf(self) -> dict[str, str]:
        conf = {
            "EPICS_PVAS_INTF_ADDR_LIST": " ".join(self.config.interfaces),
            "EPICS_PVAS_SERVER_PORT": str(self.config.port),
        }
        if self.config.broadcast_port is not None:
            conf["EPICS_PVAS_BROADCAST_PORT"] = str(self.config.broadcast_port)
        if self.config.loopback_only and "EPICS_PVAS_BEACON_ADDR_LIST" not in os.environ:
            conf["EPICS_PVAS_AUTO_BEACON_ADDR_LIST"] = "NO"
            conf["EPICS_PVAS_BEACON_ADDR_LIST"] = "127.0.0.1"
        return conf

    def conf(self) -> dict[str, str]:
        """The effective EPICS_PVAS_* configuration (ports as the OS picked them)."""
        return dict(self._server.conf()) if self._server is not None else {}

    def client_conf(self) -> dict[str, str]:
        """EPICS_PVA_* settings that let a client on this machine reach this server alone."""
        conf = self.conf()
        return {
            "EPICS_PVA_ADDR_LIST": "127.0.0.1",
            "EPICS_PVA_AUTO_ADDR_LIST": "NO",
            "EPICS_PVA_SERVER_PORT": conf["EPICS_PVAS_SERVER_PORT"],
            "EPICS_PVA_BROADCAST_PORT": conf["EPICS_PVAS_BROADCAST_PORT"],
        }

    def address(self, instrument: str) -> str:
        """``pva://127.0.0.1:PORT/PREFIXname``: what ``labkit.connect`` takes for it."""
        host = self.config.interfaces[0]
        if host in ("0.0.0.0", "::", "localhost"):
            host = "127.0.0.1"
        port = self.conf()["EPICS_PVAS_SERVER_PORT"]
        return f"pva://{host}:{port}/{self.config.prefix}{instrument}"

    def stop(self) -> None:
        """Stop serving: clients see their channels disconnect. Instruments stay open."""
        self._stop.set()
        _serving.discard(self)
        for publisher in self.publishers:
            publisher.stop()
        for poller in self.pollers:
            poller.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._unfollow_runs()
        for served in self.served.values():
            served.stop()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _sweep(self) -> None:
        while not self._stop.wait(_CLAIM_SWEEP):
            self.claims.sweep()

    # -- interlocks ------------------------------------------------------------------------

    def interlock_tripped(self, trip: _watch.Trip) -> None:
        """An interlock of a served instrument tripped (its outputs went safe): the setting's
        PV shows it as a fault, so every client sees it and a labkit client fails its run."""
        handle = trip.interlock.setting
        message = str(trip.exception())
        for served in self.served.values():
            for member in served.members.values():
                if member.instrument is handle.instrument and member.handle.name == handle.name:
                    served.post_alarm(member, Alarm.fault(message))

    def claimed_instruments(self) -> set[int]:
        """The ids of served instruments a client's run holds settings of: their interlocks
        are watched as for a run in this process."""
        names = {target.split(".", 1)[0] for target in self.claims.targets()}
        return {id(self.served[n].instrument) for n in names if n in self.served}

    def _claims_changed(self, targets: set[str]) -> None:
        for served in self.served.values():
            served.claims_changed(targets)

    # -- one run per setting, whoever runs it ----------------------------------------------

    def _holder(self, target: str) -> str:
        """Who holds ``target`` now: a client's run claimed here, or a run in this process."""
        remote = self.claims.holder(target)
        if remote:
            return remote
        name = target.split(".", 1)[0]
        run = self.served[name].local_run(target) if name in self.served else None
        return f"run {run!r} in the serving process" if run else ""

    def _follow_runs(self) -> None:
        """Runs in this process and clients' claimed runs keep off each other's settings."""
        for name, served in self.served.items():
            holds = served.instrument.run_holds

            def refuse_claimed(run: str, settings: list[str], name: str = name) -> None:
                for setting in settings:
                    holder = self.claims.holder(f"{name}.{setting}")
                    if holder:
                        raise SettingInUse(
                            f"{name}.{setting} is held by {holder}, a pvAccess client of this "
                            f"server; a setting belongs to one run at a time, so run {run} "
                            "cannot set it",
                            run_id=self.claims.run(f"{name}.{setting}"),
                            instrument=name,
                            setting=setting,
                            hint="Wait for that client's run to end (the PV's labkit.claim "
                            "field names it)",
                        )

            def changed(settings: set[str], served: ServedInstrument = served) -> None:
                served.claims_changed({f"{served.name}.{s}" for s in settings})

            holds.add_check(refuse_claimed)
            holds.watch(changed)
            self._run_hooks.append((holds, refuse_claimed, changed))

    def _unfollow_runs(self) -> None:
        for holds, check, watcher in self._run_hooks:
            holds.remove_check(check)
            holds.unwatch(watcher)
        self._run_hooks.clear()

    # -- reads by host --------------------------------------------------------------------------

    def channel(self, name: str, peer: str) -> SharedPV | None:
        """The PV a client at ``peer`` gets for ``name`` (a refusal PV if it may not read)."""
        pv = None
        for served in self.served.values():
            pv = served.pvs.get(name)
            if pv is not None:
                break
        if pv is None:
            return None
        refusal = self.config.access.refuse_read(host_of_peer(peer), self._targets[name])
        if refusal is None:
            return pv
        log.info("%s: %s", name, refusal)
        return self._refusal(refusal)

    def has(self, name: str) -> bool:
        return name in self._targets

    def _refusal(self, message: str) -> SharedPV:
        pv = self._refusals.get(message)
        if pv is None:
            pv = SharedPV(
                initial=make_value(
                    text_type(),
                    {
                        "value": "",
                        "alarm": Alarm(3, 7, message).fields(),
                        "timeStamp": stamp(),
                        "display": {"description": message},
                    },
                )
            )

            def refuse(pv: SharedPV, op: Any) -> None:
                op.done(error=message)

            pv.put(refuse)
            self._refusals[message] = pv
        return pv


class _Directory:
    """p4p's DynamicProvider handler: which names exist, and what each client gets."""

    def __init__(self, server: Server) -> None:
        self._server = server

    def testChannel(self, name: str) -> bool:
        return self._server.has(name)

    def makeChannel(self, name: str, peer: str) -> SharedPV | None:
        return self._server.channel(name, peer)


def serve(
    station: Any,
    *,
    prefix: str | None = None,
    interfaces: tuple[str, ...] | None = None,
    port: int | None = None,
    broadcast_port: int | None = None,
    access: Mapping[str, Any] | AccessPolicy | None = None,
    poll: Mapping[str, Mapping[str, Any]] | None = None,
) -> Server:
    """Serve a station (a path to a station file, or a loaded ``Station``); returns the
    running :class:`Server`. Keyword arguments override the file's ``serve:`` sections."""
    if isinstance(station, (str, os.PathLike)):
        from labkit.station import load_station

        station = load_station(station)
    options = getattr(station, "serve_options", {"serve": {}, "instruments": {}})
    section = dict(options.get("serve", {}))
    if isinstance(access, Mapping):
        section["access"] = dict(access)
    per_instrument = {k: dict(v) for k, v in options.get("instruments", {}).items()}
    for name, rates in (poll or {}).items():
        per_instrument.setdefault(name, {})["poll"] = dict(rates)
    config = serve_config(
        section,
        per_instrument,
        source=getattr(station, "source", "the station"),
        prefix=prefix,
        interfaces=interfaces,
        port=port,
        broadcast_port=broadcast_port,
    )
    if isinstance(access, AccessPolicy):
        config = _replace(config, access=access)
    return Server(dict(station.items()), config).start()


def _replace(config: ServeConfig, **changes: Any) -> ServeConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)


_serving: weakref.WeakSet[Server] = weakref.WeakSet()  # started and not stopped


def _interlock_tripped(trip: _watch.Trip) -> None:
    for server in list(_serving):
        server.interlock_tripped(trip)


def _claimed_instruments() -> set[int]:
    used: set[int] = set()
    for server in list(_serving):
        used |= server.claimed_instruments()
    return used


_watch.on_trip(_interlock_tripped)
_watch.in_use_by(_claimed_instruments)
