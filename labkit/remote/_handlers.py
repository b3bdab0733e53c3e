"""What happens when a client puts to, or calls, a served PV.

Every request is checked in this order, and the first refusal is sent back to the client
as the operation's error (which pvget, ophyd-async and Bluesky show): the station's write
grants for the client's account and host, another client's run holding the setting, then
the instrument's own guards — type, unit, choices, instructor locks, limits, interlocks —
exactly as for a local assignment, because the value goes through the instrument's public
``submit``. The write itself runs on the instrument's worker; the operation completes when
the instrument acknowledged it (a ramp included), so a client that waits for its put knows
the value is there.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from p4p.server.thread import SharedPV

from labkit.core import InstrumentError, LabkitError, RampInterrupted
from labkit.remote._access import AccessPolicy, Client
from labkit.remote._claims import IN_USE, ClaimRefused, Claims
from labkit.remote._pvdata import Alarm, stamp, value_from_wire
from labkit.remote._served import Member, ServedInstrument
from labkit.remote._types import make_value, pv_type, text_type

__all__ = ["attach_handlers", "client_of", "fail"]

log = logging.getLogger("labkit.remote.requests")

DEFAULT_LEASE = 5.0


def attach_handlers(served: ServedInstrument, policy: AccessPolicy, claims: Claims) -> None:
    """Give every PV of ``served`` its put and RPC handlers, and add the claim PV."""
    requests = _Requests(served, policy, claims)
    for member in served.members.values():
        member.pv.put(functools.partial(requests.put, member))
        member.pv.rpc(functools.partial(requests.read_now, member))
    claim_pv = SharedPV(
        queue=served.queue,
        initial=make_value(
            text_type(),
            {
                "value": "RPC: action=claim|renew|release, settings=a,b, run=ID, lease=SECONDS",
                "timeStamp": stamp(),
                "display": {"description": f"runs claim settings of {served.name} here"},
            },
        ),
    )
    claim_pv.rpc(requests.claim)
    served.add_pv("_claim", claim_pv)


def client_of(op: Any) -> Client:
    try:
        groups = op.roles()
    except Exception:
        groups = ()
    return Client.of(op.peer(), op.account(), groups)


def fail(op: Any, message: str) -> None:
    try:
        op.done(error=message)
    except Exception:  # the client went away meanwhile
        log.debug("could not answer a finished request", exc_info=True)


class _Requests:
    def __init__(self, served: ServedInstrument, policy: AccessPolicy, claims: Claims) -> None:
        self.served = served
        self.policy = policy
        self.claims = claims

    # -- put: set a setting, run an action ----------------------------------------------------

    def put(self, member: Member, pv: SharedPV, op: Any) -> None:
        client = client_of(op)
        target = member.target
        with self.served.instrument.run_holds.frozen():  # no run starts meanwhile
            refusal = self._refuse_put(member, client)
            if refusal is not None:
                log.info("%s: put refused: %s", target, refusal)
                fail(op, refusal)
                return
            if member.role == "action":
                self._run_action(member, op, client)
                return
            try:
                value = self._value_of(member, op.value())
            except ValueError as error:
                message = f"{target}: {error}"
                log.info("%s: put refused: %s", target, message)
                fail(op, message)
                return
            try:
                future = member.handle.submit(value)
            except LabkitError as error:  # refused by the instrument's guards, before any I/O
                log.info("%s ← %r by %s: refused: %s", target, value, client.describe(), error)
                fail(op, str(error))
                return
        log.info("%s ← %r by %s", target, value, client.describe())
        future.add_done_callback(functools.partial(self._finish, member, op))

    def _refuse_put(self, member: Member, client: Client) -> str | None:
        target = member.target
        if member.role == "reading":
            return f"{target} is a reading and cannot be written; monitor or get it"
        if member.role == "setting" and not member.writable:
            return f"{target} is read-only: its value follows the instrument's other settings"
        refusal = self.policy.refuse_write(client, target)
        if refusal is None and member.role == "setting":
            refusal = self.claims.refuse(client, target) or self._local_run_refuses(
                client, [target]
            )
        if refusal is None and member.role == "action":
            refusal = self.claims.refuse_within(client, self.served.name)
            if refusal is None:
                held = self.served.instrument.run_holds.held()
                if held:
                    setting, run = next(iter(sorted(held.items())))
                    refusal = (
                        f"run {run!r} in the serving process is using {self.served.name}."
                        f"{setting}; {client.describe()} cannot command {self.served.name} "
                        "until that run has ended"
                    )
        return refusal

    def _local_run_refuses(self, client: Client, targets: list[str]) -> str | None:
        """Why a run in the serving process keeps ``client`` off one of ``targets`` (if so)."""
        for target in targets:
            run = self.served.local_run(target)
            if run is not None:
                return (
                    f"write to {target} refused for {client.describe()}: run {run!r} in the "
                    f"serving process is using it; try again when that run has ended: {IN_USE}"
                )
        return None

    def _value_of(self, member: Member, put: Any) -> Any:
        changed = put.changedSet()
        if member.code == "enum":
            if "value.index" not in changed and "value" not in changed:
                raise ValueError("the put carries no value (value.index)")
            wire: Any = put["value.index"]
        else:
            if "value" not in changed:
                raise ValueError("the put carries no value")
            wire = put["value"]
        spec = member.spec
        return value_from_wire({"kind": spec.kind, "choices": spec.choices}, wire)

    def _finish(self, member: Member, op: Any, future: Any) -> None:
        error = future.exception()
        if error is None:
            # what the put moved (a sample count: the burst's length) is posted before the
            # client hears that its put is done
            self.served.follow_axes(self.served.arrays)
            try:
                op.done()
            except Exception:
                log.debug("the client left before its put completed", exc_info=True)
            return
        message = str(error)
        log.info("%s: write failed: %s", member.target, message)
        if isinstance(error, InstrumentError) and not isinstance(error, RampInterrupted):
            self.served.post_alarm(member, Alarm.fault(message))
        fail(op, message)

    def _run_action(self, member: Member, op: Any, client: Client) -> None:
        log.info("%s run by %s", member.target, client.describe())
        try:
            future = member.handle.submit()
        except LabkitError as error:
            fail(op, str(error))
            return

        def done(future: Any) -> None:
            error = future.exception()
            if error is not None:
                self.served.post_alarm(member, Alarm.fault(str(error)))
                fail(op, str(error))
                return
            member.runs += 1
            self.served.follow_axes(self.served.arrays)
            self.served.post_value(member, None)
            try:
                op.done()
            except Exception:
                log.debug("the client left before its action completed", exc_info=True)

        future.add_done_callback(done)

    # -- rpc: read now -------------------------------------------------------------------------

    def read_now(self, member: Member, pv: SharedPV, op: Any) -> None:
        """Read from the instrument now and answer with the PV's value (fresh)."""
        client = client_of(op)
        target = member.target
        if not member.readable:
            fail(op, f"{target} cannot be read from the instrument (it is a {member.role})")
            return
        refusal = self.policy.refuse_write(client, target)
        if refusal is not None:
            fail(
                op,
                f"{refusal}. Reading on demand sends a command to the instrument; monitor the "
                "PV to see the values the server reads itself",
            )
            return
        try:
            value = member.handle.read()
        except LabkitError as error:
            if isinstance(error, InstrumentError):
                self.served.post_alarm(member, Alarm.fault(str(error)))
            fail(op, str(error))
            return
        if member.spec.is_array:
            self.served.follow_axes([member])
        fields = self.served.field_values(member)
        fields["value"] = self.served.wire(member, value)
        op.done(make_value(pv_type(member.code), fields))

    # -- rpc: claims ---------------------------------------------------------------------------

    def claim(self, pv: SharedPV, op: Any) -> None:
        client = client_of(op)
        try:
            action, targets, run, lease = self._claim_request(op.value())
        except ValueError as error:
            fail(op, f"{self.served.name}: {error}")
            return
        for target in targets:
            refusal = self.policy.refuse_write(client, target)
            if refusal is not None:
                fail(op, refusal)
                return
        with self.served.instrument.run_holds.frozen():  # no local run starts meanwhile
            refusal = None if action == "release" else self._local_run_refuses(client, targets)
            if refusal is not None:
                fail(op, refusal)
                return
            try:
                if action == "release":
                    self.claims.release(client, targets, run)
                else:
                    self.claims.claim(client, targets, run, lease)
            except ClaimRefused as error:
                fail(op, str(error))
                return
        if action != "renew":
            log.info("%s %s for run %r by %s", action, ", ".join(targets), run, client.describe())
        answer = f"{action}: {', '.join(targets)} for run {run!r}"
        op.done(make_value(text_type(), {"value": answer, "timeStamp": stamp()}))

    def _claim_request(self, request: Any) -> tuple[str, list[str], str, float]:
        data = request.todict()
        query = data.get("query", data) or {}
        action = str(query.get("action", "claim"))
        if action not in ("claim", "renew", "release"):
            raise ValueError(f"action {action!r} is none of claim, renew, release")
        run = str(query.get("run", ""))
        if not run:
            raise ValueError("a claim names its run (run=...)")
        names = [s.strip() for s in str(query.get("settings", "")).split(",") if s.strip()]
        if not names:
            raise ValueError("a claim names the settings it holds (settings=a,b)")
        targets = []
        for name in names:
            target = f"{self.served.name}.{name}"
            member = self.served.members.get(target)
            if member is None or member.role != "setting":
                raise ValueError(f"{name!r} is not a setting of {self.served.name}")
            targets.append(target)
        try:
            lease = float(query.get("lease", DEFAULT_LEASE))
        except (TypeError, ValueError):
            raise ValueError(f"lease {query.get('lease')!r} is not a number of seconds") from None
        if not 0 < lease <= 600:
            raise ValueError(f"lease {lease} s is not between 0 and 600 s")
        return action, targets, run, lease
