"""The :class:`Run` handle: what a cell gets back at once while the run goes on.

Its traits (``status``, ``message``, ``points``, ``recorded``, ``progress``) change on labkit's
loop thread a few times a second, so widgets and progress bars follow a run by observing them.
Control (``pause``, ``resume``, ``abort``) works from any thread. ``wait()`` blocks a script
until the run ends and returns the Dataset; async code can ``await run``.

**Reported means stored.** ``points`` counts points that are durable — stored, and published
in the store's metadata, so a reader elsewhere or a killed process keeps them — and watchers
hear of a point only then (``watch(..., durable=False)`` hears of it as soon as it is
acquired, for previews that claim nothing). ``recorded`` counts points acquired so far.

Interrupting a wait (Ctrl-C in a script, the notebook's interrupt button) aborts the run: what
it set goes to safe values and ``aborted`` is recorded before the ``KeyboardInterrupt`` goes on
up. A run still going when Python exits is aborted and recorded the same way.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from traitlets import Float, HasTraits, Int, Unicode

from labkit.core import RunWaitTimeout, _exit, _hooks, _loop

if TYPE_CHECKING:
    from labkit.runs._engine import Engine
    from labkit.runs._plan import Plan
    from labkit.store import RunWriter

__all__ = ["FINAL_STATUSES", "Run", "RunFeed", "active_runs"]

FINAL_STATUSES = ("completed", "aborted", "failed")

log = logging.getLogger("labkit.runs")

Watcher = Callable[[tuple[int, ...], dict[str, Any]], None]

_active_lock = threading.Lock()


class _Active(NamedTuple):
    """A run that has not ended, with how to abort it and wait for its end (at exit)."""

    run: Run
    abort: Callable[[str], None]
    ended: threading.Event


_active: dict[str, _Active] = {}  # runs not ended yet, held even if their handle was dropped


def active_runs() -> list[Run]:
    """Runs of this process that have not ended, oldest first."""
    with _active_lock:
        return [entry.run for entry in _active.values()]


def _say(text: str) -> None:
    try:
        print(f"labkit: {text}", file=sys.stderr, flush=True)
    except Exception:
        pass


class _Watch(NamedTuple):
    callback: Watcher
    durable: bool
    names: frozenset[str] | None  # the values it needs (None: all)


@dataclasses.dataclass(frozen=True)
class RunFeed:
    """The run engine's side of a :class:`Run`: it attaches itself, says the run is running,
    updates its state as points are recorded and stored, hands it each recorded point (with
    the writer's record sequence, so watchers of stored points hear of it once it is stored),
    and says how it ended (or, with ``forget``, that it never started: its store could not be
    made or it was interrupted while starting). Users observe the Run's traits and call
    ``watch`` instead."""

    attach: Callable[[Engine, bool | None], None]
    running: Callable[[concurrent.futures.Future[None]], None]
    update: Callable[..., None]
    finished: Callable[[str, BaseException | None, int, int], None]
    recorded: Callable[[int, tuple[int, ...], dict[str, Any]], None]
    forget: Callable[[], None]


class Run(HasTraits):
    """A run in progress (or finished): status, progress, live data, and control."""

    status = Unicode(
        "running", help="running, paused, suspended, then completed, aborted or failed"
    )
    message = Unicode("", help="Why the run is paused or suspended, or what it is doing")
    points = Int(0, help="Points stored so far: durable, safe from a crash of this process")
    recorded = Int(0, help="Points acquired so far (the newest perhaps not yet stored)")
    total = Int(None, allow_none=True, help="Points the plan will record (None if open-ended)")
    progress = Float(None, allow_none=True, help="Fraction done, 0 to 1 (None if unknown)")

    def __init__(self, run_id: str, name: str, path: Any, plan: Plan, writer: RunWriter):
        super().__init__(total=plan.total, progress=0.0 if plan.total else None)
        self.id = run_id
        self.name = name
        # A Path for a local store; a Location (URL and storage options) on object storage.
        self.path = Path(path) if isinstance(path, str) else path
        self.plan = plan
        self._writer = writer
        self._engine: Engine | None = None
        self._future: concurrent.futures.Future[None] | None = None
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._update_lock = threading.Lock()
        self._bar: Any = None
        self._watchers: tuple[_Watch, ...] = ()
        self._watchers_lock = threading.Lock()
        self._pending: collections.deque[tuple[int, tuple[int, ...], dict[str, Any]]] = (
            collections.deque()
        )
        self._pending_lock = threading.Lock()
        writer.on_durable(self._stored)
        self._final_status: str | None = None
        self.feed = RunFeed(
            attach=self._attach,
            running=self._running,
            update=self._update,
            finished=self._finished,
            recorded=self._recorded,
            forget=self._forget,
        )
        """How the run engine tells this handle what happens (the engine is its only user)."""

    def _running(self, future: concurrent.futures.Future[None]) -> None:
        self._future = future

    def _forget(self) -> None:
        """The run could not start after all (its store could not be created)."""
        with _active_lock:
            _active.pop(self.id, None)

    def _attach(self, engine: Engine, progress: bool | None) -> None:
        self._engine = engine
        with _active_lock:
            _active[self.id] = _Active(self, self._request_abort, self._done)
        if progress is None:
            progress = _terminal()
        if progress:
            from labkit.runs._progress import ProgressBar

            self._bar = ProgressBar(self)

    # -- state updates (from the loop) --------------------------------------------------

    def _update(self, **changes: Any) -> None:
        """Set traits from the engine; a failing observer must never stop the run."""
        with self._update_lock:
            if "points" in changes and "progress" not in changes and self.total:
                changes["progress"] = min(1.0, changes["points"] / self.total)
            for name, value in changes.items():
                try:
                    setattr(self, name, value)
                except Exception as error:  # an observer (a widget) raised
                    print(f"labkit: a run observer failed: {error!r}", file=sys.stderr)

    @property
    def url(self) -> str:
        """Where the run's store is: a local path or a URL (``s3://…``)."""
        return str(self.path)

    def _finished(
        self, status: str, error: BaseException | None, points: int, recorded: int
    ) -> None:
        self._error = error
        self._final_status = status  # before _done: a woken wait() must see how it ended
        with _active_lock:
            _active.pop(self.id, None)
        with self._pending_lock:
            self._pending.clear()  # never stored (the store failed): never reported
        changes: dict[str, Any] = {"points": points, "recorded": recorded, "status": status}
        if status == "completed":
            changes["message"] = ""
            if self.total is not None:
                changes["total"] = points
            changes["progress"] = 1.0
        elif error is not None:
            changes["message"] = f"{type(error).__name__}: {error}"
        else:
            reason = self._engine.abort_reason if self._engine is not None else None
            changes["message"] = f"{status}: {reason}" if reason else status
        # Traits first, then the event: a wait() woken by it must find the status final.
        self._update(**changes)
        self._done.set()
        if self._bar is not None:
            self._bar.close()

    # -- live data ----------------------------------------------------------------------

    def watch(
        self, callback: Watcher, *, durable: bool = True, names: Iterable[str] | None = None
    ) -> None:
        """Call ``callback(index, values)`` with every point once it is stored (live plots).

        ``index`` is the point's position along the run's dimensions and ``values`` maps
        variable names (as in the Dataset, time included) to what was recorded — only those
        in ``names``, if given (a plot that needs no camera frames should not keep them
        waiting in memory). Stored points arrive after each flush of the store, on its
        flusher's thread; ``durable=False`` calls at once, on the thread that recorded the
        point, for previews that claim nothing about the store. Either way the callback must
        only take note and return at once; its exceptions are logged, never raised into the run.
        """
        watch = _Watch(callback, durable, None if names is None else frozenset(names))
        with self._watchers_lock:
            self._watchers = (*self._watchers, watch)

    def unwatch(self, callback: Watcher) -> None:
        with self._watchers_lock:
            self._watchers = tuple(w for w in self._watchers if w.callback is not callback)

    def _recorded(self, sequence: int, index: tuple[int, ...], values: dict[str, Any]) -> None:
        """A point was recorded as record ``sequence`` of the writer (see RunWriter.record)."""
        watchers = self._watchers
        if not watchers:
            return  # nobody watches (a script): nothing to keep
        keep: set[str] | None = set()
        for watch in watchers:
            if not watch.durable:
                _call(watch, index, values)
            elif keep is not None:
                keep = None if watch.names is None else keep | watch.names
        if keep is not None and not keep:
            return  # nobody waits for stored points
        kept = values if keep is None else {k: v for k, v in values.items() if k in keep}
        with self._pending_lock:
            self._pending.append((sequence, index, kept))
        if sequence <= self._writer.durable_sequence:  # a flush got there first
            self._stored(self._writer.durable_sequence)

    def _stored(self, sequence: int) -> None:
        """The writer stored every record up to ``sequence``: tell durable watchers."""
        ready = []
        with self._pending_lock:
            while self._pending and self._pending[0][0] <= sequence:
                ready.append(self._pending.popleft())
        if not ready:
            return
        watchers = [w for w in self._watchers if w.durable]
        for _, index, values in ready:
            for watch in watchers:
                _call(watch, index, values)

    # -- control ------------------------------------------------------------------------

    def _call(self, function: Any) -> None:
        loop = _loop.get_loop()
        if _loop.in_loop_thread():
            function()
        else:
            loop.call_soon_threadsafe(function)

    def pause(self) -> None:
        """Pause at the next checkpoint (between points). Outputs stay where they are."""
        assert self._engine is not None
        self._call(self._engine.request_pause)

    def resume(self) -> None:
        """Carry on after a pause (a suspender still failing keeps the run suspended)."""
        assert self._engine is not None
        self._call(self._engine.request_resume)

    def abort(
        self, *, wait: bool = True, timeout: float | None = None, reason: str = "by request"
    ) -> Any:
        """Stop now: outputs the run touched go to their safe values; status ``aborted``.

        With ``wait`` (the default, not from async code) returns the Dataset once done, or
        raises :class:`~labkit.RunWaitTimeout` if that takes longer than ``timeout`` seconds
        (the abort goes on). ``reason`` is recorded in the run's events.
        """
        self._request_abort(reason)
        if wait and not _loop.in_loop_thread():
            if not self._done.wait(timeout):
                raise self._still_going(timeout, "is still being aborted")
            return self.dataset
        return None

    def _request_abort(self, reason: str) -> None:
        engine = self._engine
        assert engine is not None
        self._call(lambda: engine.request_abort(reason))

    # -- results ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        # True from the moment the run's end is known, status observers included.
        return self._final_status is not None or self._done.is_set()

    @property
    def error(self) -> BaseException | None:
        """The exception that made the run fail, if it failed."""
        return self._error

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run ends; returns the Dataset (a failed run raises its error).

        Every point acquired is in the store either way: ``run.dataset`` still opens it.
        After ``timeout`` seconds raises :class:`~labkit.RunWaitTimeout` (the run goes on).
        Interrupting the wait (Ctrl-C, the notebook's interrupt button) aborts the run and
        waits for what it set to reach safe values, then lets the ``KeyboardInterrupt`` go on;
        a second interrupt stops that waiting (the abort still completes in the background).
        """
        if _loop.in_loop_thread():
            raise RuntimeError("run.wait() would block labkit's loop; use 'await run' instead")
        try:
            ended = self._done.wait(timeout)
        except KeyboardInterrupt:
            self._abort_interrupted()
            raise
        if not ended:
            raise self._still_going(timeout, f"is still {self.status}")
        return self._result()

    def _abort_interrupted(self) -> None:
        if self._done.is_set():
            return
        _say(
            f"interrupted: aborting run {self.id} ({self.name!r}); what it set goes to safe values"
        )
        self._request_abort("interrupted (KeyboardInterrupt)")
        try:
            self._done.wait()
        except KeyboardInterrupt:
            _say(f"stopped waiting; run {self.id} is still being aborted in the background")

    def _still_going(self, timeout: float | None, doing: str) -> RunWaitTimeout:
        return RunWaitTimeout(
            f"run {self.id} ({self.name!r}) {doing} after {timeout:g} s",
            run_id=self.id,
            status=self.status,
            hint="It goes on: wait again, or run.abort() to stop it",
        )

    def _result(self) -> Any:
        if self._final_status == "failed" and self._error is not None:
            raise self._error
        return self.dataset

    def __await__(self) -> Any:
        return self._wait_async().__await__()

    async def _wait_async(self) -> Any:
        """``await run``; cancelling the awaiting task aborts the run (as asyncio cancels
        what it awaits), and lets the cancellation through once the run has ended."""
        assert self._future is not None
        ended = asyncio.wrap_future(self._future)
        try:
            await asyncio.shield(ended)
        except asyncio.CancelledError:
            if not self._done.is_set():
                self._request_abort("the task awaiting it was cancelled")
                await asyncio.wait([ended])
            raise
        if self._final_status == "failed" and self._error is not None:
            raise self._error
        return await asyncio.to_thread(self._open)

    def _open(self) -> Any:
        from labkit.store import open_run

        return open_run(self.path)

    @property
    def dataset(self) -> Any:
        """The run's data now: a lazy xarray Dataset over the store (live while it runs)."""
        return self._open()

    @property
    def attrs(self) -> dict[str, Any]:
        """The run's metadata as it is being written."""
        return self._writer.attrs

    def export(self, target: Any, *, format: str | None = None) -> Path:
        """Write the run to NetCDF (``.nc``), HDF5 (``.h5``), Parquet or CSV (see
        :func:`labkit.export_run`)."""
        from labkit.store import export_run

        return export_run(self.path, target, format=format)

    # -- display ------------------------------------------------------------------------

    def live(self, **options: Any) -> Any:
        """The run's live plots as a widget: lines, maps and camera images that follow the
        data as it is acquired (the same ones the run shows when displayed).

        ``y_scale="log"`` (or ``{"smu_current": "log"}``, per reading) plots on a log axis
        what spans decades."""
        widget = _hooks.display("live", self, **options)
        if widget is None:
            from labkit.core import ConfigurationError

            raise ConfigurationError(
                "live views need labkit's notebook widgets, which are not loaded",
                hint="import labkit (the top-level package registers them)",
            )
        return widget

    def __repr__(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        percent = f" {self.progress:.0%}" if self.progress is not None else ""
        message = f" ({self.message})" if self.message else ""
        return (
            f"<Run {self.id} {self.name!r} {self.status}{percent}, "
            f"{self.points}{total} points{message}>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        try:
            widget = _hooks.display("run", self)
        except Exception:
            widget = None
        if widget is not None and hasattr(widget, "_repr_mimebundle_"):
            bundle.update(widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"] = repr(self)
        return bundle


def _call(watch: _Watch, index: tuple[int, ...], values: dict[str, Any]) -> None:
    if watch.names is not None:
        values = {k: v for k, v in values.items() if k in watch.names}
        if not values:
            return
    try:
        watch.callback(index, values)
    except Exception:
        log.exception("labkit: a run watcher failed")


def _terminal() -> bool:
    """A progress bar by default only where a person watches a terminal (not in a kernel)."""
    if "ipykernel" in sys.modules:
        return False
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _end_runs_at_exit() -> None:
    """At interpreter exit: abort every run still going and wait until each is recorded."""
    with _active_lock:
        ending = list(_active.values())
    for entry in ending:
        if not entry.ended.is_set():
            _say(f"Python is exiting: aborting run {entry.run.id} ({entry.run.name!r})")
            entry.abort("Python exited while the run was going")
    for entry in ending:
        entry.ended.wait()


_exit.on_exit(_end_runs_at_exit)
