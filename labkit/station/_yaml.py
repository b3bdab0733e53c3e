"""YAML with line numbers: every value of a station file keeps the line it was written on.

PyYAML's composed node tree carries marks; converting it ourselves (rather than with
``yaml.safe_load``) keeps a ``path → line`` table, so that a check failing on
``instruments.smu.limits.source_voltage.max`` can say *line 12*, and lets us refuse duplicate
keys, which ``safe_load`` silently lets the last one win.

Every problem with the text itself is a :class:`StationError` naming the file and the line:
bytes that are not UTF-8, characters YAML does not allow, syntax errors (an unclosed quote or
bracket is reported where it was opened), tags (``!!python/object``, ``!include``: a station
file holds plain data), dates, nesting deeper than any station needs, and aliases that would
expand beyond reason. Merge keys (``<<: *defaults``) work as YAML defines them.
"""

from __future__ import annotations

from typing import Any

import yaml

from labkit.core import ConfigurationError

__all__ = ["KeyPath", "StationError", "decode", "load_yaml"]

KeyPath = tuple[Any, ...]

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists a station file may have (a real one needs 5)."""

MAX_VALUES = 100_000
"""Most values a station file may expand to (aliases can repeat a block many times over)."""

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null", "map", "seq")}
_MERGE = _TAG + "merge"
_UNCLOSED = ("while scanning a quoted scalar", "while parsing a flow")


class StationError(ConfigurationError):
    """A station file is malformed; ``line`` (1-based) and ``reason`` say where and why."""

    def __init__(self, reason: str, *, source: str, line: int | None, hint: str | None = None):
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}", hint=hint)


def decode(data: bytes, source: str) -> str:
    """The file's text; bytes that are not UTF-8 are refused with their line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StationError(
            f"byte {data[error.start]:#04x} at offset {error.start} is not UTF-8 text",
            source=source,
            line=line,
            hint="Save the file as UTF-8",
        ) from None


def load_yaml(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """The document's data and the line of every path in it (mapping keys' lines)."""
    try:
        _check_depth(text, source)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, source) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise StationError(
            f"the character {chr(error.character)!r} (code {error.character:#x}) is not "
            "allowed in YAML",
            source=source,
            line=line,
            hint="Remove it; write special characters as escapes in double quotes",
        ) from None
    except yaml.YAMLError as error:
        raise StationError(f"YAML error: {error}", source=source, line=None) from None
    if node is None:
        raise StationError("the file is empty", source=source, line=1)
    lines: dict[KeyPath, int] = {}
    converter = _Converter(source, lines)
    return converter.convert(node, (), 0), lines


def _syntax_error(error: yaml.MarkedYAMLError, source: str) -> StationError:
    mark = error.problem_mark or error.context_mark
    context = error.context or ""
    reason = f"YAML syntax error: {error.problem or context}"
    if error.context and error.problem:
        reason += f" ({error.context})"
    if context.startswith(_UNCLOSED) and error.context_mark is not None:
        # The end of the file (or a later line) is where YAML noticed; the quote or bracket
        # left open is where the mistake is.
        opened = error.context_mark.line + 1
        found = error.problem_mark.line + 1 if error.problem_mark is not None else None
        what = "quote" if "quoted" in context else "bracket"
        reason = f"YAML syntax error: the {what} opened here is never closed"
        if found is not None and found != opened:
            reason += f" (YAML noticed on line {found}: {error.problem})"
        return StationError(
            reason, source=source, line=opened, hint=f"Close the {what} on this line"
        )
    return StationError(
        reason,
        source=source,
        line=mark.line + 1 if mark is not None else None,
        hint="Check the indentation and the quoting there",
    )


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting from the parser's events, before the (recursive) composer runs."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise StationError(
                    f"the nesting is deeper than {MAX_DEPTH} levels",
                    source=source,
                    line=event.start_mark.line + 1 if event.start_mark else None,
                    hint="A station file is a few levels of names and values",
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


class _Converter:
    """Node tree → plain data, with the line of every key and plain data only."""

    def __init__(self, source: str, lines: dict[KeyPath, int]) -> None:
        self.source = source
        self.lines = lines
        self.constructor = yaml.SafeLoader("")
        self.values = 0

    def fail(self, node: yaml.Node, reason: str, hint: str | None = None) -> StationError:
        return StationError(reason, source=self.source, line=node.start_mark.line + 1, hint=hint)

    def convert(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.fail(
                node,
                f"the file expands to more than {MAX_VALUES:,} values",
                hint="Aliases (*name) repeat what they name; use fewer of them",
            )
        if depth > MAX_DEPTH:  # only aliases can get here: one that contains itself
            raise self.fail(node, "an alias refers to a block that contains it")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            self._plain_tag(node)
            return [
                self.convert(item, (*path, index), depth + 1)
                for index, item in enumerate(node.value)
            ]
        return self._scalar(node)

    def _plain_tag(self, node: yaml.Node) -> None:
        if node.tag in _PLAIN_TAGS:
            return
        if node.tag == _TAG + "timestamp":
            raise self.fail(
                node,
                f"{node.value!r} reads as a date, which no station setting takes",
                hint="Quote it to keep it as text",
            )
        raise self.fail(
            node,
            f"the YAML tag {node.tag!r} is not allowed in a station file",
            hint="A station file holds plain values: text, numbers, true/false, lists, mappings",
        )

    def _scalar(self, node: yaml.Node) -> Any:
        self._plain_tag(node)
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as error:  # a malformed explicit !!int and the like
            raise self.fail(node, f"YAML cannot read this value ({error})") from None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[Any, Any]:
        self._plain_tag(node)
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:  # merged first: keys written here win
            if key_node.tag == _MERGE:
                merged.update(self._merge(value_node, path, depth))
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "a key must be a plain name, not a list or a mapping")
            key = self._scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in out:
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (first given on line {first_line[key]})",
                    hint="Each name may appear once; remove or rename one",
                )
            first_line[key] = line
            key_path = (*path, key)  # mypy reads a starred subscript as 3.11 syntax
            self.lines[key_path] = line
            out[key] = self.convert(value_node, key_path, depth + 1)
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def _merge(self, node: yaml.Node, path: KeyPath, depth: int) -> dict[Any, Any]:
        """``<<: *defaults`` or ``<<: [*a, *b]`` (earlier ones win)."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                raise self.fail(source, "a merge key (<<) takes a mapping or a list of mappings")
            merged.update(self._mapping(source, path, depth + 1))
        return merged
