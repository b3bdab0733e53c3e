"""Instrument-timed acquisition in runs: a buffered IV, and a fly scan on the bench where the
generator's Trig Out paces the DMM; both recorded on one time base, checked by the dry run.

The bench's clock is frozen; the acquisitions' pauses move it (``sleep = bench.advance``)."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import labkit
from labkit.core import ConfigurationError, LimitError
from labkit.runs import Triggered
from labkit.sim.twins._keithley2450_sweep import point_overhead


@pytest.fixture
def bench_trio(data_root):
    from labkit.drivers.keithley import Keithley2450
    from labkit.drivers.keysight import Keysight33522B, Keysight34465A

    with labkit.sim.Bench(seed=5, dut="resistor", time_scale=0, prefix="fly") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        dmm = Keysight34465A(bench.address("dmm"), name="dmm")
        fg = Keysight33522B(bench.address("fg"), name="fg")
        smu.current_limit = "10 mA"
        smu.output = True
        dmm.autozero = False
        dmm.nplc = 0.02
        yield bench, smu, dmm, fg
        for instrument in (smu, dmm, fg):
            instrument.close()


def test_a_buffered_iv_is_recorded_with_its_levels_units_and_instrument_times(bench_trio):
    _, smu, _, _ = bench_trio
    smu.nplc = 0.1
    sweep = smu.buffered_sweep(-1, 1, 41, delay=0.0)
    run = labkit.run(Triggered(sweep), name="buffered-iv")
    ds = run.wait()
    assert run.status == "completed"
    levels = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(ds.smu_source_voltage.values, levels)
    np.testing.assert_allclose(ds.smu_current.values, levels / 1000, atol=2e-6)
    assert ds.smu_current.attrs["units"] == "A"
    assert ds.smu_current.dims == ("smu_point",)
    seconds = (ds.time.values - ds.time.values[0]).astype("int64") / 1e9
    step = 0.1 / 50 + point_overhead(0.1)
    np.testing.assert_allclose(np.diff(seconds), step, atol=1e-6)  # the buffer's µs stamps
    described = ds.attrs["plan"]
    assert "Triggered" in str(described)


def test_a_fly_scan_puts_the_generator_and_the_dmm_on_one_time_base(bench_trio):
    bench, _, dmm, fg = bench_trio
    train = fg.trigger_train(25, "10 ms")
    sampling = dmm.timed_sampling(2, "1 ms", trigger="external", triggers=25)
    train.sleep = sampling.sleep = bench.advance
    ds = labkit.run(Triggered(train, sampling), name="fly").wait()
    assert ds.dmm_voltage.size == 50
    seconds = (ds.time.values - ds.time.values[0]).astype("int64") / 1e9
    expected = np.repeat(np.arange(25) * 10e-3, 2) + np.tile([0, 1e-3], 25)
    np.testing.assert_allclose(seconds, expected, atol=1e-9)
    assert bench.triggers.delivered["dmm.ext_trigger"] >= 25
    assert fg.ch1.burst is False  # the train stops when it is collected


def test_the_dry_run_checks_the_levels_the_smu_will_step_through_by_itself(bench_trio):
    _, smu, _, _ = bench_trio
    sweep = smu.buffered_sweep(0, 2, 21)
    report = labkit.dry_run(Triggered(sweep))
    assert "smu.source_voltage: 21 values" in repr(report)
    smu.settings.source_voltage.limit(max=1.5)  # tightened after the sweep was planned
    with pytest.raises(LimitError) as caught:
        labkit.dry_run(Triggered(sweep))
    assert caught.value.value == pytest.approx(2.0)  # the extreme it will reach
    assert not smu_sweeps_sent(bench_trio)
    plan = labkit.runs.plan(Triggered(sweep))
    assert plan.total == 21
    (described,) = plan.describe()["steps"]
    assert described["acquisitions"][0]["buffer_size"] == 10_000


def smu_sweeps_sent(bench_trio):
    bench = bench_trio[0]
    return [m for m in bench.instrument("smu").received if ":SWE:" in m.upper()]


def test_only_a_trigger_train_can_lead_externally_triggered_followers(bench_trio):
    _, smu, dmm, _ = bench_trio
    waiting = dmm.timed_sampling(1, "1 ms", trigger="external", triggers=3)
    with pytest.raises(ConfigurationError, match="cannot lead"):
        Triggered(waiting)
    with pytest.raises(ConfigurationError, match="external triggers"):
        Triggered(smu.buffered_sweep(0, 1, 3), waiting)


@pytest.fixture
def kinetix(bench_trio):
    from labkit.drivers.cameras.pvcam import PvcamCamera
    from labkit.sim import pvcam

    try:
        library = pvcam.library_path()
    except labkit.core.MissingVendorLibrary:
        pytest.skip("needs labkit's compiled parts: the simulated libpvcam is not built")
    camera = PvcamCamera(f"pvcam://{pvcam.KINETIX}", library=library, name="cam")
    camera.exposure = "1 ms"
    camera.set_region(labkit.core.Region(0, 0, 64, 32))
    yield camera
    camera.close()


def test_a_fly_scan_puts_the_generators_edges_the_dmm_and_the_camera_on_one_time_base(
    bench_trio, kinetix
):
    bench, _, dmm, fg = bench_trio
    train = fg.trigger_train(20, "20 ms")
    sampling = dmm.timed_sampling(2, "1 ms", trigger="external", triggers=20)
    frames = kinetix.triggered_frames(20)
    train.sleep = sampling.sleep = frames.sleep = bench.advance
    run = labkit.run(Triggered(train, sampling, frames), name="fly-camera")
    ds = run.wait()
    assert run.status == "completed"
    assert ds.cam_image.dims == ("cam_point", "cam_y", "cam_x")
    assert ds.cam_image.shape == (20, 32, 64)
    assert ds.cam_image.dtype == np.uint16
    assert float(ds.cam_image.mean()) > 0  # real frames of the scene, not zeros
    # the camera's frames start at the generator's edges, the DMM's samples follow them
    start = ds.time_dmm.values[0]
    frame_seconds = (ds.time_cam.values - start).astype("int64") / 1e9
    dmm_seconds = (ds.time_dmm.values - start).astype("int64") / 1e9
    np.testing.assert_allclose(frame_seconds, np.arange(20) * 20e-3, atol=1e-9)
    np.testing.assert_allclose(dmm_seconds[::2], frame_seconds, atol=1e-9)
    # and the camera's own clock agrees: its exposures began 20 ms apart (its metadata
    # timestamps, to the nanosecond)
    np.testing.assert_allclose(np.diff(ds.cam_hardware_time.values), 20e-3, atol=1e-6)
    assert ds.cam_hardware_time.attrs["units"] == "s"
    (described,) = labkit.runs.plan(Triggered(train, sampling, frames)).describe()["steps"]
    camera = described["acquisitions"][2]
    assert camera["exposure_mode"] == "Edge Trigger"
    assert camera["frames"] == camera["triggers"] == 20


def test_a_camera_that_cannot_keep_up_with_the_triggers_is_refused_before_arming(
    bench_trio, kinetix
):
    _, _, _, fg = bench_trio
    kinetix.exposure = "30 ms"
    frames = kinetix.triggered_frames(5)
    with pytest.raises(ConfigurationError, match="ignore some"):
        Triggered(fg.trigger_train(5, "20 ms"), frames)
    with pytest.raises(ConfigurationError, match="needs 5 triggers"):
        Triggered(fg.trigger_train(4, "50 ms"), frames)
    assert not kinetix.acquiring
    assert kinetix.last_value("trigger_mode") != "Edge Trigger"  # nothing was armed


def test_trigger_first_starts_the_sequence_at_the_first_edge_on_the_cameras_clock(
    bench_trio, kinetix
):
    bench, _, _, fg = bench_trio
    train = fg.trigger_train(3, "20 ms")
    frames = kinetix.triggered_frames(6, mode="first")
    train.sleep = frames.sleep = bench.advance
    ds = labkit.run(Triggered(train, frames), name="first").wait()
    seconds = (ds.time.values - ds.time.values[0]).astype("int64") / 1e9
    clock = ds.cam_hardware_time.values
    np.testing.assert_allclose(seconds, clock - clock[0], atol=1e-9)
    assert np.all(np.diff(seconds) > 0)
    with pytest.raises(labkit.core.LimitError, match="'edge'"):
        kinetix.triggered_frames(3, mode="level")


def test_a_buffer_is_written_whole_and_watchers_still_hear_of_every_point(bench_trio):
    _, smu, _, _ = bench_trio
    sweep = smu.buffered_sweep(0, 1, 41, delay=0.0)
    heard = []
    watching = threading.Event()
    run = labkit.run(Gate(watching), Triggered(sweep), name="whole")
    run.watch(lambda index, values: heard.append((index, values["smu_current"])))
    watching.set()  # the sweep starts once the watcher is in place
    ds = run.wait()
    assert ds.attrs["points_written"] == 41
    assert [index for index, _ in heard] == [(i,) for i in range(41)]
    np.testing.assert_allclose([value for _, value in heard], ds.smu_current.values)


class Gate:
    """A step that waits for ``event`` (set by the test once it is ready)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def prepare(self, plan) -> None:
        pass

    async def run(self, ctx) -> None:
        await asyncio.to_thread(self.event.wait, 30)

    def describe(self) -> dict:
        return {"step": "Gate"}
