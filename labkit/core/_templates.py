"""Command templates (``get="VOLT?"``, ``set="VOLT {}"``) run as message I/O.

A template is a message instrument's way of reading and writing a declaration; it is kept as
text in the declaration (simulators answer it, docs show it) and run here, through the
instrument's own ``query``/``write``. Plain :class:`~labkit.core.Instrument` subclasses that
still do message I/O get the :class:`~labkit.core.MessageInstrument` face with a
``DeprecationWarning`` (:func:`deprecated_message_io`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from labkit.core._errors import ConfigurationError, LabkitError, ReplyError
from labkit.core._spec import TraitSpec
from labkit.core._transport import Transport

__all__ = ["MovedToMessageInstrument", "read_template", "run_template", "write_template"]


def read_template(instrument: Any, spec: TraitSpec) -> Any:
    """Send the ``get`` template's query and parse the reply (a garbled one names the query)."""
    command = spec.query(instrument)
    reply = instrument.query(command)
    try:
        return spec.from_reply(reply, where=spec.name)
    except ReplyError as error:
        if error.command is None:
            error.command = command
        raise


def write_template(instrument: Any, spec: TraitSpec, value: Any) -> tuple[Any, str]:
    """Send the ``set`` template for ``value``; (the value the instrument got, the command)."""
    command = spec.command(value, instrument)
    instrument.write(command)
    return spec.sent_value(value), command


def run_template(instrument: Any, spec: TraitSpec) -> str:
    """Send an action's command; returns it."""
    assert isinstance(spec.set, str)
    command = spec.set.format(self=instrument)
    instrument.write(command)
    return command


_MESSAGE_CALLS: dict[str, Callable[..., Any]] = {
    "write": lambda link, message: link.write(message),
    "query": lambda link, message: link.query(message),
    "read_message": lambda link: link.read(),
    "write_bytes": lambda link, data: link.write_bytes(data),
    "read_bytes": lambda link, size: link.read_bytes(size),
}


class MovedToMessageInstrument:
    """``write``/``query``/... (and ``transport``) on an ``Instrument`` that is not a
    ``MessageInstrument``: they still work, with a ``DeprecationWarning`` saying where they
    moved (``MessageInstrument`` defines the real ones)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instrument: Any, owner: type | None = None) -> Any:
        if instrument is None:
            return self
        try:
            link = instrument.link
        except LabkitError:
            link = None
        if self.name == "transport":
            warnings.warn(
                f"{type(instrument).__name__}.transport is now .link",
                DeprecationWarning,
                stacklevel=2,
            )
            return link
        if link is not None and not isinstance(link, Transport):
            return self._refused(instrument, link)
        warnings.warn(
            f"{type(instrument).__name__}.{self.name}: message I/O moved from labkit.Instrument "
            "to labkit.MessageInstrument; derive the driver from it (or from ScpiInstrument)",
            DeprecationWarning,
            stacklevel=2,
        )
        call = _MESSAGE_CALLS[self.name]

        def message_io(*args: Any) -> Any:
            return instrument.run_io(lambda: call(instrument.link, *args))

        message_io.__name__ = self.name
        return message_io

    def _refused(self, instrument: Any, link: Any) -> Any:
        def not_message_based(*args: Any) -> Any:
            raise ConfigurationError(
                f"{type(instrument).__name__} is not message-based: its link "
                f"{type(link).__name__} has no {self.name}",
                instrument=instrument.name,
                hint="Use its settings (inst.<name> = value), or its link's own methods",
            )

        return not_message_based
