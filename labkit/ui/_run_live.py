"""A run's live views, chosen from its plan: lines, heat maps and camera images.

From the plan's record groups (what is recorded together over which dimensions):

- one dimension (a sweep, a time series, a repeat): lines of the group's numeric readings
  against the dimension's set-points (or the time since the run started), one figure per unit,
  with a legend when several readings share it;
- two or more: a heat map per reading over the two innermost dimensions (the newest slice of
  any outer ones), filling in as the grid is walked;
- a ``CameraStream``: the camera view, on a one-frame queue of its own; a ``Snap``: the frames
  the run records;
- an array reading (a spectrum, a trace): its latest trace against its coordinate, and a
  waterfall of the history (one row per point along the innermost dimension); a 2-D one
  (a trace per channel): its latest value as a heat map over both coordinates;
- points a learner chose (``Adaptive``): the value where each was taken.

Points reach the views through :meth:`Run.watch` once they are stored (after each flush of the
run's store), so a plot never shows a point a crash could lose. A view opened after the run
began first fills in what the store already holds, and the store is read once more when the
run ends, so the final picture is exactly what was saved. (A ``CameraStream``'s view follows
the camera itself: its picture previews; its ``run:`` counters say what the run stored and
lost, and where, and once the run has ended exactly what the run's attributes keep.)
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np

from labkit.runs import FrameStep, frames_summary
from labkit.runs._run import FINAL_STATUSES
from labkit.ui._array_image import ImagePlot
from labkit.ui._camera_view import CameraView, recorded_view
from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, Scheduler, default_scheduler
from labkit.ui._plots import Y_SCALES, Axis, HeatMapPlot, LinePlot
from labkit.ui._samples import SamplesPlot
from labkit.ui._sync import guarded, log
from labkit.ui._traces import TracePlot, WaterfallPlot

__all__ = ["RunLive", "live_view"]

CATCH_UP_DELAY = 1.5
"""Seconds after a view attaches to read the store again: points recorded before the view
watched the run reach the store within the run's flush interval (0.2 s by default, 1 s on
object storage)."""

_views: dict[str, RunLive] = {}
_views_lock = threading.Lock()


def live_view(run: Any, **options: Any) -> RunLive:
    """The live views of ``run`` (the same widget each time until it is closed, for the same
    options).

    ``y_scale="log"`` draws every line plot's y axis logarithmically, ``y_scale={"smu_current":
    "log"}`` only the plots of the readings named (a diode's current spans decades, the voltage
    across it does not).
    """
    key = f"{run.id} {sorted(options.items(), key=lambda item: item[0])!r}" if options else run.id
    with _views_lock:
        view = _views.get(key)
        if view is not None and not view.closed:
            return view
    view = RunLive(run, **options)
    with _views_lock:
        _views[key] = view
    return view


def _nodes(node: Any) -> Iterator[Any]:
    for child in node.children:
        yield child
        yield from _nodes(child)


def _numeric(variable: Any) -> bool:
    return variable.dtype not in ("string", "time")


def _axis(plan: Any, dim: str) -> Axis:
    coordinate = plan.variables.get(dim)
    if coordinate is not None and coordinate.dims == (dim,):
        # Its values: written with the plan, or planned (a sweep that may stop early).
        values = coordinate.data if coordinate.data is not None else plan.dims[dim].planned
        if values is not None:
            attrs = coordinate.attrs
            name = str(attrs.get("long_name") or dim)
            return Axis(dim, name, values, unit=attrs.get("units"))
    return Axis(dim, dim, None, plan.dims[dim].size)


def _described(plan: Any, name: str) -> tuple[str, str | None]:
    """A recorded variable's label and unit, for an axis."""
    attrs = plan.variables[name].attrs
    return str(attrs.get("long_name") or name), attrs.get("units")


def _y_scales(plan: Any, y_scale: str | Mapping[str, str]) -> dict[str, str]:
    """The y scale of each recorded reading's line plot; a name the run does not record, or a
    scale not known, is an error at once (not a plot silently left linear)."""
    names = [n for n, v in plan.variables.items() if _numeric(v) and not v.item_ndim]
    if isinstance(y_scale, str):
        wanted: Mapping[str, str] = dict.fromkeys(names, y_scale)
    else:
        wanted = y_scale
    for name, scale in wanted.items():
        if scale not in Y_SCALES:
            raise ValueError(
                f"y_scale of {name!r} must be one of {', '.join(Y_SCALES)}, not {scale!r}"
            )
        if name not in plan.variables:
            close = difflib.get_close_matches(name, names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(
                f"y_scale names {name!r}, which this run does not record{hint} "
                f"(it records {', '.join(names)})"
            )
    return dict(wanted)


def _start_ns(run: Any) -> int:
    try:
        started = _dt.datetime.fromisoformat(run.attrs["start_time"])
        return round(started.timestamp() * 1e9)
    except Exception:
        return 0


class RunLive(widgets.VBox):
    """Every live view of one run, fed from the run as it records."""

    def __init__(
        self,
        run: Any,
        *,
        rate: float = DEFAULT_RATE,
        size: int = 512,
        colormap: str | None = None,
        y_scale: str | Mapping[str, str] = "linear",
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.run = run
        self._y_scales = _y_scales(run.plan, y_scale)
        self.scheduler = scheduler or default_scheduler()
        self._options: dict[str, Any] = {
            "rate": rate,
            "max_in_flight": max_in_flight,
            "scheduler": self.scheduler,
        }
        self._start = _start_ns(run)
        self._feeders: list[Callable[[tuple[int, ...], dict[str, Any]], None]] = []
        self._fillers: list[Callable[[Any], None]] = []
        self._wanted: set[str] = set()  # the recorded values the views draw
        self.plots: list[Any] = []
        self.cameras: list[CameraView] = []
        self.closed = False
        self._final = False
        self._timers: list[threading.Timer] = []
        self._build(run.plan, size=size, colormap=colormap)
        figures = widgets.Box(
            [p.widget for p in self.plots],
            layout=widgets.Layout(display="flex", flex_flow="row wrap"),
        )
        super().__init__(([figures] if self.plots else []) + list(self.cameras))
        self.add_class("labkit-live")
        # Which run a figure shows, for the page (and browser tests): a class per run.
        tag = "labkit-run-" + re.sub(r"[^A-Za-z0-9_-]", "-", str(run.id))
        for view in self.plots:
            view.figure.add_class(tag)
        for camera in self.cameras:
            camera.add_class(tag)
        run.watch(self._on_record, names=self._wanted)
        run.observe(self._on_status, names="status")
        if run.status in FINAL_STATUSES:
            self._finish()
        else:
            self._later(0.0, self._catch_up)
            self._later(CATCH_UP_DELAY, self._catch_up)

    @property
    def views(self) -> list[Any]:
        return [*self.plots, *self.cameras]

    # -- building from the plan ----------------------------------------------------------------

    def _build(self, plan: Any, *, size: int, colormap: str | None) -> None:
        """The views of ``plan``'s record groups; ``colormap`` paints cameras (gray when not
        given) and the images of 2-D array readings (viridis when not given)."""
        cameras: dict[str, Any] = {}
        for node in _nodes(plan.root):
            if isinstance(node.step, FrameStep):
                cameras[node.path] = node.step
        for group in plan.groups:
            step = cameras.get(group.owner)
            if step is not None:
                self._camera(step, group, size=size, colormap=colormap or "gray")
                continue
            for variable in group.variables.values():
                if _numeric(variable) and variable.item_ndim == 1:
                    self._traces(plan, group, variable)
                elif _numeric(variable) and variable.item_ndim == 2:
                    self._image(plan, group, variable, colormap=colormap or "viridis")
            names = [v.name for v in group.variables.values() if _numeric(v) and not v.item_ndim]
            if not names or not group.dims:
                continue
            if group.coordinates and len(group.coordinates) <= 2:  # points a learner chose
                self._samples(plan, group, names)
            elif len(group.dims) == 1:
                self._lines(plan, group, names)
            else:
                for name in names:
                    self._heatmap(plan, group, name)

    def _lines(self, plan: Any, group: Any, names: list[str]) -> None:
        dim = group.dims[0]
        x = _axis(plan, dim)
        if x.values is None:  # no set-points (a time series, a feedback loop): by time
            x = Axis(dim, "time since the run started", None, None, unit="s")
        by_unit: dict[str, list[str]] = {}
        for name in names:
            by_unit.setdefault(plan.variables[name].attrs.get("units", ""), []).append(name)
        for unit, members in by_unit.items():
            attrs = [plan.variables[n].attrs for n in members]
            labels = [a.get("long_name") or n for a, n in zip(attrs, members, strict=True)]
            y_name = str(attrs[0].get("long_name") or members[0]) if len(members) == 1 else ""
            scales = {self._y_scales.get(n, "linear") for n in members}
            scale = "log" if "log" in scales else "linear"
            plot = LinePlot(
                x, members, labels, y_name, unit or None, y_scale=scale, **self._options
            )
            self.plots.append(plot)
            self._feed_lines(plot, group.time)

    def _feed_lines(self, plot: LinePlot, time_name: str) -> None:
        timed = plot.timed
        self._wanted.update(plot.names)
        if timed:
            self._wanted.add(time_name)

        def feed(index: tuple[int, ...], values: dict[str, Any]) -> None:
            if any(n in values for n in plot.names):
                when = values.get(time_name) if timed else None
                seconds = None if when is None else (int(when) - self._start) / 1e9
                plot.record(index[-1], values, seconds)

        def fill(ds: Any) -> None:
            data = {n: ds[n].values for n in plot.names if n in ds}
            times = None
            if timed and time_name in ds:
                stamps = ds[time_name].values.astype("datetime64[ns]").astype(np.int64)
                missing = stamps == np.iinfo(np.int64).min
                times = np.where(missing, np.nan, (stamps - self._start) / 1e9)
            plot.fill(data, times)

        self._feeders.append(feed)
        self._fillers.append(fill)

    def _heatmap(self, plan: Any, group: Any, name: str) -> None:
        variable = plan.variables[name]
        plot = HeatMapPlot(
            _axis(plan, group.dims[-1]),
            _axis(plan, group.dims[-2]),
            name,
            str(variable.attrs.get("long_name") or name),
            unit=variable.attrs.get("units"),
            title=str(variable.attrs.get("long_name") or name),
            **self._options,
        )
        self.plots.append(plot)
        self._wanted.add(name)

        def feed(index: tuple[int, ...], values: dict[str, Any]) -> None:
            if name in values:
                plot.record(index, values[name])

        def fill(ds: Any) -> None:
            if name in ds:
                plot.fill(ds[name].values)

        self._feeders.append(feed)
        self._fillers.append(fill)

    def _traces(self, plan: Any, group: Any, variable: Any) -> None:
        name, attrs = variable.name, variable.attrs
        item_dim = variable.dims[-1]
        x = _axis(plan, item_dim)
        label = str(attrs.get("long_name") or name)
        trace = TracePlot(x, name, label, attrs.get("units"), title=label, **self._options)
        self.plots.append(trace)
        waterfall = None
        if group.dims:
            waterfall = WaterfallPlot(
                x,
                _axis(plan, group.dims[-1]),
                name,
                label,
                unit=attrs.get("units"),
                **self._options,
            )
            self.plots.append(waterfall)
        self._wanted.update((name, group.time))

        def feed(index: tuple[int, ...], values: dict[str, Any]) -> None:
            if name in values:
                trace.record(values[name])
                if waterfall is not None:
                    waterfall.record_trace(index, values[name])

        def fill(ds: Any) -> None:
            if name not in ds or group.time not in ds:
                return
            if waterfall is not None:
                waterfall.fill(ds[name].values)
            if trace.traces:
                return
            stamps = ds[group.time].values.astype("datetime64[ns]").astype(np.int64)
            taken = np.flatnonzero(stamps.ravel() != np.iinfo(np.int64).min)
            if taken.size:  # the newest trace saved
                newest = int(np.argmax(stamps.ravel()[taken]))
                index = np.unravel_index(int(taken[newest]), stamps.shape)
                trace.record(ds[name][index].values)

        self._feeders.append(feed)
        self._fillers.append(fill)

    def _image(self, plan: Any, group: Any, variable: Any, *, colormap: str) -> None:
        name, attrs = variable.name, variable.attrs
        label = str(attrs.get("long_name") or name)
        x, y = _axis(plan, variable.dims[-1]), _axis(plan, variable.dims[-2])
        image = ImagePlot(
            x, y, name, label, unit=attrs.get("units"), colormap=colormap, **self._options
        )
        self.plots.append(image)
        self._wanted.update((name, group.time))

        def feed(index: tuple[int, ...], values: dict[str, Any]) -> None:
            if name in values:
                image.record_item(values[name])

        def fill(ds: Any) -> None:
            if image.items or name not in ds or group.time not in ds:
                return
            newest = _newest(ds[group.time].values)
            if newest is not None:
                image.record_item(ds[name][newest].values)

        self._feeders.append(feed)
        self._fillers.append(fill)

    def _samples(self, plan: Any, group: Any, names: list[str]) -> None:
        where = [(n, *_described(plan, n)) for n in group.coordinates]
        values = [
            n
            for n in names
            if n not in group.coordinates and plan.variables[n].attrs.get("role") != "learner loss"
        ]
        for value in values[:1]:  # the value the learner learns from comes first
            plot = SamplesPlot(where, (value, *_described(plan, value)), **self._options)
            self.plots.append(plot)
            self._wanted.update(plot.names)

            def feed(index: tuple[int, ...], recorded: dict[str, Any], plot=plot) -> None:
                plot.record(index[-1], recorded)

            def fill(ds: Any, plot=plot) -> None:
                plot.fill({n: ds[n].values for n in plot.names if n in ds})

            self._feeders.append(feed)
            self._fillers.append(fill)

    def _camera(self, step: Any, group: Any, *, size: int, colormap: str) -> None:
        options: dict[str, Any] = {**self._options, "size": size, "colormap": colormap}
        title = f"{getattr(step.camera, 'name', step.name)} — recorded as {step.name!r}"
        if step.continuous:  # the camera's own stream: a view of the camera itself
            recording = (
                f"run {self.run.id} records this camera: change its region of interest between "
                f"runs (labkit.ui.camera_view({getattr(step.camera, 'name', 'camera')}))"
            )
            view = CameraView(
                step.camera,
                title=title,
                controls_camera=False,
                recording=recording,
                accounting=lambda: _accounting_text(self.run, step),
                **options,
            )
            self.cameras.append(view)
            return
        view, source = recorded_view(title=title, **options)
        self.cameras.append(view)
        frame_name = step.name
        self._wanted.add(frame_name)

        def feed(index: tuple[int, ...], values: dict[str, Any]) -> None:
            pixels = values.get(frame_name)
            if pixels is not None:
                source.offer(pixels)
                view.channel.touch()

        def fill(ds: Any) -> None:
            if view.source.counters.shown or frame_name not in ds or group.time not in ds:
                return
            stamps = ds[group.time].values.astype("datetime64[ns]").astype(np.int64)
            taken = np.flatnonzero(stamps.ravel() != np.iinfo(np.int64).min)
            if taken.size:  # show the last frame saved
                index = np.unravel_index(int(taken[-1]), stamps.shape)
                source.offer(ds[frame_name][index].values)
                view.channel.touch()

        self._feeders.append(feed)
        self._fillers.append(fill)

    # -- feeding -------------------------------------------------------------------------------

    def _on_record(self, index: tuple[int, ...], values: dict[str, Any]) -> None:
        for feed in self._feeders:
            feed(index, values)

    def _on_status(self, change: dict[str, Any]) -> None:
        if change["new"] in FINAL_STATUSES:
            self._finish()

    def _finish(self) -> None:
        if self._final:
            return
        self._final = True
        self._later(0.0, self._final_catch_up)

    def _later(self, delay: float, function: Callable[[], None]) -> None:
        """Run ``function`` on a thread of its own after ``delay`` s: opening a store and
        reading it takes a while, and must hold up neither the run nor the renders."""
        timer = threading.Timer(delay, guarded(function))
        timer.name = "labkit-live-catch-up"
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _catch_up(self) -> None:
        """Fill the plots from what the store holds now."""
        if self.closed or not self._fillers:
            return
        try:
            ds = self.run.dataset
        except Exception:
            log.debug("live view: the run's store cannot be read yet", exc_info=True)
            return
        for fill in self._fillers:
            try:
                fill(ds)
            except Exception:
                log.exception("live view: filling a plot from the store failed")

    def _final_catch_up(self) -> None:
        self.run.unwatch(self._on_record)
        for timer in self._timers:
            if timer is not threading.current_thread():
                timer.cancel()  # an earlier catch-up not run yet is not needed any more
        self._catch_up()
        for view in self.cameras:
            # Draw what is queued and the run's final accounting, then stop following the
            # camera: the run is over.
            view.finish()

    def close(self) -> None:
        if getattr(self, "closed", True):  # closed, or never built (its options were refused)
            return
        self.closed = True
        for timer in self._timers:
            timer.cancel()
        self.run.unwatch(self._on_record)
        try:
            self.run.unobserve(self._on_status, names="status")
        except ValueError:
            pass
        for view in self.views:
            view.close()
        with _views_lock:
            for key in [key for key, view in _views.items() if view is self]:
                del _views[key]
        super().close()


def _newest(stamps: Any) -> tuple[int, ...] | None:
    """The index of the newest point saved, from the group's time stamps (None: none yet)."""
    stamps = np.asarray(stamps).astype("datetime64[ns]").astype(np.int64)
    taken = np.flatnonzero(stamps.ravel() != np.iinfo(np.int64).min)
    if not taken.size:
        return None
    newest = int(taken[int(np.argmax(stamps.ravel()[taken]))])
    return tuple(int(i) for i in np.unravel_index(newest, stamps.shape))


def _accounting_text(run: Any, step: Any) -> str:
    """The run's frames stored and lost, and where, for the camera's view: once the run has
    ended, as the run's attributes keep them (``attrs["frames"][name]``, complete: the step
    wrote them after its last frame was stored); while it runs, from the stream's ledger
    (``CameraStream.ledger``)."""
    if run.done:
        kept = (run.attrs.get("frames") or {}).get(step.name)
        if kept:
            return frames_summary(kept)
    ledger = getattr(step, "ledger", None)
    return ledger.summary() if ledger is not None else ""
