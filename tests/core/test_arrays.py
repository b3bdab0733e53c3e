"""Array readings: declared once with their axes, checked when read, told by the device at
connect, kept per instrument, summarised (not copied) in snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import labkit
from labkit import Axis, DeclarationError, Reading, ReplyError, Setting
from labkit.core import TraitSpec


class BufferLink:
    """An in-process device with a record length and a calibration of its own."""

    def __init__(self, resource: str, points: int = 5, offset: float = 400.0) -> None:
        self.resource = resource
        self.is_open = False
        self.points = points
        self.offset = offset
        self.reply: Any = None

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False


class Recorder(labkit.Instrument):
    """A device whose trace length and wavelength calibration are known once connected."""

    length = Setting(int, min=1, max=100, doc="Record length")
    trace = Reading(unit="V", axes=[Axis("sample", unit="s", step=1e-3)], doc="A record")
    spectrum = Reading(unit="counts", axes=[Axis("wavelength", unit="nm")])
    level = Reading(unit="V")

    def make_link(self) -> BufferLink:
        resource = self.resource or "buffer://"
        points = int(resource.rsplit("/", 1)[-1] or 5)
        return BufferLink(resource, points=points, offset=400.0 + points)

    def identify(self) -> dict[str, str]:
        link = self.link
        wavelengths = link.offset + np.arange(link.points) * 0.5
        axis = self.readings.spectrum.spec.axes[0]
        self.update_declaration("spectrum", axes=[axis.with_values(wavelengths)])
        return {"model": "recorder"}

    def _get_length(self) -> int:
        return self.link.points

    def _set_length(self, value: int) -> None:
        self.link.points = value

    def store(self, name: str, value: Any) -> None:
        super().store(name, value)
        if name == "length":
            axis = self.readings.trace.spec.axes[0]
            self.update_declaration("trace", axes=[axis.with_size(value)])

    def _get_trace(self) -> Any:
        if self.link.reply is not None:
            return self.link.reply
        return np.linspace(0, 1, self.link.points)

    def _get_spectrum(self) -> Any:
        return np.arange(self.link.points, dtype=float) * 10

    def _get_level(self) -> float:
        return 1.5


@pytest.fixture
def pair(unique_name: str) -> Iterator[tuple[Recorder, Recorder]]:
    first = Recorder("buffer://a/5", name=f"{unique_name}_a")
    second = Recorder("buffer://b/8", name=f"{unique_name}_b")
    yield first, second
    first.close()
    second.close()


def test_an_array_reading_is_declared_once_with_its_axes() -> None:
    spec = Recorder.declarations()["trace"]
    assert spec.kind == "array"
    assert spec.dims == ("sample",)
    assert spec.shape == (None,)  # known once connected
    assert spec.unit == "V"
    assert spec.dtype == "float64"
    assert spec.jsonable()["axes"] == [
        {"name": "sample", "size": None, "unit": "s", "step": 1e-3, "start": 0.0}
    ]


def test_the_device_tells_lengths_and_coordinates_at_connect_for_itself_only(pair) -> None:
    first, second = pair
    assert first.readings.spectrum.spec.shape == (5,)
    assert second.readings.spectrum.spec.shape == (8,)
    np.testing.assert_array_equal(
        first.readings.spectrum.spec.axes[0].coordinate(), 405 + np.arange(5) * 0.5
    )
    np.testing.assert_array_equal(
        second.readings.spectrum.spec.axes[0].coordinate(), 408 + np.arange(8) * 0.5
    )
    # The class's declaration is untouched: a third instrument starts from it.
    assert Recorder.declarations()["spectrum"].shape == (None,)
    assert first.driver_class is Recorder
    assert isinstance(first, Recorder)
    assert type(first).declarations()["spectrum"] is first.readings.spectrum.spec


def test_a_handle_taken_before_the_first_change_sees_the_instruments_own_declaration(
    unique_name,
) -> None:
    third = Recorder("buffer://c/3", name=unique_name)
    try:
        class_spec = Recorder.declarations()["trace"]
        handle = third.readings.trace
        third.store("length", 3)  # what a refresh does: the driver tells the new length
        assert handle.spec is third.readings.trace.spec
        assert handle.spec is not class_spec
        assert handle.spec.shape == (3,)
        assert class_spec.shape == (None,)
    finally:
        third.close()


def test_an_axis_follows_a_setting_and_the_handle_sees_it(pair) -> None:
    first, _ = pair
    handle = first.readings.trace
    assert handle.spec.shape == (5,)  # the length was read at connect
    first.length = 12
    assert handle.spec.shape == (12,)
    value = handle.read()
    assert isinstance(value, np.ndarray)
    assert value.shape == (12,)
    np.testing.assert_allclose(handle.spec.axes[0].coordinate(), np.arange(12) * 1e-3)


def test_an_array_of_the_wrong_shape_is_a_reply_error(pair) -> None:
    first, _ = pair
    first.link.reply = np.zeros(3)
    with pytest.raises(ReplyError, match=r"shape \(3,\), the declaration says sample 5"):
        first.read("trace")
    first.link.reply = "not numbers"
    with pytest.raises(ReplyError):
        first.read("trace")


def test_snapshots_summarise_arrays_and_describe_shows_their_shape(pair) -> None:
    first, _ = pair
    first.read("spectrum")
    entry = first.snapshot()["readings"]["spectrum"]
    assert entry["value"] is None
    assert entry["last"] == {"shape": [5], "min": 0.0, "max": 40.0}
    assert entry["axes"][0]["name"] == "wavelength"
    assert entry["axes"][0]["size"] == 5
    assert "array[5 wavelength] counts" in first.describe()
    assert "array[5 wavelength]" in repr(first.readings.spectrum)


def test_an_array_from_a_scpi_reply_is_comma_separated_numbers() -> None:
    spec = TraitSpec.from_jsonable(
        {"role": "reading", "name": "buffer", "axes": [{"name": "reading", "size": 3}]}
    )
    assert spec.kind == "array"
    np.testing.assert_array_equal(spec.from_reply("+1.0E+00,2,-3.5"), [1.0, 2.0, -3.5])
    with pytest.raises(ReplyError, match="comma-separated numbers"):
        spec.from_reply("1,2,x")
    with pytest.raises(ReplyError, match="shape"):
        spec.from_reply("1,2")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Reading(axes=[]), "at least one axis"),
        (lambda: Reading(axes=["t", "t"]), "axis names must differ"),
        (lambda: Reading(axes=["t"], dtype="object"), "dtype 'object'"),
        (lambda: Reading(axes=[Axis("t", size=-1)]), "whole number"),
        (lambda: Reading(axes=[Axis("t", step=0.0)]), "non-zero"),
        (lambda: Reading(float, axes=["t"]), "make an array reading"),
        (lambda: Axis("t", size=3, values=[1, 2]), "3"),
    ],
)
def test_array_declarations_that_cannot_work_are_refused(make, message) -> None:
    with pytest.raises(DeclarationError, match=message):
        make()


def test_an_axis_coordinate_is_values_linear_or_an_index() -> None:
    np.testing.assert_array_equal(Axis("w", values=[1.0, 2.0]).coordinate(), [1.0, 2.0])
    np.testing.assert_allclose(
        Axis("t", size=3, start=-1.0, step=0.5).coordinate(), [-1.0, -0.5, 0.0]
    )
    index = Axis("n", size=4).coordinate()
    assert index.dtype == np.int64
    assert list(index) == [0, 1, 2, 3]
    assert Axis("n").coordinate() is None
    assert Axis("t", size=3, step=1.0).same_coordinate(Axis("t", size=3, step=1.0))
    assert not Axis("t", size=3, step=1.0).same_coordinate(Axis("t", size=4, step=1.0))


class Logger(labkit.ScpiInstrument):
    """A data logger whose buffer is an array reading answered as a SCPI list."""

    manufacturer = "ACME"
    models = ("LOG-1",)
    buffer = Reading(unit="V", axes=[Axis("reading", size=4)], get="DATA?", doc="Last 4 readings")


def test_a_simulator_made_from_the_declarations_answers_an_array_reading(unique_name):
    from labkit.sim import simulate, unserve

    simulate(Logger, unique_name, readings={"buffer": lambda sim: [0.5, -1.25, 2e-6, 3]})
    logger = Logger(f"labsim://{unique_name}", name=unique_name, timeout=1.0)
    try:
        np.testing.assert_array_equal(logger.read("buffer"), [0.5, -1.25, 2e-6, 3])
    finally:
        logger.close()
        unserve(unique_name)
