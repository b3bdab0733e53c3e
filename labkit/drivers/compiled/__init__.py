"""Compiled driver plugins: shared libraries that export labkit's C ABI (``labkit_plugin.h``).

A plugin library exports ``labkit_plugin_entry()``, which returns a table of its name,
declarations (JSON) and functions. :class:`PluginLibrary` loads and checks one;
:class:`PluginLink` is one device opened through it, with typed calls whose failures are
typed labkit errors naming the plugin. ``labkit plugins`` finds such libraries in plugin
folders and entry points (:mod:`labkit.plugins`), probing each in a separate process first.
"""

from labkit.drivers.compiled._abi import ABI_MAJOR, ABI_MINOR, ABI_VERSION, ENTRY_SYMBOL
from labkit.drivers.compiled._errors import PluginFault, PluginLoadError
from labkit.drivers.compiled._instrument import CompiledInstrument, driver_class
from labkit.drivers.compiled._library import PluginLibrary
from labkit.drivers.compiled._link import PluginLink
from labkit.drivers.compiled._schema import (
    SCHEMA_VERSION,
    Declaration,
    Declarations,
    parse_declarations,
)

__all__ = [
    "ABI_MAJOR",
    "ABI_MINOR",
    "ABI_VERSION",
    "ENTRY_SYMBOL",
    "SCHEMA_VERSION",
    "CompiledInstrument",
    "Declaration",
    "Declarations",
    "PluginFault",
    "PluginLibrary",
    "PluginLink",
    "PluginLoadError",
    "driver_class",
    "parse_declarations",
]
