"""The structure of a station file, checked with messages that name the line.

A small JSON-schema-like description (mappings with known and required keys, mappings of
names to entries, scalars of a type) checked against the loaded data; each failure is a
:class:`StationError` at the line of the offending key, with a suggestion for a misspelt key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import re
from collections.abc import Callable
from typing import Any, Protocol

from labkit.core import LabkitError
from labkit.core._units import check_text, shorten
from labkit.station._yaml import KeyPath, StationError

__all__ = ["STATION", "Check"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")  # ch1.amplitude


@dataclasses.dataclass
class Context:
    source: str
    lines: dict[KeyPath, int]

    def line(self, path: KeyPath) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def fail(self, path: KeyPath, reason: str, hint: str | None = None) -> StationError:
        where = ".".join(str(p) for p in path)
        text = f"{where}: {reason}" if where else reason
        return StationError(text, source=self.source, line=self.line(path), hint=hint)


class Check(Protocol):
    """A rule for one value; ``describe`` names what is expected in messages."""

    describe: str

    def check(self, value: Any, path: KeyPath, context: Context) -> None: ...


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{value!r} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{shorten(value)} ({type(value).__name__})"


class Anything:
    describe = "any value"

    def check(self, value: Any, path: KeyPath, context: Context) -> None:
        return None


@dataclasses.dataclass
class Scalar:
    """A string, number or boolean (``types``), optionally tested by ``test``."""

    types: tuple[type, ...]
    describe: str = "a value"
    test: Callable[[Any], str | None] | None = None

    def check(self, value: Any, path: KeyPath, context: Context) -> None:
        ok = isinstance(value, self.types)
        if bool not in self.types and isinstance(value, bool):
            ok = False
        if not ok:
            raise context.fail(path, f"expected {self.describe}, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise context.fail(
                path, f"expected {self.describe}, got {value!r}", hint="Give a finite number"
            )
        if isinstance(value, str):
            try:
                check_text(value, where=".".join(map(str, path)))
            except LabkitError as error:
                raise context.fail(path, error.message, hint=error.hint) from None
        if self.test is not None:
            problem = self.test(value)
            if problem:
                raise context.fail(path, problem)


@dataclasses.dataclass
class Record:
    """A mapping with known keys; ``required`` keys must be there."""

    keys: dict[str, Check]
    required: tuple[str, ...] = ()
    describe: str = "a mapping"

    def check(self, value: Any, path: KeyPath, context: Context) -> None:
        if not isinstance(value, dict):
            raise context.fail(path, f"expected {self.describe}, got {_kind(value)}")
        for key, item in value.items():
            rule = self.keys.get(key) if isinstance(key, str) else None
            if rule is None:
                close = difflib.get_close_matches(str(key), list(self.keys), n=1)
                hint = f"Did you mean {close[0]!r}?" if close else None
                known = ", ".join(self.keys)
                raise context.fail(
                    (*path, key), f"unknown key {shorten(key)} (known: {known})", hint=hint
                )
            rule.check(item, (*path, key), context)
        for key in self.required:
            if key not in value:
                raise context.fail(path, f"{key!r} is missing", hint=f"Add {key}: ...")


@dataclasses.dataclass
class Table:
    """A mapping of names (identifiers) to entries checked by ``entry``."""

    entry: Check
    describe: str = "a mapping of names"
    nonempty: bool = False
    names: re.Pattern[str] = _NAME

    def check(self, value: Any, path: KeyPath, context: Context) -> None:
        if not isinstance(value, dict):
            raise context.fail(path, f"expected {self.describe}, got {_kind(value)}")
        if self.nonempty and not value:
            raise context.fail(path, f"{self.describe} must not be empty")
        for key, item in value.items():
            if not isinstance(key, str) or not self.names.match(key):
                raise context.fail(
                    (*path, key),
                    f"{shorten(key)} is not a usable name",
                    hint="Use letters, digits and underscores, starting with a letter",
                )
            self.entry.check(item, (*path, key), context)


@dataclasses.dataclass
class Items:
    """A list of entries checked by ``entry`` (a single entry is taken as a list of one)."""

    entry: Check
    describe: str = "a list"
    single: bool = False

    def check(self, value: Any, path: KeyPath, context: Context) -> None:
        if self.single and not isinstance(value, list):
            self.entry.check(value, path, context)
            return
        if not isinstance(value, list):
            raise context.fail(path, f"expected {self.describe}, got {_kind(value)}")
        if not value:
            raise context.fail(path, f"{self.describe} must not be empty")
        for index, item in enumerate(value):
            self.entry.check(item, (*path, index), context)


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be positive, not {value}"


def _not_negative(value: Any) -> str | None:
    return None if value >= 0 else f"must not be negative, not {value}"


TEXT = Scalar((str,), "text")
BOOL = Scalar((bool,), "true or false")
NUMBER = Scalar((numbers.Real,), "a number")
QUANTITY = Scalar((numbers.Real, str), "a number or a quantity such as '5 V'")
SETTING_VALUE = Scalar((numbers.Real, str, bool), "a number, a quantity, a word or a boolean")

LIMIT = Record({"min": QUANTITY, "max": QUANTITY}, describe="a mapping with min and/or max")
LOCK = Record(
    {
        "value": SETTING_VALUE,
        "min": QUANTITY,
        "max": QUANTITY,
        "reason": TEXT,
        "key": TEXT,
        "key_sha256": Scalar(
            (str,),
            "the SHA-256 hex digest of the key",
            lambda v: (
                None
                if re.fullmatch(r"[0-9a-fA-F]{64}", v)
                else "must be 64 hexadecimal digits (sha256sum of the key)"
            ),
        ),
    },
    describe="a lock: value, or min and/or max, with reason and key",
)
INSTRUMENT = Record(
    {
        "driver": TEXT,
        "remote": Scalar(
            (str,),
            "a pva:// address (an instrument another process serves)",
            lambda v: None if v.startswith("pva://") else "must be a pva:// address",
        ),
        "resource": TEXT,
        "simulated": BOOL,
        "twin": TEXT,
        "timeout": Scalar((numbers.Real,), "a number of seconds", _positive),
        "options": Table(Anything(), "a mapping of transport options"),
        "settings": Table(SETTING_VALUE, "a mapping of settings to values", names=_SETTING),
        "limits": Table(LIMIT, "a mapping of settings to limits", names=_SETTING),
        "ramps": Table(
            Scalar((numbers.Real, str), "a rate such as 0.5 or '1 V/s'"),
            "a mapping of ramps",
            names=_SETTING,
        ),
        "locks": Table(LOCK, "a mapping of settings to locks", names=_SETTING),
        "safe_on_exit": BOOL,
        "description": TEXT,
        "serve": Record(
            {"poll": Table(Anything(), "a mapping of readings to rates")},
            describe="how the instrument is served (poll: readings and their rates)",
        ),
    },
    describe="an instrument (driver, resource, ... or remote: pva://...)",
)
INTERLOCK = Record(
    {
        "setting": Scalar((str,), "the guarded setting as instrument.setting (smu.output)"),
        "requires": Items(
            Scalar((str,), "a condition such as 'tc.temperature < 80 degC'"),
            "a condition, or a list of conditions that must all hold",
            single=True,
        ),
        "when": SETTING_VALUE,
        "reason": TEXT,
        "check_every": Scalar((numbers.Real, str), "seconds, e.g. 0.5 or '500 ms'"),
    },
    required=("setting", "requires"),
    describe="an interlock (setting, requires, and optionally when, reason, check_every)",
)
BENCH = Record(
    {
        "seed": Scalar((int,), "a whole number"),
        "dut": Scalar((str,), "resistor, diode or led"),
        "time_scale": Scalar((numbers.Real,), "a number (simulated s per real s)", _not_negative),
    },
    describe="bench settings (seed, dut, time_scale)",
)
STATION = Record(
    {
        "name": TEXT,
        "description": TEXT,
        "simulated": BOOL,
        "bench": BENCH,
        "serve": Record(
            {
                "prefix": TEXT,
                "interfaces": Scalar((list,), "a list of addresses to listen on"),
                "port": Scalar((int,), "a TCP port number"),
                "frame_rate": Scalar((numbers.Real, str), "frames per second, e.g. 10"),
                "access": Record(
                    {"read": Anything(), "write": Anything()},
                    describe="read and write grants",
                ),
            },
            describe="how `labkit serve` publishes the station (prefix, interfaces, access)",
        ),
        "instruments": Table(INSTRUMENT, "a mapping of instrument names", nonempty=True),
        "interlocks": Items(INTERLOCK, "a list of interlocks"),
    },
    required=("instruments",),
    describe="a station (instruments, and optionally bench and simulated)",
)
