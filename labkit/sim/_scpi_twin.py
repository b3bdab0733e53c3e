"""``ScpiTwin``: a virtual SCPI instrument written from its manual's command tree.

A twin declares the commands the real instrument accepts with their SCPI headers, in the
manual's notation: upper case is the short form, ``[...]`` an optional node, ``#`` a numeric
suffix (``SOURce#`` matches ``SOUR``, ``SOUR1``, ``SOURce2``), a trailing ``?`` a query::

    class PowerSupplyTwin(ScpiTwin):
        identity = "ACME,PS30,SN01,1.0"

        @scpi("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
        def set_voltage(self, value):
            self.voltage = number(value, low=0, high=30)

        @scpi("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
        def get_voltage(self):
            return nr3(self.voltage)

Handlers take the parameters as strings (parse them with :func:`number`, :func:`boolean`,
:func:`mnemonic`, :func:`text`) and return the reply of a query. Raising :class:`ScpiError`
queues an error, as the instrument would. The twin handles the rest as IEEE 488.2 says (through
:class:`~labkit.sim.Ieee4882Instrument`, the engine every simulated SCPI instrument shares):
``;``-separated commands with the SCPI path rule (``TRIG:SOUR BUS;COUN 5``), common commands
(``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?``, ``*STB?``, ``*TRG``...), the error queue
(``SYSTem:ERRor[:NEXT]?``, overflow ``-350``), undefined headers (``-113``) and the injected
``error`` fault (the next command is refused with the given code).

Matching a header against the command tree is the costly part of a command, so each header
seen is matched once and remembered (per class, a bounded table): a twin answers its
millionth command as fast as its first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

from labkit.sim._ieee4882 import Ieee4882Instrument, ScpiError, split_parameters

__all__ = [
    "ScpiTwin",
    "boolean",
    "mnemonic",
    "nr1",
    "nr3",
    "number",
    "scpi",
    "split_parameters",
    "text",
]

_NODE = re.compile(r"^(\[)?:?([A-Za-z*][A-Za-z0-9*]*?)(#)?(\])?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def scpi(*patterns: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as the handler of SCPI headers in the manual's notation."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        patterns_so_far = getattr(function, "scpi_patterns", ())
        function.scpi_patterns = (*patterns_so_far, *patterns)  # type: ignore[attr-defined]  # a mark on the function, read by ScpiTwin
        return function

    return mark


class _Node:
    __slots__ = ("long", "optional", "short", "suffix")

    def __init__(self, long: str, optional: bool, suffix: bool) -> None:
        self.long = long.upper()
        self.short = "".join(ch for ch in long if ch.isupper() or ch.isdigit() or ch == "*")
        self.optional = optional
        self.suffix = suffix

    def match(self, word: str) -> tuple[bool, int | None]:
        upper = word.upper()
        number = None
        if self.suffix:
            stripped = upper.rstrip("0123456789")
            if stripped != upper:
                number = int(upper[len(stripped) :])
                upper = stripped
        return upper in (self.short, self.long), number


class _Pattern:
    """One header pattern, compiled to nodes."""

    def __init__(self, pattern: str, method: str) -> None:
        self.text = pattern
        self.method = method
        self.query = pattern.endswith("?")
        body = pattern[:-1] if self.query else pattern
        self.nodes: list[_Node] = []
        for piece in re.findall(r"\[?:?[A-Za-z*][A-Za-z0-9*]*#?\]?", body):
            found = _NODE.match(piece)
            if found is None:  # pragma: no cover - the regex above guarantees a match
                raise ValueError(f"bad SCPI pattern {pattern!r}")
            self.nodes.append(_Node(found[2], bool(found[1]), bool(found[3])))

    def match(self, words: list[str]) -> list[int] | None:
        """The numeric suffixes (1 when absent) if ``words`` match, else None."""
        return _match(self.nodes, 0, words, 0, [])


def _match(nodes: list[_Node], i: int, words: list[str], j: int, suffixes: list[int]) -> Any:
    if i == len(nodes):
        return suffixes if j == len(words) else None
    node = nodes[i]
    if j < len(words):
        ok, number = node.match(words[j])
        if ok:
            extra = [number if number is not None else 1] if node.suffix else []
            found = _match(nodes, i + 1, words, j + 1, suffixes + extra)
            if found is not None:
                return found
    if node.optional:
        extra = [1] if node.suffix else []
        return _match(nodes, i + 1, words, j, suffixes + extra)
    return None


# -- parameter parsing ----------------------------------------------------------------------


def number(
    parameter: str | None,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float:
    """A numeric parameter: NR1/NR2/NR3, or MIN/MAX/DEF(ault) when given; -222 when out of range."""
    if parameter is None or parameter == "":
        raise ScpiError(-109, "Missing parameter")
    word = parameter.strip().upper()
    keywords = {
        "MIN": minimum if minimum is not None else low,
        "MINIMUM": minimum if minimum is not None else low,
        "MAX": maximum if maximum is not None else high,
        "MAXIMUM": maximum if maximum is not None else high,
        "DEF": default,
        "DEFAULT": default,
    }
    if word in keywords:
        value = keywords[word]
        if value is None or not math.isfinite(value):
            raise ScpiError(-224, "Illegal parameter value")
        return float(value)
    if not _NUMBER.match(word):
        raise ScpiError(-104, "Data type error")
    value = float(word)
    if integer and value != round(value):
        raise ScpiError(-224, "Illegal parameter value")
    if not low <= value <= high:
        raise ScpiError(-222, "Data out of range")
    return value


def boolean(parameter: str | None) -> bool:
    """``ON``/``OFF``/``1``/``0`` (any non-zero number is on)."""
    if parameter is None or parameter == "":
        raise ScpiError(-109, "Missing parameter")
    word = parameter.strip().upper()
    if word == "ON":
        return True
    if word == "OFF":
        return False
    if _NUMBER.match(word):
        return round(float(word)) != 0
    raise ScpiError(-224, "Illegal parameter value")


def mnemonic(parameter: str | None, choices: dict[str, Any]) -> Any:
    """A character parameter in short or long form: ``mnemonic("volt", {"VOLTage": "V"})``.

    Quoted strings match too (``"VOLT"``).
    """
    if parameter is None or parameter == "":
        raise ScpiError(-109, "Missing parameter")
    word = parameter.strip().strip("\"'").upper()
    for pattern, value in choices.items():
        short = "".join(ch for ch in pattern if not ch.islower())
        if word in (short.upper(), pattern.upper()):
            return value
    raise ScpiError(-224, "Illegal parameter value")


def text(parameter: str | None) -> str:
    """A string parameter without its quotes."""
    if parameter is None:
        raise ScpiError(-109, "Missing parameter")
    stripped = parameter.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        return stripped[1:-1]
    return stripped


def nr3(value: float, digits: int = 8) -> str:
    """``+1.04530000E+01``: SCPI's exponent form, signed mantissa and exponent."""
    return f"{value:+.{digits}E}"


def nr1(value: float) -> str:
    return str(round(value))


# -- the twin -----------------------------------------------------------------------------


class ScpiTwin(Ieee4882Instrument):
    """A virtual SCPI instrument: subclasses declare handlers with :func:`scpi`.

    IEEE 488.2 (the error queue, status bytes, common commands, ``;``-joined programs) is
    :class:`~labkit.sim.Ieee4882Instrument`'s; a twin answers its own command tree, with the
    SCPI path rule within one program message.
    """

    _patterns: ClassVar[list[_Pattern]] = []
    _dispatch: ClassVar[dict[tuple[bool, tuple[str, ...]], tuple[_Pattern, list[int]] | None]]
    _DISPATCH_LIMIT: ClassVar[int] = 4096

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        patterns: list[_Pattern] = []
        seen: set[str] = set()
        for klass in cls.__mro__:
            for name, member in vars(klass).items():
                if name in seen:
                    continue
                seen.add(name)
                for text_ in getattr(member, "scpi_patterns", ()):
                    patterns.append(_Pattern(text_, name))
        cls._patterns = patterns
        cls._dispatch = {}

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.suffixes: list[int] = []
        self.matched = ""
        """The pattern of the command being handled (one handler may serve several)."""
        self._path: list[str] = []

    def message_started(self) -> None:
        self._path = []

    def execute(self, command: str) -> str | None:
        head, _, rest = re.sub(r"\s", " ", command.strip(), count=1).partition(" ")
        parameters = split_parameters(rest.strip()) if rest.strip() else []
        query = head.endswith("?")
        bare = head[:-1] if query else head
        absolute = bare.startswith(":")
        words = [w for w in bare.split(":") if w]
        if not words:
            raise ScpiError(-102, "Syntax error")
        path = self._path
        candidates = [words] if absolute or not path else [path + words, words]
        for attempt in candidates:
            found = self._lookup(query, attempt)
            if found is None:
                continue
            pattern, suffixes = found
            self.suffixes = list(suffixes)
            self.matched = pattern.text
            result = getattr(self, pattern.method)(*parameters)
            self._path = attempt[:-1]
            return None if result is None else str(result)
        raise ScpiError(-113, "Undefined header")

    def _lookup(self, query: bool, words: list[str]) -> tuple[_Pattern, list[int]] | None:
        """The pattern a header matches and its suffixes, matched once per distinct header."""
        key = (query, tuple(word.upper() for word in words))
        table = self._dispatch  # the class's table (a class attribute, shared by instances)
        try:
            return table[key]
        except KeyError:
            pass
        found = None
        for pattern in self._patterns:
            if pattern.query == query:
                suffixes = pattern.match(words)
                if suffixes is not None:
                    found = (pattern, suffixes)
                    break
        if len(table) >= self._DISPATCH_LIMIT:
            table.clear()  # headers with endless suffixes: start again rather than grow
        table[key] = found
        return found

    def suffix(self, index: int = 0) -> int:
        """The numeric suffix of the ``index``-th suffixed node of the command (1 if absent)."""
        return self.suffixes[index] if index < len(self.suffixes) else 1

    @scpi(":SYSTem:ERRor[:NEXT]?")
    def _system_error(self) -> str:
        return self.next_error()

    @scpi(":SYSTem:ERRor:COUNt?")
    def _system_error_count(self) -> str:
        return str(len(self.errors))
