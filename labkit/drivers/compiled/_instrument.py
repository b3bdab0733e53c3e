"""A compiled plugin as a labkit instrument class: one class per library, built from its
declarations, whose accessors call the plugin through a :class:`PluginLink`.

labkit's guards — kind, unit, choices, limits, locks, interlocks, ramps — run in the instrument
model before an accessor is called, so the library only ever sees values its declarations allow.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any, ClassVar

from labkit.core import ConfigurationError, Instrument, NotConnectedError
from labkit.drivers.compiled._library import PluginLibrary
from labkit.drivers.compiled._link import PluginLink
from labkit.drivers.compiled._schema import Declaration
from labkit.drivers.compiled._traits import make_traits

__all__ = ["CompiledInstrument", "driver_class"]

_lock = threading.Lock()
_classes: dict[int, type[CompiledInstrument]] = {}


class CompiledInstrument(Instrument):
    """Base of the instrument classes made from compiled plugins (:func:`driver_class`)."""

    library: ClassVar[PluginLibrary]

    def __init__(
        self,
        resource: str | None = None,
        *,
        name: str | None = None,
        connect: bool = True,
        **options: Any,
    ) -> None:
        plugin = type(self).library.name
        if resource is None:
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
        link = PluginLink(type(self).library, resource, instrument=name)
        super().__init__(resource, name=name, transport=link, connect=connect)  # type: ignore[arg-type]

    def _on_open(self) -> None:
        if self.link.declarations != type(self).library.declarations:
            raise ConfigurationError(
                f"the device at {self.resource} declares other settings than its library",
                instrument=self.name,
                hint="Devices with their own declarations (describe) need labkit's "
                "declarations-at-connect mechanism",
            )

    @classmethod
    def default_name(cls) -> str:
        return cls.library.name

    @classmethod
    def _example(cls) -> str:
        return cls.library.declarations.test_resource or "the plugin's documented form"

    @property
    def link(self) -> PluginLink:
        link = self.transport
        if link is None:
            raise NotConnectedError("no plugin link", instrument=self.name)
        return link  # type: ignore[return-value]  # a PluginLink, or a recorder around one

    def identify(self) -> dict[str, str] | None:
        return self.link.identify()


def _accessors(item: Declaration) -> dict[str, Any]:
    name = item.name
    if item.role == "action":

        def do(instrument: CompiledInstrument) -> None:
            instrument.link.action(name)

        return {"do": do}

    def get(instrument: CompiledInstrument) -> Any:
        return instrument.link.get(name) if item.role == "setting" else instrument.link.read(name)

    def put(instrument: CompiledInstrument, value: Any) -> None:
        instrument.link.set(name, value)

    access = item.options.get("access", "rw")
    found: dict[str, Any] = {"get": get if access != "w" else None}
    if item.role == "setting":
        found["set"] = put if access != "r" else None
    return found


def driver_class(path: str | os.PathLike[str]) -> type[CompiledInstrument]:
    """The instrument class of the compiled plugin at ``path`` (loaded here, once)."""
    library = PluginLibrary.load(Path(path))
    with _lock:
        cls = _classes.get(id(library))
        if cls is None:
            traits = make_traits(library.declarations, plugin=library.name, accessors=_accessors)
            class_name = "".join(part.capitalize() for part in re.split(r"_+", library.name))
            namespace: dict[str, Any] = {
                "__doc__": f"{library.description} (compiled plugin {library.name} "
                f"{library.version}, {library.path.name})",
                "__module__": f"labkit.plugins.compiled.{library.name}",
                "library": library,
                **traits,
            }
            cls = _classes[id(library)] = type(class_name, (CompiledInstrument,), namespace)
        return cls
