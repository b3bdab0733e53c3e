"""What the server asks an instrument beyond its handles, through the model's public faces."""

from __future__ import annotations

import logging
from typing import Any

from labkit.core import Instrument, TraitSpec
from labkit.remote._arrays import servable

__all__ = ["can_read", "can_write", "channels", "members"]

log = logging.getLogger("labkit.remote")


def can_read(instrument: Instrument, spec: TraitSpec) -> bool:
    return spec.readable


def can_write(instrument: Instrument, spec: TraitSpec) -> bool:
    return spec.writable


def members(instrument: Instrument) -> list[tuple[str, Any]]:
    """``(name, handle)`` of every setting, reading and action, in declaration order.

    One-dimensional array readings (a spectrum, a trace, a burst) are served with their
    coordinates (:mod:`._arrays`); one with more dimensions is left out, and said so, rather
    than refusing to serve the whole instrument."""
    handles: dict[str, Any] = {}
    for namespace in (instrument.settings, instrument.readings, instrument.actions):
        for handle in namespace:
            if handle.spec.is_array and not servable(handle.spec):
                log.warning(
                    "%s: array reading %s has more than one dimension; only one-dimensional "
                    "arrays are served over pvAccess",
                    instrument.name,
                    handle.name,
                )
                continue
            handles[handle.name] = handle
    return [(name, handles[name]) for name in type(instrument).declarations() if name in handles]


def channels(instrument: Instrument) -> dict[str, Instrument]:
    return dict(instrument.channels)
