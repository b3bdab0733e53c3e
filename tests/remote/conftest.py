"""Served stations on loopback, each test on its own OS-picked ports.

Every test sets the EPICS_PVA* variables itself (loopback only, ports 0, no automatic
address lists), so parallel test runs on this machine never find each other's servers.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

p4p = pytest.importorskip("p4p")

from p4p.client.thread import Context  # noqa: E402

from labkit.station import load_station  # noqa: E402

ACCOUNT = getpass.getuser()

BENCH_STATION = """\
name: served bench
simulated: true
bench: {seed: 3, dut: diode, time_scale: 0}
serve:
  prefix: "T:"
  access:
    write:
      - {account: %(account)s, host: 127.0.0.1}
instruments:
  smu:
    driver: keithley2450
    resource: GPIB0::18::INSTR
    settings: {nplc: 1, current_limit: 10 mA}
    limits:
      source_voltage: {min: -1 V, max: 2 V}
    locks:
      current_limit: {max: 20 mA, reason: "the diode is rated 20 mA", key: k}
    serve:
      poll: {current: 20}
  dmm:
    driver: keysight34465a
    resource: GPIB0::22::INSTR
"""


@pytest.fixture(autouse=True)
def _epics_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only, OS-picked ports: this test's servers and clients see nothing else."""
    for key in list(os.environ):
        if key.startswith("EPICS_PVA"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("EPICS_PVAS_INTF_ADDR_LIST", "127.0.0.1")
    monkeypatch.setenv("EPICS_PVAS_SERVER_PORT", "0")
    monkeypatch.setenv("EPICS_PVAS_BROADCAST_PORT", "0")
    monkeypatch.setenv("EPICS_PVA_ADDR_LIST", "127.0.0.1")
    monkeypatch.setenv("EPICS_PVA_AUTO_ADDR_LIST", "NO")


def station_file(tmp_path: Path, text: str = BENCH_STATION, **values: Any) -> Path:
    path = tmp_path / "station.yaml"
    path.write_text(textwrap.dedent(text % {"account": ACCOUNT, **values}))
    return path


@pytest.fixture
def serve_station(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``serve_station(text=..., **serve_kwargs)``: load a station file and serve it on loopback
    (ports picked by the OS); everything is stopped and closed after the test."""
    from labkit.remote import serve

    made: list[tuple[Any, Any]] = []

    def make(text: str = BENCH_STATION, **kwargs: Any) -> tuple[Any, Any]:
        station = load_station(station_file(tmp_path, text))
        kwargs.setdefault("port", 0)
        kwargs.setdefault("broadcast_port", 0)
        try:
            server = serve(station, **kwargs)
        except BaseException:
            station.close()
            raise
        made.append((station, server))
        return station, server

    yield make
    for station, server in reversed(made):
        server.stop()
        station.close()


@pytest.fixture
def bench_server(serve_station: Callable[..., Any]) -> tuple[Any, Any]:
    return serve_station()


@pytest.fixture
def client(bench_server: tuple[Any, Any]) -> Iterator[Context]:
    """A p4p client (raw Values) that reaches the bench server only."""
    _, server = bench_server
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as context:
        yield context


class Updates:
    """A monitor's updates, waited for by condition (no sleeping on the wall clock)."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.changed = threading.Condition()
        self._cursor = 0  # updates before it were matched by an earlier wait_for

    def __call__(self, value: Any) -> None:
        with self.changed:
            self.seen.append(value)
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 20.0) -> Any:
        """The first update since the last one matched (already seen or coming) for which
        ``predicate`` holds."""
        with self.changed:
            found: list[int] = []

            def ready() -> bool:
                for index in range(self._cursor, len(self.seen)):
                    value = self.seen[index]
                    if not isinstance(value, Exception) and predicate(value):
                        found.append(index)
                        return True
                return False

            if not self.changed.wait_for(ready, timeout):
                raise AssertionError(f"no such update within {timeout} s; saw {self.seen[-5:]}")
            self._cursor = found[0] + 1
            return self.seen[found[0]]


@pytest.fixture
def monitor(client: Context) -> Iterator[Callable[[str], Updates]]:
    subscriptions = []

    def watch(name: str, request: str | None = None) -> Updates:
        updates = Updates()
        subscriptions.append(client.monitor(name, updates, request=request))
        return updates

    yield watch
    for subscription in subscriptions:
        subscription.close()


def python_env(server: Any) -> dict[str, str]:
    """The environment of a client process that reaches ``server`` and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
    env.update(server.client_conf())
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def run_client_script(script: str, server: Any, timeout: float = 240) -> dict[str, Any]:
    """Run ``script`` in a client process that reaches ``server``; its last line, JSON."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=python_env(server),
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
