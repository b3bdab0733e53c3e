"""Turning a driver's class body into declarations: the metaclass and ``Channel``.

When an instrument class is created, its ``Setting``/``Reading``/``Action`` traits are collected
in declaration order (panels show them in that order) and checked, so a mistake in a driver
fails when it is imported, naming the attribute, rather than in front of an instrument.
Creating an instrument goes through the registry, so re-running a notebook cell returns the
instrument already connected.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from traitlets import MetaHasTraits

from labkit.core import _registry
from labkit.core._errors import DeclarationError
from labkit.core._spec import TraitSpec
from labkit.core._traits import LabkitTrait
from labkit.core._units import check_unit

if TYPE_CHECKING:
    from labkit.core._instrument import Instrument

__all__ = ["BASE_ATTRIBUTES", "Channel", "InstrumentMeta", "snake_case"]

BASE_ATTRIBUTES: frozenset[str] = frozenset()
"""Names the Instrument API uses; filled in once Instrument exists."""


class Channel:
    """Declare a sub-instrument sharing its parent's link: ``p6v = Channel(Output, output="P6V")``.

    Each instance gets its own channel object (``psu.p6v``) with its own settings; keyword
    arguments become attributes of the channel, usable in command templates (``{self.output}``).
    """

    def __init__(self, cls: type[Instrument], **attributes: Any) -> None:
        self.cls = cls
        self.attributes = attributes
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Instrument | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._channels[self.name]


class InstrumentMeta(MetaHasTraits):
    """Collects the declarations of an instrument class and checks them when the class is made."""

    def __init__(cls, name: str, bases: tuple[type, ...], classdict: dict[str, Any]) -> None:
        super().__init__(name, bases, classdict)
        specs: dict[str, TraitSpec] = {}
        channels: dict[str, Channel] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                if isinstance(value, LabkitTrait):
                    specs[attribute] = value.spec
                elif isinstance(value, Channel):
                    channels[attribute] = value
                elif attribute in specs and klass is not object:
                    del specs[attribute]  # a subclass replaced the declaration with something else
        cls._labkit_specs = specs
        cls._labkit_traits = {
            n: t for n, t in cls.class_traits().items() if isinstance(t, LabkitTrait)
        }
        cls._labkit_channels = channels
        if BASE_ATTRIBUTES:
            _check_declarations(cls)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        _check_units_once(cls)
        if kwargs.get("parent") is not None:
            return super().__call__(*args, **kwargs)
        name = _registry.check_name(kwargs.get("name") or cls.default_name())
        resource = args[0] if args else kwargs.get("resource")
        transport = kwargs.get("transport")
        if resource is None and transport is not None:
            resource = getattr(transport, "resource", None)
        existing = _registry.lookup(cls, name, resource)
        if existing is not None:
            return existing
        instrument = super().__call__(*args, **kwargs)
        _registry.register(instrument)
        return instrument


def _check_units_once(cls: type) -> None:
    # Checking unit strings needs pint, which is slow to import; it happens when the first
    # instrument of a class is made, not when a driver module is imported.
    if cls.__dict__.get("_labkit_units_checked"):
        return
    for name, spec in cls._labkit_specs.items():  # type: ignore[attr-defined]
        check_unit(spec.unit, where=f"{cls.__name__}.{name}")
    cls._labkit_units_checked = True  # type: ignore[attr-defined]


def _check_declarations(cls: type[Instrument]) -> None:
    for name, spec in cls._labkit_specs.items():
        where = f"{cls.__name__}.{name}"
        if name in BASE_ATTRIBUTES or name.startswith("_"):
            raise DeclarationError(
                f"{name!r} cannot be declared: the name is taken by labkit's Instrument API",
                setting=where,
                hint="Choose another name",
            )
        has_getter = spec.get is not None or callable(getattr(cls, f"_get_{name}", None))
        has_setter = spec.set is not None or callable(getattr(cls, f"_set_{name}", None))
        if spec.role == "reading" and not has_getter:
            raise DeclarationError(
                "a reading needs a way to read it",
                setting=where,
                hint=f"Declare get='QUERY?' or define a method _get_{name}(self)",
            )
        if spec.role == "setting" and spec.access != "r" and not has_setter:
            raise DeclarationError(
                "a writable setting needs a way to write it",
                setting=where,
                hint=f"Declare set='CMD {{}}', define _set_{name}(self, value), or access='r'",
            )
        if spec.role == "action" and spec.set is None:
            raise DeclarationError(
                "an action needs something to do",
                setting=where,
                hint="Action('COMMAND') or decorate a method with @Action()",
            )
        if spec.readback is not None:
            target = cls._labkit_specs.get(spec.readback)
            if target is None or target.role != "reading":
                raise DeclarationError(
                    f"readback {spec.readback!r} is not a reading of {cls.__name__}",
                    setting=where,
                    hint="Name a Reading declared on the same class",
                )


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
