"""A SCPI instrument simulated from a driver's own declarations.

The command templates, kinds, limits and choices a driver declares are enough to answer it:
``ScpiSimulator(PowerSupply)`` accepts every set command the driver can send (refusing values
outside the hard limits with SCPI error -222, as instruments do) and answers every query with
the stored value in the instrument's own format; IEEE 488.2 (the error queue, status bytes,
common commands) is :class:`~labkit.sim.Ieee4882Instrument`'s, as for every simulated SCPI
instrument. Readings come from functions you give (the virtual bench gives physics) or follow
the setting they are the read-back of. Nothing is written twice: the simulator's table is the
declaration.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from typing import Any

from labkit.core import LabkitError, TraitSpec
from labkit.sim._ieee4882 import Ieee4882Instrument, ScpiError, split_commands

__all__ = ["ScpiError", "ScpiSimulator", "split_commands"]

_ERROR_QUERY = re.compile(r"^:?SYST(?:EM)?:ERR(?:OR)?(?::NEXT)?\?$", re.IGNORECASE)
_ERROR_COUNT = re.compile(r"^:?SYST(?:EM)?:ERR(?:OR)?:COUN(?:T)?\?$", re.IGNORECASE)


class _Pattern:
    """One declared command template, compiled for matching incoming commands."""

    def __init__(self, spec: TraitSpec, template: str, fixed: dict[str, Any], query: bool) -> None:
        self.spec = spec
        self.query = query
        self.keys: list[str] = []
        parts: list[str] = ["^"]
        for literal, field, _format, _conversion in string.Formatter().parse(template):
            parts.append(_literal_pattern(literal))
            if field is None:
                continue
            if field in ("", "value", "0"):
                parts.append(r"(?P<value>.+?)")
            elif field.startswith("self."):
                attribute = field[5:]
                if attribute in fixed:
                    parts.append(re.escape(str(fixed[attribute])))
                else:
                    group = "attr_" + re.sub(r"\W", "_", attribute)
                    self.keys.append(group)
                    parts.append(rf"(?P<{group}>[^\s;]+?)")
            else:
                raise ValueError(f"template {template!r}: field {{{field}}} is not supported")
        parts.append("$")
        self.regex = re.compile("".join(parts), re.IGNORECASE)

    def match(self, command: str) -> re.Match[str] | None:
        return self.regex.match(command)


def _literal_pattern(literal: str) -> str:
    pieces = re.split(r"(\s+)", literal)
    return "".join(r"\s+" if piece.isspace() else re.escape(piece) for piece in pieces if piece)


def _declarations(
    driver: type, prefix: str = "", fixed: dict[str, Any] | None = None
) -> Iterator[tuple[str, TraitSpec, dict[str, Any]]]:
    for name, spec in driver.declarations().items():  # type: ignore[attr-defined]
        yield prefix + name, spec, dict(fixed or {})
    for channel_name, (cls, attributes) in driver.channel_classes().items():  # type: ignore[attr-defined]
        yield from _declarations(cls, f"{prefix}{channel_name}.", attributes)


class ScpiSimulator(Ieee4882Instrument):
    """A SCPI instrument answering exactly what ``driver`` declares.

    ``readings`` maps a reading's name to a function of the simulator returning its value;
    ``values`` gives starting values for settings; ``identity`` is the ``*IDN?`` reply.
    ``simulator.value("voltage")`` is what the simulated instrument holds.
    """

    def __init__(
        self,
        driver: type,
        name: str | None = None,
        *,
        identity: str | None = None,
        readings: dict[str, Callable[[ScpiSimulator], Any]] | None = None,
        values: dict[str, Any] | None = None,
        latency: float = 0.0,
        termination: str = "\n",
    ) -> None:
        super().__init__(name or driver.__name__)
        self.driver = driver
        models = getattr(driver, "models", ()) or (driver.__name__,)
        maker = getattr(driver, "manufacturer", "") or "labkit"
        self.identity = identity or f"{maker},{models[0]},SIM{abs(hash(self.name)) % 10**6:06d},sim"
        self.latency = latency
        self.read_termination = termination
        self.write_termination = termination
        self.reading_functions = dict(readings or {})
        self._specs: dict[str, TraitSpec] = {}
        self._setters: list[tuple[str, _Pattern]] = []
        self._getters: list[tuple[str, _Pattern]] = []
        self._readbacks: dict[str, str] = {}
        self._actions: list[tuple[str, re.Pattern[str]]] = []
        for key, spec, fixed in _declarations(driver):
            self._specs[key] = spec
            if isinstance(spec.set, str) and spec.role == "setting":
                self._setters.append((key, _Pattern(spec, spec.set, fixed, query=False)))
            if isinstance(spec.set, str) and spec.role == "action":
                self._actions.append((key, _Pattern(spec, spec.set, fixed, query=False).regex))
            if isinstance(spec.get, str):
                self._getters.append((key, _Pattern(spec, spec.get, fixed, query=True)))
            if spec.readback:
                owner = key.rsplit(".", 1)[0] + "." if "." in key else ""
                self._readbacks[owner + spec.readback] = key
        self._initial = {
            key: self._initial_value(spec)
            for key, spec in self._specs.items()
            if spec.role == "setting"
        }
        self._initial.update(values or {})
        self.state: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.reset()

    # -- state ----------------------------------------------------------------------------

    @staticmethod
    def _initial_value(spec: TraitSpec) -> Any:
        if spec.safe is not None:
            return spec.coerce(spec.safe)
        if spec.choices:
            return spec.choices[0]
        if spec.kind == "bool":
            return False
        if spec.kind == "str":
            return ""
        low, high = spec.hard_range()
        zero = 0 if spec.kind == "int" else 0.0
        return min(max(zero, low), high)

    def reset(self) -> None:
        """``*RST``: every setting back to its starting value (the error queue stays)."""
        self.state = {(key, ()): value for key, value in self._initial.items()}

    def value(self, name: str, *attributes: str) -> Any:
        """The value the simulated instrument holds for a setting (or computes for a reading)."""
        spec = self._specs[name]
        if spec.role == "reading":
            return self._reading(name, attributes)
        return self.state.get((name, attributes), self._initial.get(name))

    # -- messages -------------------------------------------------------------------------

    def fault_applies(self, command: str) -> bool:
        # An injected error hits the next command that changes something, as a refused set.
        return not command.endswith("?")

    def execute(self, command: str) -> str | None:
        return self.command(command)

    def command(self, command: str) -> str | None:
        """Answer one of the driver's commands; override to add instrument-specific ones."""
        if _ERROR_QUERY.match(command):
            return self.next_error()
        if _ERROR_COUNT.match(command):
            return str(len(self.errors))
        for key, pattern in self._getters:
            match = pattern.match(command)
            if match:
                return self._answer(key, pattern, match)
        for key, pattern in self._setters:
            match = pattern.match(command)
            if match:
                self._store(key, pattern, match)
                return None
        for _key, regex in self._actions:
            if regex.match(command):
                return None
        raise ScpiError(-113, "Undefined header")

    def _attributes(self, pattern: _Pattern, match: re.Match[str]) -> tuple[str, ...]:
        return tuple(match[group] for group in pattern.keys)

    def _store(self, key: str, pattern: _Pattern, match: re.Match[str]) -> None:
        spec = pattern.spec
        token = match["value"].strip()
        try:
            value = spec.from_reply(token)
        except LabkitError:
            raise ScpiError(-224, "Illegal parameter value") from None
        if spec.numeric:
            low, high = spec.hard_range()
            if not low <= value <= high:
                raise ScpiError(-222, "Data out of range")
        self.state[(key, self._attributes(pattern, match))] = value
        self.on_set(key, value)

    def on_set(self, name: str, value: Any) -> None:
        """Called after a setting changed; subclasses couple it to their physics."""

    def _answer(self, key: str, pattern: _Pattern, match: re.Match[str]) -> str:
        spec = pattern.spec
        attributes = self._attributes(pattern, match)
        if spec.role == "reading":
            value = self._reading(key, attributes)
        else:
            value = self.state.get((key, attributes), self._initial.get(key))
        return format_reply(spec, value)

    def _reading(self, key: str, attributes: tuple[str, ...]) -> Any:
        function = self.reading_functions.get(key)
        if function is not None:
            return function(self)
        source = self._readbacks.get(key)
        if source is not None:
            return self.state.get((source, attributes), self._initial.get(source))
        spec = self._specs[key]
        if spec.kind == "array":  # zeros of the declared length (a device's empty buffer)
            return [0.0] * (spec.shape[0] or 0)
        return (
            self._initial_value(spec)
            if spec.role == "setting"
            else (spec.choices[0] if spec.choices else (False if spec.kind == "bool" else 0.0))
        )


def format_reply(spec: TraitSpec, value: Any) -> str:
    """A value in the form SCPI instruments answer with (NR3 numbers, 0/1, tokens)."""
    if spec.kind == "bool":
        return "1" if value else "0"
    if spec.kind == "array":  # a list of readings, comma-separated, as READ? and FETC? send
        return ",".join(f"{float(v):+.9E}" for v in value)
    if spec.choices is not None and spec.tokens is not None:
        return str(spec.tokens[spec.choices.index(value)])
    if spec.kind == "int":
        return str(int(value))
    if spec.kind == "float":
        return f"{float(value):+.9E}"
    return str(value)
