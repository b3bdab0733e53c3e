"""``labkit serve STATION --prefix PREFIX``: prints what it serves, serves until stopped."""

from __future__ import annotations

import subprocess
import sys

from p4p.client.thread import Context

from labkit.remote import ServerProcess
from tests.remote.serving import STATION


def test_labkit_serve_prints_the_pv_names_and_who_may_write(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(STATION)
    server = ServerProcess(path, prefix="T:").start()
    try:
        printed = "".join(server.output)
        assert f"labkit serves 1 instruments at 127.0.0.1 port {server.port}" in printed
        assert "writes: account=" in printed
        assert "T:smu:source_voltage" in printed
        assert "T:smu:current" in printed
        assert "(read 10/s)" in printed
        assert "T:smu:_status" in printed
        with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
            assert client.get("T:smu:output")["value"] is False
    finally:
        assert server.stop() == 0
    assert "stopped" in "".join(server.output)


def test_a_bad_station_file_is_reported_before_anything_is_served(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(STATION.replace("current: 10", "curent: 10"))
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "serve", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "smu.curent is not something the server can read" in result.stderr
    assert "It can read: " in result.stderr
