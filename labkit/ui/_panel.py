"""``inst.panel()``: an instrument's ipywidgets panel, built from its declarations only.

The panel is a header (name, model, resource, connection; refresh, stop and reconnect
buttons) over a :class:`Section` per instrument: one grid row per setting and reading
(label | control | unit | read-back | status), the actions as buttons, and the channels as
tabs holding their own sections. Nothing in it is specific to a driver: everything comes from
``inst.declarations()`` and the handles, and every change goes through the same validation as
code does (``handle.submit``), so the panel can never do what the instrument would refuse.

One panel per instrument: asking again returns the same (live) panel, which may be displayed
in several cells; :meth:`InstrumentPanel.close` detaches it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import ipywidgets as widgets

from labkit.core import ActionHandle, Instrument, ReadingHandle, _loop
from labkit.ui._array_row import reading_row as reading_row_for
from labkit.ui._confirm import Confirmation
from labkit.ui._format import escape, title_of
from labkit.ui._rows import ErrorLine, ReadingRow, SettingRow, icon_button
from labkit.ui._style import FULL_ROW, GRID_COLUMNS, STYLE
from labkit.ui._sync import Coalescer, Pending, failure_of, guarded, log
from labkit.ui._whole import button, hbox, html, is_shared, own_layout, shared_layout

__all__ = ["InstrumentPanel", "Section", "instrument_panel"]

_panels: dict[int, InstrumentPanel] = {}
_panels_lock = threading.Lock()


def instrument_panel(instrument: Instrument) -> InstrumentPanel:
    """The panel of ``instrument`` (the same live one each time, until it is closed)."""
    with _panels_lock:
        panel = _panels.get(id(instrument))
        if panel is not None and panel.instrument is instrument and not panel.closed:
            return panel
    panel = InstrumentPanel(instrument)
    with _panels_lock:
        _panels[id(instrument)] = panel
    return panel


class Section:
    """The widgets of one instrument or channel: a grid of rows, actions, channel tabs."""

    def __init__(self, panel: InstrumentPanel, instrument: Instrument) -> None:
        self.panel = panel
        self.instrument = instrument
        self.pending = panel.pending
        self._watches: list[tuple[Any, Callable[..., Any], list[str]]] = []
        self.rows: dict[str, SettingRow | ReadingRow] = {}

        settings = list(instrument.settings)
        readbacks = {h.spec.readback for h in settings if h.spec.readback}
        readings = [h for h in instrument.readings if h.name not in readbacks]
        cells: list[Any] = []
        if settings:
            shows_readback = bool(readbacks)
            cells += [
                _cell("", "labkit-colhead"),
                _cell("Set-point", "labkit-colhead"),
                _cell("Read-back" if shows_readback else "", "labkit-colhead"),
                _cell("", "labkit-colhead"),
            ]
            for handle in settings:
                row = SettingRow(self, handle)
                self.rows[handle.name] = row
                cells += row.cells
        if readings:
            heading = "labkit-group" if settings else "labkit-colhead"
            cells.append(_cell("Readings", heading, span=True))
            for reading in readings:
                reading_row = reading_row_for(self, reading)
                self.rows[reading.name] = reading_row
                cells += reading_row.cells
        self.grid = widgets.GridBox(
            cells,
            layout=shared_layout(grid_template_columns=GRID_COLUMNS, grid_gap="2px 12px"),
            _dom_classes=("labkit-grid",),
        )

        self.actions: dict[str, widgets.Button] = {}
        for action in instrument.actions:
            pressed = button(
                "labkit-action",
                description=title_of(action.spec),
                tooltip=action.spec.doc or title_of(action.spec),
            )
            pressed.on_click(self._action_clicked(action))
            self.actions[action.name] = pressed
        self.actions_bar = widgets.HBox(
            list(self.actions.values()),
            layout=shared_layout(display="flex" if self.actions else "none"),
            _dom_classes=("labkit-actions",),
        )
        self.confirmation = Confirmation()
        self.message = ErrorLine()

        self.channels: dict[str, Section] = {
            name: Section(panel, channel) for name, channel in instrument.channels.items()
        }
        parts: list[Any] = [
            self.grid,
            self.actions_bar,
            self.confirmation.widget,
            self.message.widget,
        ]
        if self.channels:
            tabs = widgets.Tab(
                children=[s.widget for s in self.channels.values()],
                titles=[title_of_channel(name) for name in self.channels],
                _dom_classes=("labkit-channels",),
            )
            parts.append(tabs)
            self.tabs: widgets.Tab | None = tabs
        else:
            self.tabs = None
        self.widget: Any = widgets.VBox(  # ipywidgets is untyped
            parts, layout=shared_layout(), _dom_classes=("labkit-section",)
        )
        self.watch(instrument, self._on_connected, ["connected"])
        self._show_connection()

    # -- plumbing ------------------------------------------------------------------------

    def redraw(self, render: Callable[[], None]) -> None:
        """Ask for ``render`` to run soon (coalesced); cheap, from any thread."""
        self.panel.coalescer.request(render)

    def watch(self, source: Any, handler: Callable[..., Any], names: list[str]) -> None:
        """Observe ``source`` until the panel closes."""
        source.observe(handler, names=names)
        self._watches.append((source, handler, names))

    def sections(self) -> Iterator[Section]:
        """This section and every channel section below it."""
        yield self
        for channel in self.channels.values():
            yield from channel.sections()

    def detach(self) -> None:
        for source, handler, names in self._watches:
            try:
                source.unobserve(handler, names=names)
            except ValueError:
                pass
        self._watches.clear()
        for channel in self.channels.values():
            channel.detach()

    def row(self, name: str) -> Any:
        try:
            return self.rows[name]
        except KeyError:
            raise KeyError(
                f"{self.instrument.name} has no setting or reading {name!r} in its panel "
                f"(it has {', '.join(self.rows) or 'none'})"
            ) from None

    # -- background work -----------------------------------------------------------------

    def read(
        self, handle: ReadingHandle, on_error: Callable[[BaseException], None]
    ) -> Future[Any] | None:
        """Read ``handle`` on labkit's loop; the value arrives through the trait."""
        return self.panel.background(handle.read_async(), on_error)

    def _action_clicked(self, action: ActionHandle) -> Callable[[Any], None]:
        def clicked(_button: Any) -> None:
            question = action.spec.confirm
            if question:
                label = title_of(action.spec)
                self.confirmation.ask(
                    action.name, question, label, lambda: self.run_action(action.name)
                )
            else:
                self.confirmation.forget()
                self.run_action(action.name)

        return clicked

    def run_action(self, name: str) -> Future[Any] | None:
        """Run an action now (its button asks first if it declared a question); the panel's
        values are read again afterwards."""
        action = self.instrument.actions[name]
        pressed = self.actions[name]
        self.message.clear()
        self.pending.begin()
        pressed.disabled = True
        pressed.add_class("labkit-running")

        def finish(error: BaseException | None) -> None:
            try:
                pressed.disabled = not self.instrument.connected
                pressed.remove_class("labkit-running")
                if error is not None:
                    self.message.show(error)
                else:
                    self.panel.refresh()
            except Exception:
                log.exception("labkit panel: after action %s", action.full_name)
            finally:
                self.pending.end()

        try:
            future = action.submit()
        except Exception as error:
            finish(error)
            return None
        future.add_done_callback(lambda f: finish(failure_of(f)))
        return future

    # -- connection ----------------------------------------------------------------------

    @guarded
    def _on_connected(self, change: dict[str, Any]) -> None:
        for row in self.rows.values():
            self.redraw(row.render)
        self.redraw(self._show_connection)

    def _show_connection(self) -> None:
        for pressed in self.actions.values():
            pressed.disabled = not self.instrument.connected
        if not self.instrument.connected:
            self.confirmation.forget()


class InstrumentPanel(widgets.VBox):
    """The panel of one instrument; ``panel.rows["voltage"].control`` is the voltage widget."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.pending = Pending()
        self.coalescer = Coalescer(self.pending)
        self._style = html(STYLE, display="none")

        summary = (type(instrument).__doc__ or "").strip().split("\n\n")[0]
        self.title = html("", "labkit-title", tooltip=" ".join(summary.split()))
        self.badge = html("")
        self.refresh_button = icon_button(
            "refresh", "Read every setting and reading again (except those reading would change)"
        )
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.stop_button = icon_button("stop", "Stop ramps in progress where they are")
        self.stop_button.on_click(lambda _button: self.stop())
        self.reconnect_button = button(
            description="Reconnect",
            icon="plug",
            tooltip="Close and reopen the link, then read the settings again",
            layout=own_layout(width="auto", display="none"),
        )
        self.reconnect_button.on_click(lambda _button: self.reconnect())
        self.header = hbox(
            [
                self.title,
                widgets.HBox(layout=shared_layout(flex="1 1 auto")),
                self.badge,
                self.reconnect_button,
                self.refresh_button,
                self.stop_button,
            ],
            "labkit-header",
        )
        self.section = Section(self, instrument)
        self._show_header()
        super().__init__(
            [self._style, self.header, self.section.widget], _dom_classes=("labkit-panel",)
        )
        self.closed = False
        self.section.watch(instrument, self._on_instrument, ["connected", "busy"])
        if instrument.connected:
            self.read_readings()

    # -- what tests and users reach for --------------------------------------------------

    @property
    def rows(self) -> dict[str, SettingRow | ReadingRow]:
        """The instrument's own rows by setting or reading name."""
        return self.section.rows

    @property
    def actions(self) -> dict[str, widgets.Button]:
        return self.section.actions

    @property
    def channels(self) -> dict[str, Section]:
        return self.section.channels

    @property
    def confirmation(self) -> Confirmation:
        """The question asked before an action that declared one (a reset)."""
        return self.section.confirmation

    @property
    def message(self) -> ErrorLine:
        """The panel-wide message line (failed actions and refreshes)."""
        return self.section.message

    def row(self, name: str) -> Any:
        """``panel.row("voltage")``, or ``panel.row("ch1.voltage")`` for a channel's."""
        section = self.section
        *path, last = name.split(".")
        for part in path:
            section = section.channels[part]
        return section.row(last)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until every set, read and action the panel started has been shown."""
        self.pending.wait(timeout)

    # -- buttons -------------------------------------------------------------------------

    def background(
        self, coroutine: Any, on_error: Callable[[BaseException], None]
    ) -> Future[Any] | None:
        """Run ``coroutine`` on labkit's loop; a failure goes to ``on_error``."""
        self.pending.begin()
        try:
            future = _loop.submit(coroutine)
        except Exception as error:
            coroutine.close()
            on_error(error)
            self.pending.end()
            return None

        def done(future: Future[Any]) -> None:
            try:
                error = failure_of(future)
                if error is not None:
                    on_error(error)
            except Exception:
                log.exception("labkit panel: background work failed")
            finally:
                self.pending.end()

        future.add_done_callback(done)
        return future

    def read_readings(self) -> None:
        """Read every reading (read-backs included) in the background, except those whose
        reading would change the instrument (``side_effect``): looking changes nothing."""
        for section in self.section.sections():
            if not section.instrument.connected:
                continue
            for row in section.rows.values():
                if isinstance(row, SettingRow) and row.readback_handle is not None:
                    if not row.readback_side_effect():
                        section.read(row.readback_handle, row.error.show)
                elif isinstance(row, ReadingRow) and not row.side_effect:
                    row.read()

    def refresh(self) -> None:
        """Read every setting and reading again (in the background)."""
        self.message.clear()
        for section in self.section.sections():
            if section.instrument.connected:
                self.background(section.instrument.refresh_async(), self.message.show)

    def stop(self) -> None:
        """Stop ramps in progress, here and in every channel."""
        for section in self.section.sections():
            section.instrument.stop()

    def reconnect(self) -> None:
        """Reopen the link in the background; the header shows the outcome."""
        import asyncio

        self.message.clear()
        self.reconnect_button.disabled = True

        async def again() -> None:
            try:
                await asyncio.to_thread(self.instrument.reconnect)
            finally:
                self.reconnect_button.disabled = False
            self.read_readings()

        self.background(again(), self.message.show)

    # -- header --------------------------------------------------------------------------

    @guarded
    def _on_instrument(self, change: dict[str, Any]) -> None:
        self.section.redraw(self._show_header)
        if change["name"] == "connected" and not change["new"] and self.instrument.closed:
            self._forget()

    def _show_header(self) -> None:
        instrument = self.instrument
        identity = instrument.identity or {}
        model = " ".join(p for p in (identity.get("manufacturer"), identity.get("model")) if p)
        serial = identity.get("serial")
        parts = [f'<span class="labkit-name">{escape(instrument.name)}</span>']
        if model:
            tip = f' title="serial {escape(serial)}"' if serial else ""
            parts.append(f'<span class="labkit-model"{tip}>{escape(model)}</span>')
        elif type(instrument).__name__:
            parts.append(f'<span class="labkit-model">{escape(type(instrument).__name__)}</span>')
        if instrument.resource:
            parts.append(f'<span class="labkit-resource">{escape(instrument.resource)}</span>')
        self.title.value = "".join(parts)
        if instrument.connected:
            busy = (
                ' <i class="fa fa-spinner fa-spin labkit-spinner" title="busy"></i>'
                if instrument.busy
                else ""
            )
            badge = f'<span class="labkit-badge labkit-online">● connected</span>{busy}'
        elif instrument.closed:
            badge = '<span class="labkit-badge labkit-offline">● closed</span>'
        else:
            badge = '<span class="labkit-badge labkit-offline">● disconnected</span>'
        self.badge.value = badge
        can_reconnect = not instrument.connected and not instrument.closed
        self.reconnect_button.layout.display = "flex" if can_reconnect else "none"
        self.refresh_button.disabled = not instrument.connected

    # -- life ----------------------------------------------------------------------------

    def _forget(self) -> None:
        with _panels_lock:
            if _panels.get(id(self.instrument)) is self:
                del _panels[id(self.instrument)]

    def close(self) -> None:
        """Stop following the instrument and close every widget of the panel."""
        if getattr(self, "closed", True):  # also called by ipywidgets' __del__, maybe half-built
            return
        self.closed = True
        self._forget()
        self.section.detach()
        for widget in list(_descendants(self)):
            _close_with_parts(widget)
        self.layout.close()
        super().close()

    def __repr__(self) -> str:
        return f"<InstrumentPanel of {self.instrument.name}>"


def title_of_channel(name: str) -> str:
    return name.replace("_", " ")


def _cell(text: str, css_class: str, *, span: bool = False) -> widgets.HTML:
    if span:
        return html(escape(text), css_class, grid_area=FULL_ROW)
    return html(escape(text), css_class)


def _close_with_parts(widget: Any) -> None:
    # A widget's layout and style are widgets of their own, with their own comms; a shared
    # one stays open for the other widgets using it.
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if isinstance(part, widgets.Widget) and not is_shared(part):
            part.close()
    widget.close()


def _descendants(widget: Any) -> Iterator[Any]:
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)
        yield child
