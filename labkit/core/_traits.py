"""``Setting``, ``Reading`` and ``Action``: factories for real traitlets traits with labkit metadata.

The trait value is the last value the instrument acknowledged. Assigning a setting does not
store anything by itself: it hands the value to the instrument, which validates it, writes
it, and only then stores it, so observers (a panel, a run) only ever see acknowledged values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from traitlets import HasTraits, TraitType

from labkit.core._axes import as_axes
from labkit.core._errors import AccessError, DeclarationError
from labkit.core._kinds import kind_of, split_choices
from labkit.core._spec import Access, TraitSpec

if TYPE_CHECKING:
    from labkit.core._instrument import Instrument

__all__ = [
    "Action",
    "ActionTrait",
    "LabkitTrait",
    "Reading",
    "ReadingTrait",
    "Setting",
    "SettingTrait",
    "as_trait",
]


class LabkitTrait(TraitType):
    """A traitlets trait that carries a :class:`TraitSpec`."""

    info_text = "a labkit value"

    def __init__(self, spec: TraitSpec) -> None:
        super().__init__(default_value=None, allow_none=True, help=spec.doc)
        self.spec = spec
        self.tag(labkit=spec.role)

    def class_init(self, cls: type[HasTraits], name: str | None) -> None:
        super().class_init(cls, name)
        self.spec.name = name or self.spec.name
        if not self.spec.owner:
            self.spec.owner = cls.__name__

    def validate(self, obj: Any, value: Any) -> Any:
        # Values arrive here already coerced and acknowledged; nothing more to check.
        return value

    def store(self, obj: Any, value: Any) -> None:
        """Record an acknowledged value and notify observers (no I/O, no checks)."""
        obj.store(self.name, value)

    def notify(self, obj: Any, value: Any) -> None:
        """Store through traitlets, notifying observers (the slow path of ``store``)."""
        TraitType.set(self, obj, value)

    def replace(self, **changes: Any) -> LabkitTrait:
        """A copy with some declarations changed, for a subclass: ``max=20``."""
        spec = self.spec.replace(name="", owner="", **changes)
        return type(self)(spec)

    def __repr__(self) -> str:
        return f"<{self.spec.role.capitalize()} {self.spec.qualname or '(unnamed)'} {self.spec.jsonable()}>"


class SettingTrait(LabkitTrait):
    """A value the instrument is told: assignment writes it, then stores the acknowledged value."""

    info_text = "a labkit setting"

    def set(self, obj: Instrument, value: Any) -> None:  # type: ignore[override]  # only instruments carry labkit traits
        obj.set(self.spec.name, value)


class ReadingTrait(LabkitTrait):
    """A value the instrument measures: read explicitly with ``inst.read(name)``."""

    info_text = "a labkit reading"

    def set(self, obj: HasTraits, value: Any) -> None:
        raise AccessError(
            f"{self.name} is a reading and cannot be set",
            instrument=getattr(obj, "name", None),
            setting=self.name,
            value=value,
            hint=f"Read it with inst.read({self.name!r})",
        )


class ActionTrait(LabkitTrait):
    """Something the instrument does when asked (a reset, an auto-zero): ``inst.reset()``."""

    info_text = "a labkit action"

    def get(self, obj: Any, cls: Any = None) -> Any:
        return obj.actions[self.name]

    def set(self, obj: Any, value: Any) -> None:
        raise AccessError(
            f"{self.name} is an action; call it instead of assigning it",
            instrument=getattr(obj, "name", None),
            setting=self.name,
            hint=f"Call inst.{self.name}()",
        )

    def __call__(self, function: Callable[..., Any]) -> ActionTrait:
        """Use an ``Action(...)`` as a decorator over the method that performs it."""
        self.spec.set = function
        if not self.spec.doc and function.__doc__:
            self.spec.doc = function.__doc__.strip()
            self.help = self.spec.doc
        return self


def Setting(
    kind: type | str | None = None,
    *,
    unit: str | None = None,
    min: float | None = None,
    max: float | None = None,
    soft_min: float | None = None,
    soft_max: float | None = None,
    step: float | None = None,
    ramp: float | None = None,
    ramp_step: float | None = None,
    choices: Any = None,
    readback: str | None = None,
    access: Access = "rw",
    lockable: bool = True,
    safe: Any = None,
    header: str | None = None,
    get: str | Callable[..., Any] | None = None,
    set: str | Callable[..., Any] | None = None,
    parse: Callable[[str], Any] | None = None,
    fmt: str = ".10g",
    bool_tokens: tuple[str, str] = ("1", "0"),
    delay: float = 0.0,
    label: str | None = None,
    doc: str = "",
) -> SettingTrait:
    """Declare a setting: a value the instrument is told and (usually) can be asked.

    ``kind`` is ``float`` (the default), ``int``, ``bool``, ``str`` or an ``Enum`` class.
    ``min``/``max`` are hard limits from the manual; ``soft_min``/``soft_max`` a narrower working
    range users may change. ``ramp`` (unit per second) makes changes move gradually, in steps
    of ``ramp_step``. ``choices`` is a list of allowed values or a ``{value: token}`` mapping
    from what users pick to what the instrument is sent. ``readback`` names the reading that
    shows the real value beside the set-point. ``safe`` is where abort brings the output.
    ``get``/``set`` are command templates (``"VOLT?"``, ``"VOLT {}"``) or callables; a method
    named ``_get_<name>``/``_set_<name>`` works too. ``header="VOLT"`` says both at once, as
    most message instruments take them (asked with ``VOLT?``, told with ``VOLT <value>``; only
    the one its ``access`` allows). ``delay`` is a settling time after each set.
    """
    if header is not None:
        get, set = _header_commands(header, access, get, set)
    kind_name, enum_type = kind_of(kind, choices)
    values, tokens = split_choices(choices, enum_type)
    spec = TraitSpec(
        role="setting",
        kind=kind_name,
        unit=unit,
        min=min,
        max=max,
        soft_min=soft_min,
        soft_max=soft_max,
        step=step,
        ramp=ramp,
        ramp_step=ramp_step,
        choices=values,
        tokens=tokens,
        enum_type=enum_type,
        readback=readback,
        access=access,
        lockable=lockable,
        safe=safe.name if isinstance(safe, enum.Enum) else safe,
        get=get,
        set=set,
        parse=parse,
        fmt=fmt,
        bool_tokens=bool_tokens,
        delay=delay,
        label=label,
        doc=doc,
    )
    spec.validate_declaration()
    return SettingTrait(spec)


def _header_commands(
    header: str, access: Access, get: object, set: object
) -> tuple[str | None, str | None]:
    """The query and command templates ``header=`` stands for, refusing what would clash."""
    if get is not None or set is not None:
        raise DeclarationError(
            f"header={header!r} already says get={header + '?'!r} and set={header + ' {}'!r}",
            hint="Give either header= or get=/set=, not both",
        )
    if not isinstance(header, str) or not header.strip() or header != header.strip():
        raise DeclarationError(
            f"header={header!r} is not a command header",
            hint="Give the header as the instrument spells it, such as ':SOUR:VOLT'",
        )
    if header.endswith("?"):
        raise DeclarationError(
            f"header={header!r} ends with '?': the query is made from it",
            hint=f"Give header={header.rstrip('?')!r}",
        )
    return (
        None if access == "w" else f"{header}?",
        None if access == "r" else f"{header} {{}}",
    )


def Reading(
    kind: type | str | None = None,
    *,
    unit: str | None = None,
    axes: Any = None,
    dtype: str = "float64",
    choices: Any = None,
    get: str | Callable[..., Any] | None = None,
    parse: Callable[[str], Any] | None = None,
    side_effect: str | Callable[[Any], str | None] | None = None,
    label: str | None = None,
    doc: str = "",
) -> ReadingTrait:
    """Declare a reading: a value the instrument measures, read with ``inst.read(name)``.

    ``get`` is a query (``"MEAS:CURR?"``) or a callable; a method ``_get_<name>`` works too.
    ``side_effect`` says what reading it changes on the instrument (``"makes resistance the
    measure function"``), or is a callable of the instrument that says so, or None, now:
    panels, snapshots and ``refresh()`` then leave it unread, and say why.

    ``axes`` make it an array reading (a spectrum, a trace, a buffer): one
    :class:`~labkit.core.Axis` per dimension (a name is enough), its value a NumPy array of
    ``dtype`` in ``unit``; the driver tells lengths and coordinates known only once connected
    with ``update_declaration(name, axes=[...])``.
    """
    made_axes = as_axes(axes)
    if made_axes is not None and kind is None:
        kind = "array"
    kind_name, enum_type = kind_of(kind, choices)
    values, tokens = split_choices(choices, enum_type)
    spec = TraitSpec(
        role="reading",
        kind=kind_name,
        unit=unit,
        choices=values,
        tokens=tokens,
        enum_type=enum_type,
        access="r",
        get=get,
        parse=parse,
        side_effect=side_effect,
        axes=made_axes,
        dtype=dtype if kind_name == "array" else None,
        label=label,
        doc=doc,
    )
    spec.validate_declaration()
    return ReadingTrait(spec)


def Action(
    do: str | Callable[..., Any] | None = None,
    *,
    label: str | None = None,
    confirm: str | None = None,
    doc: str = "",
) -> ActionTrait:
    """Declare an action: a command (``"*RST"``) or a method the instrument runs on request.

    Usable as ``reset = Action("*RST")`` or as a decorator ``@Action(label="Zero")``.
    ``confirm`` is a question a panel asks before running it (a reset that turns outputs off).
    """
    spec = TraitSpec(role="action", kind="str", set=do, label=label, confirm=confirm, doc=doc)
    trait = ActionTrait(spec)
    if callable(do) and not doc and do.__doc__:
        trait.spec.doc = do.__doc__.strip()
        trait.help = trait.spec.doc
    return trait


_TRAITS: dict[str, type[LabkitTrait]] = {
    "setting": SettingTrait,
    "reading": ReadingTrait,
    "action": ActionTrait,
}


def as_trait(declaration: TraitSpec | LabkitTrait) -> LabkitTrait:
    """The trait carrying ``declaration`` (a trait is returned as it is)."""
    if isinstance(declaration, LabkitTrait):
        return declaration
    if not isinstance(declaration, TraitSpec):
        raise DeclarationError(
            f"{declaration!r} is not a declaration",
            hint="Give TraitSpec objects (TraitSpec.from_jsonable(...)) or Setting/Reading/Action",
        )
    return _TRAITS[declaration.role](declaration)
