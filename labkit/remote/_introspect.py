"""What the server asks an instrument beyond its handles: can a declaration be read or written.

The instrument model decides this from the declaration and the driver's ``_get_``/``_set_``
methods; until it offers a public answer (issue 11), this module is the one place the remote
layer asks the model's internals, so nothing else here depends on them.
"""

from __future__ import annotations

from typing import Any

from labkit.core import Instrument, TraitSpec

__all__ = ["can_read", "can_write", "channels", "members"]


def can_read(instrument: Instrument, spec: TraitSpec) -> bool:
    return spec.role != "action" and bool(instrument._can_read(spec))


def can_write(instrument: Instrument, spec: TraitSpec) -> bool:
    return spec.role == "setting" and bool(instrument._can_write(spec))


def members(instrument: Instrument) -> list[tuple[str, Any]]:
    """``(name, handle)`` of every setting, reading and action, in declaration order."""
    found: dict[str, Any] = {}
    for namespace in (instrument.settings, instrument.readings, instrument.actions):
        for handle in namespace:
            found[handle.name] = handle
    order = list(type(instrument)._labkit_specs)
    return sorted(found.items(), key=lambda item: order.index(item[0]))


def channels(instrument: Instrument) -> dict[str, Instrument]:
    return dict(instrument.channels)
