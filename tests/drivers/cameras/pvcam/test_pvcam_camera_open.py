"""Opening a PVCAM camera by address, as a user would, and closing it without leftovers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import labkit
from labkit.core import Camera, ConfigurationError, MissingVendorLibrary, NotConnectedError
from labkit.drivers.cameras.pvcam import (
    ENV_VAR,
    Param,
    PvcamCamera,
    PvcamError,
    PvcamLibrary,
    format_address,
    list_cameras,
    parse_address,
)
from labkit.sim import pvcam as pvsim


def test_addresses_parse() -> None:
    assert parse_address("pvcam://Kinetix") == ("Kinetix", None)
    assert parse_address("pvcam://") == ("", None)
    assert parse_address("pvcam://cam@/opt/lib/libpvcam.so") == ("cam", "/opt/lib/libpvcam.so")
    assert format_address("cam", "/x.so") == "pvcam://cam@/x.so"
    with pytest.raises(ConfigurationError, match="not a PVCAM camera address"):
        parse_address("GPIB0::1::INSTR")
    with pytest.raises(ConfigurationError, match="names no library"):
        parse_address("pvcam://cam@")
    with pytest.raises(ConfigurationError, match="31 bytes"):
        parse_address("pvcam://" + "x" * 40)


def test_open_by_address_naming_the_library(sim_path: Path) -> None:
    address = f"pvcam://{pvsim.PRIME_BSI}@{sim_path}"
    with PvcamCamera(address, name="addressed") as cam:
        assert cam.connected
        assert cam.resource == address
        assert cam.identity is not None
        assert cam.identity["model"] == pvsim.PRIME_BSI
        assert Path(cam.identity["library"]) == sim_path
        assert cam.driver_class is PvcamCamera  # its declarations are its own, its driver PVCAM's
        assert isinstance(cam, PvcamCamera)
        assert isinstance(cam, Camera)


def test_open_through_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, sim_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(sim_path))
    cam = PvcamCamera("pvcam://", name="first")  # "" = the first camera PVCAM lists
    try:
        assert cam.description.name == list_cameras()[0].removeprefix("pvcam://")
    finally:
        cam.close()


def test_open_through_labkit_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sim_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[pvcam]\nlibrary = "{sim_path}"\n')
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("LABKIT_CONFIG", str(config))
    PvcamCamera.check_available()  # what `labkit plugins` asks
    with PvcamCamera(f"pvcam://{pvsim.KINETIX}", name="configured") as cam:
        assert cam.sensor_shape == (3200, 3200)


def test_no_library_is_a_missing_vendor_library(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "libpvcam.so"))
    with pytest.raises(MissingVendorLibrary, match="does not exist"):
        PvcamCamera.check_available()
    with pytest.raises(MissingVendorLibrary):
        PvcamCamera("pvcam://Kinetix", name="nothing")
    assert "nothing" not in [i.name for i in labkit.instruments()]


def test_the_plugin_entry_point_finds_the_driver(
    monkeypatch: pytest.MonkeyPatch, sim_path: Path
) -> None:
    from labkit import plugins

    monkeypatch.setenv(ENV_VAR, str(sim_path))
    plugins.refresh()
    plugin = plugins.find("driver", "pvcam")
    assert plugin.load() is PvcamCamera
    assert plugin.check().status == "loaded"


def test_an_unknown_camera_names_the_cameras_there(sim_path: Path) -> None:
    with pytest.raises(PvcamError, match=r"no camera named 'Kinetix'.*pvsim-kinetix") as caught:
        PvcamCamera(f"pvcam://Kinetix@{sim_path}", name="wrong")
    assert caught.value.hint is not None


def test_list_cameras(sim_path: Path) -> None:
    assert list_cameras(sim_path) == [
        f"pvcam://{pvsim.KINETIX}@{sim_path}",
        f"pvcam://{pvsim.PRIME_BSI}@{sim_path}",
    ]


def test_rerunning_the_cell_returns_the_open_camera(
    open_camera: Callable[..., PvcamCamera],
) -> None:
    cam = open_camera(pvsim.PRIME_BSI, name="again")
    assert open_camera(pvsim.PRIME_BSI, name="again") is cam
    with pytest.raises(ConfigurationError, match="already open"):
        open_camera(pvsim.KINETIX, name="again")


def test_the_camera_is_open_exclusively(kinetix_cam: PvcamCamera, sim_path: Path) -> None:
    with pytest.raises(PvcamError, match="ALREADY_OPEN") as caught:
        PvcamCamera(f"pvcam://{pvsim.KINETIX}@{sim_path}", name="second")
    assert caught.value.code is not None


def test_identity_comes_from_the_camera(kinetix_cam: PvcamCamera) -> None:
    lib, hcam = kinetix_cam.library, kinetix_cam.handle
    assert lib is not None
    assert hcam is not None
    identity = kinetix_cam.identify()
    assert identity["serial"] == lib.get_param(hcam, Param.HEAD_SER_NUM_ALPHA)
    assert identity["chip"] == lib.get_param(hcam, Param.CHIP_NAME)
    assert identity["pvcam"] == ".".join(map(str, lib.version()))
    assert kinetix_cam.sensor_shape == (
        lib.get_param(hcam, Param.PAR_SIZE),
        lib.get_param(hcam, Param.SER_SIZE),
    )


def test_close_leaves_nothing_behind(
    open_camera: Callable[..., PvcamCamera], sim_path: Path
) -> None:
    lib = PvcamLibrary.load(sim_path)
    users_before = lib._init_count
    cam = open_camera(pvsim.PRIME_BSI, name="closing")
    hcam = cam.handle
    assert lib._init_count == users_before + 1
    assert any(key[0] == hcam for key in lib._callbacks)
    queue = cam.subscribe(2)
    cam.roi = "0,0,256,64"
    cam.exposure = "2 ms"
    cam.start()
    queue.get(timeout=10)
    cam.close()
    assert not cam.acquiring
    assert lib._init_count == users_before
    assert not any(key[0] == hcam for key in lib._callbacks)
    alive = [t.name for t in threading.enumerate() if t.name.startswith("labkit-closing")]
    assert alive == []
    assert queue.closed
    with pytest.raises(NotConnectedError):
        cam.snap()
    # the camera can be opened again: it was really closed
    with PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}@{sim_path}", name="reopened") as again:
        assert again.connected


def test_a_station_file_opens_and_configures_the_camera(tmp_path: Path, sim_path: Path) -> None:
    from labkit import load_station
    from labkit.station import StationError

    station_file = tmp_path / "station.yaml"
    station_file.write_text(
        f"""\
instruments:
  cam:
    driver: pvcam
    resource: pvcam://{pvsim.PRIME_BSI}@{sim_path}
    settings:
      speed: 100 MHz
      metadata: true
      roi: 0,0,256,64; 512,512,128,128
      exposure: 5 ms
"""
    )
    with load_station(station_file) as station:
        cam = station.cam
        assert isinstance(cam, PvcamCamera)
        assert (cam.speed, cam.gain, cam.bit_depth) == ("100 MHz", "HDR", 16)
        assert cam.exposure == pytest.approx(5e-3)
        assert len(cam.snap().regions) == 2
    station_file.write_text(
        station_file.read_text().replace("speed: 100 MHz", "sped: 100 MHz"), encoding="utf-8"
    )
    with pytest.raises(StationError, match="'speed'") as raised:
        load_station(station_file)
    assert raised.value.line == 6
    assert not [i for i in labkit.instruments() if i.name == "cam"]  # closed again
