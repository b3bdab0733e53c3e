"""The ``labkit`` command: ``labkit lab``, ``labkit demo``, ``labkit runs``, ``labkit plugins``,
``labkit serve``, ``labkit version``.

Subcommands import what they need when they run, so ``labkit --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main"]

QUICKSTART = "00-quickstart.ipynb"


def _plugins(args: argparse.Namespace) -> int:
    from labkit import plugins

    found = plugins.plugins(args.kind)
    if args.check:
        for plugin in found:
            plugin.check()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "kind": p.kind,
                        "target": p.target,
                        "origin": p.origin,
                        "status": p.status,
                        "reason": p.reason,
                    }
                    for p in found
                ],
                indent=2,
            )
        )
        return 0
    if not found:
        print("No plugins found. Install a labkit plugin package or set LABKIT_PLUGIN_PATH.")
        return 0
    rows = [
        (p.name, p.kind, p.status + (f": {p.reason}" if p.reason else ""), p.origin, p.target)
        for p in found
    ]
    headers = ("NAME", "KIND", "STATUS", "ORIGIN", "TARGET")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:-1])]
    line = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    print(line.format(*headers))
    for row in rows:
        print(line.format(*row))
    failed = [p for p in found if p.status in ("failed", "unavailable")]
    if failed:
        print(f"\n{len(failed)} of {len(found)} plugins cannot be used; the others work.")
    return 0


def notebooks_folder() -> Path | None:
    """The tutorials: next to the package in a source checkout, or in the current folder."""
    for candidate in (
        Path(__file__).resolve().parent.parent / "notebooks",
        Path.cwd() / "notebooks",
    ):
        if (candidate / QUICKSTART).is_file():
            return candidate
    return None


def _lab(args: argparse.Namespace, extra: Sequence[str]) -> int:
    folder = notebooks_folder()
    if folder is None:
        print(
            "labkit lab: the notebooks folder (with 00-quickstart.ipynb) was not found; run it "
            "from a labkit checkout (git clone, then pip install -e '.[lab]')",
            file=sys.stderr,
        )
        return 2
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("labkit lab needs JupyterLab: pip install 'labkit[lab]'", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", QUICKSTART]
    if args.port:
        command.append(f"--port={args.port}")
    if args.no_browser:
        command.append("--no-browser")
    command += list(extra)
    print(
        f"Starting JupyterLab on {folder / QUICKSTART} (simulated instruments, no hardware needed)"
    )
    return subprocess.call(command, cwd=folder, env={**os.environ, "LABKIT_NOTEBOOK": "1"})


def _demo(args: argparse.Namespace) -> int:
    from labkit._demo import run_demo

    return run_demo(seed=args.seed)


def _runs(args: argparse.Namespace) -> int:
    from labkit.store import run_command

    return run_command(args)


def _serve(args: argparse.Namespace) -> int:
    from labkit.remote._cli import serve_command

    return serve_command(args)


def _version(args: argparse.Namespace) -> int:
    import labkit

    print(f"labkit {labkit.__version__} (Python {sys.version.split()[0]})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit", description="Run lab experiments from Jupyter notebooks."
    )
    commands = parser.add_subparsers(dest="command", metavar="command")

    lab = commands.add_parser(
        "lab", help="open JupyterLab on the quickstart notebook (simulated bench)"
    )
    lab.add_argument("--port", type=int, help="port for JupyterLab")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")

    demo = commands.add_parser("demo", help="run the quickstart experiment headless")
    demo.add_argument("--seed", type=int, default=0, help="seed of the simulated bench")

    from labkit.store._cli import configure_parser  # the catalog only: no zarr, no xarray

    configure_parser(commands.add_parser("runs", help="list runs, or show, export or validate one"))

    found = commands.add_parser("plugins", help="list drivers and steps, and why any failed")
    found.add_argument("--kind", choices=["driver", "step"], help="only this kind")
    found.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="list without importing (no load status)",
    )
    found.add_argument("--json", action="store_true", help="machine-readable output")

    from labkit.remote._cli import configure_parser as configure_serve  # argparse only: no p4p

    configure_serve(
        commands.add_parser("serve", help="serve a station's instruments over EPICS pvAccess")
    )

    commands.add_parser("version", help="print labkit's version")
    return parser


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _demo,
    "plugins": _plugins,
    "runs": _runs,
    "serve": _serve,
    "version": _version,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "lab":
        return _lab(args, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return _HANDLERS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
