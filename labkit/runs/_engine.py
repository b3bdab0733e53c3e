"""The run engine: a run is an asyncio task on labkit's background loop.

:func:`start` does everything that can refuse a run on the caller's thread — prepare the plan,
dry-run every set-point against the limits, check the data root, create the store with the
run's metadata — then schedules the task and returns the :class:`Run` handle at once.

The task runs the steps. Pause and suspenders take effect at checkpoints between points;
abort is a cancellation, so it also stops a ramp where it is. When a run is aborted or fails,
every point acquired so far is flushed first, then the instruments it touched are brought to
their declared safe values (with their ramps), then the final status is written.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
import traceback
from collections.abc import Iterable, Sequence
from typing import Any

from labkit.core import (
    Condition,
    ConfigurationError,
    Instrument,
    SettingHandle,
    _exit,
    _loop,
    _watch,
    instruments,
)
from labkit.runs._context import StepContext, seconds
from labkit.runs._plan import Plan
from labkit.runs._provenance import provenance
from labkit.runs._run import Run
from labkit.store import RunWriter, check_writable, jsonable, new_run_id, store_path
from labkit.store import data_root as resolve_data_root

__all__ = ["Engine", "Suspender", "start"]

_PUBLISH_INTERVAL = 0.1


class Suspender:
    """Pause the run while ``condition`` fails; resume once it held for ``resume_after`` s.

    The condition is checked every ``interval`` seconds in the background (not at each point,
    so fast sweeps stay fast). A point acquired while it failed is acquired again.
    """

    def __init__(
        self,
        condition: Condition,
        *,
        interval: Any = 0.5,
        resume_after: Any = 0.0,
    ) -> None:
        if not isinstance(condition, Condition):
            if callable(condition):
                condition = Condition.from_callable(condition)
            else:
                raise ConfigurationError(
                    f"a suspender needs a condition, not {condition!r}",
                    hint="e.g. tc.readings.temperature.between(290, 310)",
                )
        self.condition = condition
        self.interval = seconds(interval, "a suspender's interval")
        self.resume_after = seconds(resume_after, "a suspender's resume_after")

    @property
    def description(self) -> str:
        return self.condition.description

    def __repr__(self) -> str:
        return f"<Suspender while not ({self.description})>"


def _suspender(item: Any) -> Suspender:
    return item if isinstance(item, Suspender) else Suspender(item)


def _error_info(error: BaseException) -> dict[str, Any]:
    info: dict[str, Any] = {
        "type": f"{type(error).__module__}.{type(error).__qualname__}",
        "message": str(error),
    }
    for field in ("instrument", "setting", "command", "resource", "code"):
        value = getattr(error, field, None)
        if value is not None:
            info[field] = value
    step = getattr(error, "labkit_step", None) or getattr(error, "step", None)
    if step:
        info["step"] = step
    info["traceback"] = "".join(traceback.format_exception(error)[-12:])
    return info


class Engine:
    """The state of one run on the loop: pause, suspensions, touched instruments, counters."""

    def __init__(
        self,
        plan: Plan,
        writer: RunWriter,
        run: Run,
        *,
        suspenders: Sequence[Suspender],
        redo_on_suspend: bool,
    ) -> None:
        self.plan = plan
        self.writer = writer
        self.run = run
        self.suspenders = list(suspenders)
        self.redo_on_suspend = redo_on_suspend
        self.started = time.monotonic()
        self.touched: dict[str, Instrument] = {}
        self.latest: dict[str, Any] = {}  # newest recorded value of each variable
        self.holding: dict[int, Instrument] = {}  # instruments holding settings for this run
        self.held: set[tuple[int, str]] = set()  # (id of holding instrument, setting)
        self.ready: set[SettingHandle] = set()  # held and touched: a step sets them at once
        self.pause_requested = False
        self.abort_requested = False
        self.abort_reason: str | None = None
        self.fail_error: BaseException | None = None  # a failure from outside the steps
        self.suspensions: dict[int, str] = {}
        self.suspend_epoch = 0
        self.task: asyncio.Task[Any] | None = None
        self._changed: asyncio.Event | None = None
        self._holding = False

    # -- requests from any thread (through the loop) ---------------------------------------

    def request_pause(self) -> None:
        if self.run.done:
            return
        self.pause_requested = True
        if not self._holding:
            self.run.feed.update(message="pausing at the next point")
        self._notify()

    def request_resume(self) -> None:
        self.pause_requested = False
        self._notify()

    def request_abort(self, reason: str = "by request") -> None:
        if self.abort_requested or self.run.done:
            return
        self.abort_requested = True
        self.abort_reason = reason
        self.event("abort requested", reason=reason)
        self.run.feed.update(message=f"aborting: {reason}")
        if self.task is not None:
            self.task.cancel()

    def request_fail(self, error: BaseException) -> None:
        """End the run as failed with ``error`` (an interlock tripped under it)."""
        if self.abort_requested or self.fail_error is not None or self.run.done:
            return
        self.fail_error = error
        self.run.feed.update(message=f"failing: {error}")
        if self.task is not None:
            self.task.cancel()

    def uses(self) -> set[int]:
        """The ids of the instruments this run sets or reads."""
        used = {id(instrument) for instrument in self.plan.instruments.values()}
        return used | {id(instrument) for instrument in self.touched.values()}

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    # -- used by steps ----------------------------------------------------------------------

    async def hold(self, handle: SettingHandle) -> None:
        """Hold ``handle`` for this run if its plan did not (a step setting something it did
        not declare); raises :class:`SettingInUse` if another run holds it."""
        holder, name = _hold_key(handle)
        if (id(holder), name) in self.held:
            return
        self.holding[id(holder)] = holder  # released at the end, even if cancelled meanwhile
        # a remote instrument claims it on its server: I/O, off the loop
        await asyncio.to_thread(holder.hold_for_run, self.run.id, [name], about=self.about)
        self.held.add((id(holder), name))

    def about(self) -> str:
        """What this run is, for the message of a run it keeps off a setting."""
        return f"{self.run.name!r}, {self.run.status}"

    def touch(self, handle: SettingHandle) -> None:
        """Note that the run sets ``handle`` (made safe if the run ends badly)."""
        self.touched.setdefault(handle.instrument.name, handle.instrument)

    def event(self, event: str, **details: Any) -> None:
        self.writer.append_event(event, **details)

    @property
    def checkpoint_due(self) -> bool:
        """A pause or a suspension waits at the next checkpoint (steps skip it otherwise)."""
        return self.pause_requested or bool(self.suspensions)

    async def checkpoint(self) -> None:
        if self.checkpoint_due:
            await self._hold()

    async def _hold(self) -> None:
        assert self._changed is not None
        self._holding = True
        announced: tuple[str, str] | None = None
        try:
            while self.checkpoint_due:
                if self.pause_requested:
                    state, reason = "paused", "paused by request"
                else:
                    state, reason = "suspended", "; ".join(self.suspensions.values())
                if (state, reason) != announced:
                    self.run.feed.update(
                        points=self.writer.durable_points,
                        recorded=self.writer.points,
                        status=state,
                        message=reason,
                    )
                    self.event(state, reason=reason)
                    announced = (state, reason)
                self._changed.clear()
                await self._changed.wait()
        finally:
            self._holding = False
        self.event("resumed")
        self.run.feed.update(status="running", message="")

    # -- the task ---------------------------------------------------------------------------

    async def main(self) -> None:
        self.task = asyncio.current_task()
        _running.add(self)
        self._changed = asyncio.Event()
        helpers = [asyncio.create_task(self._publish())]
        status, error = "completed", None
        try:
            if self.abort_requested:
                raise asyncio.CancelledError
            for index, suspender in enumerate(self.suspenders):
                await self._check_suspender(index, suspender, None)
                helpers.append(asyncio.create_task(self._watch(index, suspender)))
            root = StepContext(self, self.plan.root, ())
            for node in self.plan.root.children:
                await root.run(node.step)
        except asyncio.CancelledError:
            if self.fail_error is not None:
                status, error = "failed", self.fail_error
            else:
                status = "aborted"
        except Exception as failure:
            status, error = "failed", failure
        finally:
            for helper in helpers:
                helper.cancel()
        if status == "aborted" or self.fail_error is not None:
            # Python 3.11+ counts cancellations; the abort's own is taken back (3.10 has none).
            uncancel = getattr(self.task, "uncancel", None)
            cancelling = getattr(self.task, "cancelling", None)
            while uncancel is not None and cancelling is not None and cancelling():
                uncancel()
        await self._finish(status, error)

    async def _finish(self, status: str, error: BaseException | None) -> None:
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = _error_info(error)
        try:
            if status != "completed":
                if self.writer.error is None:
                    await asyncio.to_thread(self.writer.flush)
                if self.touched:
                    self.run.feed.update(message="bringing outputs to safe values")
                    details["made_safe"] = await self._make_safe()
        except Exception as failure:  # keep going: the status must be written
            details.setdefault("finish_errors", []).append(repr(failure))
        if status == "aborted" and self.abort_reason:
            details["abort_reason"] = self.abort_reason
        try:
            await asyncio.to_thread(self.writer.finish, status, **details)
        except Exception as failure:
            if error is None:
                status, error = "failed", failure
        if self.holding:  # after the outputs went to safe values
            await asyncio.to_thread(_release_settings, list(self.holding.values()), self.run.id)
        _running.discard(self)
        self.run.feed.finished(status, error, self.writer.durable_points, self.writer.points)

    async def _make_safe(self) -> dict[str, Any]:
        touched = list(self.touched.values())
        results = await asyncio.gather(
            *(instrument.make_safe_async() for instrument in touched), return_exceptions=True
        )
        report: dict[str, Any] = {}
        for instrument, result in zip(touched, results, strict=True):
            if isinstance(result, BaseException):
                report[instrument.name] = {"error": f"{type(result).__name__}: {result}"}
            else:
                report[instrument.name] = result
        return jsonable(report)

    async def _publish(self) -> None:
        """Push counters to the Run's traits a few times a second (not at every point):
        ``points`` counts what is stored, ``recorded`` what was acquired."""
        while True:
            self.run.feed.update(points=self.writer.durable_points, recorded=self.writer.points)
            await asyncio.sleep(_PUBLISH_INTERVAL)

    async def _check_suspender(self, key: int, suspender: Suspender, since: float | None):
        try:
            holds, why = await suspender.condition.holds_async()
        except Exception as error:
            holds, why = False, f"it cannot be checked ({error})"
        if not holds:
            if key not in self.suspensions:
                self.suspensions[key] = f"waiting for {suspender.description} ({why})"
                self.suspend_epoch += 1
                self._notify()
            return None
        if key in self.suspensions:
            now = time.monotonic()
            since = now if since is None else since
            if now - since >= suspender.resume_after:
                del self.suspensions[key]
                self._notify()
                return None
            return since
        return None

    async def _watch(self, key: int, suspender: Suspender) -> None:
        since: float | None = None
        while True:
            await asyncio.sleep(suspender.interval)
            since = await self._check_suspender(key, suspender, since)


def start(
    steps: Iterable[Any],
    *,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    suspenders: Iterable[Any] = (),
    data_root: Any = None,
    storage_options: dict[str, Any] | None = None,
    progress: bool | None = None,
    flush_interval: float | None = None,
    redo_on_suspend: bool = True,
) -> Run:
    """Prepare, check, create the store and launch; returns the :class:`Run` at once."""
    if _exit.exiting():
        raise ConfigurationError(
            "Python is exiting: no new run may start", hint="Start runs before the script ends"
        )
    plan = Plan.build(steps)
    plan.check()
    watched = [_suspender(item) for item in suspenders]
    root = check_writable(resolve_data_root(data_root, storage_options))
    run_name = name or _default_name(plan)
    run_id = new_run_id()
    path = store_path(root, run_id, run_name)
    everyone = {i.name: i for i in instruments()}
    everyone.update(plan.instruments)
    attributes = {
        "run_id": run_id,
        "name": run_name,
        "status": "running",
        "start_time": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "end_time": None,
        "points_total": plan.total,
        "instruments": sorted(plan.instruments),
        "metadata": dict(metadata or {}),
        "suspenders": [s.description for s in watched],
        "snapshot": {n: _snapshot(i) for n, i in sorted(everyone.items())},
        "plan": plan.describe(),
        "provenance": provenance(everyone.values()),
        "events": [],
    }
    writer = RunWriter(path, plan.variables.values(), attributes, flush_interval=flush_interval)
    run = Run(run_id, run_name, writer.path, plan, writer)
    submitted = False
    engine: Engine | None = None
    try:
        engine = Engine(plan, writer, run, suspenders=watched, redo_on_suspend=redo_on_suspend)
        _hold_settings(engine)  # refused before anything is written
        writer.create()
        run.feed.attach(engine, progress)
        future = _loop.submit(engine.main())
        submitted = True
        run.feed.running(future)
    except BaseException:  # Ctrl-C included: a run that never started holds nothing
        if not submitted:
            _release_settings(list(engine.holding.values()) if engine else [], run_id)
            run.feed.forget()
        raise
    return run


def _hold_key(handle: SettingHandle) -> tuple[Instrument, str]:
    """Where a setting is held: on its instrument, or a channel's on the channel's parent
    (as ``"ch1.amplitude"``), the one instrument a server or a claim speaks for."""
    instrument = handle.instrument
    holder = instrument.parent or instrument
    if holder is instrument:
        return holder, handle.name
    return holder, f"{instrument.name.rsplit('.', 1)[-1]}.{handle.name}"


def _hold_settings(engine: Engine) -> None:
    """Hold every setting the plan sets, on its instrument (a shared one claims them on its
    server); all or none: a refusal raises :class:`SettingInUse` and the caller releases."""
    wanted: dict[int, tuple[Instrument, set[str]]] = {}
    for entry in engine.plan.setpoints:
        holder, name = _hold_key(entry.handle)
        wanted.setdefault(id(holder), (holder, set()))[1].add(name)
    for key, (holder, names) in wanted.items():
        engine.holding[key] = holder
        holder.hold_for_run(engine.run.id, sorted(names), about=engine.about)
        engine.held.update((key, name) for name in names)


def _release_settings(held: list[Instrument], run_id: str) -> None:
    for instrument in held:
        try:
            instrument.release_from_run(run_id)
        except Exception:  # a claim lapses by itself; the end of a run must not fail on it
            pass


def _snapshot(instrument: Instrument) -> dict[str, Any]:
    try:
        return instrument.snapshot()
    except Exception as error:  # one odd driver must not stop the run
        return {"name": instrument.name, "snapshot_error": repr(error)}


def _default_name(plan: Plan) -> str:
    steps = plan.root.children
    if len(steps) == 1:
        return str(steps[0].description.get("name") or steps[0].description["step"]).lower()
    return "run"


_running: set[Engine] = set()  # engines whose task has started and not finished (on the loop)


def _in_use() -> set[int]:
    """Instruments running runs use: their interlocks are watched whatever their state."""
    used: set[int] = set()
    for engine in list(_running):
        used |= engine.uses()
    return used


def _interlock_tripped(trip: _watch.Trip) -> None:
    """On labkit's loop: a run using the tripped instrument records it and fails."""
    interlock = trip.interlock
    _fail_runs_using(
        trip.instrument,
        trip.exception(),
        setting=interlock.setting.full_name,
        condition=interlock.condition.description,
        reason=trip.reason,
        made_safe=jsonable(trip.made_safe),
        error=trip.error,
    )


def _fail_runs_using(instrument: Instrument, failure: BaseException, **details: Any) -> None:
    key = id(instrument)
    for engine in list(_running):
        if key in engine.uses() or any(id(i.parent) == key for i in engine.touched.values()):
            engine.event("interlock tripped", **details)
            engine.request_fail(failure)


def interlock_tripped_elsewhere(instrument: Instrument, error: BaseException) -> None:
    """An interlock tripped where ``instrument`` really is (the server of a remote one): runs
    here using it record it and fail, as for a trip in this process. Any thread."""

    async def fail() -> None:
        _fail_runs_using(instrument, error, setting=getattr(error, "where", ""), error=str(error))

    _loop.submit(fail())


_watch.on_trip(_interlock_tripped)
_watch.in_use_by(_in_use)
