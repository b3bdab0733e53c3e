"""Plugins from folders and entry points: found lazily, failures reported, never a crash."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import labkit
from labkit import plugins


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_PLUGIN_PATH", str(tmp_path))
    monkeypatch.setenv("LABKIT_CONFIG", str(tmp_path / "no-config.toml"))
    plugins.refresh()
    yield tmp_path
    plugins.refresh()


def write(folder: Path, name: str, code: str) -> None:
    (folder / name).write_text(textwrap.dedent(code))


def test_folder_plugins_are_found_without_being_imported(folder: Path) -> None:
    write(
        folder,
        "shutter.py",
        """
        import labkit
        class Step:
            pass
        class Shutter(labkit.Instrument):
            '''A shutter.'''
            open_ = labkit.Setting(bool, set=lambda self, v: None, doc="Open")
        class Dwell(Step):
            pass
    """,
    )
    found = {(p.kind, p.name): p for p in plugins.plugins()}
    assert ("driver", "shutter") in found
    assert ("step", "dwell") in found
    assert found["driver", "shutter"].status == "found"
    assert not any("shutter" in name for name in sys.modules)
    cls = plugins.load_driver("shutter")
    assert cls.__name__ == "Shutter"
    assert issubclass(cls, labkit.Instrument)
    assert found["driver", "shutter"].status == "loaded"


def test_a_package_lists_what_it_provides(folder: Path) -> None:
    package = folder / "acme"
    package.mkdir()
    write(
        package,
        "__init__.py",
        """
        from ._meter import Meter
        labkit_drivers = ["Meter"]
    """,
    )
    write(
        package,
        "_meter.py",
        """
        import labkit
        class Meter(labkit.Instrument):
            '''A meter.'''
            value = labkit.Reading(get=lambda self: 1.0, doc="Value")
    """,
    )
    assert plugins.load_driver("meter").__name__ == "Meter"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (
            "import definitely_not_installed\nclass X(Instrument): pass\n",
            "missing package 'definitely_not_installed'",
        ),
        (
            "import ctypes\nctypes.CDLL('libvendor_nowhere.so.3')\nclass X(Instrument): pass\n",
            "missing vendor library",
        ),
        (
            "raise RuntimeError('firmware table missing')\nclass X(Instrument): pass\n",
            "import error: RuntimeError: firmware table missing",
        ),
        ("class X(Instrument):\n  def f(:\n", "SyntaxError"),
    ],
)
def test_broken_plugins_are_reported_with_their_reason(
    folder: Path, code: str, reason: str
) -> None:
    write(folder, "broken.py", code)
    write(folder, "fine.py", "import labkit\nclass Fine(labkit.Instrument):\n    '''Fine.'''\n")
    for plugin in plugins.plugins():
        plugin.check()
    states = {p.name: p for p in plugins.plugins("driver")}
    broken = states.get("x") or states["broken"]
    assert broken.status == "failed"
    assert reason in broken.reason
    assert states["fine"].status == "loaded"  # the others still work
    with pytest.raises(labkit.PluginError, match="cannot be used"):
        broken.load()


def test_a_missing_vendor_library_found_by_a_check_is_unavailable(folder: Path) -> None:
    write(
        folder,
        "camera.py",
        """
        import labkit
        class VendorCamera(labkit.Instrument):
            '''Needs libvendor.'''
            @classmethod
            def check_available(cls):
                raise labkit.MissingVendorLibrary("libvendor.so not found", searched=["/opt/vendor"])
    """,
    )
    plugin = plugins.find("driver", "vendor_camera").check()
    assert plugin.status == "unavailable"
    assert "libvendor.so not found" in plugin.reason


def test_unknown_names_suggest_close_ones(folder: Path) -> None:
    write(folder, "laser.py", "import labkit\nclass Laser(labkit.Instrument):\n    '''L.'''\n")
    with pytest.raises(labkit.PluginError, match="Did you mean 'laser'"):
        plugins.find("driver", "lazer")


def test_plugin_folders_come_from_the_configuration_file_too(tmp_path: Path, monkeypatch) -> None:
    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "pump.py").write_text(
        "import labkit\nclass Pump(labkit.Instrument):\n    '''P.'''\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins]\npaths = ["{configured}"]\n')
    monkeypatch.setenv("LABKIT_CONFIG", str(config))
    monkeypatch.delenv("LABKIT_PLUGIN_PATH", raising=False)
    plugins.refresh()
    try:
        assert plugins.find("driver", "pump").origin == f"folder {configured}"
    finally:
        plugins.refresh()
