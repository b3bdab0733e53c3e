"""Every tutorial in notebooks/ runs top to bottom on the simulators alone, and gets the results
it teaches: after the last cell, a check runs in the same kernel and compares the notebook's
own numbers with the physics of the virtual bench (the diode's ideality factor, the band gap,
the square wave's 4/π, the loop that settles) — not only that no cell raised.

Run twice in one kernel (as Run All twice would) by the browser tests; here once each, counting
what each cell sends: a burst near what the kernel's IOPub socket keeps fails here.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kernel_stacks import kernel_environment, stacks_of

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

# Per notebook: Python run in its kernel after its last cell (an expression giving a dict),
# and what must hold of that dict and of the text the notebook printed.
Check = tuple[str, Callable[[dict[str, Any], str], None]]


def _quickstart(r: dict[str, Any], printed: str) -> None:
    assert r["status"] == "completed"
    assert r["points"] == 41
    # The notebook's fit of the exponential part recovers the bench diode's ideality factor.
    assert r["n"] == pytest.approx(r["ideality"], rel=0.05)


def _instruments(r: dict[str, Any], printed: str) -> None:
    assert r["lock_max"] == pytest.approx(0.03)
    assert "InterlockError: smu.output" in printed
    assert "LimitError: smu.current_limit: 50 mA is above the upper locked limit 30 mA" in printed
    # Wien: the lamp's spectrum peaks near 2898 µm·K / T (the spectrometer's grating allowing).
    assert 800 <= r["peak_nm"] <= 1100


def _runs(r: dict[str, Any], printed: str) -> None:
    assert r["ratio"] == pytest.approx(4 / math.pi, rel=0.02)  # square over sine fundamental
    assert r["warm_last"] == pytest.approx(40, abs=3)
    assert r["slow_status"] == "aborted"
    assert 0 < r["slow_points"] < 200
    assert r["failing_status"] == "failed"
    assert r["failing_points"] > 0


def _cameras(r: dict[str, Any], printed: str) -> None:
    if r["pvcam"]:
        assert r["spots"] > 0
        assert r["movie_frames"] == 40
    assert r["ball_frames"] == 30


def _analysis(r: dict[str, Any], printed: str) -> None:
    assert r["n"] == pytest.approx(r["ideality"], rel=0.05)
    assert r["fundamental"] == pytest.approx(4 / math.pi, rel=0.05)  # 2 V peak-to-peak
    assert r["third"] == pytest.approx(4 / (3 * math.pi), rel=0.1)
    assert r["ball_speed"] > 0.1  # pixels per frame: the ball moves


def _plugins(r: dict[str, Any], printed: str) -> None:
    assert r["exit_code"] == 0
    assert not r["moving"]


def _teaching(r: dict[str, Any], printed: str) -> None:
    assert -3e-3 < r["slope"] < -1e-3  # dV/dT of a silicon diode at 1 mA: about -2 mV/K
    # Extrapolated to 0 K against the sample's temperature: near the band gap the bench uses.
    assert r["intercept"] == pytest.approx(r["band_gap"], abs=0.1)


def _feedback(r: dict[str, Any], printed: str) -> None:
    assert r["pi_settled"] == pytest.approx(40, abs=0.2)
    assert r["held_mean"] == pytest.approx(35, abs=0.3)


def _sharing(r: dict[str, Any], printed: str) -> None:
    assert r["limits"] == [0, 1]  # the instructor's lock, as every pvAccess client sees it
    assert r["units"] == "V"
    assert "1.5 V is above the upper locked limit 1 V" in printed
    assert "write to smu.current_limit refused for account" in printed
    assert r["warmed"] > 0.5  # the monitor followed the heater block
    assert r["status"] == "idle"
    assert r["pvs"] > 50


def _served(r: dict[str, Any], printed: str) -> None:
    assert r["status"] == "completed"
    assert r["points"] == 41
    assert r["remote"].startswith("pva://127.0.0.1:")
    # the sweep through the server measures the bench's diode: it conducts by 0.8 V
    assert r["last_current"] > 1e-3
    assert "locked limit 1 V" in printed  # the instructor's lock, mirrored and refused here
    assert "write to smu.current_limit refused for account" in printed  # the server's grants


def _arrays(r: dict[str, Any], printed: str) -> None:
    assert "store size: 164 kB uncompressed" in printed  # 9 spectra of 2048 float64 and more
    peaks = r["peaks"]
    assert peaks[-1] < peaks[0] - 50  # Wien: the hotter filament's spectrum peaks bluer
    assert r["careful_status"] == "completed"
    assert 1 < r["careful_points"] < 19  # stopped early, with the points taken
    assert r["careful_before"] <= 0.8 * r["saturation"] < r["careful_last"]
    assert r["frequencies"] == pytest.approx([1e3, 2e3, 3e3, 5e3], abs=1 / 12e-3)
    # The resonator put in the bench's path: 12 345 Hz, Q 40, found with 40 points, most of
    # them on the peak (a uniform sweep of 10-15 kHz puts 10 within two linewidths).
    assert r["f0"] == pytest.approx(12_345, rel=2e-3)
    assert r["q"] == pytest.approx(40, rel=0.1)
    assert r["near"] >= 16
    assert r["iv_points"] == 300  # the 2450's own sweep, from its buffer
    assert r["iv_rising"]
    # The fly scan: 40 frames of the camera's region and 80 DMM samples on the edges' time
    # base; the camera's own clock puts its exposures 25 ms apart, as the generator's edges.
    assert r["frames"] == [40, 128, 256]
    assert r["samples"] == 80
    assert r["spacing"] == pytest.approx([0.025] * 39, abs=1e-6)
    assert r["offsets"] == pytest.approx([0.0] * 40, abs=1e-6)


CHECKS: dict[str, Check] = {
    "00-quickstart": (
        "dict(n=1 / (slope * thermal_voltage), ideality=bench.dut.ideality, "
        "points=run.points, status=run.status)",
        _quickstart,
    ),
    "01-instruments": (
        "dict(lock_max=smu.settings.current_limit.state.lock.max, "
        "peak_nm=spectrometer.read('peak_wavelength'))",
        _instruments,
    ),
    "02-runs": (
        "dict(ratio=float(ratio.median()), warm_last=float(warm.tc_temperature[-1]), "
        "slow_status=slow.status, slow_points=slow.points, "
        "failing_status=failing.status, failing_points=failing.points)",
        _runs,
    ),
    "03-cameras": (
        "dict(pvcam=SIMULATED_PVCAM is not None, "
        "spots=int(count) if SIMULATED_PVCAM else 0, "
        "movie_frames=int(spots.kinetix.shape[0]) if SIMULATED_PVCAM else 0, "
        "ball_frames=int(bounce.viky.shape[0]))",
        _cameras,
    ),
    "04-analysis": (
        "dict(n=float(n), ideality=bench.dut.ideality, fundamental=float(peaks[0]), "
        "third=float(peaks[2]), ball_speed=float(abs(velocity.x_polyfit_coefficients) "
        "+ abs(velocity.y_polyfit_coefficients)))",
        _analysis,
    ),
    "05-plugins": (
        "dict(exit_code=int(exit_code), moving=bool(steps.stage_moving.any()))",
        _plugins,
    ),
    "06-teaching-lab": (
        "dict(slope=float(slope), intercept=float(intercept), band_gap=station.bench.dut.band_gap)",
        _teaching,
    ),
    "07-feedback": (
        "dict(pi_settled=float(settled['value']), held_mean=float(held.tc_temperature.mean()))",
        _feedback,
    ),
    "09-sharing-the-bench": (
        "dict(limits=[pv['control.limitLow'], pv['control.limitHigh']], "
        "units=pv['display.units'], warmed=temperatures[-1] - temperatures[0], "
        "status=status['value.choices'][status['value.index']], pvs=len(server.names()))",
        _sharing,
    ),
    "10-using-a-served-bench": (
        "dict(status=data.attrs['status'], points=int(data.sizes['smu_source_voltage']), "
        "remote=data.attrs['snapshot']['smu']['remote']['url'], "
        "last_current=float(data.smu_current[-1]))",
        _served,
    ),
    "08-arrays": (
        "dict(peaks=[float(p) for p in peak_nm.values], careful_status=careful.status, "
        "careful_points=careful_data.sizes['psu_p25v_voltage'], "
        "saturation=spectrometer.saturation_level, "
        "careful_before=float(careful_data.spectrometer_spectrum[:-1].max()), "
        "careful_last=float(careful_data.spectrometer_spectrum[-1].max()), "
        "frequencies=[float(f) for f in found_frequencies], f0=float(f0), q=float(q), "
        "near=int(near.sum()), iv_points=int(iv.smu_current.size), "
        "iv_rising=bool((np.diff(iv.smu_current.values) > -1e-6).all()), "
        "frames=[int(n) for n in flown.cam_image.shape], samples=int(flown.dmm_voltage.size), "
        "spacing=[float(s) for s in exposure_spacing], "
        "offsets=[float(x) for x in ((flown.time_dmm.values[::2] - flown.time_cam.values) / ms)])",
        _arrays,
    ),
}


def test_every_tutorial_has_a_check() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(CHECKS)


# The tutorials that touch labkit's compiled parts (the frame kernels through camera previews,
# the simulated libpvcam); the others never import them.
USING_COMPILED_PARTS = ["03-cameras", "04-analysis"]

# What an installation made without a C compiler looks like to a kernel: no C extension
# (LABKIT_NATIVE=numpy keeps it from being imported) and no simulated libpvcam file.
WITHOUT_COMPILED_PARTS = """
import labkit.sim.pvcam
labkit.sim.pvcam._STEM = "_libpvcam_sim_not_built"
"""


# The most IOPub messages one cell may send within a second. The kernel's IOPub socket keeps
# about 1000 for a reader that is behind (ZeroMQ's high-water mark) and drops the rest; the CI
# hangs (a finished cell its client waited on for ever) all came at cells showing a panel,
# which sent 1,260 at once (see tests/ui/test_panel_messages.py).
CELL_BURST_BUDGET = 600
CELL_TIMEOUT = 180
STACKS_AFTER = CELL_TIMEOUT - 15  # a cell still running then writes the kernel's stacks


def _counting_client() -> type[Any]:
    """nbclient's NotebookClient, noting the kernel's send time of each message per cell."""
    nbclient = pytest.importorskip("nbclient")

    class Counting(nbclient.NotebookClient):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.sent: dict[int, list[float]] = {}

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            sent = msg["header"]["date"]
            if isinstance(sent, str):
                sent = datetime.datetime.fromisoformat(sent)
            self.sent.setdefault(cell_index, []).append(sent.timestamp())
            return super().process_message(msg, cell, cell_index)

    return Counting


def _busiest_second(times: list[float]) -> int:
    """The most of ``times`` within any one second."""
    times = sorted(times)
    first, most = 0, 0
    for last, at in enumerate(times):
        while at - times[first] > 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _execute(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, compiled: bool = True
) -> None:
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "data"))
    for name, value in kernel_environment(tmp_path / "kernel", STACKS_AFTER).items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(path, as_version=4)
    if not compiled:
        monkeypatch.setenv("LABKIT_NATIVE", "numpy")
        notebook.cells.insert(0, nbformat.v4.new_code_cell(WITHOUT_COMPILED_PARTS))
    expression, check = CHECKS[path.stem]
    probe = nbformat.v4.new_code_cell(
        f"import json as _json\nimport labkit.native as _native\n"
        f"print(_json.dumps({{**{expression}, '_backend': _native.backend}}))"
    )
    notebook.cells.append(probe)
    client = _counting_client()(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except pytest.importorskip("nbclient.exceptions").CellTimeoutError as error:
        raise AssertionError(
            f"{path.stem}: {error}\nthe kernel's threads after {STACKS_AFTER} s in the cell:\n"
            + stacks_of(tmp_path / "kernel")
        ) from error
    bursts = {index: _busiest_second(times) for index, times in client.sent.items()}
    too_many = {i: n for i, n in bursts.items() if n > CELL_BURST_BUDGET}
    assert not too_many, (
        f"{path.stem}: cells sending more than {CELL_BURST_BUDGET} messages within a second "
        f"(cell index: messages): {too_many}; the kernel's IOPub socket drops past 1000"
    )
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, json.dumps(errors, indent=1)[:3000]
    printed = "".join(
        o.get("text", "")
        for c in notebook.cells[:-1]
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("name") == "stdout"
    )
    results = json.loads(
        "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
    )
    if not compiled:
        assert results["_backend"] == "numpy"
        assert "The simulated libpvcam has not been built" in printed or path.stem != "03-cameras"
    check(results, printed)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_gets_its_results(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _execute(path, tmp_path, monkeypatch)


@pytest.mark.notebook
@pytest.mark.parametrize("name", USING_COMPILED_PARTS)
def test_a_tutorial_runs_where_labkit_was_installed_without_a_c_compiler(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = [p for p in NOTEBOOKS if p.stem == name]
    _execute(path, tmp_path, monkeypatch, compiled=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: strip outputs before committing"
            assert cell.get("execution_count") is None
