"""A served camera's region of interest set from a client: rounded outwards by the serving
camera's own rules, refused (never cut to fit) beyond the sensor, on both sides, and only for
clients the station lets write; a region set in the serving process reaches the clients."""

from __future__ import annotations

import subprocess
import sys

import pytest
from p4p.client.thread import Context

import labkit
from labkit.core import ConfigurationError, Region
from labkit.remote import Server, serve_config
from labkit.remote._link import RemoteRefused
from labkit.sim import pvcam as pvsim
from tests.remote.conftest import Updates, python_env
from tests.remote.serving import SIM_PATH, WRITERS, needs_simulated_libpvcam

pytestmark = needs_simulated_libpvcam


@pytest.fixture
def camera():
    from labkit.drivers.cameras.pvcam import PvcamCamera

    made = PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="cam", library=SIM_PATH)
    made.exposure = 0.005
    made.binning = "2x2"
    made.set_region(Region(64, 32, 256, 128))
    yield made
    made.close()


def serve(camera, access=WRITERS):
    config = serve_config({"prefix": "R:", "access": access}, port=0, broadcast_port=0)
    return Server({"cam": camera}, config).start()


@pytest.fixture
def served(camera):
    server = serve(camera)
    rcam = labkit.connect(server.address("cam"), name="rcam")
    yield camera, rcam, server
    rcam.close()
    server.stop()


def test_a_client_sets_the_region_rounded_by_the_serving_camera(served):
    camera, rcam, _ = served
    assert rcam.region == camera.region == Region(64, 32, 256, 128, 2, 2)
    wanted = Region(65, 33, 101, 51)  # odd pixels: the 2×2 binning rounds them outwards
    read = rcam.set_region(wanted)
    assert read == camera.region == camera._fit_region(Region(65, 33, 101, 51, 2, 2))
    assert read == Region(64, 32, 102, 52, 2, 2)
    assert rcam.region == read
    frame = rcam.snap(timeout=30)
    assert frame.regions == (read,)
    assert frame.pixels.shape == (26, 51)  # binned pixels
    assert rcam.full_sensor() == camera.region == Region(0, 0, 2048, 2048, 2, 2)


def test_a_region_beyond_the_sensor_is_refused_never_cut(served):
    camera, rcam, server = served
    before = camera.region
    with pytest.raises(ConfigurationError, match=r"beyond the 2048×2048 sensor"):
        rcam.set_region(Region(2000, 0, 100, 10))
    with pytest.raises(ConfigurationError, match="is empty"):
        rcam.set_region(Region(10, 10, 0, 10))
    with pytest.raises(ConfigurationError, match="the camera bins 2×2"):
        rcam.set_region(Region(0, 0, 64, 64, 4, 4))  # binning is a setting of its own
    assert camera.region == before
    # a client that does not check first meets the same rule on the server
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
        with pytest.raises(Exception, match=r"beyond the 2048×2048 sensor.*nothing was changed"):
            client.put("R:cam:_region", {"value": {"x": -4}}, wait=True)
        assert camera.region == before
        shown = client.get("R:cam:_region")
        assert shown["alarm.severity"] == 1
        assert "beyond" in shown["alarm.message"]
        # a put of some fields keeps the others: the region moves, its size stays
        client.put("R:cam:_region", {"value": {"x": 512}}, wait=True)
        assert camera.region == Region(512, 32, 256, 128, 2, 2)
        shown = client.get("R:cam:_region")
        assert shown["alarm.severity"] == 0
        assert shown["value"]["width"] == 256


def test_p4p_command_line_client_reads_and_sets_the_region(served):
    camera, _, server = served
    env = python_env(server)
    cli = [sys.executable, "-m", "p4p.client.cli"]
    got = subprocess.run(
        [*cli, "get", "R:cam:_region"], capture_output=True, text=True, env=env, timeout=60
    )
    assert got.returncode == 0, got.stderr
    assert "width" in got.stdout
    assert "256" in got.stdout
    subprocess.run(
        [*cli, "put", 'R:cam:_region={"value": {"y": 101}}'],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )  # (p4p 4.3's CLI may fail printing the answer of a done put: the camera says)
    assert camera.region == Region(64, 100, 256, 130, 2, 2)  # rounded outwards to 2×2 pixels


def test_a_client_without_write_grant_is_refused_the_region(camera):
    server = serve(camera, access={})
    rcam = labkit.connect(server.address("cam"), name="rcam")
    try:
        before = camera.region
        with pytest.raises(RemoteRefused, match=r"read-only|may not|refused"):
            rcam.set_region(Region(0, 0, 512, 512))
        assert camera.region == before
    finally:
        rcam.close()
        server.stop()


def test_a_region_set_in_the_serving_process_reaches_the_clients(served):
    camera, rcam, server = served
    updates = Updates()
    with Context("pva", conf=server.client_conf(), useenv=False, nt=False) as client:
        subscription = client.monitor("R:cam:_region", updates)
        try:
            updates.wait_for(lambda v: v["value"]["x"] == 64)
            camera.set_region(Region(256, 256, 64, 64))
            seen = updates.wait_for(lambda v: v["value"]["x"] == 256)
            assert seen["value"]["width"] == 64
        finally:
            subscription.close()
    # the remote camera's own monitor saw it too (its update came before or with ours)
    remote = Updates()
    watch = rcam.link.monitor("R:cam:_region", remote)
    try:
        remote.wait_for(lambda v: v["value"]["x"] == 256)
    finally:
        watch.close()
    assert rcam.region == Region(256, 256, 64, 64, 2, 2)
