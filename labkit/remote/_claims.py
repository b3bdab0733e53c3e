"""One run per setting: a client's run claims the settings it moves; no one else writes them.

A labkit client starting a run on a remote instrument claims each setting the run sets, for
a lease of a few seconds that it renews while the run goes. While the claim holds, a put
from any other client (labkit or foreign: a Bluesky plan, a CLI) is refused, naming the run
and its owner. A client killed mid-run stops renewing: its claims lapse after the lease, so
nothing stays locked by a process that no longer exists. Time comes from an injected clock.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable

from labkit.remote._access import Client

__all__ = ["IN_USE", "ClaimRefused", "Claims"]

# Ends every refusal because another run holds a setting, so that a labkit client tells it
# apart from other refusals (access, a bad request) and raises SettingInUse for it.
IN_USE = "a setting belongs to one run at a time"


class ClaimRefused(Exception):
    """Another client's run holds a setting this claim asked for."""


@dataclasses.dataclass
class _Claim:
    target: str
    run: str
    holder: Client
    expires: float

    def describe(self) -> str:
        return f"run {self.run!r} of {self.holder.describe()}"

    def held_by(self, client: Client, run: str | None = None) -> bool:
        if client.peer and client.peer == self.holder.peer:
            return True
        # the same account on the same host renewing the same run: a reconnected client
        return (
            run is not None
            and run == self.run
            and (client.account, client.host) == (self.holder.account, self.holder.host)
        )


class Claims:
    """The claims of one server, by target (``smu.source_voltage``)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[set[str]], None] | None = None,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._claims: dict[str, _Claim] = {}
        self._on_change = on_change

    def claim(self, client: Client, targets: Iterable[str], run: str, lease: float) -> None:
        """Claim (or renew) ``targets`` for ``run``; all or none. Raises ClaimRefused."""
        targets = list(targets)
        with self._lock:
            changed = self._expire()
            for target in targets:
                held = self._claims.get(target)
                if held is not None and not held.held_by(client, run):
                    raise ClaimRefused(
                        f"{target} is held by {held.describe()} until it ends; "
                        f"{client.describe()} cannot claim it for run {run!r}: {IN_USE}"
                    )
            expires = self._clock() + lease
            for target in targets:
                held = self._claims.get(target)
                if held is None or held.run != run:
                    changed.add(target)
                self._claims[target] = _Claim(target, run, client, expires)
        self._notify(changed)

    def release(self, client: Client, targets: Iterable[str], run: str) -> None:
        """Give up ``targets`` (those this client holds for ``run``; others are left alone)."""
        with self._lock:
            changed = self._expire()
            for target in targets:
                held = self._claims.get(target)
                if held is not None and held.run == run and held.held_by(client, run):
                    del self._claims[target]
                    changed.add(target)
        self._notify(changed)

    def refuse(self, client: Client, target: str) -> str | None:
        """None if ``client`` may write ``target`` as far as runs go; else why not."""
        with self._lock:
            changed = self._expire()
            held = self._claims.get(target)
            refusal = None
            if held is not None and not held.held_by(client):
                refusal = (
                    f"write to {target} refused for {client.describe()}: {held.describe()} "
                    "is using it; try again when that run has ended"
                )
        self._notify(changed)
        return refusal

    def refuse_within(self, client: Client, instrument: str) -> str | None:
        """None unless another client's run holds a setting of ``instrument`` (for actions,
        which may disturb any setting: a reset in the middle of someone's sweep)."""
        with self._lock:
            changed = self._expire()
            others = [
                c
                for t, c in self._claims.items()
                if t.startswith(instrument + ".") and not c.held_by(client)
            ]
        self._notify(changed)
        if not others:
            return None
        return (
            f"{others[0].describe()} is using {others[0].target}; {client.describe()} cannot "
            f"command {instrument} until that run has ended"
        )

    def holder(self, target: str) -> str:
        """Who holds ``target`` now, for the PV's ``labkit.claim`` field ("" if no one)."""
        with self._lock:
            held = self._claims.get(target)
            return "" if held is None or held.expires <= self._clock() else held.describe()

    def targets(self) -> list[str]:
        """Every target a client's run holds now."""
        with self._lock:
            now = self._clock()
            return [t for t, c in self._claims.items() if c.expires > now]

    def run(self, target: str) -> str | None:
        """The client's run holding ``target`` now (None: none)."""
        with self._lock:
            held = self._claims.get(target)
            return None if held is None or held.expires <= self._clock() else held.run

    def sweep(self) -> None:
        """Let lapsed claims go (the server calls this now and then)."""
        with self._lock:
            changed = self._expire()
        self._notify(changed)

    def _expire(self) -> set[str]:
        now = self._clock()
        gone = {t for t, c in self._claims.items() if c.expires <= now}
        for target in gone:
            del self._claims[target]
        return gone

    def _notify(self, changed: set[str]) -> None:
        if changed and self._on_change is not None:
            self._on_change(changed)
