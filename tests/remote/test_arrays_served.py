"""Array readings over pvAccess: a spectrum, a meter's burst and a scope trace are served as
NTScalarArrays with their coordinates as PVs of their own (what pvget, Phoebus and ophyd-async
read), and labkit's remote instruments declare them back, so a run through the served bench
records them with the coordinates a local run records."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from p4p.client.thread import Context

import labkit
from labkit.runs import Read
from tests.remote.conftest import python_env, run_client_script

OPTICS = """\
simulated: true
bench: {seed: 4, time_scale: 0}
serve:
  prefix: "A:"
  access:
    write:
      - {account: %(account)s, host: 127.0.0.1}
instruments:
  psu: {driver: e3631a, settings: {output: true}}
  spec: {driver: oceanoptics_usb2000plus, twin: spectrometer, settings: {integration_time: 1 ms, dark_correction: true}}
  dmm: {driver: keysight34465a}
  scope: {driver: rigol_ds1000z}
"""


@pytest.fixture
def optics(serve_station):
    return serve_station(OPTICS)


@pytest.fixture
def client(optics):
    """A plain p4p client (raw Values) of the optics bench's server."""
    with Context("pva", conf=optics[1].client_conf(), useenv=False, nt=False) as context:
        yield context


def test_a_plain_p4p_client_gets_a_spectrum_and_its_wavelengths(optics, client):
    station, _ = optics
    spectrum = client.get("A:spec:spectrum")
    assert spectrum.getID() == "epics:nt/NTScalarArray:1.0"
    assert spectrum["display.units"] == "counts"
    assert spectrum["alarm.severity"] == 3  # not read yet: no value to show
    wavelength = client.get("A:spec:spectrum:wavelength")
    assert wavelength.getID() == "epics:nt/NTScalarArray:1.0"
    assert wavelength["display.units"] == "nm"
    np.testing.assert_array_equal(wavelength["value"], station.spec.wavelengths)

    local = station.spec.read("spectrum")
    now = client.get("A:spec:spectrum")
    assert now["alarm.severity"] == 0
    np.testing.assert_array_equal(now["value"], local)
    assert now["value"].dtype == np.float64


def test_a_burst_moved_by_a_put_moves_its_coordinate_pv_before_the_put_returns(optics, client):
    station, _ = optics
    index = client.get("A:dmm:samples:reading")
    assert list(index["value"]) == [0.0]
    client.put("A:dmm:sample_count", 5, wait=True)
    assert station.dmm.readings.samples.spec.shape == (5,)
    assert list(client.get("A:dmm:samples:reading")["value"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    declared = json.loads(client.get("A:dmm:samples")["labkit.axes"])
    assert declared[0]["size"] == 5


def test_a_scope_trace_serves_its_time_axis_as_read(optics, client):
    station, _ = optics
    trace = station.scope.ch1.read("trace")
    axis = station.scope.ch1.readings.trace.spec.axes[0]
    time = client.get("A:scope:ch1:trace:time")
    assert time["display.units"] == "s"
    np.testing.assert_allclose(time["value"], axis.coordinate())
    np.testing.assert_array_equal(client.get("A:scope:ch1:trace")["value"], trace)


def test_p4p_command_line_client_gets_the_coordinate(optics):
    _, server = optics
    got = subprocess.run(
        [sys.executable, "-m", "p4p.client.cli", "get", "A:spec:spectrum:wavelength"],
        capture_output=True,
        text=True,
        env=python_env(server),
        timeout=60,
    )
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("A:spec:spectrum:wavelength")
    assert "339.4" in got.stdout  # the first pixel's wavelength, from the EEPROM coefficients


def test_remote_instruments_declare_the_array_readings_as_the_served_ones(optics):
    station, server = optics
    spec = labkit.connect(server.address("spec"), name="rspec")
    dmm = labkit.connect(server.address("dmm"), name="rdmm")
    scope = labkit.connect(server.address("scope"), name="rscope")
    try:
        for remote, local in (
            (spec.readings.spectrum, station.spec.readings.spectrum),
            (dmm.readings.samples, station.dmm.readings.samples),
            (scope.channels["ch2"].readings.trace, station.scope.ch2.readings.trace),
        ):
            assert remote.spec.jsonable() == local.spec.jsonable()
        np.testing.assert_array_equal(spec.read("spectrum").shape, (2048,))
        # a put that moves an axis moves it here before the put returns
        dmm.sample_count = 3
        assert dmm.readings.samples.spec.shape == (3,)
        assert dmm.read("samples").shape == (3,)
        # an axis that moves as the trace is read (the scope's timebase) follows the read
        station.scope.timebase_scale = 5e-3
        trace = scope.channels["ch1"].read("trace")
        assert trace.shape == (1200,)
        station.scope.ch1.read("trace")
        ours = scope.channels["ch1"].readings.trace.spec.axes[0]
        assert ours.same_coordinate(station.scope.ch1.readings.trace.spec.axes[0])
        assert ours.step == pytest.approx(5e-3 * 12 / 1200)
    finally:
        for remote in (spec, dmm, scope):
            remote.close()


def test_a_run_through_the_served_bench_records_spectra_as_locally(optics, data_root):
    station, server = optics
    psu = labkit.connect(server.address("psu"), name="psu_r")
    spec = labkit.connect(server.address("spec"), name="spec_r")
    try:
        voltage = psu.channels["p25v"].settings.voltage
        run = labkit.sweep(voltage, [0.0, 6.0, 12.0], read=[spec.readings.spectrum])
        remote = run.wait()
        local = labkit.sweep(
            station.psu.p25v.settings.voltage,
            [0.0, 6.0, 12.0],
            read=[station.spec.readings.spectrum],
        ).wait()
    finally:
        psu.close()
        spec.close()
    assert remote.spec_r_spectrum.dims == ("psu_r_p25v_voltage", "spec_r_wavelength")
    assert local.spec_spectrum.dims == ("psu_p25v_voltage", "spec_wavelength")
    np.testing.assert_array_equal(remote.spec_r_wavelength.values, local.spec_wavelength.values)
    theirs, mine = dict(remote.spec_r_wavelength.attrs), dict(local.spec_wavelength.attrs)
    assert (theirs.pop("source"), mine.pop("source")) == ("spec_r.spectrum", "spec.spectrum")
    assert theirs == mine
    assert remote.spec_r_spectrum.attrs["units"] == local.spec_spectrum.attrs["units"] == "counts"
    peaks = remote.spec_r_spectrum.max("spec_r_wavelength").values
    assert peaks[0] < 50 < peaks[1] < peaks[2]  # dark, then the lamp brighter and brighter
    reopened = labkit.open_run(run.id)
    np.testing.assert_array_equal(reopened.spec_r_wavelength.values, station.spec.wavelengths)


def test_a_run_of_a_remote_burst_records_the_length_the_put_set(optics, data_root):
    _, server = optics
    dmm = labkit.connect(server.address("dmm"), name="dmm_r")
    try:
        dmm.sample_count = 4
        ds = labkit.run(Read(dmm.readings.samples)).wait()
    finally:
        dmm.close()
    assert ds.dmm_r_samples.shape[-1] == 4
    assert list(ds.dmm_r_reading.values) == [0, 1, 2, 3]


OPHYD_ASYNC = textwrap.dedent(
    """
    import json
    import numpy as np
    import bluesky.plans as bp
    from bluesky import RunEngine
    from ophyd_async.core import Array1D, init_devices
    from ophyd_async.epics.core import epics_signal_r

    RE = RunEngine()
    documents = []
    RE.subscribe(lambda name, doc: documents.append((name, doc)))
    with init_devices():
        spectrum = epics_signal_r(Array1D[np.float64], "pva://A:spec:spectrum", name="spectrum")
        wavelength = epics_signal_r(
            Array1D[np.float64], "pva://A:spec:spectrum:wavelength", name="wavelength"
        )
    RE(bp.count([spectrum, wavelength], num=2))
    keys = [doc["data_keys"] for name, doc in documents if name == "descriptor"][0]
    events = [doc["data"] for name, doc in documents if name == "event"]
    print(json.dumps({"keys": keys, "events": events}, default=lambda a: list(map(float, a))))
    """
)


@pytest.mark.slow
def test_a_bluesky_plan_counts_a_served_spectrum_through_ophyd_async(optics):
    pytest.importorskip("bluesky")
    pytest.importorskip("ophyd_async")
    station, server = optics
    station.spec.read("spectrum")  # the server has a spectrum to give
    report = run_client_script(OPHYD_ASYNC, server)
    keys = report["keys"]
    assert keys["spectrum"]["shape"] == [2048]
    assert keys["spectrum"]["units"] == "counts"
    assert keys["wavelength"]["units"] == "nm"
    assert len(report["events"]) == 2
    np.testing.assert_allclose(report["events"][0]["wavelength"], station.spec.wavelengths)
    assert len(report["events"][0]["spectrum"]) == 2048
