"""A station file's ``interlocks:``: the same watched interlocks ``handle.interlock(...)`` makes.

::

    interlocks:
      - setting: smu.output                 # instrument.setting (or instrument.channel.setting)
        when: true                          # the value(s) that need the condition (default: any)
        requires: tc.temperature < 80 degC  # or a list of conditions that must all hold
        reason: the sample must stay below 80 °C
        check_every: 500 ms                 # how often it is re-checked while engaged (0.5 s)

A condition is ``<instrument>.<reading or setting> <op> <value>`` with ``<``, ``<=``, ``>``,
``>=``, ``==`` or ``!=``; the value is converted to the declared unit (``80 degC``, ``353 K``,
``2 mA``). Everything is checked with the file's lines before any instrument is contacted
(names, units, values); the interlocks are made once every instrument is connected and before
any is configured, so the file's own ``settings:`` must already satisfy them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from labkit.core import Condition, ConfigurationError, Instrument, Interlock, LabkitError
from labkit.core._units import to_number
from labkit.station._plans import InstrumentPlan, handle_of, spec_of
from labkit.station._schema import Context
from labkit.station._yaml import KeyPath

__all__ = ["InterlockPlan", "install_interlocks", "plan_interlocks"]

_CONDITION = re.compile(
    r"^\s*(?P<target>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>\S.*?)\s*$"
)
_WORDS = {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}

_BUILD: dict[str, Callable[[Any, Any], Condition]] = {
    "<": lambda handle, value: handle < value,
    "<=": lambda handle, value: handle <= value,
    ">": lambda handle, value: handle > value,
    ">=": lambda handle, value: handle >= value,
    "==": lambda handle, value: handle.equals(value),
    "!=": lambda handle, value: ~handle.equals(value),
}


@dataclasses.dataclass
class Term:
    """One ``instrument.name <op> value`` of a ``requires:``, at ``where`` in the file."""

    instrument: str
    name: str
    role: str | None  # "reading" or "setting"; None until the declarations are known
    op: str
    value: Any
    where: KeyPath


@dataclasses.dataclass
class InterlockPlan:
    """One entry of ``interlocks:``, checked against the drivers, ready to make."""

    instrument: str
    setting: str
    terms: list[Term]
    when: Any
    reason: str
    check_every: float | None
    where: KeyPath


def plan_interlocks(
    entries: list[dict[str, Any]], plans: list[InstrumentPlan], context: Context
) -> list[InterlockPlan]:
    """Check every entry against the station's instruments and their drivers (no contact)."""
    by_name = {plan.name: plan for plan in plans}
    found = []
    for index, entry in enumerate(entries):
        where: KeyPath = ("interlocks", index)
        instrument, setting = _split(entry["setting"], by_name, (*where, "setting"), context)
        spec = spec_of(by_name[instrument].driver, setting)
        if spec is not None and spec.role != "setting":
            raise context.fail(
                (*where, "setting"),
                f"{entry['setting']} is a {spec.role}; an interlock guards a setting",
            )
        when = entry.get("when")
        if spec is not None and when is not None:
            with _line(context, (*where, "when")):
                when = spec.coerce(when, where=entry["setting"])
        requires = entry["requires"]
        texts = requires if isinstance(requires, list) else [requires]
        terms = [
            _term(
                text,
                by_name,
                (*where, "requires", i) if isinstance(requires, list) else (*where, "requires"),
                context,
            )
            for i, text in enumerate(texts)
        ]
        check_every = None
        if "check_every" in entry:
            with _line(context, (*where, "check_every")):
                check_every = _seconds(entry["check_every"])
        found.append(
            InterlockPlan(
                instrument=instrument,
                setting=setting,
                terms=terms,
                when=when,
                reason=entry.get("reason", ""),
                check_every=check_every,
                where=where,
            )
        )
    return found


def install_interlocks(
    planned: list[InterlockPlan], opened: dict[str, Instrument], context: Context
) -> list[Interlock]:
    """Make the interlocks on the connected instruments; each is watched from now on."""
    made = []
    for plan in planned:
        where = (*plan.where, "setting")
        with _line(context, where):
            handle = handle_of(opened[plan.instrument], plan.setting)
            if plan.when is not None:
                plan.when = handle.spec.coerce(plan.when, where=handle.full_name)
        condition: Condition | None = None
        for term in plan.terms:
            with _line(context, term.where):
                part = _BUILD[term.op](_source(opened[term.instrument], term), term.value)
            condition = part if condition is None else condition & part
        assert condition is not None
        with _line(context, plan.where):
            made.append(
                handle.interlock(
                    condition,
                    when=plan.when,
                    reason=plan.reason,
                    check_every=plan.check_every,
                )
            )
    return made


def _split(
    dotted: str, by_name: dict[str, InstrumentPlan], where: KeyPath, context: Context
) -> tuple[str, str]:
    """``"smu.output"`` → ``("smu", "output")``, the instrument being one of the station's."""
    instrument, _, rest = dotted.partition(".")
    if instrument not in by_name:
        close = difflib.get_close_matches(instrument, list(by_name), n=1)
        raise context.fail(
            where,
            f"{instrument!r} is not an instrument of this station",
            hint=f"Did you mean {close[0]!r}?" if close else f"It has: {', '.join(by_name)}",
        )
    if not rest:
        raise context.fail(where, f"{dotted!r} names no setting", hint=f"Write {dotted}.<name>")
    cls = by_name[instrument].driver
    spec = spec_of(cls, rest)
    if spec is None and not cls.declared_at_connect:
        names = _names(cls)
        close = difflib.get_close_matches(rest, names, n=1)
        raise context.fail(
            where,
            f"{rest!r} is not declared by {cls.__name__} ({instrument})",
            hint=f"Did you mean {instrument}.{close[0]}?"
            if close
            else f"It has: {', '.join(names)}",
        )
    return instrument, rest


def _names(cls: type[Instrument], prefix: str = "") -> list[str]:
    names = [prefix + name for name, spec in cls.declarations().items() if spec.role != "action"]
    for channel, (channel_cls, _) in cls.channel_classes().items():
        names += _names(channel_cls, f"{prefix}{channel}.")
    return names


def _term(text: str, by_name: dict[str, InstrumentPlan], where: KeyPath, context: Context) -> Term:
    match = _CONDITION.match(text)
    if match is None:
        raise context.fail(
            where,
            f"{text!r} is not a condition",
            hint="Write instrument.reading <op> value, e.g. tc.temperature < 80 degC "
            "(<, <=, >, >=, ==, !=)",
        )
    instrument, name = _split(match["target"], by_name, where, context)
    term = Term(instrument, name, None, match["op"], match["value"], where)
    spec = spec_of(by_name[instrument].driver, name)
    if spec is not None:  # else: declared when it connects, checked then
        with _line(context, where):
            _resolve_term(term, spec)
    return term


def _resolve_term(term: Term, spec: Any) -> None:
    """The term's role and its value in the declared unit (raising what is wrong)."""
    target = f"{term.instrument}.{term.name}"
    if spec.role == "action":
        raise ConfigurationError(f"{target} is an action, not a value to compare")
    if not spec.numeric and term.op not in ("==", "!="):
        raise ConfigurationError(
            f"{target} is not a number: compare it with == or !=, not {term.op}"
        )
    value = term.value
    if spec.kind == "bool" and isinstance(value, str):
        value = _WORDS.get(value.lower(), value)
    term.value = spec.coerce(value, where=target)
    term.role = spec.role


def _source(instrument: Instrument, term: Term) -> Any:
    """The handle a condition reads: the term's reading or setting."""
    if term.role is None:  # declared at connection: look at what the device declared
        spec = spec_of(type(instrument), term.name)
        if spec is None:
            raise ConfigurationError(
                f"{instrument.name} declares no {term.name!r}", instrument=instrument.name
            )
        _resolve_term(term, spec)
    return handle_of(instrument, term.name, term.role or "reading")


def _seconds(value: Any) -> float:
    seconds = to_number(value, "s", where="check_every")
    if not 0 < seconds < math.inf:
        raise ConfigurationError(
            f"check_every must be a positive number of seconds, not {value!r}",
            hint="Give e.g. 0.5 or '500 ms'",
        )
    return float(seconds)


@contextlib.contextmanager
def _line(context: Context, where: KeyPath) -> Iterator[None]:
    """An error of the checks inside, reported at the file's line for ``where``."""
    try:
        yield
    except LabkitError as error:
        raise context.fail(where, error.message, hint=error.hint) from None
    except (AttributeError, KeyError) as error:  # a name the connected device does not have
        raise context.fail(where, str(error).strip("'\"")) from None
