"""``labkit runs``: list, show, export and check runs from a terminal.

The top-level ``labkit`` command builds its parser and hands the ``runs`` sub-parser to
:func:`configure_parser`, then calls :func:`run_command` with the parsed arguments.
``python -m labkit.store`` runs the same thing on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from labkit.core import LabkitError

__all__ = ["configure_parser", "main", "run_command"]


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
    show = actions.add_parser("show", help="the metadata of one run")
    show.add_argument("run", help="run id, name or path")
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
            json.dump(jsonable(attrs), out, indent=2)
            out.write("\n")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit runs")
    configure_parser(parser)
    return run_command(parser.parse_args(argv))
