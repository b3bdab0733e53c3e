"""The experiment-step interface: two methods, nothing to inherit.

A step first *prepares*: with no I/O, it tells the plan which dimensions it opens, which data
it records and which set-points it will send (so the whole plan is checked against every
limit before anything moves, and the store is laid out before the first point). Then it
*runs*: an ``async`` method that sets, reads and records through the context it is given.
Any object with these two methods is a step — built-in or from a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from labkit.runs._context import StepContext
    from labkit.runs._plan import PlanBuilder

__all__ = ["ExperimentStep", "describe", "is_step"]


@runtime_checkable
class ExperimentStep(Protocol):
    """What the run engine needs from a step.

    ``prepare(plan)`` declares, without I/O: ``plan.dimension(...)`` for a loop,
    ``plan.record(...)`` for the data recorded at each point, ``plan.setpoints(...)`` for the
    values it will set, ``plan.step(child)`` for nested steps. ``run(ctx)`` does the work with
    ``await ctx.set(...)``, ``await ctx.read(...)``, ``ctx.record(...)``, ``await ctx.run(child)``.
    A step may also define ``describe() -> dict``: how it appears in the run's metadata.
    """

    def prepare(self, plan: PlanBuilder) -> None: ...

    async def run(self, ctx: StepContext) -> None: ...


def is_step(obj: Any) -> bool:
    """Whether ``obj`` can be used as a step (an instance with ``prepare`` and ``run``)."""
    return (
        not isinstance(obj, type)
        and callable(getattr(obj, "prepare", None))
        and callable(getattr(obj, "run", None))
    )


def describe(step: Any) -> dict[str, Any]:
    """The step as plain data for the run's metadata."""
    method = getattr(step, "describe", None)
    if callable(method):
        try:
            described = dict(method())
        except Exception as error:  # a plugin's describe() must not stop a run
            described = {"describe_error": repr(error)}
    else:
        described = {}
    described.setdefault("step", type(step).__name__)
    return described
