"""``Triggered``: instruments that keep time themselves, armed together, started by one.

``Triggered(fg.trigger_train(100, "10 ms"), dmm.timed_sampling(1, trigger="external",
triggers=100))`` arms every acquisition (the followers first, so none misses the leader's
first trigger), starts the leader, collects each from its own buffer when it is done, and
records them on one time base: the host's clock at the start, plus the time each instrument
reports for its points (a follower paced by the leader's trigger output gets the time of the
trigger that paced it). Each acquisition opens its own dimension (``dmm_point``); its data are
``<instrument>_<quantity>``, its time coordinate ``time_<instrument>`` (``time`` when only
one acquisition records). A buffer is written whole, one array per quantity (a camera's
images as ``(cam_point, cam_y, cam_x)``), not point by point.

In ``prepare`` — with no I/O — every set-point an instrument will step through by itself is
checked against its setting's limits, and the buffer sizes, trigger sources and counts go into
the plan's description, so a dry run shows and checks them before anything is armed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from labkit.core import Acquired, ConfigurationError, TimedAcquisition
from labkit.runs._context import StepContext
from labkit.runs._plan import PlanBuilder
from labkit.store import Variable

__all__ = ["Triggered"]


class Triggered:
    """Arm ``followers`` and ``leader``, start ``leader``, collect all, record on one time base.

    ``timeout`` (s) is how much longer than its own timing each acquisition may take.
    """

    def __init__(self, leader: Any, *followers: Any, timeout: float = 10.0) -> None:
        for acquisition in (leader, *followers):
            if not isinstance(acquisition, TimedAcquisition):
                raise ConfigurationError(
                    f"Triggered takes timed acquisitions, not {acquisition!r}",
                    hint="e.g. smu.buffered_sweep(0, 1, 101), dmm.timed_sampling(1000, '1 ms')",
                )
        if leader.trigger != "start":
            raise ConfigurationError(
                f"{leader.name} waits for a {leader.trigger} trigger: it cannot lead",
                hint="Lead with an acquisition that starts itself (trigger 'immediate' or a "
                "trigger train)",
            )
        names = [a.name for a in (leader, *followers)]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"Triggered has one acquisition per instrument, not {names}")
        external = [f for f in followers if f.trigger == "external"]
        if external and leader.points:
            raise ConfigurationError(
                f"{', '.join(f.name for f in external)} wait for external triggers, which only "
                "a trigger train leader (points=0) gives here",
            )
        for follower in external:  # a camera says how many edges it needs, how close
            needed, count = getattr(follower, "triggers", None), getattr(leader, "count", None)
            if needed is not None and count is not None and needed > count:
                raise ConfigurationError(
                    f"{follower.name} needs {needed} triggers; {leader.name} gives {count}",
                    hint=f"Give the train {needed} triggers, or take fewer frames",
                )
            shortest, period = getattr(follower, "min_period", 0.0), getattr(leader, "period", None)
            if period is not None and shortest > period:
                raise ConfigurationError(
                    f"{follower.name} needs {shortest * 1e3:.4g} ms per frame; the triggers of "
                    f"{leader.name} come every {period * 1e3:.4g} ms, so it would ignore some",
                    hint="Trigger more slowly, or shorten the exposure or the region read out",
                )
        self.leader = leader
        self.followers = followers
        self.timeout = float(timeout)
        self.time_base = 0  # ns since the epoch at the start, once run

    @property
    def acquisitions(self) -> tuple[Any, ...]:
        return (self.leader, *self.followers)

    def prepare(self, plan: PlanBuilder) -> None:
        described = []
        for acquisition in self.acquisitions:
            plan.instruments.setdefault(acquisition.name, acquisition.instrument)
            for handle, values in acquisition.setpoints:
                plan.setpoints(handle, values)  # the dry run checks every one
            described.append(acquisition.describe())
            if not acquisition.points:
                continue
            arrays = [q for q in acquisition.quantities if q.dims]
            with plan.dimension(f"{acquisition.name}_point", acquisition.points):
                plan.record(
                    acquisition.name,
                    {
                        quantity.name: Variable(
                            f"{acquisition.name}_{quantity.name}",
                            (),
                            (),
                            "float64",
                            _attrs(quantity),
                        )
                        for quantity in acquisition.quantities
                        if not quantity.dims
                    },
                )
                # An image's shape and type come with the data: declared at run time.
                plan.reserve(*(f"{acquisition.name}_{q.name}" for q in arrays))
        plan.describe(acquisitions=described)

    async def run(self, ctx: StepContext) -> None:
        for follower in self.followers:  # armed and waiting before the leader can fire
            await follower.instrument.run_io_async(follower.arm)
        await self.leader.instrument.run_io_async(self.leader.arm)
        started = time.time_ns()
        await self.leader.instrument.run_io_async(self.leader.start)
        self.time_base = started
        ctx.event("triggered", leader=self.leader.name, time_base=started)
        for follower in self.followers:
            if follower.trigger == "start":
                await follower.instrument.run_io_async(follower.start)
        collected = await asyncio.gather(
            *(f.instrument.run_io_async(f.collect, self.timeout) for f in self.followers)
        )
        led = await self.leader.instrument.run_io_async(self.leader.collect, self.timeout)
        for acquisition, data in ((self.leader, led), *zip(self.followers, collected, strict=True)):
            if acquisition.points:
                self._record(ctx, acquisition, data, _seconds(data, led), started)

    def _record(
        self, ctx: StepContext, acquisition: Any, data: Acquired, seconds: np.ndarray, t0: int
    ) -> None:
        count = min(len(seconds), acquisition.points)
        stamps = t0 + np.round(seconds[:count] * 1e9).astype(np.int64)
        arrays = {q.name: q for q in acquisition.quantities if q.dims}
        if count:
            for name, quantity in arrays.items():
                item = np.asarray(data.values[name][0])
                dims = tuple(f"{acquisition.name}_{dim}" for dim in quantity.dims)
                variable = Variable(
                    f"{acquisition.name}_{name}",
                    dims,
                    item.shape,
                    item.dtype.name,
                    _attrs(quantity),
                )
                ctx.declare(name, variable, group=acquisition.name)
        if not ctx.index:  # the buffer is the run's own dimension: written whole
            columns = {
                name: np.asarray(column[:count], dtype=None if name in arrays else float)
                for name, column in data.values.items()
            }
            ctx.record_items(columns, group=acquisition.name, times=stamps)
        else:  # inside another step's loop: point by point at this step's index
            for index in range(count):
                values = {
                    name: column[index] if name in arrays else float(column[index])
                    for name, column in data.values.items()
                }
                ctx.at(index).record(values, group=acquisition.name, time=int(stamps[index]))
        if count < acquisition.points:
            ctx.event(
                "short", instrument=acquisition.name, recorded=count, planned=acquisition.points
            )

    def describe(self) -> dict[str, Any]:
        return {
            "step": "Triggered",
            "label": f"Triggered({', '.join(a.name for a in self.acquisitions)})",
            "leader": self.leader.name,
            "followers": [f.name for f in self.followers],
        }


def _attrs(quantity: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {"long_name": quantity.long_name or quantity.name}
    if quantity.unit:
        attrs["units"] = quantity.unit
    return attrs


def _seconds(data: Acquired, leader: Acquired) -> np.ndarray:
    """Each point's time after the start: its trigger's edge plus its own offset."""
    if data.trigger_index is None:
        return np.asarray(data.times, dtype=float)
    edges = leader.edges
    if edges is None:
        raise ConfigurationError("an externally triggered acquisition needs a leader's edges")
    index = np.asarray(data.trigger_index, dtype=int)
    return edges[index] + np.asarray(data.times, dtype=float)
