"""The declaration behind every setting, reading and action.

A :class:`TraitSpec` holds what a driver author wrote once — kind, unit, limits, choices,
ramp, commands — and is the single source that validation, panels, snapshots, docs and
simulators read. It does no I/O: turning a value into a command string and a reply back
into a value are pure functions of the declaration.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from labkit.core._axes import Axis, as_axes, check_array, parse_array
from labkit.core._errors import (
    ChoiceError,
    DeclarationError,
    LimitError,
    ReplyError,
    SettingTypeError,
)
from labkit.core._kinds import KINDS, Kind, kind_of, split_choices
from labkit.core._spec_checks import check_declaration
from labkit.core._units import check_text, format_quantity, shorten, to_number

__all__ = ["KINDS", "MethodAccessor", "TraitSpec"]

Role = Literal["setting", "reading", "action"]
Access = Literal["rw", "r", "w"]

_TRUE_WORDS = {"1", "on", "true", "yes"}
_FALSE_WORDS = {"0", "off", "false", "no"}
_REPLY_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_REL_TOL = 1e-9
_INT64 = (-(2**63), 2**63 - 1)


@dataclasses.dataclass(eq=False)
class TraitSpec:
    """Everything declared about one setting, reading or action: a declaration.

    ``choices`` are the values a user picks from (labels for ``enum``, numbers for a discrete
    ``float``/``int``); ``tokens`` are what the instrument is sent for each, in the same order.
    ``get``/``set`` are command templates (``"VOLT?"``, ``"VOLT {}"``, for message instruments)
    or callables taking the instrument (and the value): ``get(inst) -> value``,
    ``set(inst, value) -> value sent or None``, an action's ``set(inst)``. A driver's
    ``_get_<name>``/``_set_<name>`` methods become such callables when its class is made, so
    :attr:`readable` and :attr:`writable` are settled then, once. ``parse`` turns a reply into a
    value.

    Declarations are made by ``Setting``/``Reading``/``Action`` in a class body, or from data
    (:meth:`from_jsonable`, or this constructor) by a link that reads them from the device.
    The kind decides how values are checked (:meth:`coerce`), sent (:meth:`token`) and taken
    back (:meth:`from_reply`, :meth:`accept`). An ``array`` reading's value is a NumPy array
    whose dimensions are its ``axes`` (:class:`~labkit.core.Axis`: name, length, coordinate,
    unit) and whose elements are ``dtype``; ``unit`` is the unit of the elements.
    """

    role: Role
    kind: Kind = "float"
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    step: float | None = None
    ramp: float | None = None
    ramp_step: float | None = None
    choices: tuple[Any, ...] | None = None
    tokens: tuple[str, ...] | None = None
    enum_type: type[enum.Enum] | None = None
    readback: str | None = None
    access: Access = "rw"
    lockable: bool = True
    safe: Any = None
    get: str | Callable[..., Any] | None = None
    set: str | Callable[..., Any] | None = None
    parse: Callable[[str], Any] | None = None
    fmt: str = ".10g"
    bool_tokens: tuple[str, str] = ("1", "0")
    delay: float = 0.0
    confirm: str | None = None
    side_effect: str | Callable[[Any], str | None] | None = None
    axes: tuple[Axis, ...] | None = None
    dtype: str | None = None
    label: str | None = None
    doc: str = ""
    name: str = ""
    owner: str = ""

    # -- derived facts -------------------------------------------------------------------

    @property
    def qualname(self) -> str:
        """``Keithley2450.voltage``: where the declaration lives, for error messages."""
        return f"{self.owner}.{self.name}" if self.owner else self.name

    @property
    def title(self) -> str:
        """A label for people: the declared one, or the name with spaces."""
        return self.label or self.name.replace("_", " ")

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int")

    @property
    def is_array(self) -> bool:
        return self.kind == "array"

    @property
    def dims(self) -> tuple[str, ...]:
        """The names of an array reading's axes (empty for a scalar)."""
        return tuple(axis.name for axis in self.axes or ())

    @property
    def shape(self) -> tuple[int | None, ...]:
        """An array reading's shape (None where a length is not known yet; () for a scalar)."""
        return tuple(axis.size for axis in self.axes or ())

    @property
    def readable(self) -> bool:
        """The instrument can be asked for it (settled when the driver class is made)."""
        return self.role != "action" and self.access != "w" and self.get is not None

    @property
    def writable(self) -> bool:
        """It is a setting the instrument can be told (settled when the class is made)."""
        return self.role == "setting" and self.access != "r" and self.set is not None

    @property
    def bounded(self) -> bool:
        """Both hard bounds finite: the panel may offer a slider."""
        return self.min is not None and self.max is not None

    def side_effect_of(self, instrument: Any) -> str | None:
        """What reading this now would change on ``instrument`` (None: nothing).

        A reading declared with ``side_effect`` (a measurement that switches the meter's
        function, say) is not read by anything that only looks: panels, snapshots, refreshes.
        """
        effect = self.side_effect
        if effect is None or isinstance(effect, str):
            return effect
        return effect(instrument)

    def replace(self, **changes: Any) -> TraitSpec:
        spec = dataclasses.replace(self, **changes)
        spec.validate_declaration()
        return spec

    # -- declaration checks --------------------------------------------------------------

    def validate_declaration(self) -> None:
        """Refuse declarations that cannot work, naming the attribute (at class creation)."""
        check_declaration(self)

    def hard_range(self) -> tuple[float, float]:
        """The hard limits (±inf where open); whole numbers stay ints for an int setting, so
        snapshots, panels and errors show ``800``, not ``800.0``."""
        whole = int if self.kind == "int" else float
        lo = -math.inf if self.min is None else whole(self.min)
        hi = math.inf if self.max is None else whole(self.max)
        return lo, hi

    # -- values in --------------------------------------------------------------------

    def coerce(self, value: Any, *, where: str | None = None) -> Any:
        """Turn what a user wrote into this declaration's kind, in its unit (no limit checks).

        Only finite numbers, printable text of sensible length, and units of the same kind
        get through (see :mod:`labkit.core._units`); an int setting takes whole numbers that
        fit 64 bits, kept exact (``2**60 + 1`` is not rounded through a float).
        """
        # The hot path of sweeps: a plain finite float, already in the declared unit.
        if (
            self.kind == "float"
            and self.choices is None
            and type(value) is float
            and -math.inf < value < math.inf
        ):
            return value
        where = where or self.qualname
        if value is None:
            raise SettingTypeError(
                "a value is needed, not None", setting=where, limit=self._expected()
            )
        if self.kind == "bool":
            return self._coerce_bool(value, where)
        if self.kind in ("enum", "str"):
            if isinstance(value, str):
                check_text(value, where=where, limit=self._expected())
            if self.choices is not None:
                return self._match_label(value, where)
            if not isinstance(value, str):
                raise SettingTypeError(
                    f"{shorten(value)} ({type(value).__name__}) is not text",
                    setting=where,
                    value=value,
                    limit="text",
                    hint="Give a string",
                )
            return value
        if self.kind == "int":
            number: Any = self._whole(value, where)
        else:
            number = to_number(value, self.unit, where=where)
        if self.choices is not None:
            return self._match_number(number, value, where)
        return number

    def _expected(self) -> Any:
        """What a value must be, for the ``limit`` of type errors."""
        if self.choices is not None:
            return self.choices
        if self.kind == "bool":
            return "on/off"
        if self.kind in ("enum", "str"):
            return "text"
        return self.unit or "a number"

    def _whole(self, value: Any, where: str) -> int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            number = int(value)
        else:
            real = to_number(value, self.unit, where=where)
            if real != round(real):
                raise SettingTypeError(
                    f"{shorten(value)} is not a whole number",
                    setting=where,
                    value=value,
                    limit="a whole number",
                    hint="Give a whole number",
                )
            number = round(real)
        if not _INT64[0] <= number <= _INT64[1]:
            raise LimitError(
                f"{shorten(value)} does not fit a 64-bit integer ({_INT64[0]:,} … {_INT64[1]:,})",
                setting=where,
                value=value,
                limit=_INT64,
                hint="Give a whole number within the setting's limits",
            )
        return number

    def _coerce_bool(self, value: Any, where: str) -> bool:
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            check_text(value, where=where, limit="on/off")
            word = value.strip().lower()
            if word in _TRUE_WORDS or word in _FALSE_WORDS:
                return word in _TRUE_WORDS
        raise SettingTypeError(
            f"{shorten(value)} is not on/off",
            setting=where,
            value=value,
            limit="on/off",
            hint="Give True or False (or 'on'/'off')",
        )

    def _match_label(self, value: Any, where: str) -> str:
        assert self.choices is not None
        if isinstance(value, enum.Enum):
            value = value.name
        if isinstance(value, str):
            if value in self.choices:
                return value
            folded = {str(choice).casefold(): choice for choice in self.choices}
            if value.strip().casefold() in folded:
                return folded[value.strip().casefold()]
        raise ChoiceError(
            f"{shorten(value)} is not one of the choices",
            setting=where,
            value=value,
            limit=self.choices,
            hint="Choose one of: " + ", ".join(repr(c) for c in self.choices),
        )

    def _match_number(self, number: float, original: Any, where: str) -> Any:
        assert self.choices is not None
        for choice in self.choices:
            if math.isclose(number, choice, rel_tol=_REL_TOL, abs_tol=1e-300):
                return choice
        listed = ", ".join(format_quantity(c, self.unit) for c in self.choices)
        raise ChoiceError(
            f"{format_quantity(number, self.unit)} is not one of the allowed values",
            setting=where,
            value=original,
            limit=self.choices,
            hint=f"Choose one of: {listed}",
        )

    # -- values out to the instrument and back --------------------------------------------

    def token(self, value: Any) -> str:
        """The text the instrument is sent for an already coerced ``value``."""
        if self.kind == "bool":
            return self.bool_tokens[0] if value else self.bool_tokens[1]
        if self.choices is not None and self.tokens is not None:
            return str(self.tokens[self.choices.index(value)])
        if self.kind == "int":
            return str(int(value))
        if self.kind == "float":
            return format(float(value), self.fmt)
        return str(value)

    def sent_value(self, value: Any) -> Any:
        """What the instrument receives for ``value``: a float as its formatted token reads."""
        if self.kind == "float" and self.choices is None:
            return float(self.token(value))
        return value

    def command(self, value: Any, instrument: Any) -> str:
        """The set command for ``value``, from the ``set`` template."""
        assert isinstance(self.set, str)
        token = self.token(value)
        return self.set.format(token, value=token, self=instrument)

    def query(self, instrument: Any) -> str:
        assert isinstance(self.get, str)
        return self.get.format(self=instrument)

    def from_reply(self, reply: Any, *, where: str | None = None) -> Any:
        """Parse an instrument's reply into a value of this kind; garbage raises ReplyError."""
        where = where or self.qualname
        if self.parse is not None:
            try:
                value = self.parse(reply)
            except ReplyError:
                raise
            except Exception as error:
                raise ReplyError(
                    f"the reply {reply!r} does not parse ({error})",
                    setting=where,
                    reply=reply,
                ) from None
            return self._accept_parsed(value, reply, where)
        text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else str(reply)
        text = text.strip()
        if self.kind == "array":  # comma-separated numbers, as SCPI sends a list
            return parse_array(text, self.axes or (), self.dtype or "float64", where)
        if self.kind == "bool":
            word = text.casefold()
            tokens = [t.casefold() for t in self.bool_tokens]
            if word == tokens[0] or word in _TRUE_WORDS:
                return True
            if word == tokens[1] or word in _FALSE_WORDS:
                return False
            raise ReplyError(
                f"expected on/off, the instrument answered {reply!r}", setting=where, reply=reply
            )
        if self.choices is not None and self.tokens is not None:
            unquoted = text.strip("\"'").casefold()
            for choice, token in zip(self.choices, self.tokens, strict=True):
                if str(token).casefold() == unquoted:
                    return choice
            if self.numeric and _REPLY_NUMBER.match(text):
                for choice, token in zip(self.choices, self.tokens, strict=True):
                    if _REPLY_NUMBER.match(str(token)) and float(token) == float(text):
                        return choice
            raise ReplyError(
                f"the instrument answered {reply!r}, which is none of the known tokens "
                f"{', '.join(map(repr, self.tokens))}",
                setting=where,
                reply=reply,
            )
        if self.kind in ("enum", "str"):
            value = text.strip("\"'")
            if self.choices is not None:
                folded = {str(c).casefold(): c for c in self.choices}
                if value.casefold() not in folded:
                    raise ReplyError(
                        f"the instrument answered {reply!r}, which is not a choice",
                        setting=where,
                        reply=reply,
                    )
                return folded[value.casefold()]
            return value
        if not _REPLY_NUMBER.match(text):
            raise ReplyError(
                f"expected a number, the instrument answered {reply!r}",
                setting=where,
                reply=reply,
                hint="Check the instrument's mode and the connection",
            )
        number = float(text)
        if self.kind == "int":
            if not math.isfinite(number) or number != round(number):
                raise ReplyError(
                    f"expected a whole number, the instrument answered {reply!r}",
                    setting=where,
                    reply=reply,
                )
            number = round(number)
        if self.choices is not None:
            return self._accept_parsed(number, reply, where)
        return number

    def _accept_parsed(self, value: Any, reply: Any, where: str) -> Any:
        if self.choices is None or value is None:
            return value
        if self.numeric:
            for choice in self.choices:
                if isinstance(value, numbers.Real) and math.isclose(
                    value, choice, rel_tol=_REL_TOL
                ):
                    return choice
        elif value in self.choices:
            return value
        raise ReplyError(
            f"the instrument answered {reply!r}, which is not among the choices",
            setting=where,
            reply=reply,
        )

    def accept(self, raw: Any) -> Any:
        """A value a ``get`` callable returned, in this declaration's kind.

        Text is parsed as a reply; numbers become ``float``/``int``; anything else passes as
        it is (a callable returning the right type already pays nothing).
        """
        kind = self.kind
        if type(raw) is float and kind == "float":  # what most getters return
            return raw
        if raw is None:
            return None
        if kind == "array":
            return check_array(raw, self.axes or (), self.dtype or "float64", self.qualname)
        if isinstance(raw, (str, bytes)) and kind != "str":
            return self.from_reply(raw, where=self.name)
        if kind == "float" and type(raw) is not float:
            return float(raw)
        if kind == "int" and type(raw) is not int:
            return int(raw)
        return raw

    @classmethod
    def from_jsonable(cls, data: Mapping[str, Any], **accessors: Any) -> TraitSpec:
        """A declaration from plain data (what :meth:`jsonable` gives, a JSON table from a
        device or a plugin library), checked as a class-body one is.

        ``data`` has ``role`` (``setting``, ``reading``, ``action``) and the fields of the
        factories: ``kind`` (``float``, ``int``, ``bool``, ``str``, ``enum``), ``unit``,
        ``min``, ``max``, ``step``, ``choices`` (a list, or ``{label: token}``), ``safe``,
        ``access``, ``doc``, ``label``... and optionally ``name``. Unknown keys are refused,
        naming them. ``accessors`` are ``get=``/``set=``/``parse=`` callables (or templates).
        """
        fields = dict(data)
        unknown = set(fields) - _DATA_FIELDS
        where = str(fields.get("name") or "")
        if unknown:
            raise DeclarationError(
                f"unknown declaration fields: {', '.join(sorted(unknown))}",
                setting=where or None,
                hint=f"Known fields: {', '.join(sorted(_DATA_FIELDS))}",
            )
        role = fields.pop("role", None)
        if role not in ("setting", "reading", "action"):
            raise DeclarationError(
                f"role {role!r} must be 'setting', 'reading' or 'action'", setting=where or None
            )
        choices = fields.pop("choices", None)
        axes = as_axes(fields.pop("axes", None))
        kind, enum_type = kind_of(fields.pop("kind", "array" if axes else None), choices)
        if axes is not None:
            fields["axes"] = axes
            fields.setdefault("dtype", "float64")
        values, tokens = split_choices(choices, enum_type)
        if fields.get("tokens") is not None:
            tokens = tuple(str(t) for t in fields.pop("tokens"))
        if "bool_tokens" in fields:
            fields["bool_tokens"] = tuple(fields["bool_tokens"])
        if role == "reading":
            fields.setdefault("access", "r")
        spec = cls(
            role=role,
            kind=kind,
            choices=values,
            tokens=tokens,
            **fields,
            **accessors,
        )
        spec.validate_declaration()
        return spec

    def jsonable(self) -> dict[str, Any]:
        """The declaration as plain data, for snapshots, docs and simulators."""
        out: dict[str, Any] = {"role": self.role, "kind": self.kind}
        for field in (
            "unit",
            "min",
            "max",
            "soft_min",
            "soft_max",
            "step",
            "ramp",
            "ramp_step",
            "readback",
            "safe",
            "label",
        ):
            value = getattr(self, field)
            if value is not None:
                out[field] = value
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.access != "rw":
            out["access"] = self.access
        if isinstance(self.side_effect, str):
            out["side_effect"] = self.side_effect
        if self.is_array:
            out["axes"] = [axis.jsonable() for axis in self.axes or ()]
            out["dtype"] = self.dtype
        if self.doc:
            out["doc"] = self.doc
        return out


_DATA_FIELDS = frozenset(f.name for f in dataclasses.fields(TraitSpec)) - {
    "get",
    "set",
    "parse",
    "enum_type",
    "owner",
}
"""What a declaration given as data may say; its accessors come as callables."""


class MethodAccessor:
    """``get``/``set`` of a declaration served by a driver method (``_get_voltage``).

    Looked up on the instrument at each call, so a subclass overriding the method is obeyed.
    """

    __slots__ = ("method", "resolved")

    def __init__(self, method: str) -> None:
        self.method = method
        self.resolved: dict[type, Any] = {}  # class → its function (every set of a sweep)

    def __call__(self, instrument: Any, *value: Any) -> Any:
        function = self.resolved.get(instrument.__class__)
        if function is None:
            function = self.resolved[instrument.__class__] = getattr(
                instrument.__class__, self.method
            )
        return function(instrument, *value)

    def __repr__(self) -> str:
        return f"<method {self.method}>"
