"""Multi-part frames: viky's range component (a Mono8 intensity and three float32 coordinate
planes in one buffer) keeps every part, in frames, in runs and in live views.

The reference is harvesters' own reading of the same buffers: a spy beside labkit's decoder
copies each component's ``data`` as harvesters gives it, frame by frame, and the run's arrays
(read by xarray and by tensorstore, another Zarr implementation) are compared part by part.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import xarray as xr

import labkit
from labkit.drivers.cameras.genicam import GenICamCamera
from labkit.drivers.cameras.genicam._link import GenICamLink
from labkit.drivers.cameras.genicam._pixels import part_names
from labkit.runs import CameraStream, Snap

PARTS = ["intensity", "coord3d_a", "coord3d_b", "coord3d_c"]


def with_range(camera: GenICamCamera) -> GenICamCamera:
    """Turn on viky's range component beside the Mono8 intensity: four-part buffers."""
    camera.component_selector = "Range"
    camera.component_enable = True
    camera.component_selector = "Intensity"
    camera.pixel_format = "Mono8"
    return camera


@pytest.fixture
def harvesters_buffers(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, np.ndarray]]]:
    """Every buffer labkit decodes, as harvesters itself reads it: (format, image) per part."""
    from harvesters.core import Buffer

    seen: list[list[tuple[str, np.ndarray]]] = []
    decode = GenICamLink._decode

    def spy(self: GenICamLink, raw: Any, acquirer: Any, arrived: float) -> Any:
        result = decode(self, raw, acquirer, arrived)
        if result is None:
            return None  # an incomplete buffer: no frame, so nothing to compare
        buffer = Buffer(module=raw, node_map=acquirer.remote_device.node_map, acquire=acquirer)
        seen.append(
            [
                (c.data_format, np.array(c.data).reshape(c.height, c.width).copy())
                for c in buffer.payload.components
            ]
        )
        return result

    monkeypatch.setattr(GenICamLink, "_decode", spy)
    return seen


def test_part_names_follow_the_pixel_formats() -> None:
    assert part_names(["Mono8", "Coord3D_A32f", "Coord3D_B32f", "Coord3D_C32f"]) == PARTS
    assert part_names(["Coord3D_ABC32f_Planar", "Confidence8", "Mono8", "Mono16"]) == [
        "coord3d_abc",
        "confidence",
        "intensity",
        "intensity_2",
    ]


def test_a_single_part_frame_has_no_parts(camera: GenICamCamera) -> None:
    frame = camera.snap()
    assert frame.parts == {}
    assert frame.part() is frame.pixels
    with pytest.raises(KeyError, match="single image"):
        frame.part("coord3d_a")


def test_a_range_camera_gives_every_part_as_harvesters_reads_it(
    camera: GenICamCamera, harvesters_buffers: list[Any]
) -> None:
    frame = with_range(camera).snap()
    assert list(frame.parts) == PARTS
    assert frame.pixels is frame.parts["intensity"]
    assert frame.metadata["part_formats"] == dict(
        zip(PARTS, ["Mono8", "Coord3D_A32f", "Coord3D_B32f", "Coord3D_C32f"], strict=True)
    )
    theirs = harvesters_buffers[-1]
    assert len(theirs) == 4
    for (name, ours), (_, image) in zip(frame.parts.items(), theirs, strict=True):
        assert ours.dtype == image.dtype, name
        assert ours.shape == (camera.height, camera.width), name
        np.testing.assert_array_equal(ours, image, err_msg=name)
    assert frame.parts["coord3d_a"].dtype == np.float32
    assert np.ptp(frame.parts["coord3d_a"]) > 0  # the planes hold coordinates, not zeros


def test_a_run_records_every_part_of_every_frame(
    camera: GenICamCamera, harvesters_buffers: list[Any], data_root: Any
) -> None:
    with_range(camera)
    camera.width, camera.height = 320, 240
    count = 6
    run = labkit.run(CameraStream(camera, frames=count, name="range"))
    ds = run.wait()
    names = ["range", "range_coord3d_a", "range_coord3d_b", "range_coord3d_c"]
    opened = xr.open_zarr(run.path, consolidated=False)
    ts = pytest.importorskip("tensorstore")
    numbers = ds["range_frame_number"].values
    for variable, part, dtype in zip(
        names, PARTS, ["uint8", "float32", "float32", "float32"], strict=True
    ):
        array = opened[variable]
        assert array.dims == ("range_frame", "range_y", "range_x"), variable
        assert array.shape == (count, 240, 320), variable
        assert array.dtype == dtype, variable
        assert array.attrs["frame_part"] == part
        stored = ts.open(
            {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(run.path / variable)}},
            open=True,
        ).result()
        independent = stored.read().result()
        assert independent.dtype == np.dtype(dtype)
        for index, number in enumerate(numbers):
            # Frame numbers count the stream's buffers from 1: harvesters' reading of the same
            # buffer is the spy's number-th entry.
            _, theirs = harvesters_buffers[int(number) - 1][PARTS.index(part)]
            np.testing.assert_array_equal(array.values[index], theirs, err_msg=variable)
            np.testing.assert_array_equal(independent[index], theirs, err_msg=variable)
    assert "units" not in opened["range_coord3d_a"].attrs  # coordinates are not counts


def test_snaps_in_a_scan_record_every_part(camera: GenICamCamera, data_root: Any) -> None:
    with_range(camera)
    ds = labkit.run(Snap(camera, name="shot")).wait()
    assert [v for v in ds.data_vars if v.startswith("shot") and ds[v].ndim >= 2] == [
        "shot",
        "shot_coord3d_a",
        "shot_coord3d_b",
        "shot_coord3d_c",
    ]
    assert ds["shot_coord3d_c"].dtype == np.float32


def test_a_live_view_shows_the_intensity_and_offers_the_other_parts(
    camera: GenICamCamera,
) -> None:
    pytest.importorskip("bqplot")
    from labkit.ui import camera_view

    with_range(camera)
    frame = camera.snap()
    view = camera_view(camera)
    try:
        draw: Callable[..., Any] = view.parts.image_of
        assert draw(frame) is frame.parts["intensity"]
        assert list(view.parts.menu.options) == PARTS
        assert view.parts.menu.layout.display is None  # shown: there is a choice
        view.parts.menu.value = "coord3d_c"  # the user picks the depth plane
        assert draw(frame) is frame.parts["coord3d_c"]
        before = view.image.image.value
        view._draw(frame)  # float32 coordinates are drawn like any image
        assert view.image.image.value != before
        view.configure(part="coord3d_a")
        assert draw(frame) is frame.parts["coord3d_a"]
        assert view.parts.menu.value == "coord3d_a"
        camera.component_selector = "Range"
        camera.component_enable = False
        single = camera.snap()
        assert single.parts == {}
        assert draw(single) is single.pixels
        assert view.parts.menu.layout.display == "none"
    finally:
        view.close()
