"""``labkit serve`` in a process of its own, for tests that kill it or restart it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.remote.conftest import ACCOUNT


class ServeProcess:
    """``labkit serve STATION --prefix T:`` on loopback; ports picked by the OS the first time,
    reused when it is started again."""

    def __init__(self, station: Path, *, port: int = 0, broadcast_port: int = 0) -> None:
        self.station = station
        self.port = port
        self.broadcast_port = broadcast_port
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []

    def start(self) -> ServeProcess:
        command = [
            sys.executable, "-m", "labkit", "serve", str(self.station), "--prefix", "T:",
            "--port", str(self.port), "--broadcast-port", str(self.broadcast_port),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()
        while True:
            line = self.lines.get(timeout=120)
            found = re.search(r"EPICS_PVA_SERVER_PORT=(\d+) EPICS_PVA_BROADCAST_PORT=(\d+)", line)
            if found:
                self.port, self.broadcast_port = int(found[1]), int(found[2])
            if line.startswith("ready"):
                return self

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            self.lines.put(line)

    @property
    def url(self) -> str:
        return f"pva://127.0.0.1:{self.port}/T:smu"

    def client_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
        env.update(
            EPICS_PVA_ADDR_LIST="127.0.0.1",
            EPICS_PVA_AUTO_ADDR_LIST="NO",
            EPICS_PVA_SERVER_PORT=str(self.port),
            EPICS_PVA_BROADCAST_PORT=str(self.broadcast_port),
            PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        )
        return env

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._close()
        return code

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


STATION = f"""\
simulated: true
bench: {{seed: 5, dut: diode, time_scale: 0}}
serve:
  access:
    write:
      - {{account: {ACCOUNT}, host: 127.0.0.1}}
instruments:
  smu:
    driver: keithley2450
    ramps: {{source_voltage: 1 V/s}}
    serve:
      poll: {{current: 10}}
"""
