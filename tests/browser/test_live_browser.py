"""Live views in a real JupyterLab: a sweep's line grows while the run goes, the run's abort
button ends it, and a simulated GenICam camera (viky.cti) streams into the live image view —
standalone and inside a run — while the page shows changing pictures. A closed tab stops the
updates (the camera carries on) and a reopened one gets them again.

Rates are measured in the page and written to ``test-artifacts/browser/<test>/rates.json``;
they are not asserted (speed is for ``benchmarks/bench_live_view.py``).
"""

from __future__ import annotations

import json
import re

import pytest

from labkit.core import MissingVendorLibrary
from tests.browser.harness import Lab, Notebook, kernel_setup, wait_until
from tests.browser.live_page import (
    image_rate,
    images_seen,
    line_points,
    updates_seen,
    watch_images,
)

pytestmark = pytest.mark.browser


SETUP_LAB = kernel_setup(
    "labkit-live-",
    """\
from tests.simdevices import Lab
lab = Lab(prefix="web", latency=0.002)
""",
)

SETUP_VIKY = """
import os, tempfile
os.environ["LABKIT_DATA"] = tempfile.mkdtemp(prefix="labkit-live-")
import labkit
from labkit.runs import CameraStream
cam = labkit.GenICamCamera("genicam://VikyTL_DEV_red@viky", name="cam")
cam.pixel_format = "Mono8"
cam.acquisition_frame_rate = 60
"""


def _record(lab: Lab, **figures: object) -> None:
    lab.artifacts.mkdir(parents=True, exist_ok=True)
    path = lab.artifacts / "rates.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update(figures)
    path.write_text(json.dumps(known, indent=2))
    print(figures)


def _status(nb: Notebook) -> str:
    return nb.execute("print(run.status)")


def test_a_sweeps_line_grows_in_the_page_while_the_run_goes(lab: Lab) -> None:
    from playwright.sync_api import expect

    sweep = (
        "run = labkit.sweep(lab.smu.settings.voltage, np.linspace(0, 1, 80),\n"
        "                   read=[lab.dmm.readings.current], settle=0.05, name='iv')\n"
        "run"
    )
    nb = lab.open_notebook("sweep.ipynb", [SETUP_LAB, sweep])
    nb.run_all()
    widget = nb.output(1).locator(".labkit-run")
    expect(widget.locator(".labkit-lineplot svg.svg-figure")).to_be_visible()
    expect(widget.locator(".labkit-lineplot")).to_contain_text("smu voltage (V)")
    # The current's axis carries its SI prefix, which follows the data (µA, then mA).
    expect(widget.locator(".labkit-lineplot")).to_contain_text(
        re.compile(r"dmm current \([nµm]?A\)")
    )

    counts: list[int] = []

    def sample() -> bool:
        counts.append(max(line_points(lab.page, ".labkit-run .labkit-lineplot") or [0]))
        if 20 <= counts[-1] < 60 and not (lab.artifacts / "sweep-running.png").exists():
            lab.screenshot("sweep-running", widget)
        return _status(nb) == "completed"

    wait_until(sample, timeout=60, interval=0.1, what="the sweep to complete")
    wait_until(
        lambda: max(line_points(lab.page, ".labkit-run .labkit-lineplot")) == 80,
        what="all 80 points in the page",
    )
    growing = sorted({c for c in counts if 0 < c < 80})
    assert len(growing) >= 5, f"the line grew point by point in the page: {growing}"
    assert counts == sorted(counts), "the line never shrinks"
    expect(widget).to_contain_text("80 / 80 points")
    expect(widget.locator("button", has_text="Abort")).to_be_disabled()
    lab.screenshot("sweep-done", widget)
    _record(lab, line_sizes_seen=growing)


def test_the_runs_abort_button_ends_the_run_as_aborted(lab: Lab) -> None:
    from playwright.sync_api import expect

    sweep = (
        "run = labkit.sweep(lab.smu.settings.voltage, np.linspace(0, 2, 1000),\n"
        "                   read=[lab.dmm.readings.current], settle=0.05, name='long')\n"
        "run"
    )
    nb = lab.open_notebook("abort.ipynb", [SETUP_LAB, sweep])
    nb.run_all()
    widget = nb.output(1).locator(".labkit-run")
    wait_until(
        lambda: max(line_points(lab.page, ".labkit-run .labkit-lineplot") or [0]) >= 5,
        timeout=30,
        what="a few points in the page",
    )
    widget.locator("button", has_text="Abort").click()
    expect(widget).to_contain_text("aborted")
    assert _status(nb) == "aborted"
    assert nb.execute("print(lab.smu_sim.value('voltage'))") == "0.0", "made safe"
    points = int(nb.execute("print(run.points)"))
    assert 5 <= points < 1000
    # The line shows exactly what was saved, and stops there.
    wait_until(
        lambda: max(line_points(lab.page, ".labkit-run .labkit-lineplot")) == points,
        what="the page to show the saved points",
    )
    expect(widget.locator("button", has_text="Abort")).to_be_disabled()
    lab.screenshot("aborted", widget)


def test_viky_streams_into_the_live_image_view_and_a_closed_tab_stops_the_updates(
    lab: Lab,
) -> None:
    from playwright.sync_api import expect

    show = "view = labkit.camera_view(cam, start=True, size=512)\nview"
    nb = lab.open_notebook("camera.ipynb", [SETUP_VIKY, show])
    nb.run_all()
    view = nb.output(1).locator(".labkit-camera-view")
    expect(view.locator(".labkit-camera-picture canvas.labkit-canvas-image")).to_have_attribute(
        "data-picture", re.compile(r"^\d+$")
    )
    watch_images(lab.page, ".labkit-camera-view .labkit-camera-picture canvas.labkit-canvas-image")
    wait_until(lambda: len(images_seen(lab.page)) >= 40, timeout=60, what="40 pictures")
    seen = images_seen(lab.page, stop=True)
    pictures = [digest for _, digest in seen]
    assert None not in pictures, "every blob the page was given could be read"
    assert len(set(pictures)) >= 30, "the bouncing ball moves from picture to picture"
    expect(view.locator(".labkit-counter-frames")).to_contain_text(re.compile(r"frame \d{2,}"))
    expect(view.locator(".labkit-camera-status")).to_have_text("live")
    lab.screenshot("camera-view", view)
    rate = image_rate(updates_seen(lab.page))
    camera_fps = float(nb.execute("print(view.source.counters.rate())"))
    _record(lab, view_updates_per_second=rate, camera_fps=camera_fps, throttle=25.0)

    # Close the tab: nothing acknowledges, the view stops sending, the camera carries on.
    context = lab.page.context
    lab.page.close(run_before_unload=False)
    nb.wait_for_output("print(view.channel.listening)", "False", timeout=30)
    sent = int(nb.execute("print(view.channel.sent)"))
    published = int(nb.execute("print(cam.broadcaster.published)"))
    wait_until(
        lambda: int(nb.execute("print(cam.broadcaster.published)")) >= published + 120,
        timeout=30,
        what="the camera to go on at its own pace",
    )
    assert int(nb.execute("print(view.channel.sent)")) == sent, "nothing sent to a closed tab"

    # Open the notebook again: the page's widget manager restores the models, the link
    # acknowledges, and updates resume.
    lab.page = context.new_page()
    path = lab.path("camera.ipynb")
    lab.page.goto(f"{lab.server.url}/lab/tree/{path}?token={lab.server.token}")
    Notebook(lab, path).wait_for_kernel()  # the same kernel, which nb still talks to
    wait_until(
        lambda: int(nb.execute("print(view.channel.sent)")) > sent + 10,
        timeout=30,
        what="updates to resume for the reopened page",
    )


_KERNEL_PICTURE = """
import hashlib
import numpy as np
_table = np.frombuffer(view.picture.palette, np.uint8).reshape(256, 4)[:, [2, 1, 0, 3]].copy()
_table[:, 3] = 255
_rgba = _table[view.picture.array()]
print(view.picture.picture, hashlib.sha1(_rgba.tobytes()).hexdigest(), *_rgba.shape[:2])
"""

_PAGE_PICTURE = """
async (selector) => {
  const canvas = document.querySelector(selector);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const digest = await crypto.subtle.digest('SHA-1', data);
  return [canvas.dataset.picture, [...new Uint8Array(digest)]
    .map(x => x.toString(16).padStart(2, '0')).join(''), canvas.height, canvas.width];
}
"""


def test_the_camera_views_canvas_shows_the_kernels_picture_in_its_colormap(lab: Lab) -> None:
    """The page's pixels are the kernel's preview through the colormap, exactly, and they
    follow a colormap chosen in the page."""
    from playwright.sync_api import expect

    show = "view = labkit.camera_view(cam, start=True, size=128, colormap='viridis')\nview"
    nb = lab.open_notebook("canvas.ipynb", [SETUP_VIKY, show])
    nb.run_all()
    view = nb.output(1).locator(".labkit-camera-view")
    canvas = ".labkit-camera-view .labkit-camera-picture canvas.labkit-canvas-source"
    expect(lab.page.locator(canvas)).to_have_attribute("data-picture", re.compile(r"^\d+$"))
    nb.execute("cam.stop()")
    nb.wait_for_output("print(cam.acquiring)", "False", timeout=30)

    def same_picture() -> bool:
        kernel = nb.execute(_KERNEL_PICTURE).split()
        page = [str(v) for v in lab.page.evaluate(_PAGE_PICTURE, canvas)]
        return kernel == page

    wait_until(same_picture, timeout=30, what="the canvas to hold the kernel's last picture")
    height, width = (int(v) for v in nb.execute("print(*view.picture.array().shape)").split())
    assert (height, width) == (100, 100), "400 × 400 frames shrunk 1:4 to fit 128"

    # A colormap chosen in the page repaints the same picture in the new colours.
    before = lab.page.evaluate(_PAGE_PICTURE, canvas)[1]
    view.locator(".widget-dropdown", has_text="colormap").locator("select").select_option("hot")
    nb.wait_for_output("print(view.colormap)", "hot", timeout=30)
    wait_until(same_picture, timeout=30, what="the canvas to repaint in the new colormap")
    assert lab.page.evaluate(_PAGE_PICTURE, canvas)[1] != before
    lab.screenshot("camera-canvas-hot", view)


def test_a_run_streaming_viky_shows_it_live_and_saves_the_frames(lab: Lab) -> None:
    """The run goes on until the page has shown 20 pictures and 100 frames are stored, however
    slowly a loaded machine gets there (the duration only bounds a hang); then it is stopped,
    every frame it stored is in its dataset, and the page's final counters say exactly what
    the store holds and what the run lost, where."""
    from playwright.sync_api import expect

    stream = (
        "stream = CameraStream(cam, duration='10 min', name='movie')\nrun = labkit.run(stream)\nrun"
    )
    nb = lab.open_notebook("stream.ipynb", [SETUP_VIKY, stream])
    nb.run_all()
    widget = nb.output(1).locator(".labkit-run")
    image = ".labkit-run .labkit-camera-picture canvas.labkit-canvas-image"
    expect(lab.page.locator(image)).to_have_attribute("data-picture", re.compile(r"^\d+$"))
    expect(widget.locator("button", has_text="Apply ROI")).to_be_disabled()
    # What the run stored and lost, and where, is on the page beside the view's counters.
    counters = widget.locator(".labkit-counter-run")
    expect(counters).to_contain_text(re.compile(r"run: stored \d+ of \d+ · lost \d+"))
    watch_images(lab.page, image)
    wait_until(lambda: len(images_seen(lab.page)) >= 20, timeout=180, what="20 pictures")
    seen = images_seen(lab.page, stop=True)
    assert len({digest for _, digest in seen}) >= 15, "the ball moves from picture to picture"
    lab.screenshot("run-camera", widget)
    _record(lab, run_view_updates_per_second=image_rate(updates_seen(lab.page)))
    stored = "print(stream.ledger.counts()['stored'])"
    wait_until(lambda: int(nb.execute(stored)) >= 100, timeout=180, what="100 frames stored")

    nb.execute("run.abort(timeout=60)", timeout=90)
    assert nb.execute("print(run.status)") == "aborted"
    frames = int(nb.execute("print(run.dataset.movie.shape[0])"))
    assert frames == int(nb.execute(stored)) >= 100, "every frame the run stored is saved"
    expect(widget).to_contain_text("aborted")
    # Once the run has ended, the counters beside the view say what the store holds (frames
    # the writer finished after the last picture included) and what the run's attributes say
    # it lost, by stage; every number the camera gave is one or the other.
    kept = json.loads(nb.execute("import json; print(json.dumps(run.attrs['frames']['movie']))"))
    numbered = kept["last"] - kept["first"] + 1
    assert kept["stored"] == frames
    assert frames + kept["lost"] == numbered
    stages = ", ".join(f"{stage} {n}" for stage, n in kept["lost_in"].items() if n)
    expect(counters).to_have_text(
        f"run: stored {frames} of {numbered} · lost {kept['lost']}"
        + (f" ({stages})" if stages else ""),
        timeout=60_000,
    )


SETUP_PVCAM = """
import labkit
from labkit.sim import pvcam as pvsim
cam = labkit.PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="bsi", library=pvsim.library_path())
"""


def test_a_pvcam_stream_shows_in_the_same_live_view_and_an_unplugged_camera_shows_its_error(
    lab: Lab,
) -> None:
    from playwright.sync_api import expect

    try:
        pytest.importorskip("labkit.sim.pvcam").library_path()
    except MissingVendorLibrary:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    show = (
        "view = labkit.camera_view(cam, start=True, size=512, colormap='inferno', binning='max')\n"
        "view"
    )
    nb = lab.open_notebook("pvcam.ipynb", [SETUP_PVCAM, show])
    nb.run_all()
    view = nb.output(1).locator(".labkit-camera-view")
    image = ".labkit-camera-view .labkit-camera-picture canvas.labkit-canvas-image"
    expect(lab.page.locator(image)).to_have_attribute("data-picture", re.compile(r"^\d+$"))
    watch_images(lab.page, image)
    wait_until(lambda: len(images_seen(lab.page)) >= 30, timeout=60, what="30 pictures")
    seen = images_seen(lab.page, stop=True)
    assert len({digest for _, digest in seen}) >= 20, "the simulated spots move"
    expect(view.locator(".labkit-counter-size")).to_have_text("2048×2048 px shown 1:4")
    lab.screenshot("pvcam-view", view)
    _record(
        lab,
        view_updates_per_second=image_rate(updates_seen(lab.page)),
        camera_fps=float(nb.execute("print(view.source.counters.rate())")),
    )

    nb.execute("pvsim.controls().inject_fault(cam.handle, pvsim.Fault.CAM_REMOVED)")
    error = view.locator(".labkit-live-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("CameraRemoved")
    expect(error).to_contain_text("reconnect()")
    expect(view.locator(".labkit-camera-status")).to_contain_text("stopped")
    lab.screenshot("pvcam-unplugged", view)


SETUP_RANGE = """
cam.component_selector = "Range"  # viky's range component: four parts per buffer
cam.component_enable = True
cam.component_selector = "Intensity"
cam.acquisition_frame_rate = 20
"""


def test_a_multi_part_camera_shows_its_intensity_and_the_user_picks_another_part(
    lab: Lab,
) -> None:
    from playwright.sync_api import expect

    show = "view = labkit.camera_view(cam, start=True, size=256)\nview"
    nb = lab.open_notebook("parts.ipynb", [SETUP_VIKY + SETUP_RANGE, show])
    nb.run_all()
    view = nb.output(1).locator(".labkit-camera-view")
    expect(view.locator(".labkit-camera-picture canvas.labkit-canvas-image")).to_have_attribute(
        "data-picture", re.compile(r"^\d+$")
    )
    menu = view.locator(".labkit-camera-part select")
    expect(menu).to_be_visible()
    options = menu.locator("option").all_text_contents()
    assert options == ["intensity", "coord3d_a", "coord3d_b", "coord3d_c"]
    expect(menu).to_have_value("intensity")
    menu.select_option("coord3d_c")  # the depth plane, float32
    nb.wait_for_output("print(view.parts.part)", "coord3d_c", timeout=30)
    watch_images(lab.page, ".labkit-camera-view .labkit-camera-picture canvas.labkit-canvas-image")
    wait_until(lambda: len(images_seen(lab.page)) >= 5, timeout=60, what="5 depth pictures")
    seen = images_seen(lab.page, stop=True)
    assert None not in [digest for _, digest in seen]
    lab.screenshot("camera-part", view)
    assert "coord3d_c" in nb.execute("print(view.parts.menu.value)")
