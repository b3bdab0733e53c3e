"""Faults: a server killed and started again, a client killed in the middle of a write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from labkit.core import ConnectionLost
from labkit.remote import ServerProcess
from labkit.remote._link import PvaLink
from tests.remote.conftest import python_env
from tests.remote.serving import STATION


@pytest.fixture
def station_path(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(STATION)
    return path


@pytest.mark.slow
def test_a_killed_server_is_connection_lost_naming_it_and_the_link_comes_back(station_path):
    server = ServerProcess(station_path, prefix="T:").start()
    try:
        link = PvaLink(server.address("smu"), timeout=3)
        link.watch_connection("T:smu:_status")
        assert link.wait_connected(30)
        changes: list[bool] = []
        back = threading.Event()
        link.on_connection(lambda up: (changes.append(up), up and back.set()))
        updates: list[object] = []
        lost = threading.Event()
        link.monitor(
            "T:smu:nplc",
            lambda v: (updates.append(v), isinstance(v, ConnectionLost) and lost.set()),
        )
        assert link.get("T:smu:nplc")["value"] == 1

        server.kill()
        assert lost.wait(30)
        message = str(next(u for u in updates if isinstance(u, ConnectionLost)))
        assert f"lost the pvAccess server 127.0.0.1:{server.port}" in message
        with pytest.raises(ConnectionLost) as failed:
            link.get("T:smu:nplc")
        assert f"127.0.0.1:{server.port}" in str(failed.value)
        assert not link.connected

        server.start()  # the same ports: a restart, as a service manager would do it
        assert back.wait(60)
        assert changes == [False, True]
        assert link.get("T:smu:nplc")["value"] == 1
        link.put("T:smu:nplc", 3)
        assert link.get("T:smu:nplc")["value"] == 3
        link.close()
    finally:
        if server.running:
            assert server.stop() == 0


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, threading
    from labkit.remote._link import PvaLink
    link = PvaLink(sys.argv[1], timeout=30)
    threading.Thread(target=link.put, args=("T:smu:source_voltage", 1.0), daemon=True).start()
    started = threading.Event()
    link.monitor("T:smu:source_voltage",
                 lambda v: 0 < getattr(v, "get", lambda k, d=None: 0)("value", 0) < 1 and started.set())
    started.wait(60)
    print("ramping", flush=True)
    os.kill(os.getpid(), 9)
    """
)


@pytest.mark.slow
def test_a_client_killed_mid_write_leaves_the_server_and_instrument_consistent(station_path):
    server = ServerProcess(station_path, prefix="T:").start()
    try:
        writer = subprocess.run(
            [sys.executable, "-c", KILLED_WRITER, server.address("smu")],
            capture_output=True,
            text=True,
            env=python_env(server),
            timeout=120,
        )
        assert writer.stdout.strip() == "ramping", writer.stderr[-2000:]
        assert writer.returncode == -9
        with PvaLink(server.address("smu"), timeout=10) as link:
            done = threading.Event()
            seen: list[float] = []

            def follow(value) -> None:
                if not isinstance(value, Exception):
                    seen.append(value["value"])
                    if value["value"] == 1.0 and not value["labkit.busy"]:
                        done.set()

            link.monitor("T:smu:source_voltage", follow)
            assert done.wait(60), seen  # the ramp the dead client asked for ran to its end
            pv = link.get("T:smu:source_voltage")
            assert pv["alarm.severity"] == 0
            fresh = link.read_now("T:smu:source_voltage")  # the instrument agrees with the PV
            assert fresh["value"] == 1.0
            link.put("T:smu:source_voltage", 0.5)  # and the setting is free for the next client
    finally:
        assert server.stop() == 0
    assert "stopped" in "".join(server.output)


def test_connecting_where_no_server_is_says_which_server_and_what_to_check(bench_server):
    import socket

    import labkit

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nobody serves there
    with pytest.raises(ConnectionLost) as failed:
        labkit.connect(f"pva://127.0.0.1:{port}/T:smu", name="nobody_there", timeout=1)
    message = str(failed.value)
    assert f"no answer from the pvAccess server 127.0.0.1:{port}" in message
    assert "Check that `labkit serve` runs there and serves that name" in message
    _, server = bench_server  # a server that is there, asked for a name it does not serve
    with pytest.raises(ConnectionLost, match="to get T:nosuch:_info"):
        labkit.connect(server.address("smu").replace("T:smu", "T:nosuch"), timeout=1)
