"""labkit.remote: instruments shared over EPICS pvAccess (p4p).

:func:`serve` publishes a station's instruments as PVs (``labkit serve STATION --prefix P``);
the serving process keeps every guard. Importing this package imports p4p; ``import labkit``
does not.
"""

from labkit.remote._access import AccessPolicy, Client, Grant
from labkit.remote._address import RemoteAddress, parse_address
from labkit.remote._claims import Claims
from labkit.remote._config import DEFAULT_PORT, ServeConfig, serve_config
from labkit.remote._server import Server, serve

__all__ = [
    "DEFAULT_PORT",
    "AccessPolicy",
    "Claims",
    "Client",
    "Grant",
    "RemoteAddress",
    "ServeConfig",
    "Server",
    "parse_address",
    "serve",
    "serve_config",
]
