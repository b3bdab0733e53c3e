"""Which control a declaration gets, and controls that hand what a person enters to labkit.

The choice follows the declaration only: a toggle for a switch, a dropdown for choices (and
enumerations), a text box for text, and for numbers a text box with (where a slider helps) a
slider beside it:

- a linear slider where both limits in force are finite and the range is one a hand can
  cover (integers: at most a thousand values);
- a logarithmic slider for a range of decades above zero (a current limit from 1 nA to
  1.05 A, an integration time, a frequency);
- no slider for unbounded ranges, wide integer counts and ranges from zero up to thousands.

No control interprets a value on the page. ipywidgets' number boxes parse text in the
browser (``500 mA`` arrives as 500) and its sliders' editable readouts clamp a typed value
to the slider's range before the kernel sees it; so sliders here have no readout, and every
number is typed into a plain text box whose text goes, as typed, to ``handle.submit``: units
parsed, limits checked, any refusal shown in place. The box shows the value labkit holds,
with an SI prefix at the setting's resolution (``105 µA``, ``0.63 V``). Every control
commits once per gesture (``continuous_update=False``): on release for a slider, on Enter or
leaving the field for a box.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from labkit.core import TraitSpec
from labkit.core._units import format_quantity, unit_symbol
from labkit.ui._format import choice_label, nice_step
from labkit.ui._sync import guarded, is_quiet, quietly
from labkit.ui._whole import shared_layout

__all__ = [
    "CONTROL_WIDTH",
    "Control",
    "NumberControl",
    "control_kind",
    "make_control",
    "show_toggle",
]

CONTROL_WIDTH = "300px"
ENTRY_WIDTH = "110px"
SLIDER_WIDTH = "184px"
LOG_DECADES = 3.0
"""A range above zero spanning at least this many decades gets a logarithmic slider."""
MAX_INT_SLIDER = 1000
"""Integer ranges wider than this get a box only: a slider cannot pick one value in a million."""
MAX_FROM_ZERO = 1000.0
"""A range from zero up to this (in the declared unit) or more gets a box only: the small values
such settings usually take (a delay of milliseconds out of an hour) are out of a slider's reach."""
LOG_SLIDER_DIGITS = 3
"""Significant digits a logarithmic slider's position is rounded to (1.78 mA, not 1.7782794 mA)."""
LOG_SLIDER_STEP = 0.01
"""A logarithmic slider moves in hundredths of a decade."""


def control_kind(spec: TraitSpec, limits: tuple[float, float]) -> str:
    """``toggle``, ``dropdown``, ``text``, ``slider``, ``logslider`` or ``number``."""
    if spec.kind == "bool":
        return "toggle"
    if spec.choices is not None:
        return "dropdown"
    if spec.kind in ("str", "enum"):
        return "text"
    low, high = limits
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return "number"
    if spec.kind == "int":
        return "slider" if high - low <= MAX_INT_SLIDER else "number"
    if low > 0 and math.log10(high / low) >= LOG_DECADES:
        return "logslider"
    if low == 0 and high >= MAX_FROM_ZERO and spec.step is None:
        return "number"
    return "slider"


class Control:
    """The widget(s) of one setting: ``widget`` goes in the panel, ``commit`` gets what the
    person entered (text as typed, a slider's position, a choice, a switch)."""

    kind = ""

    def __init__(self, widget: Any, commit: Callable[[Any], object]) -> None:
        self.widget = widget
        self.commit = commit

    @property
    def inputs(self) -> list[Any]:
        """The widgets a person can change."""
        return [self.widget]

    @property
    def disabled(self) -> bool:
        return bool(self.inputs[0].disabled)

    @disabled.setter
    def disabled(self, value: bool) -> None:
        for widget in self.inputs:
            if widget.disabled != value:
                widget.disabled = value

    @property
    def tooltip(self) -> str:
        return str(self.inputs[0].tooltip or "")

    @tooltip.setter
    def tooltip(self, text: str) -> None:
        for widget in self.inputs:
            widget.tooltip = text

    def guard(self, lock: Any) -> None:
        """Changes from the page and the panel's own redraws take turns under ``lock``.

        The page's changes arrive on the kernel's main thread, redraws run on labkit's loop.
        Interleaved, a redraw's value set during ipywidgets' ``set_state`` is held with the
        page's change by traitlets and delivered afterwards on the main thread as if the person
        had made it (a stale value sent to the instrument), or is withheld from the page by
        ipywidgets' property lock (the page and the kernel then disagree).
        """
        for widget in self.inputs:
            original = widget.set_state

            def set_state(sync_data: Any, _original: Any = original) -> None:
                with lock:
                    _original(sync_data)

            widget.set_state = set_state

    def follow(self, value: Any) -> None:
        """The person typed ``value`` (as labkit understood it) and labkit took it: controls
        that show it another way too (a slider beside the box) move there, quietly."""

    def show(self, value: Any) -> None:
        """Show ``value`` (labkit's, not the person's): quietly, so it is not sent back."""
        if value is None:
            return
        with quietly():
            try:
                if self.widget.value != value:
                    self.widget.value = value
            except Exception:  # a value the widget cannot hold: keep what it shows
                pass

    def rerange(self, limits: tuple[float, float], value: Any) -> None:
        """The limits in force changed (only sliders care)."""

    def close(self) -> None:
        for widget in {id(w): w for w in (*self.inputs, self.widget)}.values():
            widget.close()

    @guarded
    def _changed(self, change: dict[str, Any]) -> None:
        if not is_quiet():
            self.commit(change["new"])


class ToggleControl(Control):
    kind = "toggle"

    def __init__(self, value: Any, commit: Callable[[Any], object], **look: Any) -> None:
        on = bool(value)
        toggle = widgets.ToggleButton(
            value=on, layout=shared_layout(width="92px"), **_toggle_look(on), **look
        )
        super().__init__(toggle, commit)
        toggle.observe(self._toggled, names="value")

    @guarded
    def _toggled(self, change: dict[str, Any]) -> None:
        with quietly():
            show_toggle(self.widget)
        self._changed(change)

    def show(self, value: Any) -> None:
        super().show(None if value is None else bool(value))
        with quietly():
            show_toggle(self.widget)


class ChoiceControl(Control):
    kind = "dropdown"

    def __init__(
        self, spec: TraitSpec, value: Any, commit: Callable[[Any], object], **look: Any
    ) -> None:
        assert spec.choices is not None
        dropdown = widgets.Dropdown(
            options=[(choice_label(choice, spec), choice) for choice in spec.choices],
            value=value if value in spec.choices else None,
            layout=shared_layout(width=CONTROL_WIDTH),
            **look,
        )
        super().__init__(dropdown, commit)
        dropdown.observe(self._changed, names="value")


class TextControl(Control):
    kind = "text"

    def __init__(self, value: Any, commit: Callable[[Any], object], **look: Any) -> None:
        text = widgets.Text(
            value="" if value is None else str(value),
            continuous_update=False,
            layout=shared_layout(width=CONTROL_WIDTH),
            **look,
        )
        super().__init__(text, commit)
        text.observe(self._changed, names="value")

    def show(self, value: Any) -> None:
        super().show(None if value is None else str(value))


class NumberControl(Control):
    """A text box for the number as typed, and a slider (linear or logarithmic) beside it
    where the range suits one. Neither clamps nor rounds what is typed."""

    def __init__(
        self,
        kind: str,
        spec: TraitSpec,
        limits: tuple[float, float],
        value: Any,
        commit: Callable[[Any], object],
        *,
        tooltip: str | None = None,
        classes: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.spec = spec
        self.entry = widgets.Text(
            value=self.text(value),
            placeholder=unit_symbol(spec.unit),
            continuous_update=False,
            layout=shared_layout(width=ENTRY_WIDTH),
            tooltip=tooltip,
            _dom_classes=("labkit-entry", *classes),
        )
        self.slider: Any = None
        parts: list[Any] = []
        if kind in ("slider", "logslider"):
            self.slider = _make_slider(
                kind, spec, limits, value, tooltip=tooltip, _dom_classes=("labkit-slider", *classes)
            )
            parts.append(self.slider)
        parts.append(self.entry)
        box = widgets.HBox(parts, layout=shared_layout(align_items="center"), _dom_classes=classes)
        super().__init__(box, commit)
        self.entry.observe(self._changed, names="value")
        if self.slider is not None:
            self.slider.observe(self._slid, names="value")
        self.show(value)

    @property
    def inputs(self) -> list[Any]:
        return [self.entry] if self.slider is None else [self.slider, self.entry]

    def text(self, value: Any) -> str:
        """What the box shows for ``value``: ``105 µA``, ``0.63 V``, ``2.5 mV``: six
        significant digits, trailing zeros dropped, never rounded to a coarser step."""
        if value is None:
            return ""
        return format_quantity(value, self.spec.unit)

    def show(self, value: Any) -> None:
        if value is None:
            return
        with quietly():
            text = self.text(value)
            if self.entry.value != text:
                self.entry.value = text
            if self.slider is not None:
                self._place_slider(value)

    def _place_slider(self, value: Any) -> None:
        slider = self.slider
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        if self.kind == "logslider":
            if value <= 0:
                return
            low, high = slider.base**slider.min, slider.base**slider.max
            if not low <= value <= high:
                _range_log(slider, min(low, value), max(high, value))
        elif not (slider.min <= value <= slider.max):
            _range_linear(slider, self.spec, (min(slider.min, value), max(slider.max, value)))
        # The page's sliders add steps in floating point (2.5000000000000004 for five 0.5 V
        # steps): moving the handle by such a difference would pull it back under a person's
        # next key press and lose that press.
        if not math.isclose(slider.value, value, rel_tol=1e-12, abs_tol=0.0):
            slider.value = value

    def follow(self, value: Any) -> None:
        if self.slider is not None:
            with quietly():
                self._place_slider(value)

    def rerange(self, limits: tuple[float, float], value: Any) -> None:
        """New limits in force; ``value`` is what the slider shows now (the target of a change
        in flight, not a ramp's way there: moving the handle under a person's keys makes
        their next key press start from a stale place)."""
        if self.slider is None:
            return
        with quietly():
            if self.kind == "logslider":
                low, high = limits
                if isinstance(value, (int, float)) and value > 0:
                    low, high = min(low, value), max(high, value)
                _range_log(self.slider, low, high)
            else:
                _range_linear(self.slider, self.spec, _covering(limits, value))
            if value is not None:
                self._place_slider(value)

    @guarded
    def _slid(self, change: dict[str, Any]) -> None:
        if is_quiet():
            return
        value = change["new"]
        if self.kind == "logslider":
            value = float(f"{value:.{LOG_SLIDER_DIGITS}g}")
        self.commit(value)


def make_control(
    kind: str,
    spec: TraitSpec,
    limits: tuple[float, float],
    value: Any,
    commit: Callable[[Any], object],
    *,
    tooltip: str | None = None,
    classes: tuple[str, ...] = (),
) -> Control:
    """A fresh control of ``kind`` showing ``value`` (None: not known yet), its inputs made
    with ``tooltip`` and every widget with the CSS ``classes`` (nothing sent after)."""
    if kind == "number" or kind.endswith("slider"):
        return NumberControl(kind, spec, limits, value, commit, tooltip=tooltip, classes=classes)
    look = {"tooltip": tooltip, "_dom_classes": classes}
    if kind == "toggle":
        return ToggleControl(value, commit, **look)
    if kind == "dropdown":
        return ChoiceControl(spec, value, commit, **look)
    return TextControl(value, commit, **look)


def _toggle_look(on: bool) -> dict[str, str]:
    """A switch says what it is: ``On`` in green, ``Off`` plain."""
    return {
        "description": "On" if on else "Off",
        "icon": "power-off",
        "button_style": "success" if on else "",
    }


def show_toggle(toggle: Any) -> None:
    """Make ``toggle`` look as its value says (only what differs is sent)."""
    for name, shown in _toggle_look(bool(toggle.value)).items():
        if getattr(toggle, name) != shown:
            setattr(toggle, name, shown)


def _make_slider(
    kind: str, spec: TraitSpec, limits: tuple[float, float], value: Any, **look: Any
) -> Any:
    """A slider made whole: range, step and position given at construction."""
    options = {
        "continuous_update": False,
        "readout": False,  # its editable readout clamps typed values in the browser
        "layout": shared_layout(width=SLIDER_WIDTH),
        **look,
    }
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "logslider":
        low, high = limits
        if number and value > 0:
            low, high = min(low, value), max(high, value)
        at = value if number and value > 0 else min(max(1.0, low), high)
        return widgets.FloatLogSlider(
            base=10,
            min=math.log10(low),
            max=math.log10(high),
            step=LOG_SLIDER_STEP,
            value=at,
            **options,
        )
    low, high = _covering(limits, value)
    cls = widgets.IntSlider if spec.kind == "int" else widgets.FloatSlider
    at = value if number else low
    return cls(min=low, max=high, step=_step(spec, low, high), value=at, **options)


def _range_linear(slider: Any, spec: TraitSpec, limits: tuple[float, float]) -> None:
    low, high = limits
    with slider.hold_trait_notifications():
        if low > slider.max:
            slider.max = high
            slider.min = low
        else:
            slider.min = low
            slider.max = high
        slider.step = _step(spec, low, high)


def _range_log(slider: Any, low: float, high: float) -> None:
    """A logarithmic slider over [low, high] (exponents), in steps of a hundredth of a decade."""
    low_exp, high_exp = math.log10(low), math.log10(high)
    with slider.hold_trait_notifications():
        if low_exp > slider.max:
            slider.max = high_exp
            slider.min = low_exp
        else:
            slider.min = low_exp
            slider.max = high_exp
        slider.step = LOG_SLIDER_STEP


def _covering(limits: tuple[float, float], value: Any) -> tuple[float, float]:
    # A value outside the limits in force (soft limits narrowed after it was set) is shown as
    # it is: the range stretches to include it rather than the slider silently clipping it.
    low, high = limits
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = min(low, value), max(high, value)
    return low, high


def _step(spec: TraitSpec, low: float, high: float) -> float:
    if spec.step is not None:
        return spec.step
    return nice_step(low, high, spec.kind)
