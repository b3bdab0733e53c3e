"""The checks a declaration passes when it is made: a setting that cannot work is refused at
class creation (or when a link declares it from the device), naming the attribute, not at its
first use.

Kept apart from :class:`~labkit.core._spec.TraitSpec` — which turns values into commands and
replies back into values — because these rules concern only what was declared, and every
way of declaring (class body, data, a device) goes through them once.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from labkit.core._axes import check_axes
from labkit.core._errors import DeclarationError
from labkit.core._kinds import KINDS

if TYPE_CHECKING:
    from labkit.core._spec import TraitSpec

__all__ = ["check_declaration"]


def check_declaration(spec: TraitSpec) -> None:
    """Raise :class:`~labkit.DeclarationError` if ``spec`` cannot work, saying why."""

    def fail(message: str, hint: str | None = None) -> None:
        raise DeclarationError(message, setting=spec.qualname or None, hint=hint)

    if spec.kind not in KINDS:
        fail(f"kind {spec.kind!r} is not one of {', '.join(KINDS)}")
    if spec.access not in ("rw", "r", "w"):
        fail(f"access {spec.access!r} must be 'rw', 'r' or 'w'")
    if spec.is_array or spec.axes is not None:
        if not spec.is_array:
            fail(f"axes= make an array reading, not a {spec.kind} one")
        if spec.role != "reading":
            fail(f"only readings can be arrays, not a {spec.role}")
        if spec.choices is not None:
            fail("an array reading has no choices")
        check_axes(spec.axes, spec.dtype, fail)
    for field in ("min", "max", "soft_min", "soft_max", "step", "ramp", "ramp_step"):
        value = getattr(spec, field)
        if value is not None and not (isinstance(value, numbers.Real) and math.isfinite(value)):
            fail(f"{field}={value!r} must be a finite number")
        if value is not None and not spec.numeric:
            fail(f"{field}= only makes sense for a number, not a {spec.kind} {spec.role}")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        fail(f"min {spec.min} is above max {spec.max}")
    lo, hi = spec.hard_range()
    for field in ("soft_min", "soft_max"):
        value = getattr(spec, field)
        if value is not None and not lo <= value <= hi:
            fail(f"{field} {value} lies outside the hard limits [{lo}, {hi}]")
    if spec.soft_min is not None and spec.soft_max is not None and spec.soft_min > spec.soft_max:
        fail(f"soft_min {spec.soft_min} is above soft_max {spec.soft_max}")
    for field in ("step", "ramp", "ramp_step"):
        value = getattr(spec, field)
        if value is not None and value <= 0:
            fail(f"{field} must be positive, not {value}")
    if spec.ramp_step is not None and spec.ramp is None:
        fail("ramp_step needs a ramp rate (ramp=...)")
    if spec.ramp is not None and spec.kind != "float":
        fail(f"only float settings can ramp, not a {spec.kind}")
    if spec.delay < 0:
        fail(f"delay must not be negative, not {spec.delay}")
    if spec.kind == "enum" and not spec.choices:
        fail("an enum needs choices")
    if spec.choices is not None:
        if len(spec.choices) == 0:
            fail("choices must not be empty")
        if spec.tokens is not None and len(spec.tokens) != len(spec.choices):
            fail("every choice needs exactly one token")
        if spec.numeric:
            for choice in spec.choices:
                if not (isinstance(choice, numbers.Real) and not isinstance(choice, bool)):
                    fail(f"choice {choice!r} of a {spec.kind} setting must be a number")
                if not lo <= choice <= hi:
                    fail(f"choice {choice!r} lies outside the hard limits [{lo}, {hi}]")
    if spec.role == "setting" and spec.safe is not None:
        try:
            value = spec.coerce(spec.safe)
        except Exception as error:
            fail(f"safe value {spec.safe!r} is not a valid value: {error}")
        if spec.numeric and not lo <= value <= hi:
            fail(f"safe value {spec.safe!r} lies outside the hard limits [{lo}, {hi}]")
    if len(spec.bool_tokens) != 2:
        fail("bool_tokens must be a pair (true token, false token)")
    if isinstance(spec.get, str) and "{value" in spec.get:
        fail(f"get template {spec.get!r} cannot use the value being set")
    if isinstance(spec.set, str):
        try:
            spec.set.format("0", value="0", self=_AnyAttribute())
        except (IndexError, KeyError) as error:
            fail(
                f"set template {spec.set!r} does not format: {error!r}",
                hint="Use '{}' or '{value}' for the value, '{spec.attr}' for attributes",
            )


class _AnyAttribute:
    """Stands in for an instrument when a set template is test-formatted at declaration time."""

    def __getattr__(self, name: str) -> str:
        return "0"
