"""Which widget a declaration gets, and how to build and re-range it.

The choice follows the declaration only: a toggle for a switch, a dropdown for choices (and
enumerations), a text box for text, a slider where both limits in force are finite, a number
box otherwise. Every editing control commits once per gesture (``continuous_update=False``):
on release for a slider, on Enter or leaving the field for a box.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from labkit.core import TraitSpec
from labkit.ui._format import choice_label, nice_step, readout_format

__all__ = ["CONTROL_WIDTH", "control_kind", "make_control", "set_range", "show_toggle"]

CONTROL_WIDTH = "300px"


def control_kind(spec: TraitSpec, limits: tuple[float, float]) -> str:
    """``toggle``, ``dropdown``, ``text``, ``slider`` or ``number``."""
    if spec.kind == "bool":
        return "toggle"
    if spec.choices is not None:
        return "dropdown"
    if spec.kind in ("str", "enum"):
        return "text"
    low, high = limits
    return "slider" if math.isfinite(low) and math.isfinite(high) else "number"


def make_control(kind: str, spec: TraitSpec, limits: tuple[float, float], value: Any) -> Any:
    """A fresh widget showing ``value`` (None: not known yet)."""
    if kind == "toggle":
        toggle = widgets.ToggleButton(value=bool(value), layout=widgets.Layout(width="92px"))
        show_toggle(toggle)
        return toggle
    if kind == "dropdown":
        assert spec.choices is not None
        options = [(choice_label(choice, spec), choice) for choice in spec.choices]
        return widgets.Dropdown(
            options=options,
            value=value if value in spec.choices else None,
            layout=widgets.Layout(width=CONTROL_WIDTH),
        )
    if kind == "text":
        return widgets.Text(
            value="" if value is None else str(value),
            continuous_update=False,
            layout=widgets.Layout(width=CONTROL_WIDTH),
        )
    integer = spec.kind == "int"
    if kind == "slider":
        cls = widgets.IntSlider if integer else widgets.FloatSlider
        low, high = _covering(limits, value)
        step = _step(spec, low, high)
        slider = cls(
            min=low,
            max=high,
            step=step,
            value=low if value is None else value,
            continuous_update=False,
            readout=True,
            readout_format=readout_format(step, spec.kind),
            layout=widgets.Layout(width=CONTROL_WIDTH),
        )
        return slider
    cls = widgets.IntText if integer else widgets.FloatText
    fallback = _fallback(limits, integer)
    number = cls(
        value=fallback if value is None else value,
        continuous_update=False,
        layout=widgets.Layout(width="160px"),
    )
    if spec.step is not None:
        number.step = spec.step
    return number


def set_range(slider: Any, spec: TraitSpec, limits: tuple[float, float], value: Any) -> None:
    """Re-range a slider to the limits in force, never clipping the value it shows."""
    low, high = _covering(limits, value)
    step = _step(spec, low, high)
    with slider.hold_trait_notifications():
        if low > slider.max:
            slider.max = high
            slider.min = low
        else:
            slider.min = low
            slider.max = high
        slider.step = step
        slider.readout_format = readout_format(step, spec.kind)


def show_toggle(toggle: Any) -> None:
    """A switch says what it is: ``On`` in green, ``Off`` plain."""
    toggle.description = "On" if toggle.value else "Off"
    toggle.icon = "power-off"
    toggle.button_style = "success" if toggle.value else ""


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


def _fallback(limits: tuple[float, float], integer: bool) -> float:
    low, high = limits
    zero = min(max(0.0, low), high)
    return int(zero) if integer else zero
