"""Looking never changes anything: opening (and refreshing) the panel of every shipped driver on
the virtual bench sends only queries, and leaves every twin's configuration as it was.

The twins keep a log of what they received (``twin.received``), written by the simulator, not
by the driver; their configuration is read off the twin itself. A reading whose measurement
would change the instrument (the 2450's ``:MEAS:RES?`` makes resistance the measure
function) is declared with ``side_effect`` and left unread, with the reason on the page.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest

import labkit
from labkit import plugins
from labkit.drivers.agilent import AgilentE3631A
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight33522B, Keysight34465A
from labkit.drivers.oceanoptics import USB4000, USB2000Plus
from labkit.drivers.rigol import RigolDS1000Z
from labkit.drivers.stanford import SR830
from labkit.drivers.thorlabs import ThorlabsTC200
from labkit.ui._format import plain_text

# Bench name -> the driver that talks to it.
DRIVERS: dict[str, type[labkit.Instrument]] = {
    "smu": Keithley2450,
    "dmm": Keysight34465A,
    "psu": AgilentE3631A,
    "tc": ThorlabsTC200,
    "spectrometer": USB2000Plus,
    "usb4000": USB4000,
    "fg": Keysight33522B,
    "lockin": SR830,
    "scope": RigolDS1000Z,
}
# Every entry point -> the bench instrument its panel is opened on. The 33500B family's five
# entry points are one driver class told its channel count: the bench's 33522B stands for them.
ENTRY_POINTS = {
    "keithley2450": "smu",
    "keysight34465a": "dmm",
    "e3631a": "psu",
    "tc200": "tc",
    "oceanoptics_usb2000plus": "spectrometer",
    "oceanoptics_usb4000": "usb4000",
    "keysight33500b": "fg",
    "keysight33511b": "fg",
    "keysight33512b": "fg",
    "keysight33521b": "fg",
    "keysight33522b": "fg",
    "sr830": "lockin",
    "rigol_ds1000z": "scope",
    "genicam": "camera",
    "pvcam": "camera",
}

# What the twins hold that is not configuration: the log itself, error and status registers
# (read and cleared by design), links, noise, and what measuring leaves behind by design (the
# DMM's reading memory and acquisition, the SMU's reading buffer, the scope's last capture,
# the spectrometers' count of spectra).
_NOT_CONFIGURATION = re.compile(
    r"^(received|errors|event_status|matched|suffixes|faults|lock|bench|name|latency|smu|"
    r"memory|acquisition|buffer|capture|spectra_taken|_.*)$"
)
# Ranges that autorange moves with every measurement, as the instrument's own does.
_AUTORANGED = {"sense_range": "sense_auto", "range": "autorange"}

# Queries of the USB spectrometers (OOI protocol): 0xFE status, 0x05 an information slot,
# 0x09 a spectrum (a measurement, which changes nothing).
_SPECTROMETER_QUERIES = {0xFE, 0x05, 0x09}


def configuration(twin: Any) -> dict[str, Any]:
    """The twin's settings, as plain data."""
    plain = (bool, int, float, str, tuple, list, dict, set, type(None))
    found = {
        key: copy.deepcopy(value)
        for key, value in vars(twin).items()
        if not _NOT_CONFIGURATION.match(key) and isinstance(value, plain)
    }
    for ranges, automatic in _AUTORANGED.items():
        if isinstance(found.get(ranges), dict) and isinstance(found.get(automatic), dict):
            for function, on in found[automatic].items():
                if on:
                    found[ranges].pop(function, None)
    return found


def is_query(message: Any) -> bool:
    """Every SCPI message unit of ``message`` asks (``;``-joined units each end with ``?``);
    a USB spectrometer's command is one of its queries."""
    if isinstance(message, tuple):  # (endpoint, bytes) on a USB twin
        return message[1][:1] and message[1][0] in _SPECTROMETER_QUERIES
    units = [unit.strip() for unit in message.split(";") if unit.strip()]
    return bool(units) and all(unit.split()[0].endswith("?") for unit in units)


@pytest.fixture(scope="module")
def bench() -> Iterator[labkit.sim.Bench]:
    bench = labkit.sim.Bench(seed=3, prefix="looking_")
    yield bench
    bench.close()


def test_every_shipped_driver_is_looked_at() -> None:
    shipped = {
        plugin.name
        for plugin in plugins.plugins("driver")
        if plugin.origin.startswith("entry point of labkit ")
    }
    assert "keithley2450" in shipped
    missing = shipped - set(ENTRY_POINTS)
    assert not missing, f"drivers whose panels nobody checks: {sorted(missing)}"


@pytest.mark.parametrize("name", list(DRIVERS))
def test_opening_and_refreshing_a_panel_sends_only_queries_and_changes_nothing(
    bench: labkit.sim.Bench, name: str
) -> None:
    twin = bench.instrument(name)
    instrument = DRIVERS[name](bench.address(name), name=f"look_{name}")
    try:
        before = configuration(twin)
        sent_before = len(twin.received)
        panel = instrument.panel()
        panel.wait_idle(30)
        panel.refresh()
        panel.wait_idle(30)
        instrument.snapshot(refresh=True)
        sent = list(twin.received)[sent_before:]
        assert sent, "the panel read its values"
        changing = [message for message in sent if not is_query(message)]
        assert not changing, f"{name}: looking sent commands that change things: {changing}"
        assert configuration(twin) == before
        for row in panel.rows.values():  # nothing failed on the way
            assert row.error.text == "", (name, row.spec.name, row.error.text)
        panel.close()
    finally:
        instrument.close()


def test_the_2450s_mode_changing_readings_are_left_unread_and_say_why(
    bench: labkit.sim.Bench,
) -> None:
    twin = bench.instrument("smu")
    smu = Keithley2450(bench.address("smu"), name="look_smu_modes")
    try:
        assert smu.measure_function == "current"
        since = len(twin.received)
        panel = smu.panel()
        panel.wait_idle(30)
        sent = list(twin.received)[since:]
        assert ":MEAS:CURR?" in sent  # the measure function now: reading it changes nothing
        assert not [m for m in sent if m.startswith((":MEAS:RES", ":MEAS:VOLT"))]
        resistance = panel.rows["resistance"]
        why = plain_text(resistance.status.value)
        assert "not read: measuring it makes resistance the measure function" in why
        voltage = panel.rows["source_voltage"]
        assert "read-back not read: measuring it makes voltage the measure function" in (
            plain_text(voltage.status.value)
        )

        # A person asks for it: it is read. Resistance is the function now, so reading it
        # changes nothing any more, and current is the reading that would.
        resistance.refresh.click()
        panel.wait_idle(30)
        assert ":MEAS:RES?" in list(twin.received)[since:]
        assert smu.measure_function == "resistance"
        assert plain_text(resistance.status.value) == ""
        assert smu.readings.resistance.spec.side_effect_of(smu) is None
        effect = smu.readings.current.spec.side_effect_of(smu)
        assert effect == "measuring it makes current the measure function (now resistance)"

        # Back to current from the panel's dropdown: resistance says why it is stale.
        panel.rows["measure_function"].control.widget.value = "current"
        panel.wait_idle(30)
        assert "read on request only: measuring it makes resistance" in plain_text(
            resistance.status.value
        )
        panel.close()
    finally:
        smu.close()


def test_a_snapshot_and_a_refresh_leave_side_effect_readings_alone(
    bench: labkit.sim.Bench,
) -> None:
    twin = bench.instrument("dmm")
    dmm = Keysight34465A(bench.address("dmm"), name="look_dmm_refresh")
    try:
        function = dmm.function
        since = len(twin.received)
        values = dmm.refresh()
        dmm.snapshot(refresh=True)
        assert "resistance" not in values
        assert "current" not in values
        assert dmm.function == function
        assert all(is_query(m) for m in list(twin.received)[since:])
        assert dmm.read("resistance") is not None  # asked for by name: read, and it switches
        assert dmm.function == "resistance"
    finally:
        dmm.close()


def _open_cameras() -> Iterator[Any]:
    pytest.importorskip("harvesters.core")
    from labkit.drivers.cameras.genicam import GenICamCamera

    yield GenICamCamera("genicam://VikyTL_DEV_red@viky", name="look_viky")
    from labkit.core import MissingVendorLibrary
    from labkit.sim import pvcam as pvsim

    try:
        library = pvsim.library_path()
    except MissingVendorLibrary:
        return
    yield labkit.PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="look_bsi", library=library)


def test_a_cameras_panel_reads_and_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cameras have no message log: their drivers' write path records any call instead."""
    for camera in _open_cameras():
        try:
            writes: list[str] = []
            cls = type(camera)
            for method in ("_write_value", "_do_set"):
                original = getattr(cls, method)

                def recording(
                    self: Any,
                    spec: Any,
                    *args: Any,
                    _original: Any = original,
                    _writes: list[str] = writes,
                ) -> Any:
                    _writes.append(spec.name)
                    return _original(self, spec, *args)

                monkeypatch.setattr(cls, method, recording)
            settings = {k: v["value"] for k, v in camera.snapshot()["settings"].items()}
            panel = camera.panel()
            panel.wait_idle(30)
            panel.refresh()
            panel.wait_idle(30)
            assert writes == [], f"{camera.name}: looking set {writes}"
            after = {k: v["value"] for k, v in camera.snapshot()["settings"].items()}
            assert after == settings
            panel.close()
            monkeypatch.undo()
        finally:
            camera.close()
