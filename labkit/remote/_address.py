"""``pva://host[:port]/NAME``: where a remote instrument is served, as one short string.

``NAME`` is the server's prefix followed by the instrument's name (``LAB1:smu``), exactly
the start of that instrument's PV names. With a port, the client asks that server directly
over TCP (pvAccess name servers); without one, it searches ``host`` over UDP on the standard
port (5076), as EPICS tools do.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

from labkit.core import ConfigurationError

__all__ = ["SCHEME", "RemoteAddress", "parse_address"]

SCHEME = "pva"
_NAME = re.compile(r"^[A-Za-z0-9_\-:.\[\]<>;{}]+$")


@dataclasses.dataclass(frozen=True)
class RemoteAddress:
    """A parsed ``pva://`` address."""

    host: str
    port: int | None
    name: str

    @property
    def server(self) -> str:
        """``host:port`` (or ``host``): how messages name the server."""
        return f"{self.host}:{self.port}" if self.port else self.host

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.server}/{self.name}"

    def client_conf(self) -> dict[str, str]:
        """The p4p client configuration (EPICS_PVA_* keys) that reaches this server only."""
        if self.port:
            return {
                "EPICS_PVA_NAME_SERVERS": f"{self.host}:{self.port}",
                "EPICS_PVA_ADDR_LIST": "",
                "EPICS_PVA_AUTO_ADDR_LIST": "NO",
            }
        return {"EPICS_PVA_ADDR_LIST": self.host, "EPICS_PVA_AUTO_ADDR_LIST": "NO"}

    def __str__(self) -> str:
        return self.url


def parse_address(address: str) -> RemoteAddress:
    """Parse ``pva://host[:port]/PREFIXinstrument``; a malformed one raises ConfigurationError."""
    hint = "Write pva://HOST[:PORT]/PREFIXINSTRUMENT, for example pva://127.0.0.1:5075/LAB1:smu"
    if not isinstance(address, str) or not address.startswith(f"{SCHEME}://"):
        raise ConfigurationError(f"{address!r} is not a pva:// address", hint=hint)
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{address!r} has an invalid port", hint=hint) from None
    host = parts.hostname
    name = parts.path.lstrip("/")
    if not host:
        raise ConfigurationError(f"{address!r} names no host", hint=hint)
    if not name or not _NAME.match(name) or parts.query or parts.fragment:
        raise ConfigurationError(f"{address!r} names no instrument PV prefix", hint=hint)
    return RemoteAddress(host=host, port=port, name=name)
