"""What reading handles record in a run: scalars, and array readings with the dimensions of
their axes; and the check that an instrument's array still has the axes the run's store was
laid out for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkit.core import ConfigurationError, Handle
from labkit.runs._plan import PlanBuilder, handle_attrs, handle_name, text_labels
from labkit.store import Variable, dtype_for_kind

__all__ = ["array_variable", "check_arrays", "read_variables"]


def read_variables(
    plan: PlanBuilder, items: Sequence[tuple[str | None, Handle]]
) -> tuple[dict[int, Any], dict[int, tuple[Any, ...]]]:
    """The variables ``(label, handle)`` pairs record at each point (keyed by position, for
    ``plan.record``), and the axes of the array readings among them (by position)."""
    variables: dict[int, Any] = {}
    arrays: dict[int, tuple[Any, ...]] = {}
    for position, (label, handle) in enumerate(items):
        if handle.spec.is_array:
            variables[position] = array_variable(plan, handle, label)
            arrays[position] = handle.spec.axes or ()
            continue
        if label is None and handle_name(handle) in plan.dims:
            label = f"{handle_name(handle)}_readback"  # a swept setting, read back
        if label is None:
            variables[position] = handle
            continue
        variables[position] = Variable(
            label,
            (),
            (),
            dtype_for_kind(handle.spec.kind),
            handle_attrs(handle),
            labels=text_labels(handle),
        )
        plan.uses(handle)
    return variables, arrays


def check_arrays(handles: Sequence[Handle], arrays: dict[int, tuple[Any, ...]]) -> None:
    """Each array reading among ``handles`` still has the axes the run was laid out for."""
    for position, axes in arrays.items():
        handle = handles[position]
        if handle.spec.axes is not axes:
            check_axes_unchanged(handle, axes)


def array_variable(plan: PlanBuilder, handle: Handle, label: str | None) -> Variable:
    """One item of an array reading (its own dimensions, coordinates and unit) for
    ``plan.record``: the dimensions are ``<instrument>_<axis>`` (``spectrometer_wavelength``),
    shared by readings with the same coordinate, else ``<name>_<axis>``."""
    spec = handle.spec
    axes = spec.axes or ()
    unknown = [axis.name for axis in axes if axis.size is None]
    if unknown:
        raise ConfigurationError(
            f"{plan.path}: the length of {handle.full_name} along {', '.join(unknown)} is not "
            "known yet",
            instrument=handle.instrument.name,
            setting=spec.name,
            hint="Connect the instrument first: its driver tells the length when it connects",
        )
    name = label or handle_name(handle)
    prefix = label or handle.instrument.name.replace(".", "_")
    dims = tuple(
        plan.item_axis((f"{prefix}_{axis.name}", f"{name}_{axis.name}"), axis, handle.full_name)
        for axis in axes
    )
    attrs = handle_attrs(handle)
    attrs["role"] = "array reading"
    plan.uses(handle)
    return Variable(name, dims, tuple(axis.size for axis in axes), spec.dtype or "float64", attrs)


def check_axes_unchanged(handle: Handle, prepared: tuple[Any, ...]) -> None:
    """Refuse an array whose axes moved since the run was laid out (a timebase changed
    mid-run): its points would be stored against the wrong coordinate."""
    now = handle.spec.axes or ()
    if len(now) == len(prepared) and all(
        a is b or a.same_coordinate(b) for a, b in zip(now, prepared, strict=True)
    ):
        return
    moved = [b.name for a, b in zip(now, prepared, strict=False) if not a.same_coordinate(b)]
    raise ConfigurationError(
        f"the {', '.join(moved) or 'axes'} axis of {handle.full_name} changed during the run; "
        "its data would no longer match the coordinate the run recorded",
        instrument=handle.instrument.name,
        setting=handle.spec.name,
        hint="Keep the settings the axis follows (a timebase, a sample count) fixed during a "
        "run, or record each configuration in a run of its own",
    )
