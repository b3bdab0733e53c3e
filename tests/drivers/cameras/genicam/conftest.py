"""GenICam cameras tested through harvesters against the genicam wheel's simulated producer.

``viky.cti`` is a real GenTL producer (a bouncing ball on three cameras): everything here goes
through the same harvesters and GenICam code as a camera in the lab.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("harvesters.core")

from labkit.drivers.cameras.genicam import GenICamCamera, simulated_producer

RED = "genicam://VikyTL_DEV_red@viky"


@pytest.fixture(scope="session")
def viky() -> Path:
    return simulated_producer()


@pytest.fixture
def no_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No GENICAM_GENTL64_PATH and an empty labkit configuration; returns the config file."""
    from labkit.drivers.cameras.genicam import ENV_VAR

    monkeypatch.delenv(ENV_VAR, raising=False)
    config = tmp_path / "labkit.toml"
    config.write_text("")
    monkeypatch.setenv("LABKIT_CONFIG", str(config))
    return config


@pytest.fixture
def open_camera(unique_name: str) -> Iterator[Callable[..., GenICamCamera]]:
    """Open a simulated camera (closed after the test, with every instrument)."""
    opened: list[GenICamCamera] = []

    def open_(address: str = RED, **options: object) -> GenICamCamera:
        options.setdefault("name", unique_name)
        camera = GenICamCamera(address, **options)
        opened.append(camera)
        return camera

    yield open_
    for camera in opened:
        camera.close()


@pytest.fixture
def camera(open_camera: Callable[..., GenICamCamera]) -> GenICamCamera:
    """The red simulated camera at its defaults (each open starts from the producer's defaults)."""
    return open_camera()
