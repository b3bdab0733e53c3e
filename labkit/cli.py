"""The ``labkit`` command: ``labkit lab``, ``labkit demo``, ``labkit runs``, ``labkit plugins``,
``labkit serve``, ``labkit version``.

Subcommands import what they need when they run, so ``labkit --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

QUICKSTART = "00-quickstart.ipynb"


def _plugins(args: argparse.Namespace) -> int:
    from labkit import plugins

    found = plugins.plugins(args.kind)
    if args.check:
        for plugin in found:
            plugin.check()
    simulated = _simulated(found)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "kind": p.kind,
                        "target": p.target,
                        "origin": p.origin,
                        "status": "simulated" if p.name in simulated else p.status,
                        "reason": p.reason,
                        "simulator": simulated.get(p.name),
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
    print(plugins_table(found, simulated, width=_terminal_width()))
    return 0


def _simulated(found: Sequence[Any]) -> dict[str, str]:
    """Plugins whose vendor software is missing but that work on a simulator here."""
    unavailable = [p for p in found if p.status == "unavailable"]
    if not unavailable:
        return {}
    from labkit.sim import simulated_alternative

    alternatives = {p.name: simulated_alternative(p.target) for p in unavailable}
    return {name: text for name, text in alternatives.items() if text}


def _terminal_width() -> int:
    return max(60, min(100, shutil.get_terminal_size((100, 24)).columns))


def plugins_table(found: Sequence[Any], simulated: dict[str, str], *, width: int = 100) -> str:
    """``labkit plugins`` for people: one line per plugin, grouped by where it was found, and
    the reason under those that cannot be used, wrapped to ``width`` columns."""
    name_width = max(len("NAME"), *(len(p.name) for p in found))
    lines: list[str] = []
    origins: dict[str, list[Any]] = {}
    for plugin in found:
        origins.setdefault(plugin.origin, []).append(plugin)
    row = f"{{:<{name_width}}}  {{:<6}}  {{:<11}}  {{}}"
    lines.append(row.format("NAME", "KIND", "STATUS", "TARGET"))
    for origin, members in origins.items():
        lines.append(f"{origin}:")
        for plugin in members:
            status = "simulated" if plugin.name in simulated else plugin.status
            lines.append(row.format(plugin.name, plugin.kind, status, plugin.target))
            note = (
                f"no vendor software here; works on {simulated[plugin.name]}"
                if plugin.name in simulated
                else plugin.reason
            )
            if note:
                lines.extend(
                    textwrap.wrap(
                        note,
                        width,
                        initial_indent="    ",
                        subsequent_indent="    ",
                        break_long_words=False,
                        break_on_hyphens=False,
                    )
                )
    unusable = [
        p for p in found if p.status in ("failed", "unavailable") and p.name not in simulated
    ]
    if unusable:
        lines.append(f"\n{len(unusable)} of {len(found)} plugins cannot be used; the others work.")
    if simulated:
        lines.append(
            f"{'' if unusable else chr(10)}{len(simulated)} work on simulators only here "
            "(install the vendor's software for the real devices)."
        )
    return "\n".join(lines)


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
    command = lab_command(folder, port=args.port, no_browser=args.no_browser, extra=extra)
    print(
        f"Starting JupyterLab on {folder / QUICKSTART} (simulated instruments, no hardware needed)"
    )
    if "--allow-root" in command and "--allow-root" not in extra:
        print(
            "Note: running as root (as in a container), so JupyterLab is started with "
            "--allow-root. Its notebooks run code as root: keep it on this machine "
            "(it listens on localhost, behind a token) and prefer a normal user where you can."
        )
    env = {**os.environ, "LABKIT_NOTEBOOK": "1"}
    if os.name == "posix":
        # Become JupyterLab: Ctrl+C, a terminal closing or a service manager's SIGTERM then
        # reach it (and its kernels) directly, instead of leaving it running behind us.
        sys.stdout.flush()
        os.chdir(folder)
        os.execve(command[0], command, env)
    return subprocess.call(command, cwd=folder, env=env)


def lab_command(
    folder: Path, *, port: int | None = None, no_browser: bool = False, extra: Sequence[str] = ()
) -> list[str]:
    """The JupyterLab command ``labkit lab`` runs: on the quickstart, as root where needed
    (JupyterLab refuses root unless told, and containers often run as root)."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", QUICKSTART]
    if port is not None:
        command.append(f"--port={port}")
    if no_browser:
        command.append("--no-browser")
    if _is_root() and "--allow-root" not in extra:
        command.append("--allow-root")
    return command + list(extra)


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


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
    lab.add_argument("--port", type=int, help="port for JupyterLab (0: any free port)")
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
