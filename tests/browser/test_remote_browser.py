"""A served bench used from a real JupyterLab: the test starts ``labkit serve`` on loopback (a
process of its own, as in a lab), a notebook connects to it with ``labkit.connect`` and a
person sees, in the page, a remote sweep's spectra drawn live against the wavelengths that
came over pvAccess (the axis' own numbers), and a served camera's pictures change in the live
view — also after the notebook moved the camera's region of interest on the server.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.core import MissingVendorLibrary
from labkit.remote import ServerProcess
from tests.browser.harness import Lab, wait_until
from tests.browser.live_page import images_seen, line_points, watch_images

pytestmark = pytest.mark.browser

ACCOUNT = getpass.getuser()

BENCH = f"""\
simulated: true
bench: {{seed: 2}}
serve:
  prefix: "WEB:"
  access:
    write:
      - {{account: {ACCOUNT}, host: 127.0.0.1}}
instruments:
  psu: {{driver: e3631a, settings: {{output: true}}}}
  spec:
    driver: oceanoptics_usb2000plus
    twin: spectrometer
    settings: {{integration_time: 1 ms}}
"""

CONNECT = """
import os, tempfile
os.environ["LABKIT_DATA"] = tempfile.mkdtemp(prefix="labkit-remote-web-")
import numpy as np
import labkit
from labkit.core import Region
"""


def _serve(tmp_path: Path, text: str, name: str) -> ServerProcess:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return ServerProcess(path).start()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[ServerProcess]:
    server = _serve(tmp_path, BENCH, "bench")
    try:
        yield server
    finally:
        server.stop()


def _tick_numbers(lab: Lab, selector: str, label: str) -> list[float]:
    """The numbers written along the axis labelled ``label`` in the figure ``selector``
    finds, as shown."""
    axis = lab.page.locator(f"{selector} g.axis").filter(has_text=label).first
    numbers = []
    for text in axis.locator("g.tick text").all_text_contents():
        cleaned = text.replace("\u2212", "-").replace(",", "").strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
            numbers.append(float(cleaned))
    return numbers


def test_a_remote_sweep_shows_spectra_live_against_the_served_wavelengths(
    lab: Lab, bench: ServerProcess
) -> None:
    from playwright.sync_api import expect

    connect = CONNECT + (
        f"psu = labkit.connect({bench.address('psu')!r})\n"
        f"spec = labkit.connect({bench.address('spec')!r})\n"
    )
    sweep = (
        "run = labkit.sweep(psu.channels['p25v'].settings.voltage, np.linspace(4, 12, 10),\n"
        "                   read=[spec.readings.spectrum], settle=0.05, name='remote spectra')\n"
        "run"
    )
    nb = lab.open_notebook("remote-spectra.ipynb", [connect, sweep])
    nb.run_all()
    widget = nb.output(1).locator(".labkit-run")
    trace = widget.locator(".labkit-traceplot")
    expect(trace.locator("svg.svg-figure")).to_be_visible()
    expect(trace).to_contain_text("wavelength (nm)")
    expect(trace).to_contain_text("spec spectrum (counts)")
    wait_until(
        lambda: line_points(lab.page, ".labkit-run .labkit-traceplot") == [2048],
        timeout=90,
        what="a whole spectrum drawn in the page",
    )
    # The axis a person reads is the served spectrometer's calibration (339…1025 nm).
    ticks = _tick_numbers(lab, ".labkit-run .labkit-traceplot", "wavelength (nm)")
    assert len(ticks) >= 3, ticks
    assert all(330 <= tick <= 1030 for tick in ticks), ticks
    wait_until(lambda: nb.execute("print(run.status)") == "completed", timeout=90, what="the run")
    expect(widget).to_contain_text("10 / 10 points")
    lab.screenshot("remote-spectra", widget)
    remote = nb.execute("print(run.dataset.attrs['snapshot']['spec']['remote']['server'])")
    assert remote == f"127.0.0.1:{bench.port}"


def _camera_station() -> str:
    try:
        from labkit.sim import pvcam as pvsim

        library = pvsim.library_path()
    except MissingVendorLibrary:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    return f"""\
serve:
  frame_rate: 20
  access:
    write:
      - {{account: {ACCOUNT}, host: 127.0.0.1}}
instruments:
  cam:
    driver: pvcam
    resource: pvcam://{pvsim.PRIME_BSI}@{library}
    settings:
      exposure: 5 ms
"""


def test_a_served_cameras_pictures_change_in_the_live_view_and_follow_its_region(
    lab: Lab, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server = _serve(tmp_path, _camera_station(), "camera")
    try:
        connect = CONNECT + f"cam = labkit.connect({server.address('cam')!r})\n"
        show = "view = labkit.camera_view(cam, start=True, size=256)\nview"
        nb = lab.open_notebook("remote-camera.ipynb", [connect, show])
        nb.run_all()
        view = nb.output(1).locator(".labkit-camera-view")
        image = ".labkit-camera-view .labkit-camera-picture canvas.labkit-canvas-image"
        expect(lab.page.locator(image)).to_have_attribute("data-picture", re.compile(r"^\d+$"))
        expect(view.locator(".labkit-counter-size")).to_contain_text("2048×2048")
        watch_images(lab.page, image)
        wait_until(lambda: len(images_seen(lab.page)) >= 15, timeout=90, what="15 pictures")
        seen = images_seen(lab.page, stop=True)
        assert None not in [digest for _, digest in seen]
        assert len({digest for _, digest in seen}) >= 10, "the served camera's spots move"
        lab.screenshot("remote-camera", view)

        # The notebook moves the region; the server's camera reads it; the page shows it.
        read = nb.execute("print(cam.set_region(Region(512, 256, 300, 200)))")
        assert "Region(x=512, y=256, width=300, height=200" in read
        expect(view.locator(".labkit-counter-size")).to_contain_text("300×200")
        # the picture's axes number the sensor pixels the served camera reads now
        picture = ".labkit-camera-view"
        wait_until(
            lambda: (
                (ticks := _tick_numbers(lab, picture, "x (sensor px)"))
                and 500 <= min(ticks) <= max(ticks) <= 820
            ),
            timeout=30,
            what="x axis numbers within the region's columns 512…811",
        )
        wait_until(
            lambda: (
                (ticks := _tick_numbers(lab, picture, "y (sensor px)"))
                and 250 <= min(ticks) <= max(ticks) <= 460
            ),
            timeout=30,
            what="y axis numbers within the region's rows 256…455",
        )
        watch_images(lab.page, image)
        wait_until(lambda: len(images_seen(lab.page)) >= 5, timeout=90, what="5 pictures more")
        assert len({d for _, d in images_seen(lab.page, stop=True)}) >= 3
        lab.screenshot("remote-camera-region", view)
        # A region beyond the sensor is refused in the notebook, and nothing changes.
        refused = nb.execute(
            "try:\n"
            "    cam.set_region(Region(2000, 0, 100, 100))\n"
            "except labkit.LabkitError as error:\n"
            "    print(type(error).__name__, error)\n"
        )
        assert refused.startswith("ConfigurationError")
        assert "beyond the 2048×2048 sensor" in refused
        assert "Region(x=512, y=256" in nb.execute("print(cam.region)")
        nb.execute("cam.stop()")
    finally:
        server.stop()
