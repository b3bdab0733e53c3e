"""``TimedAcquisition``: what an instrument that keeps time itself offers a run.

An SMU stepping through its own sweep, a DMM sampling on its timer or on external triggers, a
generator firing bursts: each is armed (configured and left waiting), then started by one of
them (the *leader*: a software start, a bus trigger, the first edge of a trigger output), then
collected (its buffer read back). The run step that coordinates them (``labkit.runs.Triggered``)
only knows this protocol, so any driver — or plugin — can take part.

Everything a dry run must check is known before any I/O: the points an acquisition records,
the set-points it will step through by itself (checked against the setting's limits, as a
software sweep's are), its buffer and its trigger source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy stays out of ``import labkit``
    import numpy as np

__all__ = ["Acquired", "RecordedQuantity", "TimedAcquisition"]


@dataclasses.dataclass(frozen=True)
class RecordedQuantity:
    """One quantity an acquisition records at each of its points: a number, or an array
    along ``dims`` (a camera's image: ``("y", "x")``) whose shape and type come with the data."""

    name: str
    unit: str | None = None
    long_name: str = ""
    dims: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Acquired:
    """What an acquisition collected: ``values`` per quantity and the time of each point in
    seconds after the start. A follower paced by another's trigger output gives the time of
    each point after *its trigger* and the trigger's number (``trigger_index``); a leader
    with a trigger output gives the times of its edges after the start (``edges``)."""

    values: Mapping[str, np.ndarray]
    times: np.ndarray
    trigger_index: np.ndarray | None = None
    edges: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.times.size)


@runtime_checkable
class TimedAcquisition(Protocol):
    """An instrument-timed acquisition, planned and checked, ready to arm.

    ``points``: how many points it records (0 for a pure trigger source).
    ``quantities``: what it records at each point. ``setpoints``: ``(setting handle, values)``
    pairs the instrument will step through by itself, for the dry run. ``trigger``: what
    starts it (``"start"`` when it starts itself on :meth:`start`, ``"external"``, ``"bus"``).
    """

    instrument: Any
    name: str
    points: int
    quantities: Sequence[RecordedQuantity]
    setpoints: Sequence[tuple[Any, np.ndarray]]
    trigger: str

    def describe(self) -> dict[str, Any]:
        """Plain data for the run's metadata: buffer size, trigger source, timing."""
        ...

    def arm(self) -> None:
        """Configure the instrument and leave it waiting for its start or trigger (I/O)."""
        ...

    def start(self) -> None:
        """Start the acquisition (the leader's part: the others wait for its trigger)."""
        ...

    def collect(self, timeout: float) -> Acquired:
        """Wait for the acquisition to end (at most ``timeout`` s more than it needs) and
        read back what it recorded."""
        ...

    def seconds(self) -> float:
        """How long the instrument needs once started, per its own timing."""
        ...
