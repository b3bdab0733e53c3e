"""What a dry run reports: every setting checked with its count and range, and the size the
run's store will have (array readings included) before anything is acquired."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from labkit.core import SettingHandle
from labkit.core._units import format_quantity
from labkit.store import Variable

__all__ = [
    "CheckReport",
    "CheckedSetting",
    "StoreEstimate",
    "store_estimate",
    "summarise",
    "values_to_check",
]


@dataclasses.dataclass(frozen=True)
class CheckedSetting:
    step: str
    setting: str
    count: int
    low: Any
    high: Any
    unit: str | None

    def __str__(self) -> str:
        if self.count == 1 or self.low == self.high:
            span = format_quantity(self.low, self.unit)
        else:
            span = (
                f"{format_quantity(self.low, self.unit)} … {format_quantity(self.high, self.unit)}"
            )
        return (
            f"{self.setting}: {self.count} value{'s' * (self.count != 1)} in {span} ({self.step})"
        )


@dataclasses.dataclass(frozen=True)
class StoreEstimate:
    """The bytes a run's arrays will hold, uncompressed (open-ended dimensions at their
    expected length); ``estimated`` says an open-ended dimension's length was expected, not
    known; ``arrays`` lists the array readings with their size per point."""

    bytes: int | None
    estimated: bool
    arrays: tuple[tuple[str, tuple[int, ...], int], ...]  # name, item shape, bytes per item

    def __str__(self) -> str:
        if self.bytes is None:
            text = "store size: unknown (an open-ended dimension has no expected length)"
        else:
            about = "about " if self.estimated else ""
            text = f"store size: {about}{_bytes(self.bytes)} uncompressed"
        for name, shape, size in self.arrays:
            text += f"\n    {name}: {' × '.join(map(str, shape))} per point ({_bytes(size)})"
        return text


class CheckReport(list):
    """What a dry run checked: every setting, how many values, their range; and ``store``,
    the size the run's store will have."""

    store: StoreEstimate | None = None

    def __repr__(self) -> str:
        lines = [f"  {line}" for line in self]
        if self.store is not None:
            lines.append(f"  {self.store}")
        if not self:
            return "dry run: the plan sets nothing" + ("\n" + "\n".join(lines) if lines else "")
        return "dry run passed:\n" + "\n".join(lines)


def store_estimate(variables: Iterable[Variable], dims: Mapping[str, Any]) -> StoreEstimate:
    """The size of every array of the run, uncompressed (labels and metadata aside)."""
    total, estimated, unknown = 0, False, False
    arrays = []
    for variable in variables:
        count = 1
        for dim, size in zip(variable.dims, variable.shape, strict=True):
            if size is None:
                expected = getattr(dims.get(dim), "estimate", None)
                if expected is None:
                    unknown = True
                    break
                size, estimated = expected, True
            count *= size
        if variable.item_ndim and variable.data is None:
            item = variable.shape[len(variable.shape) - variable.item_ndim :]
            per = variable.itemsize * math.prod(item)
            arrays.append((variable.name, tuple(item), per))
        total += count * variable.itemsize
    return StoreEstimate(None if unknown else total, estimated, tuple(arrays))


def _bytes(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1000  # type: ignore[assignment]
    raise AssertionError  # pragma: no cover


def values_to_check(handle: SettingHandle, values: np.ndarray) -> Iterator[tuple[int, Any]]:
    """Each distinct value once; for plain numbers only the extremes (limits are intervals)."""
    if values.size == 0:
        return
    spec = handle.spec
    if spec.numeric and spec.choices is None and values.dtype.kind in "fiu":
        if values.dtype.kind == "f" and np.isnan(values).any():
            where = int(np.flatnonzero(np.isnan(values))[0])
            yield where, float("nan")
            return
        low, high = int(np.argmin(values)), int(np.argmax(values))
        yield low, values[low].item()
        if high != low:
            yield high, values[high].item()
        return
    seen: set[Any] = set()
    for position, value in enumerate(values.tolist()):
        if value not in seen:
            seen.add(value)
            yield position, value


def summarise(path: str, handle: SettingHandle, values: np.ndarray) -> CheckedSetting:
    if values.dtype.kind in "fiu" and values.size:
        low, high = values.min().item(), values.max().item()
    else:
        listed = values.tolist()
        low, high = (listed[0], listed[-1]) if listed else (None, None)
    return CheckedSetting(path, handle.full_name, int(values.size), low, high, handle.unit)
