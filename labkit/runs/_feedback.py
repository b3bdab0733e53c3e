"""Feedback settle: a PID loop drives a setting until a reading stays on target.

``Feedback(heater.settings.power, tc.readings.temperature, target="300 K", kp=0.5, ki=0.2,
tolerance=0.05, hold="20 s")`` reads the temperature every ``interval``, computes the heater
power from the error, sets it (each value checked against the limits like any other), and
returns once the reading has stayed within ``tolerance`` of the target for ``hold`` seconds.

The controller starts bumplessly from the setting's present value, saturates at the output
range (the setting's limits, or narrower ``output_limits``) without winding up its integral,
and takes the derivative of the measurement, not of the error, so a target change does not
kick the output. The output range is checked against the limits in the dry run.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import numpy as np

from labkit.core import (
    ConfigurationError,
    LimitError,
    ReadingHandle,
    SettingHandle,
    ValidationError,
)
from labkit.core._units import format_quantity, to_number
from labkit.runs._basic import SettleTimeout
from labkit.runs._context import StepContext, seconds
from labkit.runs._plan import PlanBuilder, handle_attrs, handle_name
from labkit.store import Variable

__all__ = ["PID", "Feedback"]


class PID:
    """A discrete PID controller with output limits, anti-windup and bumpless start."""

    def __init__(
        self,
        kp: float,
        ki: float = 0.0,
        kd: float = 0.0,
        *,
        low: float = -math.inf,
        high: float = math.inf,
    ) -> None:
        self.kp, self.ki, self.kd = float(kp), float(ki), float(kd)
        self.low, self.high = float(low), float(high)
        self.integral = 0.0
        self._last: float | None = None

    def start(self, target: float, measured: float, output: float) -> None:
        """Begin from the present ``output``: the first step does not jump."""
        error = target - measured
        self.integral = (output - self.kp * error) / self.ki if self.ki else 0.0
        self._last = measured

    def update(self, target: float, measured: float, dt: float) -> float:
        error = target - measured
        derivative = 0.0
        if self._last is not None and dt > 0:
            derivative = -(measured - self._last) / dt
        self._last = measured
        integral = self.integral + error * dt
        output = self.kp * error + self.ki * integral + self.kd * derivative
        clipped = min(max(output, self.low), self.high)
        # Anti-windup: integrate only while the output is not pushed further into saturation.
        if (
            clipped == output
            or (output > self.high and error < 0)
            or (output < self.low and error > 0)
        ):
            self.integral = integral
        return clipped


class Feedback:
    """Drive ``setting`` with a PID loop until ``reading`` stays within ``tolerance`` of
    ``target`` for ``hold``; :class:`SettleTimeout` after ``timeout``.

    Gains are in the declared units (``kp`` in setting units per reading unit). ``record``
    stores the loop's trajectory (reading and output over time) in the run.
    """

    def __init__(
        self,
        setting: SettingHandle,
        reading: Any,
        target: Any,
        *,
        kp: float,
        ki: float = 0.0,
        kd: float = 0.0,
        tolerance: Any,
        hold: Any = 0,
        interval: Any = 0.5,
        timeout: Any = None,
        output_limits: tuple[Any, Any] | None = None,
        record: bool = False,
        name: str = "feedback",
    ) -> None:
        if not isinstance(setting, SettingHandle):
            raise ConfigurationError(f"Feedback drives a setting handle, not {setting!r}")
        if not isinstance(reading, (ReadingHandle, SettingHandle)):
            raise ConfigurationError(f"Feedback watches a reading handle, not {reading!r}")
        if not setting.spec.numeric or not reading.spec.numeric:
            raise ConfigurationError("Feedback needs a numeric setting and a numeric reading")
        self.setting = setting
        self.reading = reading
        where = reading.full_name
        self.target = to_number(target, reading.unit, where=f"{where} target")
        self.tolerance = abs(to_number(tolerance, reading.unit, where=f"{where} tolerance"))
        self.kp, self.ki, self.kd = (
            to_number(gain, None, where=f"Feedback's {what}")
            for gain, what in ((kp, "kp"), (ki, "ki"), (kd, "kd"))
        )
        self.hold = seconds(hold, "Feedback's hold")
        self.interval = seconds(interval, "Feedback's interval")
        if self.interval <= 0:
            raise LimitError(
                "Feedback's interval must be positive",
                value=interval,
                limit=(0, math.inf),
                hint="Give e.g. interval='500 ms'",
            )
        self.timeout = None if timeout is None else seconds(timeout, "Feedback's timeout")
        self.output_limits = output_limits
        self._output_range()  # refused now if it is not a (low, high) pair of values
        self.record = record
        self.name = name
        self._range: tuple[float, float] = (-math.inf, math.inf)

    def _output_range(self) -> tuple[float, float]:
        """The setting's limits in force, or the ``output_limits`` given (checked in the dry
        run like any set-point: a range outside the limits is refused, not narrowed)."""
        if self.output_limits is None:
            return self.setting.limits
        unit, where = self.setting.unit, f"{self.setting.full_name} output limit"
        pair = self.output_limits
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ValidationError(
                "output_limits must be a (low, high) pair",
                limit="(low, high)",
                hint="Give e.g. output_limits=(0, '2 V')",
            )
        low, high = (to_number(v, unit, where=where) for v in pair)
        if low >= high:
            raise ConfigurationError(f"output_limits {self.output_limits!r} must be (low, high)")
        return low, high

    def prepare(self, plan: PlanBuilder) -> None:
        plan.uses(self.reading)
        low, high = self._output_range()
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ConfigurationError(
                f"{plan.path}: Feedback needs a bounded output, and {self.setting.full_name} "
                f"has limits [{format_quantity(low)}, {format_quantity(high)}]",
                hint="Pass output_limits=(low, high)",
            )
        self._range = (low, high)
        plan.setpoints(self.setting, np.array([low, high]))
        if self.record:
            dim = f"{self.name}_step"
            with plan.dimension(dim, None):
                output = Variable(
                    f"{self.name}_output", (), (), "float64", handle_attrs(self.setting)
                )
                measured = Variable(
                    f"{self.name}_{handle_name(self.reading)}",
                    (),
                    (),
                    "float64",
                    handle_attrs(self.reading),
                )
                plan.record(self.name, {"output": output, "measured": measured})

    async def run(self, ctx: StepContext) -> None:
        low, high = self._range
        controller = PID(self.kp, self.ki, self.kd, low=low, high=high)
        measured = float(await self.reading.read_async())
        present = self.setting.value
        if present is None:
            present = await self.setting.read_async()
        present = min(max(float(present), low), high)
        controller.start(self.target, measured, present)
        begun = last = time.monotonic()
        inside_since: float | None = None
        step = 0
        while True:
            now = time.monotonic()
            output = controller.update(self.target, measured, now - last)
            last = now
            await ctx.set(self.setting, output)
            if self.record:
                ctx.at(step).record({"output": output, "measured": measured}, group=self.name)
                step += 1
            if abs(measured - self.target) <= self.tolerance:
                inside_since = now if inside_since is None else inside_since
                if now - inside_since >= self.hold:
                    ctx.event(
                        "settled",
                        reading=self.reading.full_name,
                        value=measured,
                        output=output,
                        seconds=now - begun,
                    )
                    return
            else:
                inside_since = None
            if self.timeout is not None and now - begun >= self.timeout:
                unit = self.reading.unit
                raise SettleTimeout(
                    f"{self.reading.full_name} did not settle at "
                    f"{format_quantity(self.target, unit)} ± {format_quantity(self.tolerance, unit)} "
                    f"within {self.timeout:g} s (last {format_quantity(measured, unit)}, "
                    f"{self.setting.full_name} at {format_quantity(output, self.setting.unit)})",
                    instrument=self.reading.instrument.name,
                    setting=self.reading.name,
                    hint="Tune the gains, lengthen the timeout or widen the tolerance",
                )
            await asyncio.sleep(max(0.0, last + self.interval - time.monotonic()))
            measured = float(await self.reading.read_async())

    def describe(self) -> dict[str, Any]:
        return {
            "step": "Feedback",
            "label": f"Feedback({self.setting.full_name}→{self.reading.full_name})",
            "setting": self.setting.full_name,
            "reading": self.reading.full_name,
            "target": self.target,
            "unit": self.reading.unit,
            "tolerance": self.tolerance,
            "gains": {"kp": self.kp, "ki": self.ki, "kd": self.kd},
            "hold": self.hold,
            "interval": self.interval,
            "timeout": self.timeout,
            "output_range": list(self._range),
        }
