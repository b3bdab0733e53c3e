"""Adaptive sampling: python-adaptive's learners choose each next set-point from the data so far.

A resonance measured on a uniform grid spends most points where nothing happens; a learner
(``adaptive.Learner1D``, ``adaptive.Learner2D``) asks for points where the curve bends or the
surface changes most. The step sets the learner's point (several settings at once, each
checked and ramped), reads the value it learns from (and any other readings), tells the
learner, and records every point along an open-ended dimension in the order it was taken,
with its set-points as coordinates and the learner's loss after it.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from labkit.core import ConfigurationError, Handle, SettingHandle
from labkit.runs._arrays import check_arrays, read_variables
from labkit.runs._context import StepContext, group_by_instrument, seconds
from labkit.runs._plan import PlanBuilder, handle_attrs, handle_name
from labkit.store import Variable

__all__ = ["Adaptive"]


def _unused(*_: Any) -> Any:
    raise RuntimeError("the run sets and reads the instruments; the learner only asks and learns")


class Adaptive:
    """Sample ``value`` over one or two settings where a learner says it matters.

    ``Adaptive(gen.settings.frequency, ("9.9 kHz", "10.1 kHz"), value=lockin.readings.r,
    npoints=60)`` (1-D, ``adaptive.Learner1D``) or ``Adaptive({x.settings.position: (0, 1),
    y.settings.position: (0, 1)}, value=..., npoints=400)`` (2-D, ``adaptive.Learner2D``).
    It stops after ``npoints`` points, or earlier once the learner's loss is at most
    ``loss_goal``. ``read=`` records more readings at each point; ``settle`` waits after each
    set (a lock-in's filter settling); ``learner=`` takes another learner class (or a function
    of the bounds making one). Points are recorded along
    ``dim`` in the order they were taken; the set-points are coordinates of that dimension.
    """

    def __init__(
        self,
        setting: SettingHandle | Mapping[SettingHandle, Any],
        bounds: Any = None,
        *,
        value: Handle,
        npoints: int,
        loss_goal: float | None = None,
        read: Any = (),
        learner: Any = None,
        settle: Any = 0,
        dim: str = "adaptive",
        name: str = "adaptive",
    ) -> None:
        if isinstance(setting, Mapping):
            if bounds is not None:
                raise ConfigurationError("give the bounds in the mapping: {setting: (low, high)}")
            axes = list(setting.items())
        else:
            axes = [(setting, bounds)]
        if len(axes) not in (1, 2):
            raise ConfigurationError(f"Adaptive samples over 1 or 2 settings, not {len(axes)}")
        for handle, span in axes:
            if not isinstance(handle, SettingHandle):
                raise ConfigurationError(f"Adaptive needs setting handles, not {handle!r}")
            if not isinstance(span, (tuple, list)) or len(span) != 2:
                raise ConfigurationError(
                    f"the bounds of {handle.full_name} must be (low, high), not {span!r}"
                )
        if not isinstance(value, Handle) or value.spec.kind not in ("float", "int"):
            raise ConfigurationError(
                f"value= must be a handle of a number to learn from, not {value!r}",
                hint="e.g. value=lockin.readings.r",
            )
        if not isinstance(npoints, int) or npoints < 1:
            raise ConfigurationError(f"npoints must be a positive whole number, not {npoints!r}")
        if loss_goal is not None and not loss_goal > 0:
            raise ConfigurationError(f"loss_goal must be positive, not {loss_goal!r}")
        extra = [read] if isinstance(read, Handle) else list(read)
        self.axes = axes
        self.value = value
        self.items: list[tuple[str | None, Handle]] = [(None, value)] + [(None, h) for h in extra]
        self.handles = [handle for _, handle in self.items]
        self.npoints = npoints
        self.loss_goal = loss_goal
        self.learner_factory = learner
        self.settle = seconds(settle, "Adaptive's settle time")
        self.dim = dim
        self.name = name
        self._bounds: list[tuple[float, float]] = []
        self._arrays: dict[int, tuple[Any, ...]] = {}
        self.learner: Any = None  # the learner of the latest run, to plot or inspect

    def prepare(self, plan: PlanBuilder) -> None:
        self._bounds = []
        for handle, (low, high) in self.axes:
            values = plan.setpoints(handle, [low, high])
            low_value, high_value = float(values[0]), float(values[1])
            if not low_value < high_value:
                raise ConfigurationError(
                    f"{plan.path}: the bounds of {handle.full_name} must have low < high"
                )
            self._bounds.append((low_value, high_value))
        order = Variable(
            self.dim, (self.dim,), (None,), "int64", {"long_name": "order the points were taken"}
        )
        with plan.dimension(self.dim, None, coordinate=order, estimate=self.npoints):
            variables: dict[Any, Any] = {}
            for position, (handle, _) in enumerate(self.axes):
                attrs = {**handle_attrs(handle), "role": "setpoint"}
                variables[("setpoint", position)] = Variable(
                    handle_name(handle), (), (), attrs=attrs
                )
            read, self._arrays = read_variables(plan, self.items)
            variables.update(read)
            variables["loss"] = Variable(
                f"{self.dim}_loss",
                (),
                (),
                attrs={"long_name": "learner's loss after the point", "role": "learner loss"},
            )
            group = plan.record(self.name, variables)
        group.coordinates.extend(v.name for k, v in group.variables.items() if isinstance(k, tuple))
        plan.describe(bounds=[list(b) for b in self._bounds])

    def make_learner(self) -> Any:
        """A fresh learner over the bounds (``adaptive`` is imported here, on first use)."""
        bounds = self._bounds if len(self._bounds) == 2 else self._bounds[0]
        factory: Callable[..., Any] | None = self.learner_factory
        if factory is None:
            import adaptive

            factory = adaptive.Learner1D if len(self._bounds) == 1 else adaptive.Learner2D
        if isinstance(factory, type):
            return factory(_unused, bounds)
        return factory(bounds)

    async def run(self, ctx: StepContext) -> None:
        learner = self.learner = self.make_learner()
        grouped = group_by_instrument(self.handles)
        settings = [handle for handle, _ in self.axes]
        points = ctx.points(None)
        async with contextlib.aclosing(points):
            taken: tuple[int, Any] | None = None  # the index and point asked last
            async for point in points:
                i = point.index[-1]
                if taken is not None and taken[0] == i:  # redone after a suspension
                    where = taken[1]
                else:
                    reason = self._done(learner, i)
                    if reason is not None:
                        point.stopped(reason, points=i)
                        break
                    asked, _ = learner.ask(1)
                    where = asked[0]
                    taken = (i, where)
                coordinates = [float(c) for c in (where if len(settings) > 1 else (where,))]
                await point.set_together(list(zip(settings, coordinates, strict=True)))
                if self.settle:
                    await point.sleep(self.settle)
                started = time.time_ns()
                values = await point.read(self.handles, grouped)
                check_arrays(self.handles, self._arrays)
                learned = float(values[0])
                learner.tell(where, learned)
                loss = float(learner.loss()) if learner.npoints >= 2 else math.inf
                recorded: dict[Any, Any] = dict(enumerate(values))
                recorded.update({("setpoint", n): c for n, c in enumerate(coordinates)})
                recorded["loss"] = loss
                point.record(recorded, time=started)
                point.record_along({self.dim: i}, index=(i,))

    def _done(self, learner: Any, taken: int) -> str | None:
        if taken >= self.npoints:
            return f"{self.npoints} points taken"
        if self.loss_goal is not None and learner.npoints >= 2:
            loss = float(learner.loss())
            if loss <= self.loss_goal:
                return f"loss {loss:.3g} reached the goal {self.loss_goal:g}"
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "step": "Adaptive",
            "label": f"Adaptive({', '.join(h.full_name for h, _ in self.axes)})",
            "settings": [h.full_name for h, _ in self.axes],
            "value": self.value.full_name,
            "npoints": self.npoints,
            "settle": self.settle,
            "loss_goal": self.loss_goal,
            "dim": self.dim,
        }
