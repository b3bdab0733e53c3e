"""SR830 data storage, displays, offsets, expands and aux outputs, on the bench (frozen clock;
the acquisition's pauses move it)."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.core import LimitError
from labkit.drivers.keysight import Keysight33522B
from labkit.drivers.stanford import SR830
from labkit.runs import Triggered


@pytest.fixture
def chain(bench, data_root):
    bench.signal.path.update(gain=0.5, cutoff=20e3, noise_density=2e-6)
    fg = Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)
    lockin = SR830(bench.address("lockin"), name="lockin", timeout=0.5)
    fg.ch1.load = "high Z"
    fg.ch1.frequency = 5e3
    fg.ch1.amplitude = 0.4
    fg.ch1.output = True
    lockin.reference_source = "external"
    lockin.time_constant = 0.1
    lockin.sensitivity = 0.2
    bench.advance(3.0)
    return lockin, bench


def test_the_buffer_fills_at_the_sample_rate_and_stops_when_paused(chain):
    lockin, bench = chain
    lockin.sample_rate = "64 Hz"
    lockin.run_action("reset_storage")
    lockin.run_action("start_storage")
    bench.advance(0.5)
    assert lockin.read("points_stored") == 33  # t = 0 … 0.5 s at 1/64 s
    lockin.run_action("pause_storage")
    bench.advance(1.0)
    assert lockin.read("points_stored") == 33


def test_a_buffer_acquisition_records_both_displays_in_a_run(chain):
    lockin, bench = chain
    lockin.ch1_display = "R"
    lockin.ch2_display = "theta"
    acquisition = lockin.buffer_acquisition(128, "64 Hz")
    acquisition.sleep = bench.advance
    ds = labkit.run(Triggered(acquisition), name="lockin-buffer").wait()
    r = lockin.read("r")
    assert ds.lockin_r.size == 128
    np.testing.assert_allclose(ds.lockin_r.values, r, rtol=0.05)
    assert ds.lockin_theta.attrs["units"] == "deg"
    seconds = (ds.time.values - ds.time.values[0]).astype("int64") / 1e9
    np.testing.assert_allclose(np.diff(seconds), 1 / 64, rtol=1e-6)


def test_offset_and_expand_act_on_the_stored_display(chain):
    lockin, bench = chain
    x = lockin.read("x")
    lockin.x_offset = 100 * x / 0.2  # the offset removes X (percent of the 0.2 V full scale)
    lockin.x_expand = 10
    lockin.sample_rate = "64 Hz"
    lockin.run_action("reset_storage")
    lockin.run_action("start_storage")
    bench.advance(0.2)
    (first,) = lockin.run_io(lambda: lockin.query("TRCA? 1,0,1")).strip(",").split(",")
    assert abs(float(first)) < 10 * 0.01 * 0.2  # only the rounding of the offset is left


def test_aux_outputs_and_limits_are_checked_before_sending(chain):
    lockin, _ = chain
    lockin.aux_out_2 = "1.5 V"
    assert lockin.refresh("aux_out_2")["aux_out_2"] == pytest.approx(1.5)
    with pytest.raises(LimitError):
        lockin.aux_out_1 = 11
    with pytest.raises(LimitError):
        lockin.buffer_acquisition(20_000)
    assert lockin.read("aux_in_1") == 0.0
