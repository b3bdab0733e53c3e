"""The simple steps: set, read, wait, settle, call, and a sequence of steps."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

from labkit.core import Condition, ConfigurationError, Handle, LabkitError, SettingHandle
from labkit.runs._arrays import check_arrays, read_variables
from labkit.runs._context import StepContext, group_by_instrument, seconds
from labkit.runs._plan import PlanBuilder
from labkit.runs._step import is_step

__all__ = ["Call", "Read", "Sequence", "Set", "Settle", "SettleTimeout", "Wait", "as_step"]


class SettleTimeout(LabkitError):
    """A condition did not settle (or a feedback loop did not reach its target) in time.

    It fails the run, so it is not a ``TimeoutError``: around ``run.wait()`` that means the
    wait ended with the run still going (:class:`~labkit.RunWaitTimeout`).
    """


def as_step(item: Any) -> Any:
    """A step from what a user may write in a plan: a step, a handle (read it), or a list."""
    if is_step(item):
        return item
    if isinstance(item, Handle):
        return Read(item)
    if isinstance(item, (list, tuple)):
        return Sequence(*item)
    raise ConfigurationError(
        f"{item!r} is not an experiment step",
        hint="Use a step (Sweep, Read, Wait...), a handle to read, or a list of those",
    )


class Set:
    """Set a setting once (checked with the plan, ramped, acknowledged): ``Set(smu.settings
    .voltage, 1)``; or several at once, concurrently: ``Set({smu.settings.voltage: 1,
    gate.settings.voltage: "500 mV"})`` — every value checked before any moves, each
    ramped at its own rate, the step done when the last is acknowledged (two 1 V ramps at
    1 V/s take 1 s, not 2 s)."""

    def __init__(self, setting: SettingHandle | Mapping[SettingHandle, Any], value: Any = None):
        if isinstance(setting, Mapping):
            if value is not None:
                raise ConfigurationError("give Set a mapping of settings to values, or one pair")
            targets = list(setting.items())
        else:
            targets = [(setting, value)]
        if not targets:
            raise ConfigurationError("Set needs at least one setting")
        for handle, _ in targets:
            if not isinstance(handle, SettingHandle):
                raise ConfigurationError(
                    f"Set needs setting handles, not {handle!r}",
                    hint="e.g. Set(smu.settings.voltage, 1)",
                )
        seen = [handle.full_name for handle, _ in targets]
        if len(set(seen)) != len(seen):
            raise ConfigurationError(f"Set names a setting twice: {', '.join(seen)}")
        self.targets = targets
        self.setting, self.value = targets[0]
        self._values: list[Any] = []

    def prepare(self, plan: PlanBuilder) -> None:
        self._values = [plan.setpoints(h, [v]).tolist()[0] for h, v in self.targets]

    async def run(self, ctx: StepContext) -> None:
        if len(self.targets) == 1:
            await ctx.set(self.setting, self._values[0])
            return
        await ctx.set_together(
            [(handle, value) for (handle, _), value in zip(self.targets, self._values, strict=True)]
        )

    def describe(self) -> dict[str, Any]:
        values = self._values or [v for _, v in self.targets]
        if len(self.targets) == 1:
            return {
                "step": "Set",
                "label": f"Set({self.setting.full_name})",
                "setting": self.setting.full_name,
                "value": values[0],
                "unit": self.setting.unit,
            }
        names = [handle.full_name for handle, _ in self.targets]
        return {
            "step": "Set",
            "label": f"Set({', '.join(names)})",
            "together": [
                {"setting": h.full_name, "value": v, "unit": h.unit}
                for (h, _), v in zip(self.targets, values, strict=True)
            ],
        }


class Read:
    """Read handles at each point and record their values (different instruments concurrently).

    ``Read(dmm.readings.current, smu.readings.current)`` records ``dmm_current`` and
    ``smu_current``; ``Read(I=dmm.readings.current)`` records it as ``I``. Setting handles
    are read back from the instrument.
    """

    def __init__(self, *handles: Handle | Mapping[str, Handle], name: str = "read", **named):
        items: list[tuple[str | None, Handle]] = []
        for entry in handles:
            if isinstance(entry, Mapping):
                items.extend(entry.items())
            elif isinstance(entry, (list, tuple)):
                items.extend((None, h) for h in entry)
            else:
                items.append((None, entry))
        items.extend(named.items())
        for label, handle in items:
            if not isinstance(handle, Handle) or not callable(getattr(handle, "read_async", None)):
                raise ConfigurationError(
                    f"Read takes reading or setting handles, not {handle!r}"
                    + (f" (for {label!r})" if label else ""),
                    hint="e.g. Read(dmm.readings.current)",
                )
        if not items:
            raise ConfigurationError("Read needs at least one handle")
        self.items = items
        self.handles = [handle for _, handle in items]
        self.name = name
        self._grouped = group_by_instrument(self.handles)
        self._arrays: dict[int, tuple[Any, ...]] = {}  # position → axes the store was laid for

    def prepare(self, plan: PlanBuilder) -> None:
        variables, self._arrays = read_variables(plan, self.items)
        plan.record(self.name, variables)

    async def run(self, ctx: StepContext) -> None:
        started = time.time_ns()
        values = await ctx.read(self.handles, self._grouped)
        if self._arrays:
            check_arrays(self.handles, self._arrays)
        ctx.record(dict(enumerate(values)), time=started)

    def describe(self) -> dict[str, Any]:
        return {
            "step": "Read",
            "label": f"Read({', '.join(h.full_name for h in self.handles)})",
            "read": [h.full_name for h in self.handles],
        }


class Wait:
    """Wait a while (``Wait(2)``, ``Wait("500 ms")``); abort interrupts it."""

    def __init__(self, duration: Any) -> None:
        self.duration = seconds(duration, "Wait's duration")

    def prepare(self, plan: PlanBuilder) -> None:
        pass

    async def run(self, ctx: StepContext) -> None:
        await asyncio.sleep(self.duration)

    def describe(self) -> dict[str, Any]:
        return {"step": "Wait", "seconds": self.duration}


class Settle:
    """Wait until ``condition`` has held continuously for ``hold`` (checked every ``interval``).

    ``Settle(tc.readings.temperature.between(299.9, 300.1), hold="30 s", timeout="10 min")``.
    A ``timeout`` that passes raises :class:`SettleTimeout`, which fails the run.
    """

    def __init__(
        self,
        condition: Condition,
        *,
        hold: Any = 0,
        timeout: Any = None,
        interval: Any = 0.2,
    ) -> None:
        if not isinstance(condition, Condition):
            raise ConfigurationError(
                f"Settle needs a condition, not {condition!r}",
                hint="e.g. tc.readings.temperature.between(299.9, 300.1)",
            )
        self.condition = condition
        self.hold = seconds(hold, "Settle's hold")
        self.timeout = None if timeout is None else seconds(timeout, "Settle's timeout")
        self.interval = seconds(interval, "Settle's interval")

    def prepare(self, plan: PlanBuilder) -> None:
        pass

    async def run(self, ctx: StepContext) -> None:
        begun = time.monotonic()
        since: float | None = None
        why = ""
        while True:
            holds, why = await self.condition.holds_async()
            now = time.monotonic()
            if holds:
                since = now if since is None else since
                if now - since >= self.hold:
                    return
            else:
                since = None
            if self.timeout is not None and now - begun >= self.timeout:
                raise SettleTimeout(
                    f"{self.condition.description} did not hold for {self.hold:g} s within "
                    f"{self.timeout:g} s (last: {why or 'it held'})",
                    hint="Lengthen the timeout or check the instrument",
                )
            await asyncio.sleep(self.interval)

    def describe(self) -> dict[str, Any]:
        return {
            "step": "Settle",
            "condition": self.condition.description,
            "hold": self.hold,
            "timeout": self.timeout,
        }


class Call:
    """Call a function at this point of the plan (a coroutine function is awaited; a plain
    function runs in a thread, so blocking code does not stall the run's loop, and what it
    returns is awaited if it is awaitable: ``Call(dmm.readings.volts.read_async)``)."""

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(function):
            raise ConfigurationError(f"Call needs a function, not {function!r}")
        self.function = function
        self.args = args
        self.kwargs = kwargs

    def prepare(self, plan: PlanBuilder) -> None:
        pass

    async def run(self, ctx: StepContext) -> None:
        if inspect.iscoroutinefunction(self.function):
            await self.function(*self.args, **self.kwargs)
        else:
            result = await asyncio.to_thread(self.function, *self.args, **self.kwargs)
            if inspect.isawaitable(result):
                await result

    def describe(self) -> dict[str, Any]:
        name = getattr(self.function, "__qualname__", repr(self.function))
        return {"step": "Call", "label": f"Call({name})", "function": name}


class Sequence:
    """Steps one after the other (``labkit.run(a, b, c)`` makes one of these)."""

    def __init__(self, *steps: Any) -> None:
        self.steps = [as_step(step) for step in steps]

    def prepare(self, plan: PlanBuilder) -> None:
        for step in self.steps:
            plan.step(step)

    async def run(self, ctx: StepContext) -> None:
        for step in self.steps:
            await ctx.run(step)

    def describe(self) -> dict[str, Any]:
        return {"step": "Sequence"}
