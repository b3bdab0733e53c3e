"""A compiled plugin as a labkit instrument: the model's "declarations from the device" path.

:func:`driver_class` gives each plugin library one driver class. Its declarations are not in a
class body: like a camera's node map or a server's PVs, they come from the device when it
connects — :meth:`PluginLink.declarations` turns the device's own document (``describe``, a
model of the family with other limits) or else the library's into labkit traits, and the
instrument model gives that instrument a class of its own holding them. labkit's guards —
kind, unit, choices, limits, locks, interlocks, ramps — then run before any call reaches the
library, so the library only ever sees values its declarations allow.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any, ClassVar

from labkit.core import ConfigurationError, Instrument
from labkit.drivers.compiled._library import PluginLibrary
from labkit.drivers.compiled._link import PluginLink
from labkit.drivers.compiled._schema import Declarations
from labkit.drivers.compiled._traits import check_declarations

__all__ = ["CompiledInstrument", "driver_class"]

_lock = threading.Lock()
_classes: dict[int, type[CompiledInstrument]] = {}


class CompiledInstrument(Instrument):
    """Base of the instrument classes made from compiled plugins (:func:`driver_class`).

    ``resource`` is the string the plugin's ``open()`` takes; the plugin's options and timeouts
    go into it (labkit passes nothing else).
    """

    library: ClassVar[PluginLibrary]
    declared_at_connect = True  # the device says which model it is, and so its limits

    def __init__(
        self,
        resource: str | None = None,
        *,
        name: str | None = None,
        link: PluginLink | None = None,
        connect: bool = True,
        **options: Any,
    ) -> None:
        plugin = type(self).library.name
        if resource is None and link is None:
            raise ConfigurationError(
                f"a {plugin} device needs a resource string",
                instrument=name,
                hint=f"Give the address the plugin opens, e.g. {self._example()}",
            )
        if options:
            raise ConfigurationError(
                f"the {plugin} plugin takes no options ({', '.join(sorted(options))})",
                instrument=name,
                hint="A compiled plugin's options (and timeouts) go into its resource string",
            )
        self._declared: Declarations | None = None
        super().__init__(resource, name=name, link=link, connect=connect)

    def make_link(self) -> PluginLink:
        assert self.resource is not None  # checked in __init__
        return PluginLink(type(self).library, self.resource, instrument=self.name)

    def _on_open(self) -> None:
        # The declarations came from the link (the default device_declarations()) when it
        # first connected; reconnecting keeps that class, so the device must still declare
        # what it did (an instrument never changes its limits behind a user's back).
        if self._declared is None:
            self._declared = self.link.schema
        elif self.link.schema != self._declared:
            raise ConfigurationError(
                f"the device at {self.resource} now declares other settings or limits than "
                "when it first connected (another model of the family?)",
                instrument=self.name,
                hint="Create the instrument again to take the new device's declarations",
            )

    @classmethod
    def default_name(cls) -> str:
        return cls.library.name

    @classmethod
    def _example(cls) -> str:
        return cls.library.declarations.test_resource or "the plugin's documented form"

    def identify(self) -> dict[str, str] | None:
        identity: dict[str, str] | None = self.link.identify()
        return identity


def driver_class(path: str | os.PathLike[str]) -> type[CompiledInstrument]:
    """The driver class of the compiled plugin at ``path`` (loaded here, once).

    The library's declarations are checked by the instrument model's own rules here, so a
    plugin whose units or limits labkit cannot use fails when it is loaded, not in front of an
    instrument; each device's declarations are checked again when it connects.
    """
    library = PluginLibrary.load(Path(path))
    with _lock:
        cls = _classes.get(id(library))
        if cls is None:
            check_declarations(library.declarations, plugin=library.name)
            class_name = "".join(part.capitalize() for part in re.split(r"_+", library.name))
            namespace: dict[str, Any] = {
                "__doc__": f"{library.description} (compiled plugin {library.name} "
                f"{library.version}, {library.path.name})",
                "__module__": f"labkit.plugins.compiled.{library.name}",
                "__qualname__": class_name,
                "library": library,
            }
            cls = _classes[id(library)] = type(class_name, (CompiledInstrument,), namespace)
        return cls
