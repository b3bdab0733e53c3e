"""Declarations: from a class body, or from the device at connect, through one path.

An instrument's settings, readings and actions are :class:`~labkit.core.TraitSpec` objects
carried by traitlets traits. They come from two places:

- the **class body** (``voltage = Setting(unit="V", ...)``): collected in declaration order when
  the class is made (panels show them in that order);
- the **device**, when it connects (a camera's node map, a server's PVs, a plugin library's
  table): the instrument's :meth:`~labkit.core.Instrument.device_declarations` yields them
  and :func:`device_class` gives that one instrument a class of its own holding them (as
  traitlets' ``add_traits`` does), made by the same metaclass.

Either way every declaration passes the same checks (:func:`check_declarations`): a name not
taken by the instrument's API, a way to read every reading and to write every writable
setting, a ``readback`` that names a reading. ``_get_<name>``/``_set_<name>`` methods are bound
into the declarations when the class is made, so whether a declaration can be read or written
(:attr:`~labkit.core.TraitSpec.readable`, :attr:`~labkit.core.TraitSpec.writable`) is settled
then, once.

Making an instrument goes through the registry first (:meth:`InstrumentMeta.__call__`): re-running
a notebook cell returns the instrument already connected for that name and resource, a
conflicting one is a clear error — before any link is opened or any device asked anything.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from traitlets import HasTraits, MetaHasTraits

from labkit.core import _registry
from labkit.core._attributes import seal
from labkit.core._errors import DeclarationError
from labkit.core._spec import MethodAccessor, TraitSpec
from labkit.core._traits import LabkitTrait, as_trait
from labkit.core._units import check_unit

if TYPE_CHECKING:
    from labkit.core._instrument import Instrument

__all__ = [
    "Channel",
    "InstrumentMeta",
    "check_declarations",
    "device_class",
    "own_class",
    "reserved_names",
    "snake_case",
]


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
        return obj.channels[self.name]


class InstrumentMeta(MetaHasTraits):
    """Collects, binds and checks the declarations of an instrument class when it is made."""

    _labkit_specs: dict[str, TraitSpec]
    _labkit_traits: dict[str, LabkitTrait]
    _labkit_channels: dict[str, Channel]
    _labkit_units_checked: bool

    def __new__(mcs, name: str, bases: tuple[type, ...], classdict: dict[str, Any]) -> Any:
        _bind_methods(bases, classdict)
        return super().__new__(mcs, name, bases, classdict)

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
        traits = cast("type[HasTraits]", cls).class_traits()  # the metaclass makes HasTraits
        cls._labkit_traits = {n: t for n, t in traits.items() if isinstance(t, LabkitTrait)}
        cls._labkit_channels = channels
        if classdict.get("_labkit_api", False):
            return  # labkit's own bases: their attributes are the API the check protects
        own = {n: s for n, s in specs.items() if isinstance(classdict.get(n), LabkitTrait)}
        api: set[str] = set()
        for base in bases:
            api |= reserved_names(base, exclude=getattr(base, "_labkit_specs", {}))
        check_declarations(name, own, reserved=api, all_specs=specs)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        _check_units_once(cls)
        if kwargs.get("parent") is not None:
            return super().__call__(*args, **kwargs)  # a channel: sealed with its parent
        klass = cast("type[Instrument]", cls)  # the classes this metaclass makes
        name = _registry.check_name(kwargs.get("name") or klass.default_name())
        link = kwargs.get("link") or kwargs.get("transport")
        resource = args[0] if args else kwargs.get("resource")
        if resource is None and link is not None:
            resource = getattr(link, "resource", None)
        existing = _registry.lookup(klass, name, resource)
        if existing is not None:
            return existing
        instrument = super().__call__(*args, **kwargs)
        seal(instrument)  # from now on a misspelt name is an AttributeError, not an attribute
        _registry.register(instrument)
        return instrument


def _bind_methods(bases: tuple[type, ...], classdict: dict[str, Any]) -> None:
    """Turn ``_get_<name>``/``_set_<name>`` methods into the declarations' accessors.

    A declaration of this class body gets them directly; an inherited one that a method of this
    class now serves is re-declared here, so the base class's declaration stays as it was.
    """
    inherited: dict[str, TraitSpec] = {}
    for base in reversed(bases):
        inherited.update(getattr(base, "_labkit_specs", {}))

    def method(prefix: str, name: str) -> MethodAccessor | None:
        attribute = f"{prefix}{name}"
        found = classdict.get(attribute)
        if found is None:
            found = next((getattr(b, attribute) for b in bases if hasattr(b, attribute)), None)
        return MethodAccessor(attribute) if callable(found) else None

    for name, value in list(classdict.items()):
        if isinstance(value, LabkitTrait) and value.spec.role != "action":
            spec = value.spec
            if spec.get is None:
                spec.get = method("_get_", name)
            if spec.set is None and spec.role == "setting":
                spec.set = method("_set_", name)
    for name, spec in inherited.items():
        if name in classdict or spec.role == "action":
            continue
        changes: dict[str, Any] = {}
        if spec.get is None and callable(classdict.get(f"_get_{name}")):
            changes["get"] = MethodAccessor(f"_get_{name}")
        if spec.set is None and spec.role == "setting" and callable(classdict.get(f"_set_{name}")):
            changes["set"] = MethodAccessor(f"_set_{name}")
        if changes:
            classdict[name] = as_trait(spec.replace(name="", owner="", **changes))


def reserved_names(
    cls: type, instance: object | None = None, exclude: Mapping[str, Any] = {}
) -> set[str]:
    """Names a declaration may not take on a subclass of ``cls`` (or on ``instance``): every
    attribute of the class — its methods, properties, class variables, annotated instance
    attributes — and of ``instance``, except the declarations in ``exclude`` (a subclass may
    re-declare those). Drivers naming what a device declares pick names outside this set."""
    names = set(dir(cls))
    for klass in cls.__mro__:
        names.update(vars(klass).get("__annotations__", {}))
    if instance is not None:
        names.update(vars(instance))
    return {n for n in names if n not in exclude}


def check_declarations(
    owner: str,
    specs: Mapping[str, TraitSpec],
    *,
    reserved: set[str],
    all_specs: Mapping[str, TraitSpec],
) -> None:
    """Refuse declarations that cannot work, naming ``owner.name`` (class body or device)."""
    for name, spec in specs.items():
        where = f"{owner}.{name}"
        if not name.isidentifier() or name.startswith("_") or name in reserved:
            raise DeclarationError(
                f"{name!r} cannot be declared: the name is taken by labkit's Instrument API"
                if name in reserved
                else f"{name!r} is not a usable attribute name",
                setting=where,
                hint="Choose another name",
            )
        if spec.role == "reading" and spec.get is None:
            raise DeclarationError(
                "a reading needs a way to read it",
                setting=where,
                hint=f"Declare get='QUERY?' or define a method _get_{name}(self)",
            )
        if spec.role == "setting" and spec.access != "r" and spec.set is None:
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
            target = all_specs.get(spec.readback)
            if target is None or target.role != "reading":
                raise DeclarationError(
                    f"readback {spec.readback!r} is not a reading of {owner}",
                    setting=where,
                    hint="Name a Reading declared on the same instrument",
                )


def device_class(instrument: Instrument, found: Iterable[Any]) -> type:
    """The class of one instrument once its device declared ``found``: a subclass of its own
    class adding those declarations, made (and checked) by the same metaclass.

    ``found`` holds :class:`TraitSpec` objects with their ``name``, ``(name, declaration)``
    pairs, or is a ``{name: declaration}`` mapping; a declaration may also be the trait a
    ``Setting``/``Reading``/``Action`` factory made.
    """
    cls = type(instrument)
    pairs = found.items() if isinstance(found, Mapping) else found
    traits: dict[str, LabkitTrait] = {}
    for entry in pairs:
        name, declaration = (entry.name, entry) if isinstance(entry, TraitSpec) else entry
        trait = as_trait(declaration)
        if name in traits or name in cls._labkit_specs:
            raise DeclarationError(
                f"the device declares {name!r} twice (or over a class declaration)",
                setting=f"{cls.__name__}.{name}",
                hint="Give each declaration a unique name",
            )
        trait.spec.name = name
        trait.spec.owner = trait.spec.owner or cls.__name__
        trait.spec.validate_declaration()
        traits[name] = trait
    specs = {**cls._labkit_specs, **{n: t.spec for n, t in traits.items()}}
    check_declarations(
        cls.__name__,
        {n: t.spec for n, t in traits.items()},
        reserved=reserved_names(cls, instance=instrument, exclude=specs),
        all_specs=specs,
    )
    for name, trait in traits.items():
        check_unit(trait.spec.unit, where=f"{cls.__name__}.{name}")
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "_labkit_api": False,
        "_labkit_units_checked": True,
        "_labkit_device_of": cls,
        **traits,
    }
    return InstrumentMeta(cls.__name__, (cls,), namespace)


def own_class(instrument: Instrument, name: str) -> type[Instrument]:
    """The class of ``instrument`` once declaration ``name`` is its own: a subclass holding a
    copy of it, so that what this device says about it (its limits, its record length, its
    wavelength calibration) changes no other instrument of the same driver.

    Returns the present class when the declaration is already the instrument's own.
    """
    cls = type(instrument)
    owned = cls.__dict__.get("_labkit_own", frozenset())
    if name in owned or (
        "_labkit_device_of" in cls.__dict__ and name in cls.__dict__  # declared by the device
    ):
        return cls
    trait = cls._labkit_traits[name]
    copy = type(trait)(dataclasses.replace(trait.spec))
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "_labkit_api": False,
        "_labkit_units_checked": True,
        "_labkit_device_of": getattr(cls, "_labkit_device_of", None) or cls,
        "_labkit_own": owned | {name},
        name: copy,
    }
    return cast("type[Instrument]", InstrumentMeta(cls.__name__, (cls,), namespace))


def _check_units_once(cls: InstrumentMeta) -> None:
    # Checking unit strings needs pint, which is slow to import; it happens when the first
    # instrument of a class is made, not when a driver module is imported.
    if cls.__dict__.get("_labkit_units_checked"):
        return
    for name, spec in cls._labkit_specs.items():
        check_unit(spec.unit, where=f"{cls.__name__}.{name}")
    cls._labkit_units_checked = True


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
