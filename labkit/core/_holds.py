"""One run per setting: which run is moving which setting of an instrument.

Two runs sweeping one setting would interleave their set-points and both record wrong data
while reporting ``completed``. So the run engine tells each instrument, before a run starts,
the settings the run's plan sets (:meth:`Instrument.hold_for_run`), and a step setting
something its plan did not declare holds it on first use; a second run asking for one of them
is refused with :class:`SettingInUse`, naming the run that holds it, until the first has ended
(after its outputs went to safe values). This is the only record of it, kept on the instrument
so that whoever shares the instrument can see it and add a check of its own: a pvAccess server
refuses a run in its own process the settings a remote client's run has claimed, and refuses
remote writes to what a local run holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from labkit.core._errors import SettingInUse

__all__ = ["RunHolds"]

Check = Callable[[str, list[str]], None]  # (run, settings): raises SettingInUse to refuse
About = Callable[[], str]  # what a holding run is now, for messages ("'iv', paused")
Watcher = Callable[[set[str]], None]  # the settings whose holder changed


class RunHolds:
    """The runs holding settings of one instrument (``"ch1.amplitude"`` for a channel's)."""

    def __init__(self, instrument: str) -> None:
        self.instrument = instrument
        self._lock = threading.RLock()
        self._held: dict[str, str] = {}  # setting -> run
        self._about: dict[str, About] = {}  # run -> what it is
        self._checks: list[Check] = []
        self._watchers: list[Watcher] = []

    def hold(self, run: str, settings: Iterable[str], *, about: About | None = None) -> None:
        """Make ``run`` the holder of ``settings``, all or none; raises :class:`SettingInUse`
        naming the holder if another run (or a check) refuses one. ``about`` says what the
        run is, for the message another run gets."""
        names = sorted(set(settings))
        with self._lock:
            for name in names:
                other = self._held.get(name)
                if other is not None and other != run:
                    raise SettingInUse(
                        f"{self.instrument}.{name} is being set by run {other}"
                        f"{self._describe(other)}; a setting belongs to one run at a time, so "
                        f"run {run} cannot set it",
                        run_id=other,
                        instrument=self.instrument,
                        setting=name,
                        hint="Wait for that run to end (run.wait()) or abort it, then start "
                        "this one",
                    )
            for check in list(self._checks):
                check(run, names)
            changed = {name for name in names if self._held.get(name) != run}
            for name in names:
                self._held[name] = run
            if about is not None and names:
                self._about[run] = about
        self._notify(changed)

    def release(self, run: str) -> None:
        """``run`` has ended: its settings are free."""
        with self._lock:
            changed = {name for name, holder in self._held.items() if holder == run}
            for name in changed:
                del self._held[name]
            self._about.pop(run, None)
        self._notify(changed)

    def _describe(self, run: str) -> str:
        about = self._about.get(run)
        if about is None:
            return ""
        try:
            return f" ({about()})"
        except Exception:  # a message must not fail on its details
            return ""

    def holder(self, setting: str) -> str | None:
        """The run holding ``setting`` now (None: no run)."""
        with self._lock:
            return self._held.get(setting)

    def held(self) -> dict[str, str]:
        """Every held setting and its run."""
        with self._lock:
            return dict(self._held)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """No run starts or ends meanwhile (a server deciding on a remote claim)."""
        with self._lock:
            yield

    def add_check(self, check: Check) -> None:
        self._checks.append(check)

    def remove_check(self, check: Check) -> None:
        if check in self._checks:
            self._checks.remove(check)

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher`` with the settings whose holder changed (outside the lock)."""
        self._watchers.append(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    def _notify(self, changed: set[str]) -> None:
        if changed:
            for watcher in list(self._watchers):
                watcher(changed)
