"""Loading a compiled plugin in-process: every way a library can be unusable says so, typed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import labkit
from labkit.drivers.compiled import PluginFault, PluginLibrary, PluginLoadError


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("WRONG_ABI", "wrong ABI: built for labkit plugin ABI 2.0, this labkit loads 1.x"),
        ("DECLINE_ABI", "wrong ABI: labkit_plugin_entry() declined labkit's plugin ABI 1.0"),
        ("SMALL_TABLE", "wrong ABI: its table is 40 bytes, ABI 1.0 needs"),
        ("NO_ENTRY", "missing symbol: the library does not export labkit_plugin_entry"),
        ("NULL_READ", "bad table: no read function"),
        ("BAD_JSON", "bad declarations: the meter plugin's declarations: not valid JSON"),
    ],
)
def test_an_unusable_library_raises_with_the_kind_of_problem_first(
    build_plugin: Callable[..., Path], variant: str, reason: str
) -> None:
    with pytest.raises(PluginLoadError) as caught:
        PluginLibrary.load(build_plugin(variant))
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert isinstance(caught.value, labkit.PluginError)
    assert str(build_plugin(variant)) in str(caught.value)
    assert caught.value.hint


def test_a_file_that_is_not_a_library_is_a_load_error(tmp_path: Path) -> None:
    fake = tmp_path / "libfake.so"
    fake.write_text("not a library\n")
    with pytest.raises(PluginLoadError, match=r"load error: .*libfake\.so"):
        PluginLibrary.load(fake)


def test_a_good_library_is_loaded_once_and_described(build_plugin: Callable[..., Path]) -> None:
    library = PluginLibrary.load(build_plugin())
    assert PluginLibrary.load(build_plugin()) is library
    assert (library.name, library.version, library.description) == ("meter", "1.0", "A test meter")
    assert [d.name for d in library.declarations] == ["range", "gain", "label", "signal", "zero"]
    assert not library.offers("identify")
    assert "meter 1.0 (ABI 1.0)" in repr(library)


@pytest.fixture
def meter(build_plugin: Callable[..., Path]):
    link = PluginLibrary.load(build_plugin()).open("meter://a", instrument="m")
    yield link
    link.close()


def test_values_cross_in_their_declared_kinds(meter) -> None:
    meter.set("range", 10.0)
    meter.set("gain", 4)
    meter.set("label", "ünïcode")
    assert meter.get("range") == 10.0
    assert meter.get("gain") == 4
    assert meter.get("label") == "ünïcode"
    assert meter.read("signal") == pytest.approx(0.4)
    meter.action("zero")
    assert meter.read("signal") == 0.0
    assert meter.identify() is None


def test_the_plugins_refusal_is_an_instrument_error_naming_it(meter) -> None:
    with pytest.raises(labkit.InstrumentError) as caught:
        meter.set("label", "x" * 100)
    error = caught.value
    assert error.code == 7
    assert error.command == "set label"
    assert error.resource == "meter://a"
    assert error.instrument == "m"
    assert "the meter plugin reports: label too long (LABKIT_ERROR_REFUSED, device code 7)" in str(
        error
    )


def test_text_with_a_nul_is_refused_before_the_plugin_sees_it(meter) -> None:
    with pytest.raises(labkit.SettingTypeError, match="NUL"):
        meter.set("label", "a\x00b")
    assert meter.get("label") == "meter"


def test_an_undeclared_name_is_refused_before_any_call(meter) -> None:
    with pytest.raises(PluginFault, match="'volume' is not among its declarations"):
        meter.get("volume")


def test_a_closed_link_refuses_calls(meter) -> None:
    meter.close()
    assert not meter.is_open
    with pytest.raises(labkit.NotConnectedError, match="not open"):
        meter.read("signal")
    meter.open()
    assert meter.read("signal") == 1.0


def test_an_open_that_fails_says_why_in_the_plugins_words(
    build_plugin: Callable[..., Path],
) -> None:
    library = PluginLibrary.load(build_plugin("OPEN_FAILS"))
    with pytest.raises(labkit.InstrumentError) as caught:
        library.open("meter://a")
    assert "USB cable is unplugged" in str(caught.value)
    assert "LABKIT_ERROR_NO_DEVICE" in str(caught.value)
    assert caught.value.command == "open"


def test_a_bad_resource_is_named(build_plugin: Callable[..., Path]) -> None:
    with pytest.raises(labkit.InstrumentError, match="resources are meter://NAME"):
        PluginLibrary.load(build_plugin()).open("serial://x")


def test_a_status_outside_the_abi_is_a_plugin_fault(build_plugin: Callable[..., Path]) -> None:
    link = PluginLibrary.load(build_plugin("BAD_STATUS")).open("meter://a")
    try:
        with pytest.raises(PluginFault, match="read signal returned status 42, which") as caught:
            link.read("signal")
        assert isinstance(caught.value, labkit.InstrumentError)
    finally:
        link.close()


def test_a_long_text_gets_a_bigger_buffer(build_plugin: Callable[..., Path]) -> None:
    link = PluginLibrary.load(build_plugin("LONG_TEXT")).open("meter://a")
    try:
        assert link.get("label") == "x" * 999
    finally:
        link.close()


def test_a_plugin_claiming_more_text_than_its_buffer_is_caught(
    build_plugin: Callable[..., Path],
) -> None:
    link = PluginLibrary.load(build_plugin("LYING_TEXT")).open("meter://a")
    try:
        with pytest.raises(PluginFault, match="wrote 266 bytes of text into a 256-byte buffer"):
            link.get("label")
    finally:
        link.close()


def test_a_rebuilt_library_asks_for_a_restart_instead_of_running_the_old_build(
    build_plugin: Callable[..., Path], tmp_path: Path
) -> None:
    import os
    import shutil

    library = tmp_path / "libmeter.so"
    shutil.copy(build_plugin(), library)
    assert PluginLibrary.load(library).name == "meter"
    library.unlink()  # a new file, as `install` or a linker writes it (never overwrite a mapped one)
    shutil.copy(build_plugin("LONG_TEXT"), library)
    os.utime(library, ns=(1, 1))
    with pytest.raises(
        PluginLoadError, match="an earlier build of this library is loaded"
    ) as caught:
        PluginLibrary.load(library)
    assert caught.value.hint == "Restart the kernel (or the script) to load the new build"
