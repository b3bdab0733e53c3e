"""labkit.runs: experiment steps, the run engine and the Run handle.

Steps are objects with ``prepare(plan)`` and ``async run(ctx)`` (:class:`ExperimentStep`);
the built-ins are :class:`Set`, :class:`Read`, :class:`Wait`, :class:`Settle`, :class:`Call`,
:class:`Sequence`, :class:`Sweep`, :class:`Grid`, :class:`Repeat`, :class:`TimeSeries`,
:class:`Feedback`, :class:`CameraStream`, :class:`Snap` and :class:`Adaptive`; plugins add more through the
``labkit.steps`` entry points. :func:`run` starts a plan and returns a :class:`Run` at once.

Runs are found with ``labkit.find_runs(name="iv*", status="completed")``
(:func:`labkit.store.runs`). Calling this package, ``labkit.runs(...)``, still lists runs too,
with a ``DeprecationWarning``: a package that starts runs is not the catalog of them.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

from labkit.core import SettingInUse
from labkit.runs._adaptive import Adaptive
from labkit.runs._api import dry_run, grid, plan, run, sweep, timeseries
from labkit.runs._basic import Call, Read, Sequence, Set, Settle, SettleTimeout, Wait, as_step
from labkit.runs._camera import CameraStream, FrameStep, Snap
from labkit.runs._context import StepContext
from labkit.runs._engine import Suspender
from labkit.runs._feedback import PID, Feedback
from labkit.runs._ledger import frames_summary
from labkit.runs._loops import Grid, Repeat, Sweep, TimeSeries, grid_positions
from labkit.runs._plan import CheckReport, Plan, PlanBuilder
from labkit.runs._registry import available_steps, get_step, register_step, step
from labkit.runs._run import Run, active_runs
from labkit.runs._step import ExperimentStep, is_step
from labkit.runs._triggered import Triggered

__all__ = [
    "PID",
    "Adaptive",
    "Call",
    "CameraStream",
    "CheckReport",
    "ExperimentStep",
    "Feedback",
    "FrameStep",
    "Grid",
    "Plan",
    "PlanBuilder",
    "Read",
    "Repeat",
    "Run",
    "Sequence",
    "Set",
    "SettingInUse",
    "Settle",
    "SettleTimeout",
    "Snap",
    "StepContext",
    "Suspender",
    "Sweep",
    "TimeSeries",
    "Triggered",
    "Wait",
    "active_runs",
    "as_step",
    "available_steps",
    "dry_run",
    "frames_summary",
    "get_step",
    "grid",
    "grid_positions",
    "is_step",
    "plan",
    "register_step",
    "run",
    "step",
    "sweep",
    "timeseries",
]


class _CatalogModule(types.ModuleType):
    """This module, callable for a while: ``labkit.runs(...)`` was how runs were listed."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            "labkit.runs(...) is now labkit.find_runs(...) (labkit.runs is the package of steps "
            "and the run engine)",
            DeprecationWarning,
            stacklevel=2,
        )
        from labkit.store import runs as catalog

        return catalog(*args, **kwargs)


sys.modules[__name__].__class__ = _CatalogModule
