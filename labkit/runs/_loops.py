"""Loops: sweep one setting, walk a grid of several, repeat, and sample over time.

Each loop opens dimensions in the store. A sweep's dimension is named after its setting
(``smu_voltage``) and its coordinate holds the set-points in the setting's unit; a grid opens
one per axis and stores each point at its place in the grid whatever order it is walked in
(raster or snake); a time series opens an open-ended ``sample`` dimension, with the time of
each sample as its coordinate.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from labkit.core import Condition, ConfigurationError, Handle, LimitError, SettingHandle
from labkit.core._units import to_number
from labkit.runs._basic import Read, as_step
from labkit.runs._context import StepContext, seconds, whole_count
from labkit.runs._plan import PlanBuilder, handle_attrs, handle_name, text_labels
from labkit.runs._until import as_until
from labkit.store import Variable, dtype_for_kind

__all__ = ["Grid", "Repeat", "Sweep", "TimeSeries", "grid_positions"]


def _read_step(read: Any) -> Read | None:
    if read is None or (isinstance(read, (list, tuple)) and not read):
        return None
    if isinstance(read, Read):
        return read
    if isinstance(read, (Handle, Mapping)):
        return Read(read)
    return Read(*read)


def _coordinate(handle: SettingHandle, dim: str, values: np.ndarray) -> Variable:
    attrs = {**handle_attrs(handle), "role": "setpoint"}
    dtype = dtype_for_kind(handle.spec.kind)
    data = values.astype(object) if dtype == "string" else values
    labels = text_labels(handle)
    return Variable(dim, (dim,), (len(values),), dtype, attrs, data=data, labels=labels)


class Sweep:
    """Set ``setting`` to each of ``values``; at each, settle, read, then run the body.

    ``Sweep(smu.settings.voltage, np.linspace(0, 1, 101), read=[dmm.readings.current])``.
    Nest sweeps for more dimensions. Values may carry units (``["0 mV", "500 mV"]``).

    ``until`` stops the sweep after the first point where it holds: a condition on instruments
    (``dmm.readings.current > "1 mA"``, read again) or a function of the values just recorded
    (``lambda p: p["dmm_current"] > 1e-3``). The run then completes with the points taken, its
    dimension as long as them, and the reason in its metadata (``stopped``).
    """

    def __init__(
        self,
        setting: SettingHandle,
        values: Iterable[Any],
        *body: Any,
        read: Any = (),
        settle: Any = 0,
        dim: str | None = None,
        until: Any = None,
    ) -> None:
        if not isinstance(setting, SettingHandle):
            raise ConfigurationError(
                f"Sweep needs a setting handle, not {setting!r}",
                hint="e.g. Sweep(smu.settings.voltage, values, read=[...])",
            )
        self.setting = setting
        self.values = values
        self.read = _read_step(read)
        self.body = [as_step(step) for step in body]
        self.settle = seconds(settle, "Sweep's settle time")
        self.dim = dim or handle_name(setting)
        self.until = as_until(until)
        self._values: np.ndarray = np.asarray([])

    def prepare(self, plan: PlanBuilder) -> None:
        self._values = plan.setpoints(self.setting, self.values)
        coordinate = _coordinate(self.setting, self.dim, self._values)
        size: int | None = len(self._values)
        if self.until is not None:
            # It may stop early: the dimension grows with the points taken, and so does its
            # coordinate, recorded as each set-point is reached.
            coordinate = dataclasses.replace(coordinate, shape=(None,), data=None, chunks=None)
            size = None
        with plan.dimension(
            self.dim, size, coordinate=coordinate, estimate=len(self._values), planned=self._values
        ):
            if self.read is not None:
                plan.step(self.read)
            for step in self.body:
                plan.step(step)

    async def run(self, ctx: StepContext) -> None:
        values = self._values.tolist()
        points = ctx.points(len(values))
        async with contextlib.aclosing(points):
            async for point in points:
                i = point.index[-1]
                await point.set(self.setting, values[i])
                if self.until is not None:
                    point.record_along({self.dim: values[i]}, index=(i,))
                if self.settle:
                    await asyncio.sleep(self.settle)
                if self.read is not None:
                    await point.run(self.read)
                for step in self.body:
                    await point.run(step)
                if self.until is not None and i < len(values) - 1:
                    reason = await self.until.reason(point)
                    if reason is not None:
                        point.stopped(reason, points=i + 1, of=len(values))
                        break

    def describe(self) -> dict[str, Any]:
        values = self._values
        described: dict[str, Any] = {
            "step": "Sweep",
            "label": f"Sweep({self.setting.full_name})",
            "setting": self.setting.full_name,
            "unit": self.setting.unit,
            "dim": self.dim,
            "points": int(values.size),
            "settle": self.settle,
        }
        if self.until is not None:
            described["until"] = self.until.description
        if values.size and values.dtype.kind in "fiu":
            described.update(first=values[0].item(), last=values[-1].item())
        return described


def grid_positions(sizes: tuple[int, ...], snake: bool) -> Iterator[tuple[int, ...]]:
    """Every index of a grid, last axis fastest; with ``snake`` each inner axis reverses after
    each pass, so consecutive points are always neighbours."""
    if not sizes or any(size == 0 for size in sizes):
        return
    backwards = [False] * len(sizes)
    last = len(sizes) - 1

    def walk(axis: int, prefix: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        size = sizes[axis]
        order = range(size - 1, -1, -1) if backwards[axis] else range(size)
        for i in order:
            if axis == last:
                yield (*prefix, i)
            else:
                yield from walk(axis + 1, (*prefix, i))
        if snake and axis > 0:
            backwards[axis] = not backwards[axis]

    yield from walk(0, ())


class Grid:
    """Every combination of several settings' values, the first axis outermost.

    ``Grid({gate.settings.voltage: vg, smu.settings.voltage: vsd}, read=[...], snake=True)``
    (or pairs: ``Grid((gate.settings.voltage, vg), (smu.settings.voltage, vsd), ...)``). With
    ``snake`` the inner axes alternate direction, so no output jumps back between lines; data
    lands at its place in the grid either way. An axis only changes when its value changes.
    ``until`` (as for :class:`Sweep`) ends the grid early; it keeps its shape, the points not
    visited empty (NaN, and NaT in ``time``).
    """

    def __init__(
        self,
        *axes: Any,
        read: Any = (),
        body: Iterable[Any] = (),
        snake: bool = False,
        settle: Any = 0,
        dims: Iterable[str] | None = None,
        until: Any = None,
    ) -> None:
        pairs: list[tuple[SettingHandle, Any]] = []
        for axis in axes:
            if isinstance(axis, Mapping):
                pairs.extend(axis.items())
            elif isinstance(axis, (tuple, list)) and len(axis) == 2:
                pairs.append((axis[0], axis[1]))
            else:
                raise ConfigurationError(
                    f"a grid axis is a (setting, values) pair or a mapping, not {axis!r}"
                )
        if not pairs:
            raise ConfigurationError("a grid needs at least one axis")
        for setting, _ in pairs:
            if not isinstance(setting, SettingHandle):
                raise ConfigurationError(f"grid axes need setting handles, not {setting!r}")
        self.axes = pairs
        self.read = _read_step(read)
        self.body = [as_step(step) for step in body]
        self.snake = bool(snake)
        self.settle = seconds(settle, "Grid's settle time")
        names = list(dims) if dims is not None else [handle_name(s) for s, _ in pairs]
        if len(names) != len(pairs):
            raise ConfigurationError("give one dimension name per grid axis")
        self.dims = names
        self.until = as_until(until)
        self._values: list[np.ndarray] = []

    def prepare(self, plan: PlanBuilder) -> None:
        self._values = [plan.setpoints(setting, values) for setting, values in self.axes]
        with contextlib.ExitStack() as stack:
            for (setting, _), dim, values in zip(self.axes, self.dims, self._values, strict=True):
                coordinate = _coordinate(setting, dim, values)
                stack.enter_context(plan.dimension(dim, len(values), coordinate=coordinate))
            if self.read is not None:
                plan.step(self.read)
            for step in self.body:
                plan.step(step)

    async def run(self, ctx: StepContext) -> None:
        values = [v.tolist() for v in self._values]
        sizes = tuple(len(v) for v in values)
        current: list[Any] = [None] * len(sizes)
        depth = len(sizes)
        total, done = math.prod(sizes), 0
        points = ctx.points(positions=grid_positions(sizes, self.snake))
        async with contextlib.aclosing(points):
            async for point in points:
                done += 1
                position = point.index[-depth:]
                for axis, i in enumerate(position):
                    if point.redo or current[axis] != i:
                        await point.set(self.axes[axis][0], values[axis][i])
                        current[axis] = i
                if self.settle:
                    await asyncio.sleep(self.settle)
                if self.read is not None:
                    await point.run(self.read)
                for step in self.body:
                    await point.run(step)
                if self.until is not None and done < total:
                    reason = await self.until.reason(point)
                    if reason is not None:
                        point.stopped(reason, points=done, of=total, at=list(position))
                        break

    def describe(self) -> dict[str, Any]:
        return {
            "step": "Grid",
            "label": f"Grid({', '.join(s.full_name for s, _ in self.axes)})",
            "axes": [
                {"setting": s.full_name, "dim": d, "unit": s.unit, "points": int(v.size)}
                for (s, _), d, v in zip(self.axes, self.dims, self._values or [], strict=False)
            ],
            "snake": self.snake,
            "settle": self.settle,
            **({"until": self.until.description} if self.until is not None else {}),
        }


class Repeat:
    """Run the body ``count`` times along a ``repeat`` dimension (``Repeat(5, Read(dmm...))``)."""

    def __init__(self, count: int, *body: Any, dim: str = "repeat") -> None:
        self.count = whole_count(count, "Repeat's count")
        self.body = [as_step(step) for step in body]
        self.dim = dim

    def prepare(self, plan: PlanBuilder) -> None:
        coordinate = Variable(
            self.dim,
            (self.dim,),
            (self.count,),
            "int64",
            {"long_name": "repetition"},
            data=np.arange(self.count),
        )
        with plan.dimension(self.dim, self.count, coordinate=coordinate):
            for step in self.body:
                plan.step(step)

    async def run(self, ctx: StepContext) -> None:
        async for point in ctx.points(self.count):
            for step in self.body:
                await point.run(step)

    def describe(self) -> dict[str, Any]:
        return {"step": "Repeat", "count": self.count, "dim": self.dim}


class TimeSeries:
    """Read at a steady rate, by count, for a duration, or until a condition holds.

    ``TimeSeries([tc.readings.temperature], duration="10 min", rate=2)`` (``rate`` in Hz, or
    ``interval`` in seconds; neither: as fast as the instruments answer). Samples that fall
    behind are not made up in a burst: the schedule moves on. By count the dimension is
    pre-sized; by duration or condition it grows as samples arrive.
    """

    def __init__(
        self,
        read: Any = (),
        *body: Any,
        count: int | None = None,
        duration: Any = None,
        rate: float | None = None,
        interval: Any = None,
        until: Condition | None = None,
        dim: str = "sample",
    ) -> None:
        if rate is not None and interval is not None:
            raise ConfigurationError("give a rate or an interval, not both")
        if count is None and duration is None and until is None:
            raise ConfigurationError(
                "a time series needs count=, duration= or until= to know when to stop"
            )
        if count is not None:
            count = whole_count(count, "a time series' count")
        if rate is not None:
            rate = to_number(rate, "Hz", where="a time series' rate")
            if not rate > 0:
                raise LimitError(
                    f"a time series' rate must be positive, not {rate:g} Hz",
                    value=rate,
                    limit=(0, math.inf),
                    hint="Give e.g. rate=10 (per second) or interval='100 ms'",
                )
        if until is not None and not isinstance(until, Condition):
            raise ConfigurationError(f"until= needs a condition, not {until!r}")
        self.read = _read_step(read)
        self.body = [as_step(step) for step in body]
        if self.read is None and not self.body:
            raise ConfigurationError("a time series needs something to read")
        self.count = count
        self.duration = None if duration is None else seconds(duration, "a time series' duration")
        self.period = (
            1.0 / rate
            if rate is not None
            else (seconds(interval, "a time series' interval") if interval is not None else 0.0)
        )
        self.until = until
        self.dim = dim

    @property
    def fixed(self) -> bool:
        return self.count is not None and self.duration is None and self.until is None

    def prepare(self, plan: PlanBuilder) -> None:
        estimate = self.count
        if estimate is None and self.duration is not None and self.period:
            estimate = math.floor(self.duration / self.period) + 1
        size = self.count if self.fixed else None
        with plan.dimension(self.dim, size, estimate=estimate):
            if self.read is not None:
                plan.step(self.read)
            for step in self.body:
                plan.step(step)

    async def run(self, ctx: StepContext) -> None:
        begun = time.monotonic()
        schedule = begun
        points = ctx.points(self.count if self.fixed else None)
        async with contextlib.aclosing(points):
            async for point in points:
                i = point.index[-1]
                if not self.fixed:
                    if self.count is not None and i >= self.count:
                        break
                    if self.duration is not None and time.monotonic() - begun >= self.duration:
                        break
                    if self.until is not None and (await self.until.holds_async())[0]:
                        break
                if self.period and i > 0:
                    due = schedule + i * self.period
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif -delay > self.period:
                        schedule -= delay  # fell behind (or was paused): move the schedule on
                if self.read is not None:
                    await point.run(self.read)
                for step in self.body:
                    await point.run(step)

    def describe(self) -> dict[str, Any]:
        return {
            "step": "TimeSeries",
            "count": self.count,
            "duration": self.duration,
            "period": self.period,
            "until": self.until.description if self.until is not None else None,
            "dim": self.dim,
        }
