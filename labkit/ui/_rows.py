"""One row of a panel per setting or reading: label | control and unit | read-back | status.

A setting's row sends a user's change with ``handle.submit`` (validation errors raise at once,
before any byte), shows that the hardware is busy until the instrument acknowledged, and on a
refusal shows the message and puts the control back on the last acknowledged value without
sending anything. Values changed from code (or by a run) arrive through the instrument's
traits and move the control, quietly. While the panel's own change is in flight (a ramp), the
control stays on the target the user chose and the status line shows progress. Observers only
mark a row for redrawing; :meth:`SettingRow.render` then shows the state as it is (``_sync``).

A read-back is a measurement: it is read after each change the panel makes, and when the
set-point changes from elsewhere it is shown as stale (greyed) rather than read again, so a
panel never adds I/O to a run.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from labkit.core import LabkitError, ReadingHandle, SettingHandle
from labkit.ui._controls import Control, control_kind, make_control
from labkit.ui._format import display_quantity, escape, format_value, title_of
from labkit.ui._style import FULL_ROW
from labkit.ui._sync import Pending, failure_of, guarded, log, quietly
from labkit.ui._whole import button, hbox, html, own_layout, shared_layout

if TYPE_CHECKING:
    from labkit.ui._panel import Section

__all__ = ["ErrorLine", "ReadingRow", "SettingRow", "describe_error", "icon_button"]

_SPINNER = '<i class="fa fa-spinner fa-spin labkit-spinner"></i>'
_LOCK = '<i class="fa fa-lock"></i>'


def describe_error(error: BaseException) -> str:
    """The message people read: labkit's own, or the type and text of anything unexpected."""
    if isinstance(error, LabkitError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def icon_button(icon: str, tooltip: str, *classes: str) -> widgets.Button:
    return button(
        "labkit-icon-button",
        *classes,
        icon=icon,
        tooltip=tooltip,
        layout=shared_layout(width="30px"),
    )


def row_tag(spec: Any) -> str:
    """``labkit-setting-<name>``, on every cell of a row: stable hooks for browser tests."""
    return f"labkit-setting-{spec.name}"


class ErrorLine:
    """A dismissable error under a row (or a section), spanning the whole grid."""

    def __init__(self, *classes: str) -> None:
        self.message = html("", "labkit-error-text", flex="1 1 auto")
        self.dismiss = icon_button("times", "Dismiss this message", "labkit-dismiss")
        self.dismiss.on_click(lambda _button: self.clear())
        self.widget = hbox(
            [self.message, self.dismiss],
            "labkit-error",
            *classes,
            layout=own_layout(grid_area=FULL_ROW, display="none", align_items="center"),
        )
        self.text = ""

    def show(self, error: BaseException | str) -> None:
        self.text = error if isinstance(error, str) else describe_error(error)
        self.message.value = f'<i class="fa fa-exclamation-triangle"></i> {escape(self.text)}'
        self.widget.layout.display = "flex"

    def clear(self) -> None:
        if not self.text and self.widget.layout.display == "none":
            return  # nothing shown: nothing to send
        self.text = ""
        self.message.value = ""
        self.widget.layout.display = "none"


class SettingRow:
    """A setting's widgets and the logic that keeps them honest."""

    def __init__(self, section: Section, handle: SettingHandle) -> None:
        self.section = section
        self.handle = handle
        self.spec = handle.spec
        self.instrument = handle.instrument
        self.pending: Pending = section.pending
        self._lock = threading.RLock()
        self._in_flight = 0
        self._target: Any = None
        self._shown: Any = None  # what the control shows while a change is in flight
        self._readback_stale = False
        self.readback_handle: ReadingHandle | None = (
            self.instrument.readings[self.spec.readback] if self.spec.readback else None
        )

        tag = row_tag(self.spec)
        self.label = html(escape(title_of(self.spec)), "labkit-label", tag, tooltip=self._tooltip())
        self.readback = html("", "labkit-readback", tag, width="96px")
        shown: list[Any] = []
        if self.readback_handle is not None:
            reading = self.readback_handle
            refresh = icon_button("refresh", f"Read {title_of(reading.spec).lower()} now")
            refresh.on_click(lambda _button: self.section.read(reading, self.error.show))
            shown = [self.readback, refresh]
        self.readback_cell = hbox(shown, tag)
        self.status = html("", "labkit-status", tag)
        self.error: ErrorLine = ErrorLine(tag)
        self.control_cell: Any = None  # made around the first control, whole
        self.kind = ""
        self.control: Control = None  # type: ignore[assignment]  # _build_control() sets it next
        self._build_control()
        self.control_cell = hbox([self.control.widget], tag)
        self.render()

        section.watch(self.instrument, self._on_value, [self.spec.name])
        if self.readback_handle is not None:
            section.watch(self.instrument, self._on_readback, [self.readback_handle.name])
        section.watch(
            handle.state, self._on_state, ["busy", "lock", "soft_min", "soft_max", "ramp_rate"]
        )

    # -- layout ----------------------------------------------------------------------------

    @property
    def cells(self) -> list[Any]:
        """The grid cells, in column order, then the error line spanning the grid."""
        return [self.label, self.control_cell, self.readback_cell, self.status, self.error.widget]

    def _tooltip(self) -> str:
        spec = self.spec
        parts = [spec.doc.strip()] if spec.doc else []
        low, high = spec.hard_range()
        if spec.numeric and spec.choices is None:
            if math.isfinite(low) and math.isfinite(high):
                parts.append(
                    f"Limits: {display_quantity(low, spec.unit)} … "
                    f"{display_quantity(high, spec.unit)}"
                )
            elif math.isfinite(low):
                parts.append(f"Limits: ≥ {display_quantity(low, spec.unit)}")
            elif math.isfinite(high):
                parts.append(f"Limits: ≤ {display_quantity(high, spec.unit)}")
        if spec.access == "r":
            parts.append("Read-only: set by the instrument")
        parts.append(self.handle.full_name)
        return "\n".join(parts)

    def _build_control(self) -> None:
        kind = control_kind(self.spec, self.handle.limits)
        control = make_control(
            kind,
            self.spec,
            self.handle.limits,
            self.handle.value,
            self.commit,
            tooltip=self.spec.doc or title_of(self.spec),
            classes=("labkit-control", row_tag(self.spec)),
        )
        control.guard(self._lock)
        old = self.control
        self.kind, self.control = kind, control
        if self.control_cell is not None:
            self.control_cell.children = (control.widget,)
        if old is not None:
            old.commit = _ignore
            old.close()

    # -- user's changes --------------------------------------------------------------------

    def commit(self, value: Any) -> Future[Any] | None:
        """Send ``value`` as a user's change would; None when it was refused before any I/O.

        The control shows ``value`` while the instrument works on it (where a user would have
        put it), and the last acknowledged value if the instrument refuses.
        """
        self.pending.begin()
        with self._lock:
            self._in_flight += 1
            self._target = self._understood(value)
            if not isinstance(value, str):  # text as typed stays as typed until acknowledged
                self.control.show(value)
                self._shown = value
            self.error.clear()
            try:
                future = self.handle.submit(value)
            except Exception as error:
                if not isinstance(error, LabkitError):
                    log.exception("labkit panel: setting %s failed", self.handle.full_name)
                self.error.show(error)
                self._settled()
                return None
            if isinstance(value, str):  # taken: the slider beside the box goes there too
                self.control.follow(self._target)
                self._shown = self._target
        self.section.redraw(self.render)
        future.add_done_callback(self._committed)
        return future

    def _understood(self, value: Any) -> Any:
        """``value`` as labkit reads it ("500 mV" → 0.5), for the status line; as given if it
        does not parse (the instrument's refusal will say why)."""
        try:
            return self.spec.coerce(value, where=self.spec.name)
        except Exception:
            return value

    def _committed(self, future: Future[Any]) -> None:
        error = failure_of(future)
        if error is not None:
            self.error.show(error)
        elif self.readback_handle is not None and not self.readback_side_effect():
            self.section.read(self.readback_handle, self.error.show)
        self._settled()

    def readback_side_effect(self) -> str | None:
        """Why reading the read-back now would change the instrument (None: it would not)."""
        if self.readback_handle is None:
            return None
        return self.readback_handle.spec.side_effect_of(self.readback_handle.instrument)

    def _settled(self) -> None:
        # One commit is over: the control goes back to following the instrument.
        with self._lock:
            self._in_flight -= 1
        self.section.redraw(self.render)
        self.pending.end()

    # -- the instrument's news (observers: on the instrument's threads, so only mark) ------

    @guarded
    def _on_value(self, change: dict[str, Any]) -> None:
        self._readback_stale = True
        self.section.redraw(self.render)

    @guarded
    def _on_readback(self, change: dict[str, Any]) -> None:
        self._readback_stale = False
        self.section.redraw(self.render)

    @guarded
    def _on_state(self, change: dict[str, Any]) -> None:
        self.section.redraw(self.render)

    # -- drawing ---------------------------------------------------------------------------

    def render(self) -> None:
        """Show the state as it is now: range, enabled, value, read-back, status."""
        with self._lock, quietly():
            limits = self.handle.limits
            shown = self.handle.value if self._in_flight == 0 else self._shown
            if control_kind(self.spec, limits) != self.kind:
                self._build_control()
            else:
                self.control.rerange(limits, shown)
            lock = self.handle.state.lock
            disabled = (
                not self.spec.writable
                or not self.instrument.connected
                or (lock is not None and lock.locks_value)
            )
            self.control.disabled = disabled
            if self._in_flight == 0:
                self.control.show(self.handle.value)
            self._show_readback()
            self._show_status()

    def _show_readback(self) -> None:
        if self.readback_handle is None:
            return
        spec = self.readback_handle.spec
        shown = escape(format_value(self.readback_handle.value, spec))
        title = f"Read-back: {title_of(spec).lower()}, measured"
        effect = self.readback_side_effect()
        if effect:
            title += f"; not read on its own: {effect} (⟳ reads it)"
        if self._readback_stale:
            title += "; the set-point changed since it was read (⟳ reads it again)"
            html = f'<span class="labkit-value labkit-stale">{shown}</span>'
        else:
            html = f'<span class="labkit-value">{shown}</span>'
        if self.readback.value != html:
            self.readback.value = html
            self.readback.tooltip = title

    def _show_status(self) -> None:
        state = self.handle.state
        spec = self.spec
        in_flight, target = self._in_flight > 0, self._target
        value = self.handle.value
        parts = []
        if state.busy or in_flight:
            if state.ramp_rate is not None and spec.kind == "float":
                goal = f" → {escape(display_quantity(target, spec.unit))}" if in_flight else ""
                now = escape(display_quantity(value, spec.unit))
                parts.append(
                    f'{_SPINNER} ramping{goal} <span class="labkit-muted">(now {now})</span>'
                )
            else:
                parts.append(f"{_SPINNER} setting…")
        elif state.ramp_rate is not None:
            rate = display_quantity(state.ramp_rate, f"{spec.unit}/s" if spec.unit else "1/s")
            parts.append(f'<span class="labkit-muted">ramps at {escape(rate)}</span>')
        if state.lock is not None:
            reason = f": {escape(state.lock.reason)}" if state.lock.reason else ""
            what = "locked" if state.lock.locks_value else "limits locked"
            parts.append(
                f'<span class="labkit-locked" title="{escape(state.lock.describe())}">'
                f"{_LOCK} {what}{reason}</span>"
            )
        if value is None and not in_flight and self.instrument.connected:
            unknown = "not read yet" if spec.readable else "value unknown"
            parts.append(f'<span class="labkit-muted">{unknown}</span>')
        if self.readback_handle is not None and self.readback_handle.value is None:
            effect = self.readback_side_effect()
            if effect and self.instrument.connected:
                parts.append(_unread(f"read-back not read: {effect}"))
        html = " ".join(parts)
        if self.status.value != html:
            self.status.value = html


class ReadingRow:
    """A reading: its value (read-only) and a button to read it now.

    A reading that would change the instrument when read (``side_effect``: a meter switched
    to another function) is never read on the panel's own account; its status says why, and
    the button reads it on request.
    """

    def __init__(self, section: Section, handle: ReadingHandle) -> None:
        self.section = section
        self.handle = handle
        self.spec = handle.spec
        doc = "\n".join(p for p in (handle.spec.doc.strip(), handle.full_name) if p)
        tag = row_tag(self.spec)
        self.label = html(escape(title_of(self.spec)), "labkit-label", tag, tooltip=doc)
        self.value = html("", "labkit-reading", tag, tooltip=doc, width="160px")
        self.refresh = icon_button("refresh", f"Read {title_of(self.spec).lower()} now")
        self.refresh.on_click(lambda _button: self.read())
        self.control_cell = hbox(self._value_cell(), tag)
        self.readback_cell = hbox((), tag)
        self.status = html("", "labkit-status", tag)
        self.error = ErrorLine(tag)
        self.render()
        watched = [self.spec.name]
        if self.spec.side_effect is not None and not isinstance(self.spec.side_effect, str):
            # Whether reading changes anything may depend on the settings (the function now).
            watched += [h.name for h in handle.instrument.settings]
        section.watch(handle.instrument, self._on_value, watched)

    @property
    def cells(self) -> list[Any]:
        return [self.label, self.control_cell, self.readback_cell, self.status, self.error.widget]

    def _value_cell(self) -> list[Any]:
        """What the value cell holds (an array reading adds its small plot)."""
        return [self.value, self.refresh]

    @property
    def side_effect(self) -> str | None:
        """Why reading it now would change the instrument (None: it would not)."""
        return self.spec.side_effect_of(self.handle.instrument)

    def read(self) -> Future[Any] | None:
        """Read the reading now, in the background; an error shows under the row."""
        self.error.clear()
        return self.section.read(self.handle, self.error.show)

    @guarded
    def _on_value(self, change: dict[str, Any]) -> None:
        self.section.redraw(self.render)

    def render(self) -> None:
        shown = format_value(self.handle.value, self.spec)
        html = f'<span class="labkit-value">{escape(shown)}</span>'
        if self.value.value != html:
            self.value.value = html
        connected = self.handle.instrument.connected
        if self.refresh.disabled == connected:
            self.refresh.disabled = not connected
        effect = self.side_effect if connected else None
        status = ""
        if effect:
            why = "not read" if self.handle.value is None else "read on request only"
            status = _unread(f"{why}: {effect}")
        if self.status.value != status:
            self.status.value = status


def _unread(text: str) -> str:
    """The note of a value the panel leaves unread because reading it would change something."""
    return (
        f'<span class="labkit-muted labkit-unread" title="Looking never changes the '
        f'instrument: ⟳ reads it on request">{escape(text)} (⟳ reads it)</span>'
    )


def _ignore(value: Any) -> None:
    """The commit of a control replaced by another: its late changes go nowhere."""
