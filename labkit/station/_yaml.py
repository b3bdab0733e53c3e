"""YAML with line numbers: every value of a station file keeps the line it was written on.

PyYAML's composed node tree carries marks; converting it ourselves (rather than with
``yaml.safe_load``) keeps a ``path → line`` table, so that a check failing on
``instruments.smu.limits.source_voltage.max`` can say *line 12*, and lets us refuse duplicate
keys, which ``safe_load`` silently lets the last one win.
"""

from __future__ import annotations

from typing import Any

import yaml

from labkit.core import ConfigurationError

__all__ = ["KeyPath", "StationError", "load_yaml"]

KeyPath = tuple[Any, ...]


class StationError(ConfigurationError):
    """A station file is malformed; ``line`` (1-based) and ``reason`` say where and why."""

    def __init__(self, reason: str, *, source: str, line: int | None, hint: str | None = None):
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}", hint=hint)


def load_yaml(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """The document's data and the line of every path in it (mapping keys' lines)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = f"YAML syntax error: {error.problem or error.context}"
        if error.context and error.problem:
            reason += f" ({error.context})"
        raise StationError(
            reason,
            source=source,
            line=mark.line + 1 if mark is not None else None,
            hint="Check the indentation and the quoting there",
        ) from None
    except yaml.YAMLError as error:
        raise StationError(f"YAML error: {error}", source=source, line=None) from None
    if node is None:
        raise StationError("the file is empty", source=source, line=1)
    lines: dict[KeyPath, int] = {}
    constructor = yaml.SafeLoader("")
    return _convert(node, (), lines, constructor, source), lines


def _convert(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], constructor: Any, source: str
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise StationError(
                    "a key must be a plain name, not a list or a mapping",
                    source=source,
                    line=key_node.start_mark.line + 1,
                )
            key = constructor.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in out:
                raise StationError(
                    f"duplicate key {key!r} (first given on line {first_line[key]})",
                    source=source,
                    line=line,
                    hint="Each name may appear once; remove or rename one",
                )
            first_line[key] = line
            key_path = (*path, key)
            lines[key_path] = line
            out[key] = _convert(value_node, key_path, lines, constructor, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, index), lines, constructor, source)
            for index, item in enumerate(node.value)
        ]
    return constructor.construct_object(node)
