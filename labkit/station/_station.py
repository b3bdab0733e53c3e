"""``load_station(path)``: the lab's instruments from one YAML file, checked, then connected.

::

    simulated: false            # true: connect every instrument to the virtual bench instead
    bench: {seed: 0, dut: diode, time_scale: 1}
    instruments:
      smu:
        driver: keithley2450            # a driver plugin (labkit plugins), or module:Class
        resource: GPIB0::18::INSTR      # the real address (or bench:<name> for a twin)
        twin: smu                       # the bench instrument it is when simulated
        timeout: 2
        options: {write_termination: "\\n"}     # transport options
        limits: {source_voltage: {min: -1, max: 1}}       # soft limits (inside the hard ones)
        ramps: {source_voltage: 0.5}                       # V/s
        settings: {nplc: 1, current_limit: 10 mA}          # set after connecting
        locks:                                             # an instructor's locks
          current_limit: {value: 10 mA, reason: protects the LED, key_sha256: 5e88...}

The whole file is checked before any instrument is touched: its structure, the drivers, the
setting names, units, choices, and every limit, lock and value against the driver's hard
limits. A problem raises :class:`StationError` naming the line and the reason. An
instructor's key may be given as ``key`` (plain text) or, to publish the file without it, as
``key_sha256`` (``printf %s KEY | sha256sum``).
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from labkit.core import (
    ConfigurationError,
    Instrument,
    Interlock,
    LabkitError,
    PluginError,
    SettingLock,
    TraitSpec,
    bounds_in_force,
    check_lock,
    check_ramp_rate,
    check_soft_limits,
    check_value,
    check_writable,
    safe_on_exit,
)
from labkit.station._interlocks import install_interlocks, plan_interlocks
from labkit.station._plans import InstrumentPlan, handle_of, remote_plan, resolve_driver
from labkit.station._plans import spec_of as _resolve
from labkit.station._schema import STATION, Context
from labkit.station._yaml import KeyPath, StationError, decode, load_yaml

__all__ = ["Station", "load_station", "resolve_driver"]

_BENCH_PREFIX = "bench:"
MAX_FILE_BYTES = 1_000_000


class Station(Mapping[str, Instrument]):
    """The connected instruments of a station file, by name (``station["smu"]``,
    ``station.smu``), with the bench they run on when simulated."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        *,
        source: str,
        bench: Any = None,
        serve: dict[str, Any] | None = None,
        interlocks: list[Interlock] | None = None,
    ):
        self._instruments = instruments
        self.source = source
        self.bench = bench
        self.interlocks = list(interlocks or [])
        """The file's ``interlocks:``, watched (``interlock.remove()`` lifts one)."""
        self.serve_options = serve or {"serve": {}, "instruments": {}}
        """The file's ``serve:`` sections, for ``labkit serve`` (checked by labkit.remote)."""

    def __getitem__(self, name: str) -> Instrument:
        try:
            return self._instruments[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._instruments), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"the station has no instrument {name!r}{hint}") from None

    def __getattr__(self, name: str) -> Instrument:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(str(error)) from None

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._instruments]

    def __iter__(self) -> Iterator[str]:
        return iter(self._instruments)

    def __len__(self) -> int:
        return len(self._instruments)

    def snapshot(self) -> dict[str, Any]:
        """Every instrument's snapshot, and the bench's seed and time when simulated."""
        out: dict[str, Any] = {
            "source": self.source,
            "instruments": {name: inst.snapshot() for name, inst in self._instruments.items()},
        }
        if self.interlocks:
            out["interlocks"] = [interlock.describe() for interlock in self.interlocks]
        if self.bench is not None:
            out["bench"] = {
                "seed": self.bench.seed,
                "time": self.bench.now(),
                "dut": self.bench.dut.name,
            }
        return out

    def make_safe(self) -> dict[str, Any]:
        """Every instrument's outputs to their safe values."""
        return {name: inst.make_safe() for name, inst in self._instruments.items()}

    def close(self) -> None:
        """Close every instrument (newest first), then the bench."""
        errors = []
        for instrument in reversed(list(self._instruments.values())):
            try:
                instrument.close()
            except LabkitError as error:
                errors.append(error)
        if self.bench is not None:
            self.bench.close()
        if errors:
            raise errors[0]

    def __enter__(self) -> Station:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = " (simulated)" if self.bench is not None else ""
        return f"<Station {self.source}{where}: {', '.join(self._instruments)}>"


def load_station(path: str | os.PathLike[str], *, simulated: bool | None = None) -> Station:
    """Check the station file at ``path``, then connect and configure its instruments.

    ``simulated`` overrides the file's ``simulated:`` (True runs everything on the bench).
    The whole file is checked before any instrument is contacted; every instrument is then
    connected (which only asks questions) before any is configured. If anything fails on the
    way, what was already configured is brought back to its safe values, everything is
    closed, and the error names the file and the line it came from.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise StationError(
            f"cannot read the file ({error.strerror})", source=source, line=None
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise StationError(
            f"the file is larger than {MAX_FILE_BYTES:,} bytes; a station file is a few lines",
            source=source,
            line=None,
        )
    return _load(decode(data, source), source, simulated)


def _load(text: str, source: str, simulated: bool | None) -> Station:
    data, lines = load_yaml(text, source)
    context = Context(source, lines)
    STATION.check(data, (), context)
    all_simulated = data.get("simulated", False) if simulated is None else simulated
    plans = [
        _plan(name, entry, all_simulated, context) for name, entry in data["instruments"].items()
    ]
    planned = plan_interlocks(data.get("interlocks", []), plans, context)
    bench = None
    opened: dict[str, Instrument] = {}
    configured: list[Instrument] = []
    try:
        if any(plan.simulated for plan in plans):
            bench = _make_bench(data.get("bench", {}), plans, context)
        for plan in plans:
            plan.address = bench.address(plan.twin) if bench and plan.simulated else plan.resource
            _check_options(plan, context)
        # Only now is anything contacted: first every instrument is connected (identified
        # and read, nothing changed), then each is configured.
        for plan in plans:
            opened[plan.name] = _connect(plan, context)
        for plan in plans:
            _check_deferred(plan, opened[plan.name], context)
        # Interlocks before any setting: the file's own settings must satisfy them.
        interlocks = install_interlocks(planned, opened, context)
        for plan in plans:
            _configure(plan, opened[plan.name], context, configured)
    except BaseException as error:
        _undo(error, opened, configured, bench)
        raise
    for plan in plans:
        if not plan.safe_on_exit:
            safe_on_exit(False, opened[plan.name])
    serve = {
        "serve": dict(data.get("serve") or {}),
        "instruments": {
            name: dict(entry["serve"])
            for name, entry in data["instruments"].items()
            if entry.get("serve")
        },
    }
    return Station(opened, source=source, bench=bench, serve=serve, interlocks=interlocks)


def _undo(
    error: BaseException,
    opened: dict[str, Instrument],
    configured: list[Instrument],
    bench: Any,
) -> None:
    """After a failure part-way: what was configured back to safe, everything closed."""
    problems = []
    for instrument in reversed(configured):
        try:
            instrument.make_safe()
        except Exception as failure:
            problems.append(f"{instrument.name} could not be made safe ({failure})")
    for instrument in reversed(list(opened.values())):
        try:
            instrument.close()
        except Exception:
            pass
    if bench is not None:
        bench.close()
    if isinstance(error, LabkitError) and configured:
        failed = {problem.split(" ", 1)[0] for problem in problems}
        safe = [i.name for i in configured if i.name not in failed]
        parts = [f"{', '.join(safe)} went back to safe values"] if safe else []
        note = "; ".join([*parts, *problems])
        error.hint = f"{error.hint}. {note}" if error.hint else note[0].upper() + note[1:]
        error.made_safe = safe  # type: ignore[attr-defined]


# -- checking -------------------------------------------------------------------------------


def _plan(
    name: str, entry: dict[str, Any], all_simulated: bool, context: Context
) -> InstrumentPlan:
    path: KeyPath = ("instruments", name)
    if "remote" in entry:
        return remote_plan(name, entry, context)
    if "driver" not in entry:
        raise context.fail(
            path,
            "'driver' is missing",
            hint="Name the driver (labkit plugins lists them), or remote: pva://... for an "
            "instrument another process serves",
        )
    try:
        driver = resolve_driver(entry["driver"])
    except PluginError as error:
        raise context.fail((*path, "driver"), error.message, hint=error.hint) from None
    except LookupError as error:
        raise context.fail(
            (*path, "driver"),
            str(error),
            hint="Name an installed driver (labkit plugins lists them) or module:Class",
        ) from None
    resource = entry.get("resource")
    simulated = bool(entry.get("simulated", all_simulated))
    twin = entry.get("twin", name)
    if resource is not None and resource.startswith(_BENCH_PREFIX):
        simulated, twin = True, resource[len(_BENCH_PREFIX) :]
    if simulated:
        from labkit.sim.twins import STANDARD_TWINS

        twins = [spec.name for spec in STANDARD_TWINS]
        if twin not in twins:
            key = "twin" if "twin" in entry else ("resource" if resource else "driver")
            raise context.fail(
                (*path, key),
                f"the bench has no instrument {twin!r} to simulate {name}",
                hint=f"Name one with twin: ({', '.join(twins)})",
            )
    elif resource is None:
        raise context.fail(
            path,
            "'resource' is missing",
            hint="Give the instrument's address, or simulated: true to use the bench",
        )
    else:
        from labkit.transports import kind_of_address

        try:
            kind_of_address(resource)
        except LabkitError as error:
            raise context.fail((*path, "resource"), error.message, hint=error.hint) from None
    plan = InstrumentPlan(
        name=name,
        driver=driver,
        resource=resource,
        twin=twin,
        simulated=simulated,
        timeout=entry.get("timeout"),
        options=dict(entry.get("options", {})),
        limits={},
        ramps={},
        settings={},
        locks={},
        safe_on_exit=entry.get("safe_on_exit", True),
    )
    for section in ("limits", "ramps", "settings", "locks"):
        for setting, value in entry.get(section, {}).items():
            where = (*path, section, setting)
            spec = _resolve(driver, setting)
            if spec is None and driver.declared_at_connect:
                plan.deferred.append((section, setting, value, where))  # checked once connected
                continue
            spec = _require_setting(driver, setting, spec, where, context)
            _check_entry(section, setting, spec, value, plan, where, context)
    return plan


def _settable(cls: type[Instrument], prefix: str = "") -> list[str]:
    names = [prefix + n for n, s in cls.declarations().items() if s.role == "setting"]
    for channel, (channel_cls, _) in cls.channel_classes().items():
        names += _settable(channel_cls, f"{prefix}{channel}.")
    return names


def _require_setting(
    cls: type[Instrument], setting: str, spec: TraitSpec | None, where: KeyPath, context: Context
) -> TraitSpec:
    """``spec`` if it is a setting; else the file's error naming the settings there are."""
    if spec is not None and spec.role == "setting":
        return spec
    settable = _settable(cls)
    close = difflib.get_close_matches(setting, settable, n=1)
    what = f"a {spec.role}, not a setting" if spec is not None else "not a setting"
    raise context.fail(
        where,
        f"{setting!r} is {what} of {cls.__name__}",
        hint=f"Did you mean {close[0]!r}?" if close else f"It has: {', '.join(settable)}",
    )


@contextlib.contextmanager
def _line(context: Context, where: KeyPath, key: str | None = None) -> Iterator[None]:
    """An error of the guards, reported at the file's line for ``where`` (or its ``key``)."""
    try:
        yield
    except LabkitError as error:
        place = where if key is None else (*where, key)
        raise context.fail(place, error.message, hint=error.hint) from None


def _check_entry(
    section: str,
    dotted: str,
    spec: TraitSpec,
    value: Any,
    plan: InstrumentPlan,
    where: KeyPath,
    context: Context,
) -> None:
    """Check one entry of ``limits``/``ramps``/``settings``/``locks`` with the instrument's
    own guard rules (``labkit.core.check_*``), as the instrument will apply it."""
    low, high = plan.limits.get(dotted, (None, None))
    bounds = bounds_in_force(spec, low, high)
    if section == "limits":
        for key in ("min", "max"):
            if key in value:
                with _line(context, where, key):
                    check_soft_limits(
                        spec, *((value[key], None) if key == "min" else (None, value[key]))
                    )
        with _line(context, where):
            if "min" not in value and "max" not in value:
                raise ConfigurationError("give min and/or max")
            plan.limits[dotted] = check_soft_limits(spec, value.get("min"), value.get("max"))
    elif section == "ramps":
        with _line(context, where):
            plan.ramps[dotted] = check_ramp_rate(spec, value)
    elif section == "settings":
        with _line(context, where):
            check_writable(spec, value)
            plan.settings[dotted] = check_value(spec, value, bounds, None)
    else:
        request = dict(value)
        line_key: str | None = None
        if "value" in value and "min" not in value and "max" not in value:
            line_key = "value"
        with _line(context, where, line_key):
            lock = check_lock(
                spec,
                value=request.get("value"),
                min=request.get("min"),
                max=request.get("max"),
                reason=request.get("reason", ""),
                key=request.get("key"),
                key_digest=request.get("key_sha256"),
                bounds=bounds,
                current=plan.settings.get(dotted),
            )
        plan.locks[dotted] = lock


# -- connecting -----------------------------------------------------------------------------


def _make_bench(options: dict[str, Any], plans: list[InstrumentPlan], context: Context) -> Any:
    from labkit.sim import Bench

    try:
        return Bench(
            seed=options.get("seed", 0),
            dut=options.get("dut", "diode"),
            time_scale=options.get("time_scale", 1.0),
        )
    except ValueError as error:
        raise context.fail(("bench", "dut"), str(error)) from None


def _check_options(plan: InstrumentPlan, context: Context) -> None:
    """Transport options are checked against the transport of the address, before connecting."""
    if plan.driver.declared_at_connect or plan.address is None:  # a camera: options are its own
        return
    from labkit.transports import check_options

    options = {**plan.driver.transport_options, **plan.options}
    if plan.timeout is not None:
        options["timeout"] = plan.timeout
    try:
        check_options(plan.address, options)
    except LabkitError as error:
        key = error.setting
        path: KeyPath = ("instruments", plan.name)
        if key in plan.options:
            path = ("instruments", plan.name, "options", key)
        elif key == "timeout":
            path = ("instruments", plan.name, "timeout")
        raise context.fail(path, error.message, hint=error.hint) from None


def _connect(plan: InstrumentPlan, context: Context) -> Instrument:
    options = dict(plan.options)
    if plan.timeout is not None:
        options["timeout"] = plan.timeout
    place = ("instruments", plan.name, "resource" if plan.resource else "driver")
    try:
        return plan.driver(plan.address, name=plan.name, **options)
    except LabkitError as error:
        raise _located(error, context, place) from None
    except Exception as error:  # a library's own exception must not escape bare
        raise context.fail(
            place,
            f"{plan.name} could not be connected: {type(error).__name__}: {error}",
            hint="Check the address and that the instrument is on and reachable",
        ) from error


def _check_deferred(plan: InstrumentPlan, instrument: Instrument, context: Context) -> None:
    """Drivers declaring at connection time (cameras' node maps) are checked now, against what
    the connected device declared, with the file's lines as before — still before any change."""
    for section, setting, value, where in plan.deferred:
        found = _resolve(type(instrument), setting)
        spec = _require_setting(type(instrument), setting, found, where, context)
        _check_entry(section, setting, spec, value, plan, where, context)


def _configure(
    plan: InstrumentPlan, instrument: Instrument, context: Context, configured: list[Instrument]
) -> None:
    path: KeyPath = ("instruments", plan.name)
    try:
        for setting, (low, high) in plan.limits.items():
            path = ("instruments", plan.name, "limits", setting)
            handle_of(instrument, setting).limit(low, high)
        for setting, rate in plan.ramps.items():
            path = ("instruments", plan.name, "ramps", setting)
            handle_of(instrument, setting).ramp_rate = rate
        for setting, value in plan.settings.items():
            path = ("instruments", plan.name, "settings", setting)
            if instrument not in configured:
                configured.append(instrument)
            handle_of(instrument, setting).set(value)
        for setting, lock in plan.locks.items():
            path = ("instruments", plan.name, "locks", setting)
            if lock.locks_value and instrument not in configured:
                configured.append(instrument)
            _apply_lock(instrument, setting, lock)
    except LabkitError as error:
        raise _located(error, context, path) from None
    except Exception as error:
        raise context.fail(
            path, f"{type(error).__name__}: {error}", hint="The instrument refused this"
        ) from error


def _located(error: LabkitError, context: Context, path: KeyPath) -> LabkitError:
    """The same error (same type, so ``except ConnectionLost`` still works), saying where in
    the file it came from: ``source`` and ``line`` attributes, and in its message."""
    line = context.line(path)
    error.source = context.source  # type: ignore[attr-defined]
    error.line = line  # type: ignore[attr-defined]
    where = ".".join(str(p) for p in path)
    error.message = f"{context.source}, line {line} ({where}): {error.message}"
    error.args = (error.message,)
    return error


def _apply_lock(instrument: Instrument, setting: str, lock: SettingLock) -> None:
    handle_of(instrument, setting).engage(lock)
