"""``labkit runs``: list, show, export and check runs from a terminal.

The top-level ``labkit`` command builds its parser and hands the ``runs`` sub-parser to
:func:`configure_parser`, then calls :func:`run_command` with the parsed arguments.
``python -m labkit.store`` runs the same thing on its own.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from labkit.core import LabkitError
from labkit.core._units import format_quantity

__all__ = ["configure_parser", "main", "run_command", "summary"]

_WIDTH = 100


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``runs`` options and actions to ``parser`` (a sub-parser of ``labkit``)."""
    parser.description = "List the runs in the data root, or show, export or check one."
    parser.add_argument(
        "--root",
        help="data root, a folder or a store URL such as s3://bucket/runs "
        "(default: $LABKIT_DATA or ~/labkit-data)",
    )
    parser.add_argument(
        "--storage-options",
        metavar="JSON",
        help='options for a URL root, e.g. \'{"endpoint_url": "http://..."}\' '
        "(default: $LABKIT_STORAGE_OPTIONS)",
    )
    parser.add_argument("--name", help="runs with this name (a glob: 'iv*')")
    parser.add_argument("--since", help="runs started at or after this date/time (ISO)")
    parser.add_argument("--until", help="runs started at or before this date/time (ISO)")
    parser.add_argument(
        "--status",
        action="append",
        help="running, completed, aborted, failed or interrupted (repeatable)",
    )
    parser.add_argument("--instrument", action="append", help="runs that used this instrument")
    parser.add_argument(
        "--meta", action="append", default=[], metavar="KEY=VALUE", help="match run metadata"
    )
    parser.add_argument("--last", type=int, help="only the newest N runs")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    actions = parser.add_subparsers(dest="runs_action", metavar="ACTION")
    show = actions.add_parser("show", help="a summary of one run (--json: all its metadata)")
    show.add_argument("run", help="run id, name, path or URL")
    show.add_argument(
        "--json", dest="show_json", action="store_true", help="all the run's metadata as JSON"
    )
    export = actions.add_parser(
        "export", help="write a run to NetCDF (.nc), HDF5 (.h5), Parquet or CSV"
    )
    export.add_argument("run", help="run id, name, path or URL")
    export.add_argument("target", help="file to write")
    export.add_argument("--format", choices=("netcdf", "hdf5", "parquet", "csv"))
    check = actions.add_parser("validate", help="check a run's store against the Zarr v3 spec")
    check.add_argument("run", help="run id, name or path")
    parser.set_defaults(handler=run_command)


def _storage_options(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        options = json.loads(text)
    except ValueError as error:
        raise SystemExit(f"--storage-options is not valid JSON: {error}") from None
    if not isinstance(options, dict):
        raise SystemExit("--storage-options must be a JSON object")
    return options


def _metadata_filters(pairs: Sequence[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise SystemExit(f"--meta needs KEY=VALUE, not {pair!r}")
        try:
            filters[key] = json.loads(text)
        except ValueError:
            filters[key] = text
    return filters


def run_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Carry out ``labkit runs ...``; returns the exit status."""
    from labkit.store._catalog import read_attrs, read_info, runs
    from labkit.store._export import export_run
    from labkit.store._jsonable import jsonable
    from labkit.store._open import resolve_run
    from labkit.store._validate import validate_store

    out = out or sys.stdout
    action = getattr(args, "runs_action", None)
    try:
        options = _storage_options(getattr(args, "storage_options", None))
        if action == "show":
            path = resolve_run(args.run, args.root, options)
            attrs = read_attrs(path)
            attrs["status"] = read_info(path).status
            if args.json or getattr(args, "show_json", False):
                json.dump(jsonable(attrs), out, indent=2)
                out.write("\n")
            else:
                out.write(summary(attrs, path, args.run))
            return 0
        if action == "export":
            target = export_run(
                args.run, args.target, root=args.root, storage_options=options, format=args.format
            )
            out.write(f"{target}\n")
            return 0
        if action == "validate":
            path = resolve_run(args.run, args.root, options)
            problems = validate_store(path)
            for problem in problems:
                out.write(f"{problem}\n")
            out.write(f"{path}: {'conforms to' if not problems else 'departs from'} Zarr v3\n")
            return 1 if problems else 0
        found = runs(
            args.name,
            since=args.since,
            until=args.until,
            status=args.status,
            instrument=args.instrument,
            root=args.root,
            storage_options=options,
            last=args.last,
            **_metadata_filters(args.meta),
        )
        if args.json:
            for record in found.to_records():
                out.write(json.dumps(jsonable(record)) + "\n")
        else:
            out.write(repr(found) + "\n")
        return 0
    except (LabkitError, ValueError, OSError) as error:
        sys.stderr.write(f"labkit runs: {error}\n")
        return 2


def summary(attrs: dict[str, Any], path: Any, asked: str) -> str:
    """``labkit runs show``: what a person wants to know of a run, in a screenful."""
    lines = [f"{attrs.get('name', '?')}  ({attrs.get('run_id', '?')})"]

    def field(label: str, text: str, indent: str = "") -> None:
        wrapped = textwrap.wrap(
            text,
            _WIDTH - 14,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
        lines.append(f"  {label:<11} {wrapped[0]}")
        lines.extend(f"  {'':<11} {more}" for more in wrapped[1:])

    total, written = attrs.get("points_total"), attrs.get("points_written")
    points = f"{written} of {total} points" if total is not None else f"{written} points"
    field("status", f"{attrs.get('status', '?')}, {points}")
    field("time", _times(attrs.get("start_time"), attrs.get("end_time")))
    plan = attrs.get("plan") or {}
    for number, step in enumerate(_steps(plan.get("steps") or [])):
        field("plan" if number == 0 else "", step)
    data = [_variable(name, v) for name, v in (plan.get("variables") or {}).items()]
    if data:
        field("data", "; ".join(data))
    for number, (name, entry) in enumerate(sorted((attrs.get("snapshot") or {}).items())):
        identity = entry.get("identity") or {}
        model = " ".join(str(identity[k]) for k in ("manufacturer", "model") if identity.get(k))
        field(
            "instruments" if number == 0 else "",
            f"{name}: {model or entry.get('driver', '?')} at {entry.get('resource')}",
        )
        settings = [_setting(n, e) for n, e in (entry.get("settings") or {}).items()]
        if settings:
            field("", ", ".join(s for s in settings if s), indent="  ")
    metadata = attrs.get("metadata") or {}
    if metadata:
        field("metadata", ", ".join(f"{k}={json.dumps(v)}" for k, v in metadata.items()))
    field("provenance", _provenance(attrs.get("provenance") or {}))
    for number, event in enumerate(attrs.get("events") or []):
        detail = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("event", "time"))
        text = f"{event.get('event')} {str(event.get('time', ''))[11:19]}"
        field("events" if number == 0 else "", f"{text} {detail}".strip())
    field("path", str(path))
    lines.append(f"\nAll of its metadata: labkit runs show {asked} --json")
    return "\n".join(lines) + "\n"


def _times(start: Any, end: Any) -> str:
    try:
        began = _dt.datetime.fromisoformat(str(start))
    except ValueError:
        return f"started {start}"
    text = f"started {began:%Y-%m-%d %H:%M:%S %Z}".rstrip()
    try:
        ended = _dt.datetime.fromisoformat(str(end))
    except ValueError:
        return text + ", not ended"
    seconds = (ended - began).total_seconds()
    return f"{text}, took {format_quantity(seconds, 's', resolution=0.01)}"


def _steps(steps: list[dict[str, Any]], depth: int = 0) -> Iterator[str]:
    for step in steps:
        label = step.get("label") or step.get("step", "?")
        extra = []
        if step.get("points"):
            extra.append(f"{step['points']} points")
        if step.get("settle"):
            extra.append(f"settle {format_quantity(step['settle'], 's')}")
        yield "  " * depth + label + (f" ({', '.join(extra)})" if extra else "")
        yield from _steps(step.get("steps") or [], depth + 1)


def _variable(name: str, variable: dict[str, Any]) -> str:
    shape = "×".join(str(n) for n in variable.get("shape") or []) or "1"
    unit = variable.get("units")
    unit = f" in {unit}" if unit and "since" not in str(unit) else ""
    return f"{name}[{shape}]{unit}"


def _setting(name: str, entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"{name} {'on' if value else 'off'}"
    return f"{name} {format_quantity(value, entry.get('unit'))}"


def _provenance(provenance: dict[str, Any]) -> str:
    kind = provenance.get("kind", "?")
    where = provenance.get("notebook") or provenance.get("script") or provenance.get("cwd") or ""
    versions = provenance.get("versions") or {}
    labkit = f", labkit {versions['labkit']}" if "labkit" in versions else ""
    user = f" by {provenance['user']}@{provenance.get('host', '?')}" if "user" in provenance else ""
    return f"{kind} {where}{user}{labkit}".strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit runs")
    configure_parser(parser)
    return run_command(parser.parse_args(argv))
