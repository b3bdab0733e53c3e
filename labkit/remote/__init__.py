"""labkit.remote: instruments shared over EPICS pvAccess (p4p).

:func:`serve` publishes a station's instruments as PVs (``labkit serve STATION --prefix P``);
the serving process keeps every guard. The names here that talk pvAccess load p4p when first
used, so ``labkit --help`` and the pure parts (addresses, access grants) work without it.
"""

from __future__ import annotations

from labkit.core._lazy import lazy_names
from labkit.remote._access import AccessPolicy, Client, Grant
from labkit.remote._address import RemoteAddress, parse_address
from labkit.remote._claims import Claims
from labkit.remote._config import DEFAULT_PORT, ServeConfig, serve_config
from labkit.remote._process import ServerProcess, serve_in_background

_LAZY = {
    "RemoteCamera": "labkit.remote._remote_camera",
    "RemoteChannel": "labkit.remote._instrument",
    "RemoteInstrument": "labkit.remote._instrument",
    "PvaLink": "labkit.remote._link",
    "RemoteRefused": "labkit.remote._link",
    "Server": "labkit.remote._server",
    "serve": "labkit.remote._server",
}

__all__ = [
    "DEFAULT_PORT",
    "AccessPolicy",
    "Claims",
    "Client",
    "Grant",
    "RemoteAddress",
    "ServeConfig",
    "ServerProcess",
    "parse_address",
    "serve_config",
    "serve_in_background",
    *_LAZY,
]


__getattr__ = lazy_names(globals(), _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
