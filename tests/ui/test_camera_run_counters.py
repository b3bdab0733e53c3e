"""A run's camera view ends with the run's own accounting.

The ``run:`` counter beside a run's camera picture (frames stored of those numbered, lost and
where) is written with each picture, again whenever it changes while no picture comes (a
paused camera, a writer still storing), and once more when the run ends, from what the run's
attributes keep: frames the writer stores after the last picture still reach the page.

No timing: the view renders on a clock the test moves (``ManualScheduler``), the disk holds
the frames at a gate until the test opens it (``tests.frame_stalls``), and the test waits for
events (the first frame at the disk, the frames stored, the view letting the camera go).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import labkit
from labkit.runs import CameraStream
from labkit.ui import live_view
from tests.frame_stalls import Gate, stall_disk, wait_until
from tests.ui.live_helpers import ManualCamera, ManualScheduler, Page

RUN_COUNTER = re.compile(r"run: stored (\d+) of (\d+) · lost (\d+)(?: \(([^)]*)\))?")


def shown(view: Any) -> dict[str, Any]:
    """What the view's run counter says, as numbers."""
    match = RUN_COUNTER.search(view.counters.value)
    assert match is not None, f"no run counter in {view.counters.value!r}"
    stored, numbered, lost, stages = match.groups()
    by_stage = dict(part.split(" ") for part in stages.split(", ")) if stages else {}
    return {
        "stored": int(stored),
        "numbered": int(numbered),
        "lost": int(lost),
        "lost_in": {stage: int(count) for stage, count in by_stage.items()},
    }


def kept(run: Any, name: str) -> dict[str, Any]:
    """What the run's attributes keep of the stream ``name``, in the same shape."""
    frames = run.attrs["frames"][name]
    return {
        "stored": frames["stored"],
        "numbered": frames["last"] - frames["first"] + 1,
        "lost": frames["lost"],
        "lost_in": {stage: n for stage, n in frames["lost_in"].items() if n},
    }


class Streaming:
    """A run streaming a camera the test drives, its live view on the test's clock, and a
    disk the test holds."""

    def __init__(self, step: CameraStream, camera: ManualCamera, disk: Gate) -> None:
        self.camera, self.step, self.disk = camera, step, disk
        self.scheduler = ManualScheduler()
        self.run = labkit.run(step)
        self.live = live_view(self.run, scheduler=self.scheduler)
        (self.view,) = self.live.cameras
        Page(self.view.channel)  # a page that keeps up
        wait_until(lambda: camera.acquiring)  # the stream subscribed and started the camera

    def publish(self, count: int) -> None:
        for _ in range(count):
            self.camera.publish(np.full((16, 24), self.camera.number + 1, np.uint16))

    def render(self, seconds: float = 0.1) -> None:
        self.scheduler.advance(seconds, step=0.01)

    def render_until(self, condition: Any) -> None:
        """Move the view's clock until ``condition()`` holds (the view renders meanwhile)."""

        def rendered() -> bool:
            self.render(0.05)
            return bool(condition())

        wait_until(rendered)

    def first_picture_while_the_disk_holds(self, frames: int) -> None:
        """``frames`` frames published while the disk holds the first of them; the view
        draws the newest, with none stored yet."""
        self.disk.close()
        self.publish(frames)
        wait_until(self.disk.reached.is_set)
        # The stream took them all (an abort now leaves none in its queue).
        wait_until(lambda: self.step.ledger.as_attrs().get("last") == frames)
        self.render_until(lambda: self.view.source.counters.frames == frames)
        assert shown(self.view)["stored"] == 0, "the picture came before any frame was stored"


@pytest.fixture
def streaming(data_root, monkeypatch):
    made: list[Streaming] = []
    disk = stall_disk(monkeypatch, "cam")

    def start(**options: Any) -> Streaming:
        camera = ManualCamera("cam", shape=(16, 24))
        made.append(Streaming(CameraStream(camera, **options), camera, disk))
        return made[-1]

    yield start
    disk.open()
    for each in made:
        if not each.run.done:
            each.run.abort(timeout=60)
        each.live.close()


@pytest.mark.parametrize("ending", ["completed", "aborted"])
def test_frames_stored_after_the_last_picture_reach_the_final_counters(streaming, ending):
    if ending == "completed":
        s = streaming(frames=6, backlog=8, no_frame_timeout="10 min")
    else:
        s = streaming(duration="10 min", backlog=8, no_frame_timeout="10 min")
    s.first_picture_while_the_disk_holds(6)
    if ending == "aborted":
        s.run.abort(wait=False)
    s.disk.open()  # the writer stores what it holds: no picture comes after
    ds = s.run.wait(timeout=60)
    assert s.run.status == ending
    s.render_until(lambda: not s.view.source.active)  # the view let the camera go

    final = shown(s.view)
    assert final == kept(s.run, "cam"), s.view.counters.value
    assert final["stored"] == ds.cam.shape[0] == 6
    assert f"run: {s.step.ledger.summary()}" in s.view.counters.value
    assert s.view.source.counters.shown == 1, "the counters came without another picture"


def test_the_counters_follow_the_writer_while_the_camera_pauses(streaming):
    s = streaming(frames=10, backlog=8, no_frame_timeout="10 min")
    s.first_picture_while_the_disk_holds(6)
    s.disk.open()
    wait_until(lambda: s.step.ledger.counts()["stored"] == 6)
    s.render_until(lambda: shown(s.view)["stored"] == 6)  # no picture comes meanwhile
    assert s.view.source.counters.shown == 1
    assert shown(s.view) == {"stored": 6, "numbered": 6, "lost": 0, "lost_in": {}}

    s.publish(4)  # the camera goes on: the run ends with its tenth frame
    s.run.wait(timeout=60)
    s.render_until(lambda: not s.view.source.active)
    assert shown(s.view) == kept(s.run, "cam")
    assert shown(s.view)["stored"] == 10


def test_a_view_opened_after_the_run_ended_says_what_the_run_kept(streaming):
    s = streaming(frames=3, no_frame_timeout="10 min")
    s.publish(3)
    s.run.wait(timeout=60)
    late = ManualScheduler()
    view = live_view(s.run, scheduler=late, rate=10)  # other options: another widget
    try:
        (camera,) = view.cameras
        Page(camera.channel)
        wait_until(lambda: (late.advance(0.05, step=0.01), not camera.source.active)[1])
        assert shown(camera) == kept(s.run, "cam")
        assert "labkit-counter-size" not in camera.counters.value, "no picture: no size"
    finally:
        view.close()
