"""Every setting of every shipped driver, fed every kind of bad value, through every door.

The drivers are the ``labkit.drivers`` entry points (what ``pip install labkit`` ships), each
connected to its simulator through the real library (pyvisa, pyserial, pyusb, harvesters, the
simulated libpvcam). Every writable setting — channels' and the cameras' connect-time ones
included — is given infinities, NaN, values in units of another dimension or kind, control
characters, huge strings and huge integers,

- through the sync API (``inst.setting = value``),
- through plans (``labkit.run(Set(...))`` and ``labkit.sweep(...)``),
- through raw I/O (``inst.write("<its declared set command> <value>")``), and
- through station files (``settings: {setting: value}``),

and each must be refused before a single byte reaches the instrument (a recording transport
wraps its link, and the simulator's own log of what arrived, below the real library, must not
grow), leaving the value as it was, with an error that names the instrument, the
setting and the limit (what the value had to be), quotes at most a short piece of the value,
and, from a plan, names the step. The time of each refusal is measured and reported (not
asserted: speed is measured, not asserted); that refusals of huge inputs cost what small ones
cost is asserted as a ratio within one run (linear time: they are refused before being read).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import pytest

import labkit
from labkit import AccessError, LabkitError
from labkit.core._raw import RawCommand
from labkit.core._units import MAX_TEXT
from labkit.runs import Set
from labkit.station import StationError, load_station
from labkit.testing import record

# -- what is shipped, and where each driver's simulator is --------------------------------------

SHIPPED = sorted(ep.name for ep in entry_points(group="labkit.drivers"))

BENCH_TWIN = {  # driver → bench instrument (and, for the 33500B family, the twin's model)
    "keithley2450": ("smu", None),
    "keysight34465a": ("dmm", None),
    "e3631a": ("psu", None),
    "tc200": ("tc", None),
    "oceanoptics_usb2000plus": ("spectrometer", None),
    "oceanoptics_usb4000": ("usb4000", None),
    "sr830": ("lockin", None),
    "rigol_ds1000z": ("scope", None),
    "keysight33500b": ("fg", None),
    "keysight33522b": ("fg", None),
    "keysight33511b": ("fg", "33511B"),
    "keysight33512b": ("fg", "33512B"),
    "keysight33521b": ("fg", "33521B"),
}
CAMERAS = {
    "genicam": "genicam://VikyTL_DEV_red@viky",
    "pvcam": "pvcam://{kinetix}",
}


def test_every_shipped_driver_is_covered():
    assert set(SHIPPED) == set(BENCH_TWIN) | set(CAMERAS)


# -- the bad values ------------------------------------------------------------------------------

HUGE = {
    "a megabyte of digits": "1" * 1_000_000,
    "spaces, then garbage": "1 V" + " " * 40_000 + "x",
    "a 30,000-letter unit": "1 " + "V" * 30_000,
}
NUMBERS = {
    "inf": math.inf,
    "-inf": -math.inf,
    "NaN": math.nan,
    "'inf'": "inf",
    "'-inf V'": "-inf V",
    "'nan'": "nan",
    "'1e999'": "1e999",
    "2**70": 2**70,
    "-(2**70)": -(2**70),
    "10**400": 10**400,
}
CONTROL = {
    "NUL": "1\x00",
    "an injected command": "1\n*RST",
    "an escape sequence": "\x1b[2J1",
    "a carriage return": "1\r",
    "a line separator": "1\u20281",
}
# What each sample quantity is, and what each declared unit is: a value is of the wrong
# dimension unless both are the same kind of thing. Written out here, independently of
# labkit's own rules.
SAMPLES = {
    "1 V": "voltage",
    "1 mA": "current",
    "1 s": "time",
    "1 kHz": "frequency",
    "1 degC": "temperature",
    "1 W": "power",
    "1 m": "length",
    "1 dB": "level",
    "50 %": "ratio",
    "1 rad": "angle",
    "3 count": "count",
    "1 ohm": "resistance",
}
UNITS = {
    None: "plain number",
    "V": "voltage",
    "A": "current",
    "s": "time",
    "Hz": "frequency",
    "degC": "temperature",
    "K": "temperature",
    "W": "power",
    "deg": "angle",
    "%": "ratio",
    "B": "information",
}


def free_text(spec: Any) -> bool:
    return spec.kind == "str" and spec.choices is None


def bad_values(spec: Any) -> dict[str, Any]:
    """Every bad value for one declaration, by a description of why it is bad."""
    values: dict[str, Any] = {**NUMBERS, **CONTROL, **HUGE}
    if free_text(spec):
        # Text takes text: numbers that are not text, control characters and huge text are
        # bad. Whether 'inf' is good text is the driver's to say (a 33500B load of "inf" is
        # high Z), and it says so when the value is set, before any byte.
        numbers = {why: value for why, value in NUMBERS.items() if not isinstance(value, str)}
        return {**numbers, **CONTROL, **HUGE}
    family = UNITS.get(spec.unit, f"unknown unit {spec.unit!r}")
    assert not family.startswith("unknown"), f"{spec.qualname}: add its unit to UNITS"
    for text, kind in SAMPLES.items():
        if not (spec.numeric and kind == family):
            values[f"{text!r} ({kind})"] = text
    return values


# -- the instruments ------------------------------------------------------------------------------


ARRIVED: dict[str, Any] = {}  # instrument name → its simulator's log of what arrived


@pytest.fixture
def instrument(request, unique_name, tmp_path) -> Iterator[Any]:
    """The driver's instrument on its simulator (the bench's twin, or a simulated camera)."""
    name: str = request.param
    cls = labkit.plugins.load_driver(name)
    if name in CAMERAS:
        address = CAMERAS[name]
        options: dict[str, Any] = {}
        if name == "pvcam":
            pvsim = pytest.importorskip("labkit.sim.pvcam")
            address = address.format(kinetix=pvsim.KINETIX)
            options["library"] = pvsim.library_path()
        else:
            pytest.importorskip("harvesters.core")
        made = cls(address, name=unique_name, **options)
        yield made
        made.close()
        return
    twin, model = BENCH_TWIN[name]
    with labkit.sim.Bench(seed=0, time_scale=0, instruments=[twin]) as bench:
        if model is not None:
            from labkit.sim.twins._keysight33500b import Keysight33500BTwin

            twin = f"fg{model}"
            bench.add_instrument(
                twin, Keysight33500BTwin(bench, twin, model=model), interfaces=("visa",)
            )
        made = cls(bench.address(twin), name=unique_name, timeout=5.0)
        ARRIVED[made.name] = bench.instrument(twin).received
        yield made
        ARRIVED.pop(made.name, None)
        made.close()


def handles_of(instrument: Any) -> Iterator[Any]:
    """Every setting handle, channels' included."""
    yield from instrument.settings
    for channel in instrument.channels.values():
        yield from handles_of(channel)


def _assert_names_it(error: BaseException, handle: Any, *, step: bool = False) -> None:
    assert isinstance(error, LabkitError), repr(error)
    assert error.instrument == handle.instrument.name, error
    assert error.setting == handle.name, error
    text = str(error)
    assert handle.full_name in text, text
    if not isinstance(error, AccessError):  # a read-only setting has no range, it has no write
        limit = getattr(error, "limit", None)
        assert limit is not None, f"{type(error).__name__} without a limit: {text}"
    assert len(text) < 1000, f"the message quotes too much ({len(text)} characters)"
    if step:
        assert "step " in text, text


class Timings:
    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def add(self, door: str, seconds: float) -> None:
        self.seconds.setdefault(door, []).append(seconds)

    def report(self, driver: str) -> str:
        parts = []
        for door, values in self.seconds.items():
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            parts.append(
                f"{door}: {len(values)} refusals, median {statistics.median(values) * 1e3:.3f} ms, "
                f"p99 {p99 * 1e3:.3f} ms, max {ordered[-1] * 1e3:.2f} ms"
            )
        return f"bad input, {driver}: " + "; ".join(parts)


def _refuse(timings: Timings, door: str, attempt: Any) -> BaseException:
    start = time.perf_counter()
    try:
        attempt()
    except Exception as error:  # what was raised is checked by the caller
        timings.add(door, time.perf_counter() - start)
        return error
    raise AssertionError("accepted")


def _doors(handle: Any, value: Any) -> dict[str, Any]:
    """The ways in: assignment, a plan's Set step, a sweep, and the setting's own command
    written raw (where the driver declares it as a template and the value is one token)."""
    doors = {
        "sync API": lambda: setattr(handle.instrument, handle.name, value),
        "plan (Set)": lambda: labkit.run(Set(handle, value)),
        "plan (Sweep)": lambda: labkit.sweep(handle, [value]),
    }
    text = value if isinstance(value, str) else repr(value)
    if RawCommand.of(handle) is not None and text.isprintable():
        message = handle.spec.set.format(text, value=text, self=handle.instrument)
        doors["raw I/O"] = lambda: handle.instrument.write(message)
    return doors


@pytest.mark.slow
@pytest.mark.parametrize("instrument", SHIPPED, indirect=True)
def test_no_bad_value_reaches_any_instrument(instrument, data_root, capsys):
    timings = Timings()
    refusals = 0
    arrived = ARRIVED.get(instrument.name)  # cameras: no message log; the recorder says it
    logged = list(arrived) if arrived is not None else None
    with record(instrument) as wire:
        for handle in handles_of(instrument):
            before = handle.value
            for why, value in bad_values(handle.spec).items():
                where = f"{handle.full_name} = {why}"
                doors = _doors(handle, value)
                for door, attempt in doors.items():
                    try:
                        error = _refuse(timings, door, attempt)
                    except AssertionError:
                        pytest.fail(f"{where} was accepted through the {door}")
                    try:
                        _assert_names_it(error, handle, step=door.startswith("plan"))
                    except AssertionError as failure:
                        pytest.fail(f"{where} through the {door}: {failure}")
                    refusals += 1
                assert wire.sent == [], f"{where}: {wire.sent[:3]} reached the instrument"
            assert handle.value == before or (before != before and handle.value != handle.value)
    assert refusals > 0
    if arrived is not None:
        assert list(arrived) == logged, "the simulator received something"
    assert not list(data_root.glob("**/*.zarr")), "a refused plan created a run"
    with capsys.disabled():
        print(f"\n{timings.report(type(instrument).__name__)}")


@pytest.mark.parametrize("instrument", ["keithley2450"], indirect=True)
def test_huge_inputs_are_refused_at_once(instrument):
    """Refusing a megabyte costs what refusing a few characters over the limit costs: the
    text is not looked at (compared within this run, best of several tries)."""
    handle = instrument.settings.source_voltage

    def best(value: str) -> float:
        timings = Timings()
        for _ in range(7):
            _refuse(timings, "x", lambda: handle.set(value))
        return min(timings.seconds["x"])

    just_over = best("1" * (MAX_TEXT + 1))
    for value in HUGE.values():
        assert best(value) < 5 * just_over + 1e-4


# -- station files ---------------------------------------------------------------------------------


def _yaml(value: Any) -> str:
    """The value as YAML writes it (floats' specials, big ints, escaped strings)."""
    if isinstance(value, float):
        return ".nan" if value != value else (".inf" if value > 0 else "-.inf")
    if isinstance(value, int):
        return str(value)
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\x00", "\\0")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\x1b", "\\e")
        .replace("\u2028", "\\L")
    )
    return f'"{escaped}"'


STATION_VALUES = {  # a station file is a few lines: its "huge" text stays under the file size cap
    **{k: v for k, v in NUMBERS.items()},
    **CONTROL,
    "100 kB of digits": "1" * 100_000,
    "spaces, then garbage": "1 V" + " " * 40_000 + "x",
}


@pytest.mark.slow
@pytest.mark.parametrize("driver", SHIPPED)
def test_no_bad_value_in_a_station_file_reaches_any_instrument(driver, tmp_path, monkeypatch):
    cls = labkit.plugins.load_driver(driver)
    configured: list[str] = []
    monkeypatch.setattr(
        "labkit.station._station._configure",
        lambda plan, *args: configured.append(plan.name),
    )
    if driver in CAMERAS:
        entry, probe = _camera_entry(driver)
        handles = [h for h in handles_of(probe) if h.spec.access != "r"]
        probe.close()
    else:
        twin = BENCH_TWIN[driver][0]
        entry = [f"driver: {driver}", "simulated: true", f"twin: {twin}"]
        handles = [h for h in _declared_handles(cls) if h.spec.access != "r"]
    path = tmp_path / "station.yaml"
    checked = 0
    for handle in handles:
        dotted = handle.full_name.split(".", 1)[1]
        values = bad_values(handle.spec)
        for why, value in STATION_VALUES.items():
            if why not in values and value not in values.values():
                continue
            lines = [
                "bench: {time_scale: 0}",
                "instruments:",
                "  inst:",
                *(f"    {item}" for item in entry),
                "    settings:",
                f"      {dotted}: {_yaml(value)}",
            ]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            line = len(lines)
            with pytest.raises(StationError) as caught:
                load_station(path)
            message = str(caught.value)
            assert caught.value.line == line, f"{dotted} = {why}: {message}"
            assert dotted.split(".")[-1] in message, message
            assert len(message) < 1000, message
            checked += 1
    assert checked > 0
    assert configured == [], "a refused station configured an instrument"
    assert labkit.instruments() == []


class _Declared:
    """A handle-like view of a declaration (no instrument connected)."""

    def __init__(self, prefix: str, spec: Any) -> None:
        self.spec = spec
        self.name = spec.name
        self.full_name = f"inst.{prefix}{spec.name}"


def _declared_handles(cls: type, prefix: str = "") -> Iterator[_Declared]:
    for spec in cls._labkit_specs.values():  # type: ignore[attr-defined]
        if spec.role == "setting":
            yield _Declared(prefix, spec)
    for channel, declaration in getattr(cls, "_labkit_channels", {}).items():
        yield from _declared_handles(declaration.cls, f"{prefix}{channel}.")


def _camera_entry(driver: str) -> tuple[list[str], Any]:
    """The station entry of a simulated camera, and the camera opened once to list its
    settings (which it declares when connected)."""
    cls = labkit.plugins.load_driver(driver)
    if driver == "pvcam":
        pvsim = pytest.importorskip("labkit.sim.pvcam")
        address = CAMERAS[driver].format(kinetix=pvsim.KINETIX)
        library = pvsim.library_path()
        entry = [f"driver: {driver}", f"resource: {address}", f"options: {{library: '{library}'}}"]
        probe = cls(address, name="inst", library=library)
    else:
        pytest.importorskip("harvesters.core")
        entry = [f"driver: {driver}", f"resource: {CAMERAS[driver]}"]
        probe = cls(CAMERAS[driver], name="inst")
    return entry, probe
