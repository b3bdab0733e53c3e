"""``labkit serve STATION --prefix PREFIX``: serve a station file over pvAccess until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

__all__ = ["configure_parser", "serve_command"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("station", help="the station file (YAML) whose instruments to serve")
    parser.add_argument(
        "--prefix", help="start of every PV name, e.g. 'LAB1:' (default: the file's serve.prefix)"
    )
    parser.add_argument(
        "--listen",
        action="append",
        metavar="ADDRESS",
        help="interface address to serve on (repeatable; default: the file's, else 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, help="TCP port (default 5075; 0: any free port)")
    parser.add_argument(
        "--broadcast-port", type=int, help="UDP search port (default 5076; 0: any free port)"
    )
    parser.add_argument(
        "--simulated", action="store_true", help="run every instrument on the virtual bench"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")


def serve_command(args: argparse.Namespace) -> int:
    from labkit.core import LabkitError
    from labkit.station import StationError, load_station

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stdout,
    )
    logging.getLogger("p4p").setLevel(logging.WARNING)
    try:
        from labkit.remote import serve
    except ImportError as error:
        print(f"labkit serve needs p4p: pip install 'labkit[remote]' ({error})", file=sys.stderr)
        return 2
    try:
        station = load_station(args.station, simulated=True if args.simulated else None)
    except (StationError, LabkitError) as error:
        print(f"labkit serve: {error}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    try:
        server = serve(
            station,
            prefix=args.prefix,
            interfaces=tuple(args.listen) if args.listen else None,
            port=args.port,
            broadcast_port=args.broadcast_port,
        )
    except LabkitError as error:
        station.close()
        print(f"labkit serve: {error}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        print(server.describe())
        conf = server.conf()
        print(
            f"clients: EPICS_PVA_ADDR_LIST={args.listen[0] if args.listen else '127.0.0.1'} "
            f"EPICS_PVA_SERVER_PORT={conf['EPICS_PVAS_SERVER_PORT']} "
            f"EPICS_PVA_BROADCAST_PORT={conf['EPICS_PVAS_BROADCAST_PORT']} "
            f"prefix={server.config.prefix}"
        )
        print("ready; Ctrl-C stops the server", flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        station.close()
        print("stopped", flush=True)
    return 0
