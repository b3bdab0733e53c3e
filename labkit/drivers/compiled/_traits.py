"""A plugin's declarations as labkit traits, through labkit's own ``Setting``/``Reading``/``Action``.

Nothing here re-implements a rule of the instrument model: the factories check limits against
each other, safe values and choices as they do for a driver written in Python, and pint checks
the units. Their errors are re-raised naming the plugin and the declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.core import Action, DeclarationError, Reading, Setting
from labkit.core._units import check_unit
from labkit.drivers.compiled._schema import Declaration, Declarations

__all__ = ["Accessors", "check_declarations", "make_traits"]

Accessors = Callable[[Declaration], dict[str, Any]]
"""Given a declaration, the ``get``/``set`` (or ``do``) callables of its trait."""


def make_traits(declarations: Declarations, *, plugin: str, accessors: Accessors) -> dict[str, Any]:
    """One labkit trait per declaration, in order; ``accessors`` says how each is reached."""
    traits: dict[str, Any] = {}
    for item in declarations:
        options = dict(item.options)
        options.update(accessors(item))
        try:
            if item.role == "setting":
                traits[item.name] = Setting(options.pop("kind"), **options)
            elif item.role == "reading":
                traits[item.name] = Reading(options.pop("kind"), **options)
            else:
                traits[item.name] = Action(options.pop("do"), **options)
            check_unit(item.options.get("unit"), where=item.name)
        except DeclarationError as error:
            raise DeclarationError(
                f"the {plugin} plugin's declaration {item.name!r}: {error.message}",
                hint=error.hint,
            ) from None
    return traits


def _placeholders(item: Declaration) -> dict[str, Any]:
    def nothing(*args: Any) -> None:
        return None

    if item.role == "action":
        return {"do": nothing}
    access = item.options.get("access", "rw")
    found: dict[str, Any] = {"get": nothing if access != "w" else None}
    if item.role == "setting":
        found["set"] = nothing if access != "r" else None
    return found


def check_declarations(declarations: Declarations, *, plugin: str) -> None:
    """Raise ``DeclarationError`` if labkit could not build an instrument from them."""
    make_traits(declarations, plugin=plugin, accessors=_placeholders)
