"""A misspelt name on an instrument is an error, not a new attribute.

``smu.current_limt = 1`` would otherwise make a plain Python attribute, change nothing on the
instrument, and say nothing: the student believes the compliance is 1 A. So once an instrument
is made (:func:`seal`, called by the metaclass), assigning a public name it does not have —
no setting, reading, action, property, method or attribute of that name — raises
``AttributeError`` with the nearest names. Reading a name it does not have says the same.

The instrument's own code may still add attributes: names starting with ``_``, anything set
while the instrument is being made or opened, and anything set on its worker (where a driver's
``_on_open``, setters and actions run).
"""

from __future__ import annotations

import difflib
from typing import Any

from labkit.core._errors import UnknownSettingError

__all__ = ["SEALED", "no_attribute", "refuse_unknown", "seal"]

SEALED = "_labkit_sealed"
"""The instance-dict key that marks an instrument whose public names are fixed."""


def seal(instrument: Any) -> None:
    """Fix the public names of ``instrument`` and of its channels."""
    vars(instrument)[SEALED] = True
    for channel in instrument.channels.values():
        seal(channel)


def refuse_unknown(instrument: Any, name: str) -> None:
    """Raise :class:`UnknownSettingError` (an ``AttributeError``) if ``instrument`` has no
    ``name``: a typo, or a feature this camera lacks (``offset_x`` on a camera without one)."""
    if name in vars(instrument) or hasattr(type(instrument), name):
        return
    owner = getattr(instrument, "name", None) or type(instrument).__name__
    hint = _nearest(instrument, name)
    settable = [h.name for h in getattr(instrument, "settings", ()) if h.spec.writable]
    if settable and not hint.startswith("Its settings"):
        shown = ", ".join(settable[:24]) + (", …" if len(settable) > 24 else "")
        hint = f"{hint} Its settings: {shown}"
    raise UnknownSettingError(
        f"{type(instrument).__name__} has no attribute {name!r} to set; nothing was sent or stored",
        instrument=owner,
        setting=name,
        hint=hint,
    )


def no_attribute(instrument: Any, name: str) -> str:
    """What to say of ``instrument.<name>`` when it has no such name: the nearest ones."""
    owner = getattr(instrument, "name", None) or type(instrument).__name__
    return f"{owner} ({type(instrument).__name__}) has no attribute {name!r}. " + _nearest(
        instrument, name
    )


def _nearest(instrument: Any, name: str) -> str:
    """ "Did you mean …?", or what the instrument has when nothing is near ``name``."""
    owner = getattr(instrument, "name", None) or type(instrument).__name__
    declared = [
        *getattr(instrument, "settings", ()),
        *getattr(instrument, "readings", ()),
        *getattr(instrument, "actions", ()),
    ]
    names = [handle.name for handle in declared]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not close:
        public = {n for n in dir(type(instrument)) if not n.startswith("_")}
        public.update(n for n in vars(instrument) if not n.startswith("_"))
        close = difflib.get_close_matches(name, sorted(public), n=3, cutoff=0.75)
    if close:
        return f"Did you mean {' or '.join(repr(c) for c in close)}?"
    if names:
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        return f"Its settings, readings and actions: {shown}"
    return f"See {owner}.describe() for what it has"
