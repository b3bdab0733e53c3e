"""What a running step talks to: set, read, record, run children, honour pause and abort.

A :class:`StepContext` knows where the step is in the plan (its node) and at which point of
the surrounding dimensions (``index``). Setting goes through the instrument's async face, so
limits, interlocks and ramps apply exactly as from a notebook; the engine remembers which
instruments were touched, to bring them to safe values if the run is aborted or fails.
Readings of different instruments at one point are read concurrently, each on its own
instrument's worker thread.
"""

from __future__ import annotations

import asyncio
import itertools
import numbers
import threading
import time
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.core import Handle, LimitError, SettingHandle, ValidationError
from labkit.core._units import shorten, to_number
from labkit.store import Variable, time_value

if TYPE_CHECKING:
    from labkit.runs._engine import Engine
    from labkit.runs._plan import Node
    from labkit.runs._run import Run

__all__ = ["StepContext", "seconds"]


_COUNT_MAX = 2**63 - 1


def seconds(value: Any, what: str = "a duration") -> float:
    """``2``, ``"500 ms"``, ``"2 min"`` → seconds; negative durations are refused (so are
    infinities, NaN, other units and text that is not a time: see ``to_number``)."""
    number = to_number(value, "s", where=what)
    if not 0 <= number <= threading.TIMEOUT_MAX:
        raise LimitError(
            f"{what} must be from 0 to {threading.TIMEOUT_MAX:.3g} s (the longest wait Python "
            f"can make), not {shorten(value)}",
            value=value,
            limit=(0, threading.TIMEOUT_MAX),
            hint="Give a time of zero or more, e.g. 0.5 or '500 ms'",
        )
    return number


def whole_count(value: Any, what: str) -> int:
    """A number of times or points: a whole number, zero or more, that fits 64 bits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(
            f"{what} must be a whole number, not {shorten(value)}",
            value=value,
            limit="a whole number",
            hint="Give e.g. 100",
        )
    count = int(value)
    if not 0 <= count <= _COUNT_MAX:
        raise LimitError(
            f"{what} must be a whole number from 0 to {_COUNT_MAX:,}, not {shorten(value)}",
            value=value,
            limit=(0, _COUNT_MAX),
            hint="Give e.g. 100",
        )
    return count


class StepContext:
    """A step's view of the run while it runs."""

    __slots__ = ("_engine", "index", "node", "redo")

    def __init__(self, engine: Engine, node: Node, index: tuple[int, ...], redo: bool = False):
        self._engine = engine
        self.node = node
        self.index = index
        self.redo = redo

    @property
    def current_run(self) -> Run:
        """The :class:`Run` handle of the run this step belongs to."""
        return self._engine.run

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self._engine.started

    # -- structure ------------------------------------------------------------------------

    async def run(self, step: Any) -> None:
        """Run a child step (prepared with ``plan.step(child)``) at this point."""
        node = self.node.child(step)
        try:
            await step.run(StepContext(self._engine, node, self.index, self.redo))
        except Exception as error:
            if getattr(error, "labkit_step", None) is None:
                try:
                    error.labkit_step = node.path  # type: ignore[attr-defined]  # a tag on any exception
                except AttributeError:
                    pass
            raise

    def at(self, *positions: int) -> StepContext:
        """The context one dimension deeper, at ``positions`` of the dimensions just opened."""
        return StepContext(self._engine, self.node, self.index + positions, self.redo)

    async def points(
        self, count: int | None = None, *, positions: Iterable[tuple[int, ...]] | None = None
    ) -> AsyncGenerator[StepContext, None]:
        """Iterate the points of the dimensions just opened, with a checkpoint before each.

        ``count`` points along one dimension (None: until the step stops), or explicit
        ``positions`` (index tuples, for grids walked in snake order). Pause and abort take
        effect at the checkpoints. If a suspender fired while a point was being acquired,
        that point is acquired again once the run resumes.
        """
        engine = self._engine
        if positions is None:
            positions = ((i,) for i in (itertools.count() if count is None else range(count)))
        for position in positions:
            redo = self.redo
            while True:
                if engine.checkpoint_due:  # no coroutine per point otherwise
                    await engine.checkpoint()
                epoch = engine.suspend_epoch
                yield StepContext(engine, self.node, self.index + position, redo)
                if not (engine.redo_on_suspend and engine.suspend_epoch != epoch):
                    break
                engine.event("redo", index=[*self.index, *position], step=self.node.path)
                redo = True

    async def checkpoint(self) -> None:
        """Pause here if asked to (or if a suspender fired); abort arrives as cancellation."""
        await self._engine.checkpoint()

    # -- instruments ----------------------------------------------------------------------

    async def set(self, handle: SettingHandle, value: Any) -> Any:
        """Set a setting (checked, ramped, acknowledged) and remember it was touched."""
        engine = self._engine
        if handle not in engine.ready:  # the first time in this run
            await engine.hold(handle)  # before touching: a refused set leaves it alone
            engine.touch(handle)
            engine.ready.add(handle)
        return await handle.set_async(value)

    async def set_together(self, targets: Sequence[tuple[SettingHandle, Any]]) -> list[Any]:
        """Set several settings at once: every value is checked first (nothing moves if one
        is refused), then all are set concurrently — each ramped, checked against its
        interlocks and acknowledged, different instruments each on their own worker. If one
        fails the others stop where they are (their ramps are cancelled) and the error
        propagates."""
        for handle, value in targets:
            handle.check(value)
        for handle, _ in targets:  # before touching: a refused set leaves them alone
            await self._engine.hold(handle)
        for handle, _ in targets:
            self._engine.touch(handle)
        if len(targets) == 1:
            handle, value = targets[0]
            return [await handle.set_async(value)]
        tasks = [asyncio.ensure_future(handle.set_async(value)) for handle, value in targets]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def read(
        self, handles: Sequence[Handle], by_instrument: dict[Any, list[int]] | None = None
    ) -> list[Any]:
        """Read handles now; different instruments concurrently, each on its own worker.

        ``by_instrument`` (positions of the handles per instrument) may be given precomputed.
        """
        if len(handles) == 1:
            return [await handles[0].read_async()]  # type: ignore[attr-defined]  # Read() admits only handles that read
        if by_instrument is None:
            by_instrument = group_by_instrument(handles)
        values: list[Any] = [None] * len(handles)
        if len(by_instrument) > 1:
            for instrument in by_instrument:
                if not instrument.instant:  # one waits for its reply: read side by side
                    await asyncio.gather(
                        *(_read_into(values, handles, i, p) for i, p in by_instrument.items())
                    )
                    return values
        # One instrument, or all answering in-process: running side by side gains nothing.
        for instrument, positions in by_instrument.items():
            if len(positions) == 1:
                values[positions[0]] = await handles[positions[0]].read_async()  # type: ignore[attr-defined]  # as above
            else:
                await _read_into(values, handles, instrument, positions)
        return values

    async def sleep(self, duration: Any) -> None:
        """Wait (abort interrupts the wait at once)."""
        await asyncio.sleep(seconds(duration))

    # -- data -----------------------------------------------------------------------------

    def record(
        self, values: Mapping[Any, Any], *, group: str | None = None, time: Any = None
    ) -> None:
        """Store ``values`` (keyed as declared in ``plan.record``) at this point.

        ``time`` is when they were measured (``time.time_ns()``, a float of seconds, a
        datetime); by default, now.
        """
        declared = self.node.group(group)
        variables = declared.variables
        stored = {variables[key].name: value for key, value in values.items()}
        if time is None:
            time = _now_ns()
        stored[declared.time] = time if type(time) is int else time_value(time)
        engine = self._engine
        sequence = engine.writer.record(self.index, stored, point=not self.redo)
        engine.latest.update(stored)
        engine.run.feed.recorded(sequence, self.index, stored)

    def record_items(
        self, values: Mapping[Any, Any], *, group: str | None = None, times: Any
    ) -> None:
        """Store a whole buffer at once: ``values`` (keyed as declared) hold one item per
        point of the group's one dimension, ``times`` (ns since the epoch) the time of each.
        Watchers still hear of every point."""
        declared = self.node.group(group)
        variables = declared.variables
        stored = {variables[key].name: value for key, value in values.items()}
        stored[declared.time] = np.asarray(times, dtype=np.int64)
        sequence = self._engine.writer.record_items(0, stored)
        feed = self._engine.run.feed
        for index in range(len(stored[declared.time])):
            point = {name: column[index] for name, column in stored.items()}
            feed.recorded(sequence, (*self.index, index), point)
        if len(stored[declared.time]):
            self._engine.latest.update(point)

    @property
    def latest(self) -> dict[str, Any]:
        """The newest value recorded of each variable (by its name in the run), e.g. for a
        stop condition judging the point just taken."""
        return self._engine.latest

    def record_along(self, values: Mapping[str, Any], *, index: tuple[int, ...]) -> None:
        """Store values outside a record group at ``index`` of their own dimensions (the
        coordinate of an open-ended dimension: a sweep that may stop early records its
        set-points as it reaches them); they count as no point."""
        self._engine.writer.record(index, dict(values), point=False)

    def stopped(self, reason: str, **details: Any) -> None:
        """Note in the run's metadata that a step ended early on purpose (``until=``): the
        run still completes, with the points taken so far."""
        entry = {"step": self.node.path, "reason": reason, **details}
        self._engine.event("stopped", **entry)
        self._engine.writer.set_attrs(stopped=entry)

    def declare(self, key: Any, item: Variable, *, group: str | None = None) -> Variable:
        """Create, at run time, data whose item shape is only known now (a camera frame).

        ``item`` describes one item (dims and shape of a frame); the group's dimensions are
        prepended. Its name must have been reserved with ``plan.reserve`` in ``prepare``.
        """
        declared = self.node.group(group)
        if key in declared.variables:
            return declared.variables[key]
        variable = Variable(
            item.name,
            declared.dims + item.dims,
            tuple(d.size for d in declared.scope) + item.shape,
            item.dtype,
            {**item.attrs, "coordinates": declared.time},
            compression=item.compression,
            item_ndim=len(item.dims),
            shard_items=item.shard_items,
        )
        self._engine.writer.add_variables([variable])
        declared.variables[key] = variable
        return variable

    def event(self, event: str, **details: Any) -> None:
        """Note something in the run's event log (kept in its metadata)."""
        self._engine.event(event, step=self.node.path, **details)

    def annotate(self, key: str, name: str, value: Any) -> None:
        """Keep ``value`` as ``attrs[key][name]`` of the run (beside other steps' entries),
        written with the store's next flush: a reader of a running run sees it too."""
        writer = self._engine.writer
        with _ANNOTATE_LOCK:
            entries = dict(writer.attrs.get(key) or {})
            entries[name] = value
            writer.set_attrs(**{key: entries})


_now_ns = time.time_ns
_ANNOTATE_LOCK = threading.Lock()


async def _read_into(
    values: list[Any], handles: Sequence[Handle], instrument: Any, positions: list[int]
) -> None:
    """Read ``handles`` at ``positions`` (all of ``instrument``) into ``values``: one read
    of several names in one worker call."""
    if len(positions) == 1:
        values[positions[0]] = await handles[positions[0]].read_async()  # type: ignore[attr-defined]  # Read() admits only handles that read
        return
    names = [handles[p].spec.name for p in positions]
    found = await instrument.read_async(*names)
    for p, name in zip(positions, names, strict=True):
        values[p] = found[name]


def group_by_instrument(handles: Sequence[Handle]) -> dict[Any, list[int]]:
    """Positions of ``handles`` per instrument, to read each instrument's in one worker call."""
    grouped: dict[Any, list[int]] = {}
    for position, handle in enumerate(handles):
        grouped.setdefault(handle.instrument, []).append(position)
    return grouped
