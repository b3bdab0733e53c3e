"""labkit: run lab experiments from Jupyter notebooks.

Importing labkit is cheap: it loads the instrument model and nothing heavy. Drivers, runs,
storage and widgets load on first use (``labkit.ScpiInstrument``, ``labkit.sweep`` ...).
"""

from __future__ import annotations

import importlib
from typing import Any

from labkit.core import (
    AccessError,
    Action,
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
    MissingVendorLibrary,
    NotConnectedError,
    PluginError,
    RampInterrupted,
    Reading,
    ReplyError,
    Setting,
    SettingTypeError,
    Transport,
    UnitError,
    ValidationError,
    _hooks,
    close_all,
    instruments,
)

__version__ = "0.1.0"

# Names loaded on first use: "name": "module" (the attribute has the same name there).
_LAZY = {
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
    "run": "labkit.runs",
    "sweep": "labkit.runs",
    "timeseries": "labkit.runs",
}

__all__ = [
    "AccessError",
    "Action",
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
    "MissingVendorLibrary",
    "NotConnectedError",
    "PluginError",
    "RampInterrupted",
    "Reading",
    "ReplyError",
    "Setting",
    "SettingTypeError",
    "Transport",
    "UnitError",
    "ValidationError",
    "__version__",
    "close_all",
    "instruments",
    "open_transport",
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
    "transports",
    "ui",
}


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"labkit.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def open_transport(resource: str, options: Any = None) -> Transport:
    """Open the transport for ``resource`` (``GPIB0::24::INSTR``, ``labsim://tc``,
    ``usb:0x2457:0x101e``...) with ``options``, simulators included; drivers get theirs so."""
    return _open_transport(resource, options or {})


def _open_transport(resource: str, options: Any) -> Transport:
    # The simulators sit beneath pyserial: tell pyserial where labkit's URL handlers live
    # before any URL is opened, so "labsim://name" resolves like any pyserial URL.
    from labkit import transports

    kind = transports.kind_of_address(resource)
    if kind.name == "serial" and "://" in resource:
        import serial

        if "labkit.sim.serial_handlers" not in serial.protocol_handler_packages:
            serial.protocol_handler_packages.append("labkit.sim.serial_handlers")
    return transports.open_transport(resource, options)


def _instrument_panel(instrument: Instrument) -> Any:
    from labkit.ui import instrument_panel

    return instrument_panel(instrument)


def _run_widget(run: Any) -> Any:
    from labkit.ui import RunWidget

    return RunWidget(run)


def _live_view(run: Any) -> Any:
    from labkit.ui import live_view

    return live_view(run)


_hooks.register_transport_opener(_open_transport)
_hooks.register_display("panel", _instrument_panel)
_hooks.register_display("run", _run_widget)
_hooks.register_display("live", _live_view)
