"""Who may read and write a served station: the grants of its ``serve: access:`` section.

pvAccess tells a server two things about a client: the address its connection comes from
(checked by TCP, so as good as the network is trusted) and, with each operation, the account
name the client *claims* (not authenticated; see docs/concepts/trust-model.md). A write is allowed
only if a grant matches the client's account (or one of its groups, looked up on the server)
and host, and covers the PV; nothing is writable unless the station says so. Reads are open
by default; they can be restricted by host only, because a pvAccess server learns the
account only with an operation, after the channel exists.

Everything here is pure: hosts are resolved to addresses when the policy is made, so
deciding is a lookup, and the reason for a refusal is a sentence for the client.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labkit.core import ConfigurationError

__all__ = ["AccessPolicy", "Client", "Grant", "host_of_peer"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass(frozen=True)
class Client:
    """What a pvAccess server knows of the client of one operation."""

    account: str
    host: str
    groups: frozenset[str] = frozenset()
    peer: str = ""

    @classmethod
    def of(cls, peer: str, account: str = "", groups: Iterable[str] = ()) -> Client:
        return cls(account=account, host=host_of_peer(peer), groups=frozenset(groups), peer=peer)

    def describe(self) -> str:
        who = f"account {self.account!r}" if self.account else "an anonymous client"
        return f"{who} at {self.host}"


def host_of_peer(peer: str) -> str:
    """``127.0.0.1`` from ``127.0.0.1:50312``, ``::1`` from ``[::1]:50312``."""
    if peer.startswith("["):
        return peer[1:].partition("]")[0]
    host, sep, port = peer.rpartition(":")
    return host if sep and port.isdigit() and host else peer


@dataclasses.dataclass(frozen=True)
class Grant:
    """One line of a station's access section: who (account or group), from where, to what."""

    accounts: tuple[str, ...] = ("*",)
    groups: tuple[str, ...] = ()
    hosts: tuple[Network, ...] = ()
    any_host: bool = False
    only: tuple[str, ...] = ()  # "smu", "smu.source_voltage", "psu.p6v.*"; empty: everything
    text: str = ""

    def covers(self, target: str) -> bool:
        """Whether ``target`` (``smu.source_voltage``) is one of the PVs this grant is for."""
        if not self.only:
            return True
        return any(
            fnmatch.fnmatchcase(target, pattern) or target.startswith(pattern + ".")
            for pattern in self.only
        )

    def admits_host(self, host: str) -> bool:
        if self.any_host:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.hosts)

    def admits(self, client: Client) -> bool:
        if not self.admits_host(client.host):
            return False
        if self.groups and client.groups & set(self.groups):
            return True
        return any(fnmatch.fnmatchcase(client.account, pattern) for pattern in self.accounts)


@dataclasses.dataclass(frozen=True)
class AccessPolicy:
    """The read and write grants of a served station (read-only and open to read by default)."""

    write: tuple[Grant, ...] = ()
    read: tuple[Grant, ...] | None = None  # None: anyone may read
    source: str = "the station"

    @classmethod
    def from_config(
        cls, access: Mapping[str, Any] | None, *, source: str = "the station"
    ) -> AccessPolicy:
        """Build from a station's ``serve: access:`` mapping (hosts resolved now)."""
        access = dict(access or {})
        unknown = set(access) - {"read", "write"}
        if unknown:
            raise ConfigurationError(
                f"serve.access has unknown keys {sorted(unknown)}", hint="Use read: and write:"
            )
        write = tuple(_grant(entry, "write") for entry in _entries(access.get("write"), "write"))
        read_entries = access.get("read", "anyone")
        read = None
        if read_entries != "anyone":
            read = tuple(_grant(entry, "read") for entry in _entries(read_entries, "read"))
            for grant in read:
                if grant.groups or grant.accounts != ("*",):
                    raise ConfigurationError(
                        f"serve.access.read: {grant.text} names an account or group",
                        hint="A pvAccess server learns the client's account only with each "
                        "operation, not when a channel opens: restrict reads by host",
                    )
        return cls(write=write, read=read, source=source)

    def refuse_write(self, client: Client, target: str) -> str | None:
        """None if ``client`` may write ``target`` (``smu.source_voltage``); else why not."""
        for grant in self.write:
            if grant.covers(target) and grant.admits(client):
                return None
        if not self.write:
            why = f"{self.source} serves it read-only (no serve.access.write grants)"
        else:
            why = f"no serve.access.write grant of {self.source} covers it for this client"
        return f"write to {target} refused for {client.describe()}: {why}"

    def refuse_read(self, host: str, target: str) -> str | None:
        """None if a client at ``host`` may read ``target``; else why not."""
        if self.read is None:
            return None
        for grant in self.read:
            if grant.covers(target) and grant.admits_host(host):
                return None
        return (
            f"read of {target} refused for a client at {host}: no serve.access.read grant of "
            f"{self.source} admits this host"
        )

    def describe(self) -> list[str]:
        """Lines for ``labkit serve`` to print: who may write and read."""
        lines = []
        if not self.write:
            lines.append("writes: refused to everyone (read-only; see serve.access.write)")
        for grant in self.write:
            lines.append(f"writes: {grant.text}")
        if self.read is None:
            lines.append("reads: anyone who can reach the server")
        else:
            lines.extend(f"reads: {grant.text}" for grant in self.read)
        return lines


def _entries(value: Any, section: str) -> Sequence[Mapping[str, Any]]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, Mapping) for v in value):
        return value
    raise ConfigurationError(
        f"serve.access.{section} must be a list of grants, not {value!r}",
        hint="e.g. - {account: alice, host: 127.0.0.1}",
    )


def _strings(value: Any, key: str, section: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigurationError(f"serve.access.{section}: {key} must be text or a list of text")


def _grant(entry: Mapping[str, Any], section: str) -> Grant:
    known = {"account", "group", "host", "only"}
    unknown = set(entry) - known
    if unknown:
        raise ConfigurationError(
            f"serve.access.{section}: unknown keys {sorted(unknown)} in {dict(entry)}",
            hint=f"A grant has {', '.join(sorted(known))}",
        )
    hosts = _strings(entry.get("host"), "host", section)
    if not hosts:
        raise ConfigurationError(
            f"serve.access.{section}: the grant {dict(entry)} names no host",
            hint="Say where the client may be: host: 127.0.0.1, a network 10.0.0.0/24, "
            "a host name, or '*' for anywhere",
        )
    accounts = _strings(entry.get("account"), "account", section)
    groups = _strings(entry.get("group"), "group", section)
    if section == "write" and not accounts and not groups:
        raise ConfigurationError(
            f"serve.access.write: the grant {dict(entry)} names no account or group",
            hint="Say who may write: account: alice, group: instructors, or account: '*'",
        )
    networks: list[Network] = []
    for host in hosts:
        if host != "*":
            networks.extend(_resolve(host, section))
    only = _strings(entry.get("only"), "only", section)
    text = ", ".join(f"{k}={v}" for k, v in entry.items())
    return Grant(
        accounts=accounts or (("*",) if not groups else ()),
        groups=groups,
        hosts=tuple(networks),
        any_host="*" in hosts,
        only=only,
        text=text,
    )


def _resolve(host: str, section: str) -> list[Network]:
    try:
        return [ipaddress.ip_network(host, strict=False)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as error:
        raise ConfigurationError(
            f"serve.access.{section}: the host {host!r} cannot be resolved ({error})",
            hint="Give an address (10.0.0.5), a network (10.0.0.0/24) or a known host name",
        ) from None
    return sorted(
        {ipaddress.ip_network(str(info[4][0]).split("%")[0]) for info in infos},
        key=str,
    )
