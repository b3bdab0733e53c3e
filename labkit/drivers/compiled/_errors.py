"""Errors of compiled plugins: a library that cannot be used, and a plugin that broke the ABI."""

from __future__ import annotations

from typing import Any

from labkit.core import InstrumentError, PluginError

__all__ = ["PluginFault", "PluginLoadError"]


class PluginLoadError(PluginError):
    """A shared library cannot be used as a labkit plugin.

    ``reason`` starts with what kind of problem it is — ``not a library``, ``wrong
    architecture``, ``missing symbol``, ``load error``, ``crashed``, ``wrong ABI``, ``bad
    table``, ``bad declarations``, ``self-test failed`` — and says the rest; ``labkit plugins``
    lists it so.
    """

    def __init__(self, reason: str, *, library: str, **context: Any) -> None:
        self.reason = reason
        self.library = library
        context.setdefault("hint", _hint(reason))
        super().__init__(f"{library} cannot be used as a labkit plugin: {reason}", **context)


class PluginFault(InstrumentError, PluginError):
    """A compiled plugin did something ``labkit_plugin.h`` does not allow (an unknown status,
    a value of another kind than declared, a declared name it does not know)."""


def _hint(reason: str) -> str:
    if reason.startswith("wrong ABI"):
        return (
            "Rebuild the plugin against this labkit's labkit_plugin.h (labkit.plugin_include_dir())"
        )
    if reason.startswith(("not a library", "wrong architecture")):
        return "Put only plugin libraries built for this machine in plugin folders"
    if reason.startswith("missing symbol"):
        return "Export labkit_plugin_entry (LABKIT_PLUGIN_DEFINE in labkit_plugin.h does it)"
    if reason.startswith("bad declarations"):
        return "Fix the plugin's declarations document; the message names the key"
    if reason.startswith("load error"):
        return "Install what the library needs (ldd shows missing libraries)"
    return "Fix or remove the library; `labkit plugins` lists every plugin's state"
