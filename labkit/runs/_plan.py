"""From steps to a plan: dimensions, variables, set-points, and the dry run.

Preparing walks the step tree once with no I/O. Each step says which dimensions it opens (a
sweep opens one, a grid several, a time series an open-ended one), which data it records at
each point of the dimensions around it, and which set-points it will send. The result fixes
the store's layout before the first point, counts the points for progress, and lets
:meth:`Plan.check` refuse the whole plan — naming the step, the setting and the value — if
any set-point breaks a limit, before anything moves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from labkit.core import (
    ConfigurationError,
    Handle,
    Instrument,
    LabkitError,
    NotConnectedError,
    SettingHandle,
)
from labkit.runs._dryrun import CheckReport, store_estimate, summarise, values_to_check
from labkit.runs._step import describe, is_step
from labkit.store import Variable, dtype_for_kind
from labkit.store._variables import choose_chunks

__all__ = ["CheckReport", "Dim", "Group", "Node", "Plan", "PlanBuilder", "handle_name"]


ITEM_CHUNK_BYTES = 128 * 1024  # chunk size for array items recorded at each point


def handle_name(handle: Handle) -> str:
    """``dmm_current`` for ``dmm.readings.current``: a name xarray can use as an attribute."""
    return handle.full_name.replace(".", "_")


def handle_attrs(handle: Handle) -> dict[str, Any]:
    """CF attributes from a declaration: units, a readable long name, and where it came from."""
    spec = handle.spec
    attrs: dict[str, Any] = {
        "long_name": f"{handle.instrument.name} {spec.title}",
        "source": handle.full_name,
    }
    if spec.unit:
        attrs["units"] = spec.unit
    if spec.doc:
        attrs["description"] = spec.doc
    return attrs


def text_labels(handle: Handle) -> tuple[str, ...] | None:
    """The labels of a choice setting, in declaration order: its stored codes' table."""
    spec = handle.spec
    if dtype_for_kind(spec.kind) != "string" or not spec.choices:
        return None
    return tuple(str(choice) for choice in spec.choices)


@dataclasses.dataclass(frozen=True)
class Dim:
    """A dimension of the run: a loop, or an open-ended series (``size`` None)."""

    name: str
    size: int | None
    owner: str
    estimate: int | None = None  # expected length of an open-ended dimension, for progress
    planned: Any = None  # the values it is expected to take (a sweep that may stop early)


@dataclasses.dataclass
class Group:
    """Data recorded together at each point of its scope, with one time stamp per point."""

    name: str
    scope: tuple[Dim, ...]
    variables: dict[Any, Variable]
    owner: str
    time: str = "time"
    coordinates: list[str] = dataclasses.field(default_factory=list)  # besides the time

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.scope)

    @property
    def points(self) -> int | None:
        sizes = [d.size if d.size is not None else d.estimate for d in self.scope]
        known = [size for size in sizes if size is not None]
        return math.prod(known) if len(known) == len(sizes) else None


@dataclasses.dataclass
class Setpoints:
    path: str
    handle: SettingHandle
    values: Any


class Node:
    """One step in the prepared tree: where it sits, what it records, its children."""

    __slots__ = ("_by_step", "children", "description", "groups", "path", "scope", "step")

    def __init__(self, step: Any, path: str, scope: tuple[Dim, ...]) -> None:
        self.step = step
        self.path = path
        self.scope = scope
        self.children: list[Node] = []
        self.groups: dict[str, Group] = {}
        self.description: dict[str, Any] = {}
        self._by_step: dict[int, Node] = {}

    def add(self, node: Node) -> None:
        self.children.append(node)
        self._by_step.setdefault(id(node.step), node)

    def child(self, step: Any) -> Node:
        node = self._by_step.get(id(step))
        if node is not None:
            return node
        raise ConfigurationError(
            f"step {type(step).__name__} was not prepared as a child of {self.path}",
            hint="Call plan.step(child) in prepare() for every step that run() runs",
        )

    def group(self, name: str | None = None) -> Group:
        if name is not None:
            try:
                return self.groups[name]
            except KeyError:
                raise ConfigurationError(
                    f"{self.path} recorded no group {name!r}; it has {', '.join(self.groups)}"
                ) from None
        if len(self.groups) != 1:
            raise ConfigurationError(
                f"{self.path} declares {len(self.groups)} record groups; name the one to record",
                hint="ctx.record(values, group='name')",
            )
        return next(iter(self.groups.values()))

    def tree(self) -> dict[str, Any]:
        described = dict(self.description)
        if self.children:
            described["steps"] = [child.tree() for child in self.children]
        return described


class PlanBuilder:
    """What a step's ``prepare`` talks to. No I/O happens here."""

    def __init__(self) -> None:
        self.root = Node(None, "plan", ())
        self._node = self.root
        self._scope: list[Dim] = []
        self.dims: dict[str, Dim] = {}
        self.variables: dict[str, Variable] = {}
        self.groups: list[Group] = []
        self.setpoint_checks: list[Setpoints] = []
        self.instruments: dict[str, Instrument] = {}
        self._labels: dict[str, int] = {}
        self._reserved: set[str] = set()
        self.item_axes: dict[str, Any] = {}  # dimension of array items → its Axis

    # -- for steps ------------------------------------------------------------------------

    @property
    def scope(self) -> tuple[Dim, ...]:
        """The dimensions around the step being prepared, outermost first."""
        return tuple(self._scope)

    @property
    def path(self) -> str:
        return self._node.path

    def step(self, step: Any) -> None:
        """Prepare ``step`` as a child of the step being prepared (in the current scope)."""
        if not is_step(step):
            raise ConfigurationError(
                f"{step!r} is not an experiment step",
                hint="Steps have prepare(plan) and async run(ctx); pass handles as read=[...]",
            )
        described = describe(step)
        label = described.get("label") or described["step"]
        count = self._labels.get(label, 0) + 1
        self._labels[label] = count
        name = label if count == 1 else f"{label}#{count}"
        path = name if self._node is self.root else f"{self._node.path} › {name}"
        node = Node(step, path, self.scope)
        node.description = described
        self._node.add(node)
        parent, self._node = self._node, node
        try:
            step.prepare(self)
        finally:
            self._node = parent

    @contextlib.contextmanager
    def dimension(
        self,
        name: str,
        size: int | None,
        *,
        coordinate: Variable | None = None,
        estimate: int | None = None,
        planned: Any = None,
    ) -> Iterator[Dim]:
        """Open a dimension around what is prepared inside the ``with`` block.

        ``size`` None makes it open-ended (a time series by duration); ``coordinate`` is the
        1-D array of its values when they are known (a sweep's set-points).
        """
        if name in self.dims:
            raise ConfigurationError(
                f"{self.path}: the dimension {name!r} is already used by {self.dims[name].owner}",
                hint="Give one of them another name with dim='...'",
            )
        if name in self.variables or name in self._reserved:
            raise ConfigurationError(
                f"{self.path}: the dimension {name!r} has the name of recorded data",
                hint="Give the dimension another name with dim='...'",
            )
        if size is not None and size < 0:
            raise ConfigurationError(f"{self.path}: dimension {name!r} has a negative size")
        dim = Dim(name, size, self.path, estimate, planned)
        self.dims[name] = dim
        if coordinate is not None:
            self.add_variable(coordinate)
        self._scope.append(dim)
        try:
            yield dim
        finally:
            self._scope.pop()

    def add_variable(self, variable: Variable) -> Variable:
        clash = variable.name in self.variables or variable.name in self._reserved
        if variable.name in self.dims and variable.dims != (variable.name,):
            clash = True  # only a dimension's own 1-D coordinate may share its name
        if clash:
            owner = self.variables.get(variable.name)
            raise ConfigurationError(
                f"{self.path}: {variable.name!r} would be recorded twice"
                + (f" (also as {owner.attrs.get('source', owner.name)})" if owner else ""),
                hint=f"Give it another name, e.g. Read({{'{variable.name}_2': handle}})",
            )
        self.variables[variable.name] = variable
        return variable

    def record(self, name: str, variables: Mapping[Any, Variable | Handle]) -> Group:
        """Declare data recorded together at each point of the current scope.

        ``variables`` maps the keys the step records with (handles, or strings) to a
        :class:`Variable` — whose ``dims``/``shape`` are those of one item, the scope is
        prepended — or to a handle (a scalar from its declaration). Data whose item shape is
        only known once it arrives (a camera frame) is declared at run time with
        ``ctx.declare``, under a name reserved here with :meth:`reserve`.
        """
        scope = self.scope
        lead_dims = tuple(d.name for d in scope)
        lead_shape = tuple(d.size for d in scope)
        group_name = name
        taken = {g.name for g in self.groups}
        number = 2
        while group_name in taken:
            group_name = f"{name}{number}"
            number += 1
        declared: dict[Any, Variable] = {}
        for key, spec in variables.items():
            if isinstance(spec, Handle):
                item = Variable(
                    handle_name(spec),
                    (),
                    (),
                    dtype_for_kind(spec.spec.kind),
                    handle_attrs(spec),
                    labels=text_labels(spec),
                )
                self.uses(spec)
            elif isinstance(spec, Variable):
                item = spec
            else:
                raise ConfigurationError(
                    f"{self.path}: record {key!r} as a Variable or a handle, not {spec!r}"
                )
            shape = lead_shape + item.shape
            full = Variable(
                item.name,
                lead_dims + item.dims,
                shape,
                item.dtype,
                dict(item.attrs),
                # An array item (a spectrum, a trace) is whole in its chunk, a few points per
                # chunk: every flush rewrites only a small chunk as it fills.
                chunks=choose_chunks(shape, item.itemsize, len(item.dims), ITEM_CHUNK_BYTES)
                if item.dims
                else None,
                compression=item.compression,
                item_ndim=len(item.dims),
                labels=item.labels,
            )
            declared[key] = self.add_variable(full)
        group = Group(group_name, scope, declared, self.path)
        self.groups.append(group)
        self._node.groups[group_name] = group
        return group

    def setpoints(self, handle: SettingHandle, values: Iterable[Any] | Any) -> np.ndarray:
        """Register values ``handle`` will be set to, for the dry run; returns them coerced.

        Values may carry units (``"500 mV"``, pint quantities); they come back as numbers in
        the setting's unit (or labels, or booleans), ready to store as a coordinate.
        """
        if not isinstance(handle, SettingHandle):
            raise ConfigurationError(
                f"{self.path}: {handle!r} is not a setting handle",
                hint="Sweep a setting: smu.settings.voltage (not smu.voltage or a string)",
            )
        self.uses(handle)
        raw = list(values) if _iterable(values) else [values]
        spec = handle.spec
        coerced = []
        for position, value in enumerate(raw):
            try:
                coerced.append(spec.coerce(value, where=handle.name))
            except LabkitError as error:
                raise _at_step(error, self.path, handle, position, value) from None
        if spec.numeric:
            array = np.asarray(coerced, dtype="float64" if spec.kind == "float" else "int64")
        elif spec.kind == "bool":
            array = np.asarray(coerced, dtype=bool)
        else:
            array = np.asarray(coerced, dtype=object)
        self.setpoint_checks.append(Setpoints(self.path, handle, array))
        return array

    def item_axis(self, names: Iterable[str], axis: Any, source: str) -> str:
        """The dimension an array reading's ``axis`` is recorded along: the first of ``names``
        that is free or already holds the same coordinate (readings sharing an axis share
        it). Creates its coordinate variable, with the axis's unit."""
        tried = []
        for name in names:
            known = self.item_axes.get(name)
            if known is not None and known.same_coordinate(axis):
                return name
            if known is None and name not in self.dims and name not in self.variables:
                if name in self._reserved:
                    continue
                coordinate = axis.coordinate()
                attrs: dict[str, Any] = {"long_name": axis.label or axis.name, "source": source}
                if axis.unit:
                    attrs["units"] = axis.unit
                dtype = "int64" if coordinate.dtype.kind in "iu" else "float64"
                self.add_variable(
                    Variable(name, (name,), (len(coordinate),), dtype, attrs, data=coordinate)
                )
                self.item_axes[name] = axis
                return name
            tried.append(name)
        raise ConfigurationError(
            f"{self.path}: {source}'s axis {axis.name!r} cannot be recorded: "
            f"{', '.join(map(repr, tried))} already hold other data",
            hint="Record it under another name: Read({'name': handle})",
        )

    def reserve(self, *names: str) -> None:
        """Keep variable names free for data declared at run time (``ctx.declare``)."""
        for name in names:
            if name in self.variables or name in self._reserved or name in self.dims:
                raise ConfigurationError(
                    f"{self.path}: {name!r} would be recorded twice",
                    hint="Give the step another name=",
                )
            self._reserved.add(name)

    def uses(self, *handles: Handle) -> None:
        """Note the instruments the plan talks to (checked connected, listed in the catalog)."""
        for handle in handles:
            self.instruments.setdefault(handle.instrument.name, handle.instrument)

    def describe(self, **details: Any) -> None:
        """Add to how the step being prepared appears in the run's metadata."""
        self._node.description.update(details)

    # -- finishing --------------------------------------------------------------------------

    def finish(self) -> Plan:
        groups = self.groups
        single = len(groups) == 1
        for group in groups:
            group.time = "time" if single else f"time_{group.name}"
            if group.time in self.variables or group.time in self.dims:
                raise ConfigurationError(
                    f"{group.owner}: {group.time!r} is taken; rename the data or the dimension"
                )
            time_variable = Variable(
                group.time,
                group.dims,
                tuple(d.size for d in group.scope),
                "time",
                {"long_name": f"time of each {group.name} point", "standard_name": "time"},
            )
            self.add_variable(time_variable)
            coordinates = " ".join([group.time, *group.coordinates])
            for variable in group.variables.values():
                if variable.name not in group.coordinates:
                    variable.attrs.setdefault("coordinates", coordinates)
        return Plan(self)


def _iterable(values: Any) -> bool:
    if isinstance(values, (str, bytes)):
        return False
    if hasattr(values, "magnitude"):  # a pint Quantity: an array of values, or one value
        return np.ndim(values.magnitude) > 0
    return isinstance(values, Iterable)


def _at_step(error: LabkitError, path: str, handle: Handle, position: int | None, value: Any):
    """The same error, its message saying which step (and which point) it came from."""
    where = f"step {path}"
    if position is not None:
        where += f", point {position}"
    error.message = f"{where}: {error.message}"
    error.args = (error.message,)
    error.step = path  # type: ignore[attr-defined]  # a tag for the run's failure report
    if error.instrument is None:
        error.instrument = handle.instrument.name
    if error.setting is None:
        error.setting = handle.name
    return error


class Plan:
    """A prepared plan: the step tree, the store layout, the points, the set-points."""

    def __init__(self, builder: PlanBuilder) -> None:
        self.root = builder.root
        self.dims = dict(builder.dims)
        self.variables = dict(builder.variables)
        self.groups = list(builder.groups)
        self.setpoints = list(builder.setpoint_checks)
        self.instruments = dict(builder.instruments)

    @classmethod
    def build(cls, steps: Iterable[Any]) -> Plan:
        builder = PlanBuilder()
        count = 0
        for step in steps:
            builder.step(step)
            count += 1
        if count == 0:
            raise ConfigurationError("a run needs at least one step")
        return builder.finish()

    @property
    def steps(self) -> list[Any]:
        return [node.step for node in self.root.children]

    @property
    def total(self) -> int | None:
        """Points the plan records (estimated for open-ended series), None if unknown."""
        counts = [group.points for group in self.groups]
        known = [count for count in counts if count is not None]
        return sum(known) if len(known) == len(counts) else None

    def describe(self) -> dict[str, Any]:
        return {
            "steps": [child.tree() for child in self.root.children],
            "dims": {name: dim.size for name, dim in self.dims.items()},
            "variables": {name: v.describe() for name, v in self.variables.items()},
            "points": self.total,
        }

    def check(self) -> CheckReport:
        """The dry run: every set-point against the limits in force now, no I/O.

        Raises the instrument's own error (``LimitError``, ``LockedError``, ``ChoiceError``...)
        with the step, setting and value named; returns what was checked.
        """
        for name, instrument in self.instruments.items():
            if not instrument.connected:
                raise NotConnectedError(
                    "the plan uses it but it is not connected",
                    instrument=name,
                    hint=f"Reconnect it ({name}.reconnect()) before starting the run",
                )
        report = CheckReport()
        for entry in self.setpoints:
            handle, values = entry.handle, entry.values
            for position, value in values_to_check(handle, values):
                try:
                    handle.check(value)
                except LabkitError as error:
                    raise _at_step(error, entry.path, handle, position, value) from None
            report.append(summarise(entry.path, handle, values))
        report.store = store_estimate(self.variables.values(), self.dims)
        return report
