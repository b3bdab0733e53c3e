"""One instrument of a station file as a plan: its driver found, its entry checked, ready to
connect — for a local driver or for an instrument another process serves (``remote:``)."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from labkit.core import Instrument, PluginError, SettingLock, TraitSpec
from labkit.station._schema import Context
from labkit.station._yaml import KeyPath

__all__ = ["InstrumentPlan", "handle_of", "remote_plan", "resolve_driver", "spec_of"]


def resolve_driver(name: str) -> type[Instrument]:
    """A driver class from a plugin name (``keithley2450``, see ``labkit plugins``) or
    ``module:Class``. Raises ``LookupError`` (or ``PluginError``) saying why not."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attribute)
        except ImportError as error:
            raise LookupError(f"cannot import {module_name!r} ({error})") from None
        except AttributeError:
            raise LookupError(f"{module_name!r} has no {attribute!r}") from None
    else:
        from labkit.plugins import load_driver

        target = load_driver(name)
    if not (isinstance(target, type) and issubclass(target, Instrument)):
        raise LookupError(f"{name!r} is {target!r}, not an instrument class")
    return target


@dataclasses.dataclass
class InstrumentPlan:
    """One instrument as the file describes it, checked and ready to connect."""

    name: str
    driver: type[Instrument]
    resource: str | None
    twin: str
    simulated: bool
    timeout: float | None
    options: dict[str, Any]
    limits: dict[str, tuple[Any, Any]]
    ramps: dict[str, Any]
    settings: dict[str, Any]
    locks: dict[str, SettingLock]
    deferred: list[tuple[str, str, Any, KeyPath]] = dataclasses.field(default_factory=list)
    address: str | None = None  # where it is connected: the resource, or the bench's twin
    safe_on_exit: bool = True


_REMOTE_DRIVER = "labkit.remote:RemoteInstrument"  # imported when a file names one
_NOT_WITH_REMOTE = ("driver", "resource", "twin", "simulated", "options")


def remote_plan(name: str, entry: dict[str, Any], context: Context) -> InstrumentPlan:
    """An instrument another process serves: its declarations come when it connects."""
    path: KeyPath = ("instruments", name)
    for key in _NOT_WITH_REMOTE:
        if key in entry:
            raise context.fail(
                (*path, key),
                f"{key!r} does not go with remote: the serving process has the instrument",
                hint="Give remote: pva://HOST:PORT/PREFIXname (and settings, limits, locks)",
            )
    try:
        driver = resolve_driver(_REMOTE_DRIVER)
    except (LookupError, PluginError) as error:
        raise context.fail(
            (*path, "remote"),
            f"remote instruments need p4p ({error})",
            hint='pip install "labkit[remote]"',
        ) from None
    plan = InstrumentPlan(
        name=name,
        driver=driver,
        resource=entry["remote"],
        twin=name,
        simulated=False,
        timeout=entry.get("timeout"),
        options={},
        limits={},
        ramps={},
        settings={},
        locks={},
    )
    for section in ("limits", "ramps", "settings", "locks"):
        for setting, value in entry.get(section, {}).items():
            plan.deferred.append((section, setting, value, (*path, section, setting)))
    return plan


def spec_of(cls: type[Instrument], dotted: str) -> TraitSpec | None:
    """The declaration behind ``"voltage"`` or a channel's ``"ch1.amplitude"``, or None."""
    *channels, name = dotted.split(".")
    for channel in channels:
        found = cls.channel_classes().get(channel)
        if found is None:
            return None
        cls = found[0]
    return cls.declarations().get(name)


def handle_of(instrument: Instrument, dotted: str, role: str = "setting") -> Any:
    """The connected instrument's handle for ``"voltage"`` or ``"ch1.amplitude"``."""
    *channels, name = dotted.split(".")
    for channel in channels:
        instrument = instrument.channels[channel]
    return (instrument.readings if role == "reading" else instrument.settings)[name]
