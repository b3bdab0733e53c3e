"""A live camera view: the image with a colormap and colour bar, contrast, histogram, ROI.

``labkit.ui.camera_view(camera)`` shows any camera that follows :class:`labkit.core.Camera`
(GenICam, PVCAM, a plugin's): it subscribes a one-frame queue, so the camera never waits for
it and the newest frame always wins. A run with a ``CameraStream`` shows the same view.

The view is made of three parts it holds: its widgets and their layout
(:class:`~labkit.ui._camera_layout.CameraLayout`, ``view.ui``), the drawing of frames into
them (:class:`~labkit.ui._camera_picture.CameraPicture`, ``view.drawing``: the image and colour
pipeline, the colour bar, histogram and counters) and the ROI a person brushes on the picture
(:class:`~labkit.ui._camera_roi.RoiDrawing`, ``view.roi_drawing``). Each render (on the
``labkit-live`` thread, see :mod:`labkit.ui._live`) takes the newest frame and has it drawn.
This module holds the view's options, its handlers, its camera control and its life.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from labkit.core import Region
from labkit.ui._camera_layout import CONTRAST_MODES, SHRINK_MODES, CameraLayout
from labkit.ui._camera_picture import CameraPicture
from labkit.ui._camera_roi import RoiDrawing
from labkit.ui._image import as_mono
from labkit.ui._live import DEFAULT_RATE, MAX_IN_FLIGHT, LiveChannel, Scheduler
from labkit.ui._parts import PartChooser
from labkit.ui._roi import RoiControl, roi_control
from labkit.ui._sources import QueueSource, RecordedSource
from labkit.ui._sync import Pending, guarded, is_quiet, log, quietly

__all__ = ["CONTRAST_MODES", "CameraView", "camera_view"]

_views: dict[int, CameraView] = {}
_views_lock = threading.Lock()


def camera_view(camera: Any, **options: Any) -> CameraView:
    """The live view of ``camera`` (the same one each time until it is closed).

    Options: ``size`` (the preview's longest side in pixels, 512), ``rate`` (updates per
    second at most, 25), ``colormap`` (``"gray"``, ``"viridis"``, ``"magma"``, ``"inferno"``,
    ``"hot"``), ``contrast`` (``"minmax"``, ``("percentile", 1, 99.5)`` or levels ``(lo, hi)``),
    ``gamma``, ``binning`` (``"mean"`` or ``"max"``: how a large frame is shrunk), ``part``
    (the image of a multi-part frame shown, e.g. a 3D camera's ``"coord3d_c"``; by default
    ``"intensity"``, see :mod:`labkit.ui._parts`), ``start`` (start the camera now),
    ``max_in_flight`` (updates the page may be behind by, 3).
    """
    with _views_lock:
        view = _views.get(id(camera))
        if view is not None and view.camera is camera and not view.closed:
            view.configure(**options)
            return view
    view = CameraView(camera, **options)
    with _views_lock:
        _views[id(camera)] = view
    return view


def _contrast_label(contrast: Any) -> str:
    for label, value in CONTRAST_MODES.items():
        if value == contrast:
            return label
    if isinstance(contrast, str) or (
        isinstance(contrast, tuple) and contrast[:1] == ("percentile",)
    ):
        raise ValueError(
            f"contrast {contrast!r} is not one the view offers; use 'minmax', "
            "('percentile', 1, 99.5), ('percentile', 0.1, 99.9) or levels (low, high)"
        )
    return "manual"


class _Widget:
    """One of the layout's widgets, reached from the view (``view.picture`` is
    ``view.ui.picture``): what a notebook or a test looks at stays one attribute away."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, view: Any, owner: type | None = None) -> Any:
        return self if view is None else getattr(view.ui, self.name)


class CameraView(widgets.VBox):
    """The live image of one camera, its controls and its counters."""

    picture = _Widget()
    figure = _Widget()
    status = _Widget()
    error = _Widget()
    counters = _Widget()
    brush = _Widget()
    x_scale = _Widget()
    y_scale = _Widget()
    bar = _Widget()
    bar_scale = _Widget()
    hist = _Widget()
    hist_x = _Widget()
    level_lines = _Widget()
    colormap_menu = _Widget()
    contrast_menu = _Widget()
    levels_slider = _Widget()
    shrink_menu = _Widget()
    live_button = _Widget()
    apply_button = _Widget()
    full_button = _Widget()
    roi_status = _Widget()

    def __init__(
        self,
        camera: Any = None,
        *,
        source: Any = None,
        title: str | None = None,
        size: int = 512,
        rate: float = DEFAULT_RATE,
        colormap: str = "gray",
        contrast: Any = "minmax",
        gamma: float | None = None,
        binning: str = "mean",
        part: str | None = None,
        roi: RoiControl | bool | None = True,
        start: bool = False,
        controls_camera: bool = True,
        recording: str | None = None,
        accounting: Callable[[], str] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduler: Scheduler | None = None,
    ) -> None:
        if camera is None and source is None:
            raise ValueError("a camera view needs a camera (or a frame source)")
        self.camera = camera
        self.source = source if source is not None else QueueSource(camera)
        self.pending = Pending()
        self.size = int(size)
        self.gamma = gamma
        self.binning = "mean"
        self.parts = PartChooser(part, self._redraw_last)
        self.accounting = accounting  # a run's frames stored and lost, where (one line)
        self._accounting_shown: str | None = None  # that line as the counters say it
        self._lock = threading.Lock()
        self._last_frame: Any = None
        self._redraw = False
        self._finishing: str | None = None  # "queued" (see finish), then "last"
        self._error_shown = False
        self._closed = False
        name = title or getattr(camera, "name", None) or "camera"
        self.channel = LiveChannel(
            self._render,
            rate=rate,
            max_in_flight=max_in_flight,
            poll=True,
            scheduler=scheduler,
        )
        self.ui = CameraLayout(
            name,
            extra_menu=self.parts.menu,
            live_button=controls_camera and camera is not None,
        )
        self.drawing = CameraPicture(self.ui, self.channel.clock, self._counters_text)
        if roi is True:
            roi = roi_control(camera) if camera is not None else None
        self.roi_drawing = RoiDrawing(
            self.ui,
            roi or None,
            recording=recording,
            instrument=getattr(camera, "name", None),
        )
        self._wire()
        super().__init__(self.ui.rows)
        self.add_class("labkit-camera-view")
        self.configure(colormap=colormap, contrast=contrast, binning=binning)
        self.source.open()
        self.channel.start()
        if start and camera is not None and not camera.acquiring:
            self._in_background(self._start_camera)

    def _wire(self) -> None:
        ui = self.ui
        ui.shrink_menu.observe(self._on_shrink, names="value")
        ui.colormap_menu.observe(self._on_colormap, names="value")
        ui.contrast_menu.observe(self._on_contrast, names="value")
        ui.levels_slider.observe(self._on_levels, names="value")
        ui.live_button.observe(self._on_live, names="value")
        ui.apply_button.on_click(lambda _: self._in_background(self.apply_roi))
        ui.full_button.on_click(lambda _: self._in_background(self.full_frame))

    # -- options ------------------------------------------------------------------------------

    def configure(
        self,
        *,
        colormap: str | None = None,
        contrast: Any = None,
        size: int | None = None,
        rate: float | None = None,
        gamma: float | None = None,
        binning: str | None = None,
        part: str | None = None,
        start: bool | None = None,
        **unknown: Any,
    ) -> None:
        """Change the view's options (the same names as :func:`camera_view`)."""
        unknown.pop("max_in_flight", None)
        if unknown:
            raise TypeError(f"unknown camera view option(s): {', '.join(unknown)}")
        if colormap is not None:
            self.drawing.set_colormap(colormap)
        if contrast is not None:
            label = _contrast_label(contrast if isinstance(contrast, str) else tuple(contrast))
            with quietly():
                self.contrast_menu.value = label
                if label == "manual":
                    low, high = (int(v) for v in contrast)
                    self.ui.widen_levels(max(high, 255))
                    self.levels_slider.value = (low, high)
            self.levels_slider.disabled = label != "manual"
        if size is not None:
            if int(size) < 8:
                raise ValueError(f"a camera view's size must be at least 8 pixels, not {size}")
            self.size = int(size)
        if rate is not None:
            self.channel.rate = rate
        if gamma is not None:
            self.gamma = gamma
        if binning is not None:
            if binning not in SHRINK_MODES.values():
                raise ValueError(f"binning must be 'mean' or 'max', not {binning!r}")
            self.binning = binning
            with quietly():
                self.shrink_menu.value = next(k for k, v in SHRINK_MODES.items() if v == binning)
        if part is not None:
            self.parts.choose(part)
        if start and self.camera is not None and not self.camera.acquiring:
            self._in_background(self._start_camera)
        self._redraw_last()

    @property
    def contrast(self) -> Any:
        """What ``preview`` is asked for: a mode, or manual levels (low, high)."""
        return self.ui.contrast

    @property
    def colormap(self) -> str:
        return self.drawing.colormap

    @property
    def roi(self) -> RoiControl | None:
        """How the camera's region of interest is set (None: labkit knows no way)."""
        return self.roi_drawing.roi

    @property
    def closed(self) -> bool:
        return self._closed

    # -- the region of interest ---------------------------------------------------------------

    def selection(self) -> Region | None:
        """The rectangle brushed on the image, in sensor pixels (None if there is none)."""
        return self.roi_drawing.selection()

    def apply_roi(self, region: Region | None = None) -> Region:
        """Make the camera read ``region`` (by default the brushed rectangle); returns the
        region it reads, after rounding to what the camera can do."""
        return self.roi_drawing.apply(region)

    def full_frame(self) -> Region:
        """Make the camera read its whole sensor again."""
        return self.roi_drawing.full()

    @guarded
    def _on_colormap(self, change: dict[str, Any]) -> None:
        if not is_quiet():
            self.drawing.set_colormap(change["new"])
            self._redraw_last()

    @guarded
    def _on_shrink(self, change: dict[str, Any]) -> None:
        if not is_quiet():
            self.binning = SHRINK_MODES[change["new"]]
            self._redraw_last()

    @guarded
    def _on_contrast(self, change: dict[str, Any]) -> None:
        self.levels_slider.disabled = CONTRAST_MODES[change["new"]] is not None
        if not is_quiet():
            self._redraw_last()

    @guarded
    def _on_levels(self, change: dict[str, Any]) -> None:
        if is_quiet():
            return
        low, high = change["new"]
        if low >= high:
            with quietly():
                self.levels_slider.value = (low, low + 1)
        self.contrast_menu.value = "manual"
        self._redraw_last()

    def _redraw_last(self) -> None:
        with self._lock:
            self._redraw = self._last_frame is not None
            self.drawing.force_levels()
        self.channel.touch()

    # -- rendering (on the labkit-live thread) -----------------------------------------------

    def _render(self) -> bool:
        source = self.source
        frame = source.latest()
        with self._lock:
            requested = self._redraw
            if frame is None and requested:
                frame = self._last_frame
            self._redraw = False
            if frame is not None:
                self._last_frame = frame
            finishing, self._finishing = self._finishing, None
        if finishing is not None:
            self._end(frame, last=finishing == "last")
            return True
        if frame is None:
            if self._explain_end():
                return True
            # The camera paused: bring the counters up to date (the run's accounting goes on
            # changing while its writer stores the frames it holds).
            return self.drawing.catch_up(counters=self._accounting_moved())
        self._draw(frame, details=requested)
        return True

    def _end(self, frame: Any, *, last: bool) -> None:
        """The recording ended: its last word, then let the camera go. A frame still queued
        is drawn, and the next render looks once more (an error may follow it)."""
        if frame is not None:
            self._draw(frame)
            if not last and self.channel.poll:
                with self._lock:
                    self._finishing = "last"
                return
        else:
            self.drawing.catch_up(counters=True, now=True)  # the run's accounting as it ended
            if not self._error_shown and not self._explain_end():
                self._show_state()  # (why it stopped, when that was said, stays)
        self.detach()

    def _explain_end(self) -> bool:
        """Show why the camera's frames stopped coming (it failed, or its stream ended),
        once; True if it did."""
        source = self.source
        if self._error_shown:
            return False
        if source.error is not None:
            self._show_error(source.error)
            return True
        if source.ended:
            self._stopped("the camera's stream ended (the camera was closed)")
            return True
        return False

    def _accounting_moved(self) -> bool:
        return self.accounting is not None and self.accounting() != self._accounting_shown

    def _draw(self, frame: Any, details: bool = True) -> None:
        """Draw ``frame`` now (the part of it the view shows), and follow the camera's state."""
        self.drawing.draw(
            as_mono(self.parts.image_of(frame)),
            getattr(frame, "regions", ()) or (),
            size=self.size,
            binning=self.binning,
            gamma=self.gamma,
            details=details,
        )
        self._show_state()

    def _show_state(self) -> None:
        """Follow the camera's state: live or stopped."""
        acquiring = self._acquiring()
        self.status.value = "live" if acquiring else "stopped"
        if acquiring is not None and self.live_button.value != acquiring:
            with quietly():
                self.live_button.value = acquiring

    def _counters_text(self, shape: tuple[int, int] | None, factor: tuple[int, int]) -> str:
        counters = self.source.counters
        parts = [
            f"frame {counters.frames}",
            f"camera {counters.rate():.1f} fps",
            f"view {self.channel.updates_per_second():.1f} /s",
            f"skipped {self.source.skipped}",
            f"dropped {counters.dropped}",
        ]
        keys = ["frames", "fps", "view", "skipped", "dropped"]
        if shape is not None:  # the size of the picture shown (none yet: no size)
            keys.append("size")
            parts.append(
                f"{shape[1]}×{shape[0]} px" + (f" shown 1:{factor[0]}" if factor != (1, 1) else "")
            )
        run_text = self.accounting() if self.accounting is not None else ""
        self._accounting_shown = run_text
        if run_text:
            keys.append("run")
            parts.append(f"run: {run_text}")
        spans = "".join(
            f'<span class="labkit-counter-{key}">{html.escape(text)}</span> · '
            for key, text in zip(keys, parts, strict=True)
        )
        return f"<small>{spans[:-3]}</small>"

    def _acquiring(self) -> bool | None:
        if self.camera is None:
            return None
        try:
            return bool(self.camera.acquiring)
        except Exception:
            return None

    def _show_error(self, error: BaseException) -> None:
        self._error_shown = True
        hint = getattr(error, "hint", None)
        text = f"<b>{html.escape(type(error).__name__)}</b>: {html.escape(str(error))}"
        if hint and hint not in str(error):
            text += f"<br><i>{html.escape(hint)}</i>"
        self.error.value = f'<div style="color: var(--jp-error-color1, #d32f2f)">{text}</div>'
        self.error.layout.display = None
        self._stopped("stopped: the camera failed")

    def _stopped(self, why: str) -> None:
        self._error_shown = True
        self.status.value = html.escape(why)
        self.channel.poll = False
        with quietly():
            self.live_button.value = False
        self.source.close()

    # -- camera control (off the kernel's thread: a camera may take a while) -------------------

    def _in_background(self, function: Any) -> None:
        self.pending.begin()

        def run() -> None:
            try:
                function()
            except Exception as error:
                log.debug("camera view: %s failed", function, exc_info=True)
                self._report(error)
            finally:
                self.pending.end()

        threading.Thread(target=run, name="labkit-camera-view", daemon=True).start()

    def _report(self, error: BaseException) -> None:
        hint = getattr(error, "hint", None)
        text = f"{type(error).__name__}: {error}" + (f" — {hint}" if hint else "")
        self.roi_status.value = (
            f'<span style="color: var(--jp-error-color1, #d32f2f)">{html.escape(text)}</span>'
        )

    @guarded
    def _on_live(self, change: dict[str, Any]) -> None:
        if is_quiet():
            return
        self._in_background(self._start_camera if change["new"] else self._stop_camera)

    def _start_camera(self) -> None:
        if self.source.queue is None or not self.source.active:
            self.source.open()  # after an error or the end of the stream: subscribe again
            self._error_shown = False
            self.error.layout.display = "none"
            self.channel.poll = True
            self.channel.start()
        if not self.camera.acquiring:
            self.camera.start()
        self.status.value = "live"

    def _stop_camera(self) -> None:
        if self.camera.acquiring:
            self.camera.stop()
        self.status.value = "stopped"

    # -- life ---------------------------------------------------------------------------------

    def finish(self) -> None:
        """What this view shows ended (a run that recorded the camera): show the newest frame
        still queued, or else the counters once more — with the run's ``accounting`` as it
        ended — then stop following the camera. Nothing is asked of the camera."""
        with self._lock:
            self._finishing = "queued"
        self.channel.touch()  # rendered once the page keeps up, however long that takes

    def detach(self) -> None:
        """Stop following the camera (the last picture stays)."""
        self.channel.poll = False
        self.source.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.detach()
        self.channel.close()
        self.ui.close()
        with _views_lock:
            if _views.get(id(self.camera)) is self:
                del _views[id(self.camera)]
        super().close()


def recorded_view(**options: Any) -> tuple[CameraView, RecordedSource]:
    """A view of frames a run records (``Snap``), and the source the run's hook feeds."""
    source = RecordedSource()
    return CameraView(source=source, controls_camera=False, roi=None, **options), source
