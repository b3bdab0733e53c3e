"""Several ROIs, binning and centroids: checked before any call, decoded and placed right."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.core import ChoiceError, LimitError, Region, SettingTypeError, ValidationError
from labkit.drivers.cameras.pvcam import PvcamCamera
from labkit.testing import record

# The simulated Prime BSI has a bias of 100 ADU: every pixel an ROI delivers is above zero,
# so the non-zero pixels of a recomposed image show exactly where the ROIs landed.
THREE = "0,0,256,128; 512,64,128,256; 1024,1024,320,64"


def footprint(shape: tuple[int, int], regions: list[Region], origin=(0, 0)) -> np.ndarray:
    """Where ``regions`` land in an image of ``shape`` whose top-left is ``origin`` (sensor px)."""
    mask = np.zeros(shape, bool)
    for r in regions:
        x, y = (r.x - origin[0]) // r.bin_x, (r.y - origin[1]) // r.bin_y
        mask[y : y + r.height // r.bin_y, x : x + r.width // r.bin_x] = True
    return mask


def test_several_rois_join_in_their_bounding_box(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.roi = THREE
    assert bsi_cam.roi == "0,0,256,128; 512,64,128,256; 1024,1024,320,64"
    frame = bsi_cam.snap()
    expected = bsi_cam.regions
    assert frame.regions == expected
    assert frame.metadata["roi_count"] == 3
    assert frame.pixels.shape == (1088, 1344)  # the bounding box: y 0…1087, x 0…1343
    assert frame.metadata["origin"] == (0, 0)
    np.testing.assert_array_equal(frame.pixels > 0, footprint(frame.pixels.shape, list(expected)))


def test_sensor_coordinates_keep_the_whole_binned_sensor(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.binning = "2x2"
    bsi_cam.roi = "100,200,64,32; 1600,1800,128,128"
    bsi_cam.roi_coordinates = "sensor"
    frame = bsi_cam.snap()
    assert frame.pixels.shape == (1024, 1024)
    assert all((r.bin_x, r.bin_y) == (2, 2) for r in frame.regions)
    np.testing.assert_array_equal(
        frame.pixels > 0, footprint(frame.pixels.shape, list(frame.regions))
    )
    bsi_cam.roi_coordinates = "implied"
    frame = bsi_cam.snap()
    assert frame.metadata["origin"] == (100, 200)
    assert frame.pixels.shape == ((1800 + 128 - 200) // 2, (1600 + 128 - 100) // 2)
    np.testing.assert_array_equal(
        frame.pixels > 0,
        footprint(frame.pixels.shape, list(frame.regions), frame.metadata["origin"]),
    )


def test_set_rois_takes_regions_with_their_binning(bsi_cam: PvcamCamera) -> None:
    bsi_cam.metadata = True
    bsi_cam.set_rois([Region(0, 0, 400, 200, 4, 4), Region(800, 800, 400, 400, 4, 4)])
    assert bsi_cam.binning == "4x4"
    assert bsi_cam.roi == "0,0,400,200; 800,800,400,400"
    frame = bsi_cam.snap()
    assert frame.regions == bsi_cam.regions
    assert frame.pixels.shape == (300, 300)
    bsi_cam.full_sensor()
    assert bsi_cam.regions == (Region(0, 0, 2048, 2048, 4, 4),)
    assert bsi_cam.snap().pixels.shape == (512, 512)


def refused(cam: PvcamCamera, error: type[Exception], match: str, action) -> None:
    before = (cam.roi, cam.binning, cam.metadata)
    with record(cam) as log, pytest.raises(error, match=match):
        action()
    assert log.sent == [], f"sent {log.sent}"
    assert (cam.roi, cam.binning, cam.metadata) == before


def test_invalid_rois_are_refused_before_any_call(bsi_cam: PvcamCamera) -> None:
    def assign(name: str, value: object):
        return lambda: setattr(bsi_cam, name, value)

    refused(bsi_cam, LimitError, "reaches past the 2048×2048 sensor", assign("roi", "2000,0,100,8"))
    refused(bsi_cam, LimitError, "starts left", assign("roi", "-1,0,10,10"))
    refused(bsi_cam, SettingTypeError, "four whole numbers", assign("roi", "0,0,ten,10"))
    refused(bsi_cam, ValidationError, "need frame metadata", assign("roi", THREE))
    bsi_cam.metadata = True
    refused(bsi_cam, ValidationError, "overlaps ROI 1", assign("roi", "0,0,100,100; 50,50,10,10"))
    many = "; ".join(f"{100 * i},0,10,10" for i in range(16))
    refused(bsi_cam, LimitError, "at most 15", assign("roi", many))
    bsi_cam.binning = "4x4"
    refused(bsi_cam, ValidationError, "whole number of 4x4", assign("roi", "0,0,102,100"))
    bsi_cam.roi = THREE
    refused(bsi_cam, ValidationError, "need frame metadata", assign("metadata", False))
    refused(
        bsi_cam, ChoiceError, "binning 3x3", lambda: bsi_cam.set_rois([Region(0, 0, 9, 9, 3, 3)])
    )
    mixed = [Region(0, 0, 8, 8, 2, 2), Region(16, 16, 8, 8, 4, 4)]
    refused(bsi_cam, ValidationError, "different binnings", lambda: bsi_cam.set_rois(mixed))
    bsi_cam.binning = "2x2"
    bsi_cam.roi = "0,0,6,6"
    refused(bsi_cam, ValidationError, "whole number of 4x4", assign("binning", "4x4"))


def test_centroids_are_refused_where_they_cannot_work(kinetix_cam: PvcamCamera) -> None:
    def enable() -> None:
        kinetix_cam.centroids = True

    refused(kinetix_cam, ValidationError, "centroids need frame metadata", enable)
    kinetix_cam.metadata = True
    kinetix_cam.roi = "0,0,64,64; 100,100,64,64"
    refused(kinetix_cam, ValidationError, "search one ROI", enable)
    kinetix_cam.roi = "0,0,64,64"
    kinetix_cam.binning = "2x2"
    refused(kinetix_cam, ValidationError, "unbinned", enable)
    kinetix_cam.binning = "1x1"
    kinetix_cam.roi = "0,0,20,20"
    kinetix_cam.centroid_radius = 5
    kinetix_cam.centroids = True
    with record(kinetix_cam) as log, pytest.raises(ValidationError, match="smaller than one"):
        kinetix_cam.centroid_radius = 12  # a 25 × 25 patch in a 20 × 20 search region
    assert log.sent == []
    with record(kinetix_cam) as log, pytest.raises(ValidationError, match="search one ROI"):
        kinetix_cam.roi = "0,0,64,64; 100,100,64,64"
    assert log.sent == []


def centroid_frame(cam: PvcamCamera, mode: str, count: int, radius: int = 3):
    cam.metadata = True
    cam.roi = "0,0,1024,1024"
    cam.centroid_mode = mode
    cam.centroid_count = count
    cam.centroid_radius = radius
    cam.centroids = True
    cam.roi_coordinates = "sensor"  # steady as particles move
    return cam.snap()


def test_locate_frames_are_patches(kinetix_cam: PvcamCamera) -> None:
    frame = centroid_frame(kinetix_cam, "Locate", count=8, radius=3)
    assert frame.metadata["roi_count"] == 8  # missing particles are INVALID and dropped
    rois = frame.metadata["rois"]
    assert 1 <= len(rois) <= 8
    assert all(r["region"].width == r["region"].height == 7 for r in rois)
    assert frame.regions == tuple(r["region"] for r in rois)
    assert frame.pixels.shape == kinetix_cam.sensor_shape
    np.testing.assert_array_equal(
        frame.pixels > 0, footprint(frame.pixels.shape, list(frame.regions))
    )


def test_track_frames_carry_moments(kinetix_cam: PvcamCamera) -> None:
    frame = centroid_frame(kinetix_cam, "Track", count=6)
    assert frame.metadata["roi_count"] == 7  # the background, then one ROI per particle
    background, *particles = frame.metadata["rois"]
    assert not background["header_only"]
    assert background["region"] == Region(0, 0, 1024, 1024)
    assert frame.regions == (background["region"],)  # only the background has pixels
    assert 1 <= len(particles) <= 6
    for particle in particles:
        assert particle["header_only"]
        assert set(particle["ext_md"]) == {"particle_id", "m0", "m2"}
    assert any(p["ext_md"]["m0"] > 0 for p in particles)


def test_blob_frames_mark_centres(kinetix_cam: PvcamCamera) -> None:
    frame = centroid_frame(kinetix_cam, "Blob", count=5)
    assert frame.metadata["roi_count"] == 6
    background, *blobs = frame.metadata["rois"]
    assert not background["header_only"]
    assert blobs
    assert all(b["header_only"] for b in blobs)
    assert all(b["region"].width == b["region"].height == 1 for b in blobs)
    assert all(b["ext_md"] == {} for b in blobs)
