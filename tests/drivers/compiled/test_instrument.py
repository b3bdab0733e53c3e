"""A compiled plugin found in a plugin folder, used as any labkit instrument: panel, guards,
sweep, station file, conformance suite — with its errors typed and naming the plugin."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import labkit
from labkit import plugins
from labkit.testing import DriverConformance, record

_names = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, example_library: Path) -> Path:
    folder = tmp_path_factory.mktemp("plugin-folder")
    shutil.copy(example_library, folder / "libacme_psu.so")
    return folder


@pytest.fixture
def psu_class(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    monkeypatch.setenv("LABKIT_PLUGIN_PATH", str(folder))
    monkeypatch.setenv("LABKIT_CONFIG", str(folder / "none.toml"))
    plugins.refresh()
    found = plugins.find("driver", "acme_psu")
    assert found.origin == f"folder {folder}"
    yield found.load()
    plugins.refresh()


def fresh() -> str:
    return f"sim://instr{next(_names)}?load=10"


@pytest.fixture
def psu(psu_class: type) -> Iterator[labkit.Instrument]:
    with psu_class(fresh(), name="psu") as instrument:
        yield instrument


def test_the_panel_drives_the_library_and_shows_its_refusals(psu: labkit.Instrument) -> None:
    pytest.importorskip("ipywidgets")
    import ipywidgets as widgets

    from labkit.ui._format import plain_text

    panel = psu.panel()
    panel.wait_idle()
    voltage = panel.rows["voltage"]
    assert isinstance(voltage.control.slider, widgets.FloatSlider)
    assert (voltage.control.slider.min, voltage.control.slider.max) == (0, 30)  # a PS-3005
    assert isinstance(panel.rows["sense"].control.widget, widgets.Dropdown)
    assert isinstance(panel.rows["output"].control.widget, widgets.ToggleButton)
    assert list(panel.actions) == ["clear_protection", "reset"]
    assert "voltage_out" not in panel.rows  # shown beside voltage, as its read-back

    voltage.control.entry.value = "12.5 V"  # typed, as a person does, and Enter
    panel.wait_idle()
    assert psu.voltage == 12.5
    assert psu.link.get("voltage") == 12.5
    assert voltage.error.text == ""

    with record(psu) as log:
        panel.rows["current_limit"].control.entry.value = "-1"  # refused by labkit: never sent
        panel.wait_idle()
        panel.rows["voltage"].control.entry.value = "45 V"  # within the family, not this model
        panel.wait_idle()
    assert log.sent == []
    assert "below the lower hard limit 0 A" in panel.rows["current_limit"].error.text
    assert "above the upper hard limit 30 V" in panel.rows["voltage"].error.text

    output = panel.rows["output"].control.widget
    output.value = True
    panel.wait_idle()
    panel.rows["ovp_level"].control.entry.value = "5"  # the supply trips: output off, latched
    panel.wait_idle()
    output.value = False
    panel.wait_idle()
    output.value = True  # refused by the plugin, shown, reverted
    panel.wait_idle()
    error = panel.rows["output"].error.text
    assert "the acme_psu plugin reports: the over-voltage protection tripped" in error
    assert output.value is False
    assert "OVP" in plain_text(panel.rows["tripped"].label.value)


def test_a_sweep_records_the_plugins_readings_with_units(
    psu: labkit.Instrument, data_root: Path
) -> None:
    psu.output = True
    psu.averages = 100
    voltages = np.linspace(0, 10, 11)
    run = labkit.sweep(
        psu.settings.voltage,
        voltages,
        read=[psu.readings.current_out, psu.readings.mode],
        name="psu-iv",
    )
    ds = run.wait()
    assert run.status == "completed"
    np.testing.assert_allclose(ds.psu_voltage.values, voltages)
    np.testing.assert_allclose(ds.psu_current_out.values, voltages / 10.04, atol=2e-4)
    assert ds.psu_current_out.attrs["units"] == "A"
    assert list(ds.psu_mode.values) == ["CV"] * 11
    assert ds.attrs["instruments"] == ["psu"]
    snapshot = ds.attrs["snapshot"]["psu"]
    assert snapshot["identity"]["model"] == "PS-3005"
    assert snapshot["settings"]["voltage"]["max"] == 30


def test_a_sweep_beyond_the_limit_is_refused_before_it_starts(psu: labkit.Instrument) -> None:
    with record(psu) as log, pytest.raises(labkit.LimitError, match="above the upper hard limit"):
        labkit.sweep(psu.settings.voltage, [1, 2, 40], read=[psu.readings.voltage_out]).wait()
    assert log.sent == []


def test_a_station_file_names_the_plugin_and_its_limits_are_checked_first(
    psu_class: type, tmp_path: Path
) -> None:
    resource = fresh()
    good = tmp_path / "station.yaml"
    good.write_text(
        "instruments:\n"
        "  supply:\n"
        "    driver: acme_psu\n"
        f"    resource: {resource}\n"
        "    limits: {voltage: {min: 0, max: 12}}\n"
        "    ramps: {voltage: 50}\n"
        "    settings: {voltage: 5 V, current_limit: 100 mA, sense: remote}\n"
    )
    with labkit.load_station(good) as station:
        supply = station.supply
        assert supply.driver_class is psu_class
        assert supply.link.get("voltage") == 5
        assert supply.link.get("sense") == "remote"
        with pytest.raises(labkit.LimitError, match="12 V"):
            supply.voltage = 13
    untouched = fresh()
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("max: 12", "max: 45").replace(resource, untouched))
    with pytest.raises(
        labkit.station.StationError, match=r"45 V is beyond the hard limits"
    ) as caught:
        labkit.load_station(bad)
    assert caught.value.line == 5
    assert labkit.instruments() == []
    with psu_class(untouched, name="check") as check:  # the supply keeps its state
        assert check.link.get("voltage") == 0  # the file's 5 V never reached it
        assert check.link.get("sense") == "local"


def big(tag: str = "") -> str:
    return f"sim://big{next(_names)}{tag}?model=PS-6010&load=10"


def test_each_supply_declares_its_models_limits(psu_class: type) -> None:
    with psu_class(fresh(), name="small") as small, psu_class(big(), name="large") as large:
        assert small.driver_class is large.driver_class is psu_class
        assert small.identity["model"] == "PS-3005"
        assert large.identity["model"] == "PS-6010"
        assert small.settings.voltage.limits == (0, 30)
        assert large.settings.voltage.limits == (0, 60)
        assert large.settings.current_limit.limits == (0, 10)
        assert large.snapshot()["settings"]["ovp_level"]["max"] == 66
        large.voltage = 45
        assert large.link.get("voltage") == 45
        with record(small) as log, pytest.raises(labkit.LimitError, match="30 V"):
            small.voltage = 45  # the PS-6010's range is not the PS-3005's
        assert log.sent == []
        assert small.link.get("voltage") == 0


def test_the_panel_of_a_larger_model_shows_its_range(psu_class: type) -> None:
    pytest.importorskip("ipywidgets")
    with psu_class(big(), name="large") as large:
        panel = large.panel()
        panel.wait_idle()
        slider = panel.rows["voltage"].control.slider
        assert (slider.min, slider.max) == (0, 60)
        panel.rows["voltage"].control.entry.value = "45 V"
        panel.wait_idle()
        assert large.link.get("voltage") == 45
        assert panel.rows["voltage"].error.text == ""


def test_a_station_checks_settings_against_the_connected_models_limits(
    psu_class: type, tmp_path: Path
) -> None:
    large, small = big(), fresh()
    station = tmp_path / "station.yaml"
    station.write_text(
        "instruments:\n"
        "  supply:\n"
        "    driver: acme_psu\n"
        f"    resource: {large}\n"
        "    settings: {voltage: 45 V}\n"
    )
    with labkit.load_station(station) as loaded:
        assert loaded.supply.link.get("voltage") == 45
    station.write_text(station.read_text().replace(large, small))
    with pytest.raises(labkit.station.StationError, match=r"45 V.*30 V") as caught:
        labkit.load_station(station)
    assert caught.value.line == 5
    with psu_class(small, name="check") as check:
        assert check.link.get("voltage") == 0  # checked once connected, before any set


def test_reconnecting_to_another_model_is_refused(
    psu_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psu_class(big(), name="large") as large:
        large.reconnect()  # the same supply: the same declarations
        assert large.settings.voltage.limits == (0, 60)
        link = large.link
        opened = link.open

        def open_as_a_smaller_model() -> None:
            opened()
            link.schema = psu_class.library.declarations  # the PS-3005's document

        monkeypatch.setattr(link, "open", open_as_a_smaller_model)
        with pytest.raises(labkit.ConfigurationError, match="other settings or limits"):
            large.reconnect()
        assert not large.connected


def test_make_safe_brings_the_outputs_to_their_declared_safe_values(psu: labkit.Instrument) -> None:
    psu.voltage = 3
    psu.output = True
    psu.make_safe()
    assert psu.link.get("output") is False
    assert psu.link.get("voltage") == 0


def test_errors_from_the_library_are_typed_and_name_instrument_and_plugin(
    psu_class: type,
) -> None:
    with pytest.raises(labkit.InstrumentError) as caught:
        psu_class("tcp://10.0.0.7:5025", name="elsewhere")
    assert caught.value.instrument == "elsewhere"
    assert "the acme_psu plugin reports: no ACME supply at tcp://10.0.0.7:5025" in str(caught.value)
    assert labkit.instruments() == []


def test_re_running_the_cell_returns_the_same_instrument(psu_class: type) -> None:
    resource = fresh()
    first = psu_class(resource, name="psu")
    assert psu_class(resource, name="psu") is first
    with pytest.raises(labkit.ConfigurationError, match="already open"):
        psu_class(fresh(), name="psu")
    first.close()


class TestConformance(DriverConformance):
    """labkit's conformance suite, on the plugin found in a folder."""

    @pytest.fixture(autouse=True)
    def _driver(self, psu_class: type) -> None:
        type(self).driver = psu_class

    def open_instrument(self) -> labkit.Instrument:
        return self.driver(fresh(), name="psu")


class TestConformanceOfTheLargerModel(TestConformance):
    """The same suite on a PS-6010, whose declarations come from its describe()."""

    def open_instrument(self) -> labkit.Instrument:
        return self.driver(big(), name="psu")
