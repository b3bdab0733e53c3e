"""Raw message I/O goes through the same guards as settings.

``smu.write(":SOUR:VOLT 500")`` must not be a way around a limit, an interlock or an
instructor's lock. So a message written from outside the instrument's own code (a notebook, a
script, a helper running on the caller's thread) is read before it is sent:

- every command in it (``;``-separated, SCPI's compound rules for the header path) that is
  the set command of a declared setting — matched the SCPI way: any keyword spelt from its
  short form on (``SOURce1:VOLTage`` matches ``SOUR1:VOLT``), case-insensitive — has its value
  checked exactly as ``handle.set`` checks it: kind, unit, choices, locks, limits, interlocks;
  a value labkit cannot read (``VOLT MAX``) is refused; once sent, the value is stored as a
  set's would be. A template may give fixed parameters beside the value
  (``:TRAC:POIN {}, "defbuffer1"``): the command is that setting's only when they are given
  as the template gives them (another buffer is another thing, and an omitted one is an
  instrument default labkit does not assume), so anything else counts as an unknown command;
- plain queries (one header ending in ``?``, other than self-tests and calibrations) are
  always let through: they ask, they do not set;
- a declared setting that ramps is never jumped by a raw command (a set ramps; one command
  cannot): its command is refused unless it repeats the value already there;
- every other command, and binary data, may change anything, and labkit cannot tell what
  (``*RCL 1``, ``:SOUR:VOLT:LEV 50`` — a spelling no declaration gives). On an instrument
  with any guard in force — an instructor's lock, an interlock, soft limits, a ramp, or the
  driver's own limits, on any of its settings or channels — it is refused unless sent inside
  ``with inst.raw_access(key):``. Where a lock is in force ``key`` must be the instructor's
  key (of every lock); otherwise ``inst.raw_access()`` is the user saying, knowingly, that
  this message goes around them. Only an instrument with nothing to guard (no limit on any
  setting) takes such commands unasked.

The instrument's own code — a driver's ``_set_<name>`` method, an action, a read, anything run
with ``run_io`` — is trusted: its writes are what a checked set or action sends.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from labkit.core._errors import LabkitError, LockedError, ValidationError
from labkit.core._units import MAX_TEXT, format_quantity, shorten

__all__ = [
    "RawCommand",
    "check_raw",
    "guards_in_force",
    "refuse_wrong_key",
    "split_commands",
    "split_parameters",
]

_TOKEN = "\x00labkit-value\x00"
_KEYWORD = re.compile(r"^(\*?[A-Za-z_]+)([0-9]*)$")
_RISKY_QUERIES = {"*TST?", "*CAL?"}  # queries that run something (a self-test, a calibration)


def split_commands(message: str) -> list[str]:
    """``"SOUR:VOLT 1;CURR 2\\n*OPC?"`` → ``["SOUR:VOLT 1", "SOUR:CURR 2", "*OPC?"]``.

    A command after ``;`` that starts with neither ``:`` nor ``*`` continues the previous
    command's header path, as SCPI says; quoted strings are not split.
    """
    parts: list[str] = []
    path: list[str] = []
    for raw in _split_outside_quotes(message):
        part = raw.strip()
        if not part:
            continue
        header, _, rest = part.partition(" ")
        if header.startswith("*"):
            parts.append(part)
            continue
        absolute = header.startswith(":")
        keywords = header.lstrip(":").split(":")
        full = keywords if absolute or not path else [*path, *keywords]
        path = full[:-1]
        parts.append(":".join(full) + (f" {rest}" if rest else ""))
    return parts


_SPECIAL = re.compile(r"""[;\n\r"']""")


def _split_outside_quotes(message: str) -> Iterator[str]:
    """Split at ``;`` and line ends outside quoted strings (a quote counts only if closed).

    A message with none of them (most, and a megabyte of data) is found so at memchr speed.
    """
    if not any(char in message for char in ";\n\r\"'"):
        yield message
        return
    start = 0
    position = 0
    while True:
        found = _SPECIAL.search(message, position)
        if found is None:
            break
        char = found.group()
        if char in "\"'":
            closing = message.find(char, found.end())
            position = found.end() if closing < 0 else closing + 1
            continue
        yield message[start : found.start()]
        start = position = found.end()
    yield message[start:]


def _keywords(header: str) -> list[tuple[str, str]] | None:
    found = []
    for keyword in header.lstrip(":").split(":"):
        match = _KEYWORD.match(keyword.strip())
        if match is None:
            return None
        found.append((match[1].upper(), match[2] or "1"))
    return found


def _same_header(template: list[tuple[str, str]], given: list[tuple[str, str]]) -> bool:
    """SCPI: each keyword is its short form (the template's) or longer, suffix 1 by default."""
    return len(template) == len(given) and all(
        g_word.startswith(t_word) and g_num == t_num
        for (t_word, t_num), (g_word, g_num) in zip(template, given, strict=True)
    )


class RawCommand:
    """The set command of one declared setting, ready to recognise in a raw message.

    ``before`` and ``after`` are the template's fixed parameters on either side of the value
    (``:TRAC:POIN {}, "defbuffer1"`` has none before and ``"defbuffer1"`` after).
    """

    __slots__ = ("after", "before", "handle", "header")

    def __init__(
        self,
        handle: Any,
        header: list[tuple[str, str]],
        before: tuple[str, ...] = (),
        after: tuple[str, ...] = (),
    ) -> None:
        self.handle = handle
        self.header = header
        self.before = before
        self.after = after

    @classmethod
    def of(cls, handle: Any) -> RawCommand | None:
        template = handle.spec.set
        if not isinstance(template, str):
            return None
        try:
            text = template.format(_TOKEN, value=_TOKEN, self=handle.instrument)
        except (AttributeError, IndexError, KeyError, ValueError):
            return None
        header, _, parameters = text.strip().partition(" ")
        if _TOKEN in header:
            return None
        keywords = _keywords(header)
        if keywords is None:
            return None
        if parameters.strip().strip("\"'") == _TOKEN:
            return cls(handle, keywords)
        split = split_parameters(parameters)
        holding = [i for i, parameter in enumerate(split) if _TOKEN in parameter]
        if len(holding) != 1 or split[holding[0]].strip("\"'") != _TOKEN:
            return None  # the value is not one whole parameter: labkit cannot pick it out
        at = holding[0]
        fixed = [_normal(parameter) for parameter in split]
        return cls(handle, keywords, tuple(fixed[:at]), tuple(fixed[at + 1 :]))

    def value_in(self, parameters: str) -> str | None:
        """The value's text in a command's ``parameters``, or None if its fixed parameters are
        not the template's (the command then sets something else)."""
        if not self.before and not self.after:
            return parameters.strip()
        given = split_parameters(parameters)
        ends = len(given) - len(self.after)
        if ends <= len(self.before):
            return None
        fixed = [_normal(parameter) for parameter in given[: len(self.before)] + given[ends:]]
        if tuple(fixed) != self.before + self.after:
            return None
        return ",".join(given[len(self.before) : ends]).strip()


_PARAMETER_SPECIAL = re.compile(r"""[,"']""")


def split_parameters(parameters: str) -> list[str]:
    """``' 10, "def,buffer1"'`` → ``['10', '"def,buffer1"']``: split at commas outside quotes."""
    found: list[str] = []
    start = position = 0
    while (special := _PARAMETER_SPECIAL.search(parameters, position)) is not None:
        if special.group() == ",":
            found.append(parameters[start : special.start()].strip())
            start = position = special.end()
            continue
        closing = parameters.find(special.group(), special.end())
        position = special.end() if closing < 0 else closing + 1
    found.append(parameters[start:].strip())
    return found


def _normal(parameter: str) -> str:
    """A fixed parameter as SCPI compares it: string data exactly (either quote), the rest
    (character data, numbers as written) case-insensitively."""
    if len(parameter) >= 2 and parameter[0] in "\"'" and parameter[-1] == parameter[0]:
        return "string:" + parameter[1:-1]
    return parameter.upper()


def _commands(instrument: Any) -> list[RawCommand]:
    found = []
    for handle in _handles(instrument):
        command = RawCommand.of(handle)
        if command is not None:
            found.append(command)
    return found


def _handles(instrument: Any) -> Iterable[Any]:
    yield from instrument.settings
    for channel in instrument.channels.values():
        yield from _handles(channel)


def _locks(instrument: Any) -> list[Any]:
    return [h.state.lock for h in _handles(instrument) if h.state.lock is not None]


def guards_in_force(instrument: Any) -> list[str]:
    """What guards ``instrument`` (or its channels): locks, interlocks, soft limits, ramps and
    the driver's own limits — the most particular first (messages show the first few)."""
    locks, interlocks, soft, ramps, hard = [], [], [], [], []
    for handle in _handles(instrument):
        state = handle.state
        name = handle.full_name
        if state.lock is not None:
            locks.append(f"{name} {state.lock.describe()}")
        for interlock in state.interlocks:
            interlocks.append(f"{name} has an interlock ({interlock.condition.description})")
        if state.soft_min is not None or state.soft_max is not None:
            soft.append(f"{name} has soft limits ({_range(handle)})")
        elif _hard_limited(handle.spec):
            hard.append(f"{name} is limited to {_range(handle)}")
        if state.ramping:
            ramps.append(f"{name} ramps at {format_quantity(state.ramp_rate, handle.unit)}/s")
    return [*locks, *interlocks, *soft, *ramps, *hard]


def _guarded(instrument: Any) -> bool:
    """Whether anything in :func:`guards_in_force` holds (without describing it)."""
    for handle in _handles(instrument):
        state = handle.state
        if state.lock is not None or state.interlocks or state.ramping:
            return True
        if state.soft_min is not None or state.soft_max is not None:
            return True
        if _hard_limited(handle.spec):
            return True
    return False


def _hard_limited(spec: Any) -> bool:
    if not spec.numeric:
        return False
    low, high = spec.hard_range()
    return math.isfinite(low) or math.isfinite(high)


def _range(handle: Any) -> str:
    low, high = handle.limits
    return f"{format_quantity(low, handle.unit)} … {format_quantity(high, handle.unit)}"


def _is_plain_query(part: str) -> bool:
    header, _, _ = part.partition(" ")
    return header.endswith("?") and header.upper() not in _RISKY_QUERIES


def check_raw(
    instrument: Any,
    message: str | bytes,
    *,
    key: str | None,
    raw_access: bool | None = None,
) -> list[tuple[Any, Any]]:
    """Refuse ``message`` (raising) if it breaks a guard; returns ``(handle, value)`` for the
    settings it sets, checked. ``raw_access`` says the message is sent inside
    ``inst.raw_access(key)`` (by default: when a key is given)."""
    if raw_access is None:
        raw_access = key is not None
    locks = _locks(instrument)
    if locks:
        opened = raw_access and key is not None and all(lock.opens_with(key) for lock in locks)
    else:
        opened = raw_access
    guarded = not opened and _guarded(instrument)  # what guards it is said only if refused
    name = instrument.name
    if isinstance(message, bytes):
        if guarded:
            raise _refused(name, "binary data", guards_in_force(instrument), bool(locks))
        return []
    known = _commands(instrument)
    checked: list[tuple[Any, Any]] = []
    for part in split_commands(message):
        header, _, parameters = part.partition(" ")
        given = _keywords(header)
        found = _recognise(known, given, parameters) if given is not None else None
        if found is not None:
            command, token = found
            checked.append((command.handle, _check_value(command.handle, token, part)))
        elif guarded and not _is_plain_query(part):
            raise _refused(name, shorten(part), guards_in_force(instrument), bool(locks))
    return checked


def _recognise(
    known: list[RawCommand], given: list[tuple[str, str]], parameters: str
) -> tuple[RawCommand, str] | None:
    """The declared set command ``given`` + ``parameters`` is, with the value's text."""
    for command in known:
        if _same_header(command.header, given):
            token = command.value_in(parameters)
            if token is not None:
                return command, token
    return None


def _set_instead(handle: Any) -> str:
    """The setting's own way, for hints: ``Set it with smu.source_voltage = ...``."""
    owner = handle.full_name.split(".")[-2]
    return f"Set it with {owner}.{handle.name} = ..."


def _check_value(handle: Any, token: str, part: str) -> Any:
    spec = handle.spec
    try:
        if len(token) > MAX_TEXT:  # no value is that long: refused before it is read
            raise ValidationError("too long")
        value = spec.from_reply(token, where=handle.name)
    except LabkitError:
        raise ValidationError(
            f"the raw command {shorten(part)} sets {handle.full_name}, and labkit cannot tell "
            f"which value {shorten(token, 30)} is, so it cannot check it",
            instrument=handle.instrument.name,
            setting=handle.name,
            value=token,
            limit=spec.unit or spec.choices or spec.kind,
            hint=f"{_set_instead(handle)} instead",
        ) from None
    checked = handle.check(value)
    state = handle.state
    if state.ramping and checked != handle.value:  # a set ramps; one raw command would jump
        rate = f"{format_quantity(state.ramp_rate, handle.unit)}/s"
        raise ValidationError(
            f"the raw command {shorten(part)} would jump {handle.full_name} to "
            f"{format_quantity(checked, handle.unit)} at once, but it ramps at {rate}",
            instrument=handle.instrument.name,
            setting=handle.name,
            value=token,
            limit=f"ramp {rate}",
            hint=f"{_set_instead(handle)} instead (it ramps)",
        )
    for interlock in handle.interlocks:
        interlock.enforce(checked)
    return checked


def _refused(name: str, what: str, guarded: list[str], locked: bool) -> LockedError:
    shown = "; ".join(guarded[:4]) + ("; …" if len(guarded) > 4 else "")
    if locked:
        return LockedError(
            f"raw I/O refused: an instructor locked settings of {name} ({shown}), so {what} "
            "may only be sent with the instructor's key",
            instrument=name,
            value=what,
            limit="the instructor's key",
            hint=f"with {name}.raw_access(key): ... — or set the declared settings instead",
        )
    return LockedError(
        f"raw I/O refused: {what} is not a declared setting's command, so labkit cannot check "
        f"it against the guards in force on {name} ({shown})",
        instrument=name,
        value=what,
        limit="declared settings' commands and plain queries",
        hint=f"Set the declared settings instead; to send it around those guards, knowingly: "
        f"with {name}.raw_access(): ...",
    )


def refuse_wrong_key(instrument: Any, key: str) -> None:
    """Refuse a key that does not open every lock in force on ``instrument``."""
    locks = _locks(instrument)
    if locks and not all(lock.opens_with(key) for lock in locks):
        raise LockedError(
            f"that key does not open the locks on {instrument.name}",
            instrument=instrument.name,
            limit="the instructor's key",
            hint="Ask the instructor who locked it",
        )
