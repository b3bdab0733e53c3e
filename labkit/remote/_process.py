"""``serve_in_background``: ``labkit serve`` in a process of its own, from Python.

For a notebook or a script that needs a station served while it goes on (a tutorial, a test,
a lab's start-up script): the station is served by a separate Python process — as it would be
by a service on the lab PC — and this object knows where it listens and stops it.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from labkit.core import ConfigurationError

__all__ = ["ServerProcess", "serve_in_background"]

_PORTS = re.compile(r"EPICS_PVA_SERVER_PORT=(\d+) EPICS_PVA_BROADCAST_PORT=(\d+) prefix=(\S*)")


class ServerProcess:
    """A ``labkit serve`` process; ``address(name)`` is what ``labkit.connect`` takes."""

    def __init__(
        self,
        station: str | os.PathLike[str],
        *,
        prefix: str | None = None,
        port: int = 0,
        broadcast_port: int = 0,
        simulated: bool = False,
        startup_timeout: float = 120.0,
    ) -> None:
        self.station = Path(station)
        self.prefix = prefix
        self.port = port
        self.broadcast_port = broadcast_port
        self.simulated = simulated
        self.startup_timeout = startup_timeout
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        """Start serving (again, on the same ports if it ran before); returns once it serves."""
        if self.running:
            return self
        command = [
            sys.executable, "-m", "labkit", "serve", str(self.station),
            "--port", str(self.port), "--broadcast-port", str(self.broadcast_port),
        ]  # fmt: skip
        if self.prefix is not None:
            command += ["--prefix", self.prefix]
        if self.simulated:
            command.append("--simulated")
        env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_PVAS_")}
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self._process, lines), daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=self.startup_timeout)
            except queue.Empty:
                self.stop()
                raise ConfigurationError(
                    f"labkit serve {self.station} did not start within {self.startup_timeout} s"
                ) from None
            if line is None:
                raise ConfigurationError(
                    f"labkit serve {self.station} ended: {''.join(self.output[-5:]).strip()}"
                )
            found = _PORTS.search(line)
            if found:
                self.port, self.broadcast_port = int(found[1]), int(found[2])
                self.prefix = found[3]
            if line.startswith("ready"):
                return self

    def _pump(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)
        process.stdout.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def address(self, instrument: str) -> str:
        """``pva://127.0.0.1:PORT/PREFIXinstrument``."""
        return f"pva://127.0.0.1:{self.port}/{self.prefix or ''}{instrument}"

    def client_conf(self) -> dict[str, str]:
        """EPICS_PVA_* settings for other EPICS clients (p4p's CLI, ophyd-async)."""
        return {
            "EPICS_PVA_ADDR_LIST": "127.0.0.1",
            "EPICS_PVA_AUTO_ADDR_LIST": "NO",
            "EPICS_PVA_SERVER_PORT": str(self.port),
            "EPICS_PVA_BROADCAST_PORT": str(self.broadcast_port),
        }

    def kill(self) -> None:
        """End it at once (SIGKILL), as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=30)

    def stop(self) -> int | None:
        """Stop it as a service manager would (SIGTERM) and wait; returns its exit status."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=30)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"serving on port {self.port}" if self.running else "stopped"
        return f"<labkit serve {self.station.name} ({state})>"


def serve_in_background(
    station: str | os.PathLike[str], *, prefix: str | None = None, **options: Any
) -> ServerProcess:
    """Serve ``station`` from a new ``labkit serve`` process; returns once it serves.
    ``prefix`` overrides the station file's ``serve: prefix:``."""
    return ServerProcess(station, prefix=prefix, **options).start()
