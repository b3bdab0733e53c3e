"""Array readings: the axes they are declared with, and how their values are checked.

A spectrum, a scope trace or a meter's reading buffer is one reading whose value is an array.
It is declared once, like a scalar reading, with its axes::

    spectrum = Reading(unit="counts", axes=[Axis("wavelength", unit="nm")])
    trace = Reading(unit="V", axes=[Axis("time", size=1200, unit="s", step=1e-6)])

Each :class:`Axis` names a dimension and may say its length and its coordinate: explicit
``values`` (a spectrometer's wavelength calibration), a linear ``start``/``step`` (a scope's
time axis from its preamble) or nothing (an index: a buffer's reading number). What is only
known at connect, or changes with a setting, is told by the driver with
:meth:`Instrument.update_declaration <labkit.core.Instrument.update_declaration>`
(``axes=[axis.with_values(wavelengths)]``).

NumPy is imported only when an array value is checked, so ``import labkit`` stays light.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from labkit.core._errors import DeclarationError, ReplyError

__all__ = [
    "ARRAY_DTYPES",
    "Axis",
    "array_summary",
    "as_axes",
    "check_array",
    "check_axes",
    "parse_array",
]

ARRAY_DTYPES = ("float64", "float32", "int64", "int32", "int16", "uint16", "uint8", "bool")
"""Element types an array reading may declare (all core Zarr v3 data types)."""

_JSON_VALUES = 4096  # coordinates up to this length go into a declaration's plain data


@dataclasses.dataclass(frozen=True, eq=False)
class Axis:
    """One dimension of an array reading: its name, length, coordinate and unit.

    ``size`` is the length (None: known once the instrument is connected). The coordinate is
    ``values`` (one per element), or ``start + step * i`` when ``step`` is given, or the
    index ``0 … size-1`` when neither is. ``unit`` and ``label`` describe the coordinate.
    """

    name: str
    size: int | None = None
    unit: str | None = None
    values: Any = None
    start: float = 0.0
    step: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.values is not None:
            values = self.values
            if not isinstance(values, tuple) and not hasattr(values, "shape"):
                values = tuple(values)
            length = len(values)
            if self.size is not None and self.size != length:
                raise DeclarationError(
                    f"axis {self.name!r} has {length} coordinate values but size {self.size}"
                )
            object.__setattr__(self, "values", values)
            object.__setattr__(self, "size", length)

    @property
    def linear(self) -> bool:
        return self.values is None and self.step is not None

    def with_values(self, values: Any, **changes: Any) -> Axis:
        """This axis with new coordinate values (its size follows them)."""
        return dataclasses.replace(self, values=values, size=None, step=None, **changes)

    def with_size(self, size: int, **changes: Any) -> Axis:
        """This axis with a new length (a linear or index coordinate follows it)."""
        return dataclasses.replace(self, size=int(size), values=None, **changes)

    def coordinate(self) -> Any:
        """The coordinate as a NumPy array (float for linear axes and real values, int64 for
        an index and whole-number values such as channel numbers), or None while the size is
        unknown."""
        import numpy as np

        if self.values is not None:
            values = np.asarray(self.values)
            return values.astype(np.int64 if values.dtype.kind in "iub" else float)
        if self.size is None:
            return None
        if self.step is not None:
            return self.start + self.step * np.arange(self.size, dtype=float)
        return np.arange(self.size, dtype=np.int64)

    def same_coordinate(self, other: Axis) -> bool:
        """The same length and coordinate values (and unit): such axes may share a dimension."""
        if self.size != other.size or self.unit != other.unit:
            return False
        if self.values is None and other.values is None:
            return self.start == other.start and self.step == other.step
        import numpy as np

        mine, theirs = self.coordinate(), other.coordinate()
        return bool(np.array_equal(mine, theirs))

    def jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "size": self.size}
        for field in ("unit", "label", "step"):
            value = getattr(self, field)
            if value is not None:
                out[field] = value
        if self.step is not None:
            out["start"] = self.start
        if self.values is not None and len(self.values) <= _JSON_VALUES:
            out["values"] = self.coordinate().tolist()
        return out

    def __repr__(self) -> str:
        extra = f", unit={self.unit!r}" if self.unit else ""
        return f"Axis({self.name!r}, size={self.size}{extra})"


def as_axes(axes: Iterable[Any] | None) -> tuple[Axis, ...] | None:
    """Axes from what a factory or a data table was given: Axis objects, names or dicts."""
    if axes is None:
        return None
    if isinstance(axes, (str, Axis)):
        axes = [axes]
    made = []
    for axis in axes:
        if isinstance(axis, Axis):
            made.append(axis)
        elif isinstance(axis, str):
            made.append(Axis(axis))
        elif isinstance(axis, dict):
            made.append(Axis(**axis))
        else:
            raise DeclarationError(
                f"{axis!r} is not an axis", hint="Give Axis('time', unit='s') or a name"
            )
    return tuple(made)


def check_axes(axes: Sequence[Axis] | None, dtype: str | None, fail: Any) -> None:
    """Refuse array declarations that cannot work (called by ``validate_declaration``)."""
    if not axes:
        fail("an array reading needs at least one axis", "Reading(axes=[Axis('time')])")
        return
    names = [axis.name for axis in axes]
    for axis in axes:
        if not isinstance(axis.name, str) or not axis.name.isidentifier():
            fail(f"axis name {axis.name!r} is not a usable name")
        if axis.size is not None and not (
            isinstance(axis.size, numbers.Integral) and axis.size >= 0
        ):
            fail(f"axis {axis.name!r}: size {axis.size!r} must be a whole number ≥ 0")
        if axis.step is not None and not (
            isinstance(axis.step, numbers.Real) and math.isfinite(axis.step) and axis.step != 0
        ):
            fail(f"axis {axis.name!r}: step {axis.step!r} must be a finite non-zero number")
    if len(set(names)) != len(names):
        fail(f"axis names must differ: {', '.join(names)}")
    if dtype not in ARRAY_DTYPES:
        fail(f"dtype {dtype!r} is not one of {', '.join(ARRAY_DTYPES)}")


def check_array(value: Any, axes: Sequence[Axis], dtype: str, where: str) -> Any:
    """An instrument's array as a NumPy array of the declared type and shape, or ReplyError."""
    import numpy as np

    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ReplyError(
            f"the instrument's data is not an array of {dtype} ({error})", setting=where
        ) from None
    shape = tuple(axis.size for axis in axes)
    if array.ndim != len(shape) or any(
        size is not None and size != got for size, got in zip(shape, array.shape, strict=False)
    ):
        expected = " × ".join(f"{a.name} {'?' if a.size is None else a.size}" for a in axes)
        raise ReplyError(
            f"the instrument returned an array of shape {array.shape}, the declaration says "
            f"{expected}",
            setting=where,
            hint="The driver must update the declaration (update_declaration) when the "
            "instrument's record length changes",
        )
    return array


def parse_array(text: str, axes: Sequence[Axis], dtype: str, where: str) -> Any:
    """A reply of comma-separated numbers (SCPI's list of readings) as a checked array."""
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    try:
        numbers_ = [float(part) for part in parts]
    except ValueError:
        raise ReplyError(
            f"expected comma-separated numbers, the instrument answered {text[:80]!r}",
            setting=where,
            reply=text[:80],
        ) from None
    return check_array(numbers_, axes, dtype, where)


def array_summary(value: Any) -> dict[str, Any] | None:
    """What a snapshot keeps of an array's last value: its shape and range, not its data."""
    if value is None:
        return None
    import numpy as np

    array = np.asarray(value)
    summary: dict[str, Any] = {"shape": list(array.shape)}
    if array.size and array.dtype.kind in "fiub":
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        if finite.size:
            summary.update(min=float(finite.min()), max=float(finite.max()))
    return summary
