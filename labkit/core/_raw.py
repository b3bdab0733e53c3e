"""Raw message I/O goes through the same guards as settings.

``smu.write(":SOUR:VOLT 500")`` must not be a way around a limit, an interlock or an
instructor's lock. So a message written from outside the instrument's own code (a notebook, a
script, a helper running on the caller's thread) is read before it is sent:

- every command in it (``;``-separated, SCPI's compound rules for the header path) that is
  the set command of a declared setting — matched the SCPI way: any keyword spelt from its
  short form on (``SOURce1:VOLTage`` matches ``SOUR1:VOLT``), case-insensitive — has its value
  checked exactly as ``handle.set`` checks it: kind, unit, choices, locks, limits, interlocks;
  a value labkit cannot read (``VOLT MAX``) is refused; once sent, the value is stored as a
  set's would be;
- plain queries (one header ending in ``?``, other than self-tests and calibrations) are
  always let through: they ask, they do not set;
- every other command, and binary data, may change anything, and labkit cannot tell what. On
  an instrument with guards beyond its declaration in force — an instructor's lock, soft
  limits, an interlock, on any of its settings or channels — it is refused unless sent inside
  ``with inst.raw_access(key):``. Where a lock is in force ``key`` must be the instructor's
  key (of every lock); where only soft limits or interlocks are, ``inst.raw_access()`` is
  the user saying, knowingly, that this message goes around them. On an instrument with no
  such guard, such commands pass (labkit cannot check what no declaration describes).

The instrument's own code — a driver's ``_set_<name>`` method, an action, a read, anything run
with ``run_io`` — is trusted: its writes are what a checked set or action sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from labkit.core._errors import LabkitError, LockedError, ValidationError
from labkit.core._units import MAX_TEXT, shorten

__all__ = ["RawCommand", "check_raw", "guards_in_force", "refuse_wrong_key", "split_commands"]

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
    """The set command of one declared setting, ready to recognise in a raw message."""

    __slots__ = ("handle", "header")

    def __init__(self, handle: Any, header: list[tuple[str, str]]) -> None:
        self.handle = handle
        self.header = header

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
        if parameters.strip().strip("\"'") != _TOKEN or _TOKEN in header:
            return None  # the value is not the whole parameter: labkit cannot pick it out
        keywords = _keywords(header)
        return None if keywords is None else cls(handle, keywords)


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
    """What guards ``instrument`` beyond its declaration: locks, soft limits, interlocks."""
    found = []
    for handle in _handles(instrument):
        state = handle.state
        if state.lock is not None:
            found.append(f"{handle.full_name} {state.lock.describe()}")
        if state.soft_min is not None or state.soft_max is not None:
            found.append(f"{handle.full_name} has soft limits")
        for interlock in state.interlocks:
            found.append(f"{handle.full_name} has an interlock ({interlock.condition.description})")
    return found


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
    guarded = [] if opened else guards_in_force(instrument)
    name = instrument.name
    if isinstance(message, bytes):
        if guarded:
            raise _refused(name, "binary data", guarded, bool(locks))
        return []
    known = _commands(instrument)
    checked: list[tuple[Any, Any]] = []
    for part in split_commands(message):
        header, _, parameters = part.partition(" ")
        given = _keywords(header)
        command = next(
            (c for c in known if given is not None and _same_header(c.header, given)), None
        )
        if command is not None:
            checked.append((command.handle, _check_value(command.handle, parameters.strip(), part)))
        elif guarded and not _is_plain_query(part):
            raise _refused(name, shorten(part), guarded, bool(locks))
    return checked


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
            hint=f"Set it with {handle.full_name.split('.')[-2]}.{handle.name} = ... instead",
        ) from None
    checked = handle.check(value)
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
