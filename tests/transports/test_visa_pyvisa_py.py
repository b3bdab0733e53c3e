"""The VISA transport on pyvisa-py (``@py``), over a real TCP socket to a virtual instrument."""

from __future__ import annotations

import socket
import threading

import pytest

import labkit
from labkit import InstrumentTimeout, Reading, Setting
from labkit.sim import ScpiSimulator

pytest.importorskip("pyvisa_py")


class Meter(labkit.ScpiInstrument):
    """A small SCPI instrument."""

    models = ("M1",)
    level = Setting(unit="V", min=0, max=10, get="LEV?", set="LEV {}")
    value = Reading(unit="V", get="MEAS?")


@pytest.fixture
def lan_meter():
    """A virtual instrument listening on a TCP port, as a LAN instrument's raw socket does."""
    simulator = ScpiSimulator(Meter, "meter", readings={"value": lambda sim: 2.5})
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve_one(client: socket.socket) -> None:
        link = simulator.connect()
        client.settimeout(0.02)
        with client:
            while not stop.is_set():
                try:
                    data = client.recv(4096)
                    if not data:
                        break
                    link.write(data)
                except TimeoutError:
                    pass
                reply = link.read(65536, 0.0)
                if reply:
                    client.sendall(reply)

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve_one, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"TCPIP0::127.0.0.1::{port}::SOCKET@py", simulator
    stop.set()
    thread.join(1)
    server.close()


def test_a_driver_over_pyvisa_py_sockets(lan_meter):
    address, simulator = lan_meter
    meter = Meter(address, name="lan_meter", timeout=0.5)
    meter.level = 3
    assert meter.read("level") == 3
    assert meter.read("value") == 2.5
    simulator.faults.inject("timeout")
    with pytest.raises(InstrumentTimeout) as caught:
        meter.read("value")
    assert caught.value.resource == address
    assert caught.value.command == "MEAS?"
    assert meter.read("value") == 2.5
