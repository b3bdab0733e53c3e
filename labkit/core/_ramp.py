"""Ramps: how a setting moves gradually to its target (pure arithmetic and messages)."""

from __future__ import annotations

import math
from typing import Any

from labkit.core._errors import InstrumentError, LabkitError, RampInterrupted
from labkit.core._spec import TraitSpec
from labkit.core._units import format_quantity

__all__ = ["RAMP_UPDATES_PER_SECOND", "ramp_error", "ramp_points"]

RAMP_UPDATES_PER_SECOND = 10.0


def ramp_points(
    spec: TraitSpec, start: float, target: float, rate: float
) -> tuple[list[float], float]:
    """The set-points from ``start`` (excluded) to ``target`` (included), in steps of at most
    ``ramp_step`` (else ``rate`` / 10 per second), and the pause between two of them."""
    distance = target - start
    largest = spec.ramp_step if spec.ramp_step is not None else rate / RAMP_UPDATES_PER_SECOND
    steps = max(1, math.ceil(abs(distance) / largest - 1e-9))
    points = [start + distance * index / steps for index in range(1, steps)] + [target]
    return points, abs(distance) / rate / steps


def ramp_error(
    spec: TraitSpec,
    reached: float,
    target: float,
    why: str,
    cause: LabkitError | None,
    instrument: str,
) -> RampInterrupted:
    """A ramp stopped at ``reached``: where it is, why, and how to go on."""
    details: dict[str, Any] = {}
    if isinstance(cause, InstrumentError):
        details = {"resource": cause.resource, "command": cause.command, "code": cause.code}
    return RampInterrupted(
        f"ramp to {format_quantity(target, spec.unit)} stopped at "
        f"{format_quantity(reached, spec.unit)} because {why}",
        reached=reached,
        target=target,
        instrument=instrument,
        setting=spec.name,
        hint=f"The output is at {format_quantity(reached, spec.unit)}; set it again to continue",
        **details,
    )
