"""An NTNDArray update read back into a frame: the twin of what the server posts."""

from __future__ import annotations

import numpy as np
import pytest
from p4p.nt import NTNDArray

from labkit.core import Frame, InstrumentError, Region
from labkit.remote._frame_wire import frame_from_fields, sensor_shape_of
from labkit.remote._frames import frame_fields
from labkit.remote._types import make_value


def wire(frame: Frame, sensor=(100, 200)) -> dict:
    """The frame as a client receives it: through a real p4p Value and back to a dict."""
    return make_value(
        NTNDArray().type, frame_fields(frame, sensor_shape=sensor, skipped=3)
    ).todict()


@pytest.mark.parametrize(
    "pixels",
    [
        np.arange(12, dtype=np.uint16).reshape(3, 4),
        np.arange(24, dtype=np.uint8).reshape(2, 4, 3),  # colour, innermost
        np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3),
        np.arange(5, dtype=np.int32),  # a line camera
    ],
)
def test_a_frame_survives_the_wire(pixels):
    region = Region(2, 4, 2 * pixels.shape[-1 if pixels.ndim < 3 else 1], 2 * pixels.shape[0], 2, 2)
    frame = Frame(
        pixels=pixels,
        number=2**31 + 5,  # beyond uniqueId's range: the attribute carries it
        timestamp=1_700_000_000.125,
        hardware_timestamp=0.25,
        exposure=0.01,
        regions=(region,),
    )
    back = frame_from_fields(wire(frame))
    assert back is not None
    np.testing.assert_array_equal(back.pixels, pixels)
    assert back.pixels.dtype == pixels.dtype
    assert back.number == 2**31 + 5
    assert back.timestamp == pytest.approx(frame.timestamp, abs=1e-6)
    assert (back.hardware_timestamp, back.exposure) == (0.25, 0.01)
    assert back.metadata["skipped_for_viewers"] == 3
    if pixels.ndim >= 2:
        assert back.regions == (region,)


def test_several_regions_and_the_sensor_shape_come_back():
    regions = (Region(0, 0, 4, 2), Region(10, 10, 4, 2))
    frame = Frame(pixels=np.ones((2, 8), np.uint16), number=1, timestamp=1.0, regions=regions)
    fields = wire(frame)
    assert frame_from_fields(fields).regions == regions
    assert sensor_shape_of(fields) == (100, 200)


def test_the_empty_image_before_the_first_frame_is_no_frame():
    empty = make_value(NTNDArray().type, {"value": ("ushortValue", np.zeros(0, np.uint16))})
    assert frame_from_fields(empty.todict()) is None
    assert frame_from_fields({"value": np.zeros(0, np.uint16)}) is None


def test_a_malformed_or_compressed_update_is_a_typed_error():
    fields = wire(Frame(pixels=np.ones((3, 4), np.uint16), number=1, timestamp=1.0))
    fields["dimension"][0]["size"] = 5
    with pytest.raises(InstrumentError, match="has 12 pixels, its dimensions say"):
        frame_from_fields(fields, source="rcam")
    fields = wire(Frame(pixels=np.ones((3, 4), np.uint16), number=1, timestamp=1.0))
    fields["codec"] = {"name": "lz4"}
    with pytest.raises(InstrumentError, match="compressed"):
        frame_from_fields(fields, source="rcam")
