"""The short forms a notebook uses: ``labkit.sweep``, ``labkit.grid``, ``labkit.timeseries``,
``labkit.run`` and ``labkit.dry_run``.

Each starts a run and returns its :class:`Run` at once (the dry run only checks). Run options
are the same everywhere: ``name``, ``metadata`` (searchable with ``labkit.find_runs(key=value)``),
``suspenders``, ``data_root`` (a folder or a store URL such as ``s3://bucket/runs``) with
``storage_options``, ``progress`` (a terminal progress bar) and ``flush_interval`` (seconds
between flushes; by default 0.2 s on a local disk, 1 s on object storage).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from labkit.core import SettingHandle
from labkit.runs._basic import as_step
from labkit.runs._engine import start
from labkit.runs._loops import Grid, Sweep, TimeSeries
from labkit.runs._plan import CheckReport, Plan
from labkit.runs._run import Run

__all__ = ["dry_run", "grid", "plan", "run", "sweep", "timeseries"]


def _steps(steps: Iterable[Any]) -> list[Any]:
    return [as_step(step) for step in steps]


def run(
    *steps: Any,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    suspenders: Iterable[Any] = (),
    data_root: Any = None,
    storage_options: dict[str, Any] | None = None,
    progress: bool | None = None,
    flush_interval: float | None = None,
    redo_on_suspend: bool = True,
) -> Run:
    """Start a run of ``steps`` (one after the other); returns its :class:`Run` at once.

    Before anything moves, every set-point is checked against the limits (refusing the whole
    plan with the step, setting and value named) and the data root is checked writable.
    """
    return start(
        _steps(steps),
        name=name,
        metadata=metadata,
        suspenders=suspenders,
        data_root=data_root,
        storage_options=storage_options,
        progress=progress,
        flush_interval=flush_interval,
        redo_on_suspend=redo_on_suspend,
    )


def plan(*steps: Any) -> Plan:
    """Prepare ``steps`` without running them: the layout, the points, ``.check()``."""
    return Plan.build(_steps(steps))


def dry_run(*steps: Any) -> CheckReport:
    """Check every set-point of ``steps`` against the limits in force, with no I/O."""
    return plan(*steps).check()


def sweep(
    setting: SettingHandle,
    values: Iterable[Any],
    *body: Any,
    read: Any = (),
    settle: Any = 0,
    dim: str | None = None,
    until: Any = None,
    **options: Any,
) -> Run:
    """Sweep one setting over ``values``, reading ``read`` (and running ``body``) at each,
    stopping early once ``until`` holds (see :class:`Sweep`).

    ``run = labkit.sweep(smu.settings.voltage, np.linspace(0, 1, 101),
    read=[dmm.readings.current], name="iv", until=dmm.readings.current > "5 mA")``
    """
    step = Sweep(setting, values, *body, read=read, settle=settle, dim=dim, until=until)
    options.setdefault("name", "sweep")
    return run(step, **options)


def grid(
    *axes: Any,
    read: Any = (),
    body: Iterable[Any] = (),
    snake: bool = False,
    settle: Any = 0,
    dims: Iterable[str] | None = None,
    until: Any = None,
    **options: Any,
) -> Run:
    """Every combination of several settings' values, first axis outermost (stopping early
    once ``until`` holds).

    ``labkit.grid({gate.settings.voltage: vg, smu.settings.voltage: vsd},
    read=[dmm.readings.current], snake=True)``
    """
    step = Grid(*axes, read=read, body=body, snake=snake, settle=settle, dims=dims, until=until)
    options.setdefault("name", "grid")
    return run(step, **options)


def timeseries(
    read: Any,
    *body: Any,
    count: int | None = None,
    duration: Any = None,
    rate: float | None = None,
    interval: Any = None,
    until: Any = None,
    dim: str = "sample",
    **options: Any,
) -> Run:
    """Read at a steady rate, by count, for a duration, or until a condition holds.

    ``labkit.timeseries([tc.readings.temperature], duration="10 min", rate=2)``
    """
    step = TimeSeries(
        read,
        *body,
        count=count,
        duration=duration,
        rate=rate,
        interval=interval,
        until=until,
        dim=dim,
    )
    options.setdefault("name", "timeseries")
    return run(step, **options)
