"""Array readings in runs: spectra, scope traces and a meter's burst recorded as extra
dimensions with their coordinates and units, streamed as they arrive, read back by labkit,
by zarr itself and by another Zarr implementation."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import zarr

import labkit
from labkit import Axis, Reading
from labkit.core import ConfigurationError
from labkit.runs import Read, Repeat, Sweep


@pytest.fixture
def optics(data_root):
    """The E3631A lights the lamp; a USB2000+ looks at it (frozen clock)."""
    from labkit.drivers.agilent import AgilentE3631A
    from labkit.drivers.oceanoptics import USB2000Plus

    with labkit.sim.Bench(seed=0, time_scale=0, prefix="arr") as bench:
        psu = AgilentE3631A(bench.address("psu"), name="psu", timeout=1.0)
        spec = USB2000Plus(bench.address("spectrometer"), name="spec", timeout=1.0)
        spec.integration_time = "1 ms"
        spec.dark_correction = True
        psu.output = True
        yield psu, spec, bench
        psu.close()
        spec.close()


def test_a_sweep_records_spectra_with_their_wavelengths_and_units(optics):
    psu, spec, _ = optics
    volts = [0.0, 6.0, 12.0]
    run = labkit.sweep(psu.p25v.settings.voltage, volts, read=[spec.readings.spectrum])
    ds = run.wait()
    assert run.status == "completed"
    spectra = ds.spec_spectrum
    assert spectra.dims == ("psu_p25v_voltage", "spec_wavelength")
    assert spectra.shape == (3, 2048)
    assert spectra.attrs["units"] == "counts"
    assert ds.spec_wavelength.attrs["units"] == "nm"
    np.testing.assert_allclose(ds.spec_wavelength.values, spec.wavelengths)
    # Each point's spectrum is the one the spectrometer gave then: dark, dimmer, brighter.
    peaks = spectra.max("spec_wavelength").values
    assert peaks[0] < 50 < peaks[1] < peaks[2]
    # The chunks hold a few whole spectra each, not a mebibyte of them.
    store = zarr.open_group(run.path, mode="r")
    chunks = store["spec_spectrum"].chunks
    assert chunks[1] == 2048
    assert 1 <= chunks[0] <= 16


def test_another_reader_sees_the_same_arrays(optics):
    psu, spec, _ = optics
    run = labkit.sweep(psu.p25v.settings.voltage, [6.0, 12.0], read=[spec.readings.spectrum])
    ds = run.wait()
    group = zarr.open_group(run.path, mode="r")
    array = group["spec_spectrum"]
    assert array.metadata.dimension_names == ("psu_p25v_voltage", "spec_wavelength")
    np.testing.assert_array_equal(array[...], ds.spec_spectrum.values)
    assert group["spec_wavelength"].attrs["units"] == "nm"
    # The documents themselves are plain Zarr v3 JSON.
    meta = json.loads((run.path / "spec_spectrum" / "zarr.json").read_text())
    assert meta["zarr_format"] == 3
    assert meta["shape"] == [2, 2048]
    ts = pytest.importorskip("tensorstore")
    opened = ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(run.path / "spec_spectrum")}}
    ).result()
    np.testing.assert_array_equal(opened.read().result(), ds.spec_spectrum.values)


def test_open_run_returns_the_arrays_lazily_with_coordinates(optics):
    psu, spec, _ = optics
    run = labkit.sweep(psu.p25v.settings.voltage, [12.0], read=[spec.readings.spectrum])
    run.wait()
    ds = labkit.open_run(run.id)
    assert "spec_wavelength" in ds.coords
    assert ds.spec_spectrum.sel(spec_wavelength=600, method="nearest").shape == (1,)


@pytest.fixture
def scope_bench(data_root):
    from labkit.drivers.keysight import Keysight33522B
    from labkit.drivers.rigol import RigolDS1000Z

    with labkit.sim.Bench(seed=1, time_scale=0, prefix="arrs") as bench:
        fg = Keysight33522B(bench.address("fg"), name="fg", timeout=1.0)
        scope = RigolDS1000Z(bench.address("scope"), name="scope", timeout=1.0)
        fg.ch1.load = "high Z"
        fg.ch1.amplitude = 1.6
        fg.ch1.output = True
        scope.ch1.probe = 1
        scope.ch1.scale = 0.2
        scope.timebase_scale = 1e-3
        yield fg, scope, bench
        fg.close()
        scope.close()


def test_scope_traces_over_the_time_axis_of_the_preamble(scope_bench):
    fg, scope, _ = scope_bench
    trace = scope.ch1.readings.trace
    axis = trace.spec.axes[0]
    assert axis.size == 1200
    assert axis.step == pytest.approx(1e-5)
    assert axis.start == pytest.approx(-6e-3)
    frequencies = [1e3, 2e3, 4e3]
    ds = labkit.sweep(fg.ch1.settings.frequency, frequencies, read=[trace]).wait()
    traces = ds.scope_ch1_trace
    assert traces.dims == ("fg_ch1_frequency", "scope_ch1_time")
    assert ds.scope_ch1_time.attrs["units"] == "s"
    time = ds.scope_ch1_time.values
    np.testing.assert_allclose(time, scope.waveform(1).time)  # the preamble's time axis
    for row, frequency in zip(traces.values, frequencies, strict=True):
        spectrum = np.abs(np.fft.rfft(row - row.mean()))
        peak = np.fft.rfftfreq(len(row), time[1] - time[0])[np.argmax(spectrum)]
        assert peak == pytest.approx(frequency, abs=1 / 12e-3)


def test_the_time_axis_follows_the_timebase_and_a_change_mid_run_fails_clearly(scope_bench):
    _fg, scope, _ = scope_bench
    trace = scope.ch1.readings.trace
    scope.timebase_scale = 2e-3
    assert trace.spec.axes[0].step == pytest.approx(2e-5)
    run = labkit.run(
        Repeat(
            3,
            Read(trace),
            labkit.runs.Call(lambda: setattr(scope, "timebase_scale", 5e-3)),
        )
    )
    with pytest.raises(ConfigurationError, match=r"time axis of scope\.ch1\.trace changed"):
        run.wait()
    assert run.status == "failed"
    ds = labkit.open_run(run.id)
    assert ds.attrs["points_written"] == 1  # the first trace was saved, whole
    assert np.isfinite(ds.scope_ch1_trace.values[0]).all()


def test_a_trace_per_channel_is_recorded_over_channel_and_time(scope_bench):
    """The scope's ``traces``: one row per shown channel, both coordinates stored, reopened
    by open_run and read by another Zarr implementation; the channel axis follows the
    channels on screen and a channel switched on mid-run fails the run clearly."""
    fg, scope, _ = scope_bench
    traces = scope.readings.traces
    scope.ch2.display = True
    channel, time = traces.spec.axes
    assert channel.coordinate().tolist() == [1, 2]
    assert (time.size, time.unit) == (1200, "s")
    frequencies = [1e3, 4e3]
    run = labkit.sweep(fg.ch1.settings.frequency, frequencies, read=[traces])
    run.wait()
    ds = labkit.open_run(run.id)
    recorded = ds.scope_traces
    assert recorded.dims == ("fg_ch1_frequency", "scope_channel", "scope_time")
    assert recorded.shape == (2, 2, 1200)
    assert recorded.attrs["units"] == "V"
    assert ds.scope_channel.values.tolist() == [1, 2]
    assert ds.scope_channel.dtype == np.int64
    assert ds.scope_time.attrs["units"] == "s"
    np.testing.assert_allclose(ds.scope_time.values, scope.waveform(1).time)
    # CH1 sees the generator: its spectrum peaks at the frequency set at that point.
    for row, frequency in zip(recorded.sel(scope_channel=1).values, frequencies, strict=True):
        spectrum = np.abs(np.fft.rfft(row - row.mean()))
        peak = np.fft.rfftfreq(len(row), 1e-5)[np.argmax(spectrum)]
        assert peak == pytest.approx(frequency, abs=1 / 12e-3)
    # Its chunks keep each point's whole image together.
    assert zarr.open_group(run.path, mode="r")["scope_traces"].chunks[1:] == (2, 1200)
    ts = pytest.importorskip("tensorstore")
    opened = ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(run.path / "scope_traces")}}
    ).result()
    np.testing.assert_array_equal(opened.read().result(), recorded.values)
    assert opened.domain.labels == (
        "fg_ch1_frequency",
        "scope_channel",
        "scope_time",
    )
    # The channel axis changing mid-run would misfile the rows: the run stops, clearly.
    failing = labkit.run(
        Repeat(2, Read(traces), labkit.runs.Call(lambda: setattr(scope.ch3, "display", True)))
    )
    with pytest.raises(ConfigurationError, match=r"channel axis of scope\.traces changed"):
        failing.wait()
    assert labkit.open_run(failing.id).attrs["points_written"] == 1


def test_a_scopes_raw_memory_is_recorded_in_pieces_over_its_time_axis(scope_bench):
    """RAW mode: the whole memory of a stopped scope, its time axis from the RAW preamble
    (x origin, reference and increment), volts as float32, stored in chunks of a few MiB,
    reopened lazily by open_run and windowed by tensorstore."""
    fg, scope, _ = scope_bench
    raw = scope.ch1.readings.raw_trace
    fg.ch1.frequency = 3e3
    scope.memory_depth = "1.2M"
    scope.single()
    assert scope.read("trigger_status") == "stopped"
    # The memory's length is the scope's to tell: a run cannot be laid out before it has.
    with pytest.raises(ConfigurationError, match="along memory_time is not known yet"):
        labkit.runs.plan(Read(raw))
    axis = scope.ch1.describe_raw()
    assert (axis.size, axis.unit) == (1_200_000, "s")
    assert axis.step == pytest.approx(1e-8)  # 1.2 M points over the 12 ms on screen
    assert axis.start == pytest.approx(-6e-3)  # the memory is centred on the trigger
    run = labkit.run(Repeat(2, Read(raw)))
    run.wait()
    ds = labkit.open_run(run.id)
    traces = ds.scope_ch1_raw_trace
    assert traces.dims[1:] == ("scope_ch1_memory_time",)
    assert traces.shape[1:] == (1_200_000,)
    assert traces.dtype == np.float32
    assert traces.attrs["units"] == "V"
    time = ds.scope_ch1_memory_time
    assert time.attrs["units"] == "s"
    np.testing.assert_allclose(time.values, scope.waveform(1, mode="raw").time)
    # Lazily, in pieces of 4 MiB: a reader takes a window without the rest.
    assert traces.chunks[1] == (1_048_576, 151_424)
    row = traces[0].values
    spectrum = np.abs(np.fft.rfft(row - row.mean()))
    peak = np.fft.rfftfreq(len(row), 1e-8)[np.argmax(spectrum)]
    assert peak == pytest.approx(3e3, abs=1 / 12e-3)
    assert (row.max() - row.min()) / 2 == pytest.approx(0.8, abs=0.01)
    array = zarr.open_group(run.path, mode="r")["scope_ch1_raw_trace"]
    assert array.chunks == (1, 1_048_576)
    ts = pytest.importorskip("tensorstore")
    opened = ts.open(
        {
            "driver": "zarr3",
            "kvstore": {"driver": "file", "path": str(run.path / "scope_ch1_raw_trace")},
        }
    ).result()
    assert opened.dtype.name == "float32"
    window = opened[1, 1_048_000:1_049_000].read().result()  # across two chunks
    np.testing.assert_array_equal(window, traces.values[1, 1_048_000:1_049_000])


def test_a_meters_burst_is_recorded_along_its_reading_axis(data_root):
    from labkit.drivers.keithley import Keithley2450
    from labkit.drivers.keysight import Keysight34465A

    with labkit.sim.Bench(seed=3, dut="resistor", time_scale=0, prefix="arrd") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        dmm = Keysight34465A(bench.address("dmm"), name="dmm")
        try:
            smu.current_limit = "10 mA"
            smu.output = True
            dmm.nplc = 0.02
            dmm.sample_count = 5
            samples = dmm.readings.samples
            assert samples.spec.shape == (5,)
            assert samples.unit == "V"
            ds = labkit.sweep(smu.settings.source_voltage, [0.5, 1.0], read=[samples]).wait()
            assert ds.dmm_samples.dims == ("smu_source_voltage", "dmm_reading")
            np.testing.assert_array_equal(ds.dmm_reading.values, np.arange(5))
            np.testing.assert_allclose(ds.dmm_samples.values[1], 1.0, atol=5e-3)
            dmm.function = "dc current"
            assert samples.unit == "A"
        finally:
            smu.close()
            dmm.close()


def test_a_meters_timed_samples_are_recorded_against_time(data_root):
    """SAMP:SOUR TIM: the readings of one trigger lie on the meter's own time axis, which
    the run stores as a coordinate in seconds and open_run gives back."""
    from labkit.drivers.keithley import Keithley2450
    from labkit.drivers.keysight import Keysight34465A

    with labkit.sim.Bench(seed=4, dut="resistor", time_scale=0, prefix="arrt") as bench:
        smu = Keithley2450(bench.address("smu"), name="smu")
        dmm = Keysight34465A(bench.address("dmm"), name="dmm")
        try:
            smu.current_limit = "10 mA"
            smu.output = True
            dmm.nplc = 0.02
            dmm.sample_count = 50
            dmm.sample_source = "timer"
            dmm.sample_timer = "1 ms"
            dmm.trigger_delay = "10 ms"
            run = labkit.sweep(smu.settings.source_voltage, [0.5, 1.0], read=[dmm.readings.samples])
            run.wait()
            ds = labkit.open_run(run.id)
            assert ds.dmm_samples.dims == ("smu_source_voltage", "dmm_time")
            time = ds.dmm_time
            assert time.attrs["units"] == "s"
            assert time.attrs["long_name"] == "time from the trigger"
            np.testing.assert_allclose(time.values, 10e-3 + 1e-3 * np.arange(50))
            first = ds.dmm_samples.sel(dmm_time=0.010, method="nearest")
            np.testing.assert_allclose(first.values, [0.5, 1.0], atol=5e-3)
        finally:
            smu.close()
            dmm.close()


def test_an_array_of_unknown_length_is_refused_before_the_run(data_root, unique_name):
    class Unconnected(labkit.Instrument):
        """A device whose record length is told at connect, not connected yet."""

        trace = Reading(unit="V", axes=[Axis("time", unit="s")], get=lambda inst: [])

        def make_link(self) -> Any:
            raise AssertionError("not connected in this test")

    device = Unconnected(name=unique_name, connect=False)
    try:
        with pytest.raises(ConfigurationError, match="along time is not known yet"):
            labkit.runs.plan(Read(device.readings.trace))
    finally:
        device.close()


def test_the_dry_run_says_how_big_the_store_will_be(optics):
    psu, spec, _ = optics
    report = labkit.dry_run(
        Sweep(psu.p25v.settings.voltage, np.linspace(0, 12, 100), read=[spec.readings.spectrum])
    )
    estimate = report.store
    # 100 spectra of 2048 float64 (1.6 MB), their wavelengths, set-points and time stamps.
    expected = 100 * 2048 * 8 + 2048 * 8 + 100 * 8 + 100 * 8
    assert estimate.bytes == expected
    assert not estimate.estimated
    assert estimate.arrays == (("spec_spectrum", (2048,), 2048 * 8),)
    text = repr(report)
    assert "store size: 1.66 MB uncompressed" in text
    assert "spec_spectrum: 2048 per point (16.4 kB)" in text
