"""labkit: run lab experiments from Jupyter notebooks.

Importing labkit is cheap: it loads the instrument model and nothing heavy. Drivers, runs,
storage and widgets load on first use (``labkit.ScpiInstrument``, ``labkit.sweep`` ...).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from labkit.core import (
    AccessError,
    Action,
    Axis,
    Channel,
    ChoiceError,
    Condition,
    ConfigurationError,
    ConnectionLost,
    DeclarationError,
    FrameFormatError,
    Instrument,
    InstrumentError,
    InstrumentTimeout,
    Interlock,
    InterlockError,
    LabkitError,
    LimitError,
    LockedError,
    MessageInstrument,
    MissingVendorLibrary,
    NotConnectedError,
    PluginError,
    RampInterrupted,
    Reading,
    ReplyError,
    RunWaitTimeout,
    Setting,
    SettingInUse,
    SettingTypeError,
    Transport,
    UnitError,
    UnknownSettingError,
    ValidationError,
    _hooks,
    close_all,
    instruments,
    safe_on_exit,
)
from labkit.core._lazy import lazy_names

__version__ = "0.1.0"

# Names loaded on first use: "name": "module" (the attribute has the same name there) or
# "module:attribute".
_LAZY = {
    "CameraInstrument": "labkit.drivers.cameras",
    "find_runs": "labkit.store:runs",
    "GenICamCamera": "labkit.drivers.cameras.genicam",
    "PvcamCamera": "labkit.drivers.cameras.pvcam",
    "ScpiInstrument": "labkit.drivers.scpi",
    "Station": "labkit.station",
    "camera_view": "labkit.ui",
    "load_station": "labkit.station",
    "dry_run": "labkit.runs",
    "export_run": "labkit.store",
    "grid": "labkit.runs",
    "open_run": "labkit.store",
    "open_runs": "labkit.store",
    "open_transport": "labkit.transports",
    "run": "labkit.runs",
    "sweep": "labkit.runs",
    "timeseries": "labkit.runs",
}

__all__ = [
    "AccessError",
    "Action",
    "Axis",
    "Channel",
    "ChoiceError",
    "Condition",
    "ConfigurationError",
    "ConnectionLost",
    "DeclarationError",
    "FrameFormatError",
    "Instrument",
    "InstrumentError",
    "InstrumentTimeout",
    "Interlock",
    "InterlockError",
    "LabkitError",
    "LimitError",
    "LockedError",
    "MessageInstrument",
    "MissingVendorLibrary",
    "NotConnectedError",
    "PluginError",
    "RampInterrupted",
    "Reading",
    "ReplyError",
    "RunWaitTimeout",
    "Setting",
    "SettingInUse",
    "SettingTypeError",
    "Transport",
    "UnitError",
    "UnknownSettingError",
    "ValidationError",
    "__version__",
    "close_all",
    "connect",
    "instruments",
    "plugin_include_dir",
    "safe_on_exit",
    *_LAZY,
]


# Subpackages reachable as attributes after a plain `import labkit` (``labkit.sim.Bench``).
_SUBPACKAGES = {
    "config",
    "drivers",
    "native",
    "plugins",
    "runs",
    "sim",
    "store",
    "remote",
    "transports",
    "ui",
}


_lazy_name = lazy_names(globals(), _LAZY)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"labkit.{name}")
    return _lazy_name(name)


def __dir__() -> list[str]:
    return sorted(__all__)


def connect(address: str, *, name: str | None = None, timeout: float | None = None) -> Instrument:
    """An instrument another process serves: ``labkit.connect("pva://host:port/LAB1:smu")``.

    Its declarations come from the server (``labkit serve``); panels, limits, runs and
    snapshots work as with a local instrument, and the serving process keeps every guard.
    ``name`` defaults to the served instrument's name. Needs ``pip install "labkit[remote]"``.
    """
    if not isinstance(address, str) or not address.startswith("pva://"):
        raise ConfigurationError(
            f"{address!r} is not an address labkit.connect knows",
            hint="Give a pvAccess address: pva://HOST[:PORT]/PREFIXinstrument",
        )
    from labkit.remote import RemoteInstrument, parse_address

    served = parse_address(address).name
    return RemoteInstrument(address, name=name or _served_name(served), timeout=timeout)


def _served_name(pv_base: str) -> str:
    """``smu`` from ``LAB1:smu``: the last part of the PV prefix, as an instrument name."""
    last = pv_base.rstrip(":").rpartition(":")[2]
    return last if last.isidentifier() else "remote"


def plugin_include_dir() -> str:
    """The folder holding ``labkit_plugin.h``, the C ABI of compiled driver plugins; give it
    to a build as ``numpy.get_include()`` is given (``include_dirs=[labkit.plugin_include_dir()]``)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


def _open_link(resource: str, options: Any) -> Transport:
    from labkit.transports import open_transport as _open

    return _open(resource, options)


def _instrument_panel(instrument: Instrument) -> Any:
    from labkit.ui import instrument_panel

    return instrument_panel(instrument)


def _run_widget(run: Any) -> Any:
    from labkit.ui import RunWidget

    return RunWidget(run)


def _live_view(run: Any, **options: Any) -> Any:
    from labkit.ui import live_view

    return live_view(run, **options)


_hooks.register_link_opener(_open_link)
_hooks.register_display("panel", _instrument_panel)
_hooks.register_display("run", _run_widget)
_hooks.register_display("live", _live_view)
