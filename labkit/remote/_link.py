"""``PvaLink``: labkit's client side of pvAccess, for one server.

A thin, typed wrapper over a p4p client context: get, put, read-now (RPC) and monitor with
timeouts, and p4p's failures turned into labkit's errors naming the server — a server that
does not answer or went away is :class:`~labkit.core.ConnectionLost`, a request the server
refused is :class:`RemoteRefused` with the server's own reason. p4p reconnects by itself
when the server is back; :attr:`connected` follows the server's status PV, and observers
registered with :meth:`on_connection` hear both the loss and the return.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from p4p.client.thread import Context, Disconnected, RemoteError

from labkit.core import ConnectionLost, InstrumentError
from labkit.remote._address import RemoteAddress, parse_address
from labkit.remote._subscribe import SafeStartContext

__all__ = ["PvaLink", "RemoteRefused"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0


class RemoteRefused(InstrumentError):
    """The server refused a request (its guards, the station's grants, another run's claim);
    the message is the server's own."""


class PvaLink:
    """The client of one pvAccess server (``pva://host[:port]/NAME`` or a parsed address).

    It follows labkit's link protocol (``resource``, ``is_open``, ``open()``, ``close()``), so
    an instrument can hold it like any other link; ``connect=False`` leaves opening to it.
    """

    def __init__(
        self,
        address: RemoteAddress | str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect: bool = True,
    ) -> None:
        self.address = parse_address(address) if isinstance(address, str) else address
        self.resource = self.address.url
        self.timeout = timeout
        self._context: Context | None = None
        self._subscriptions: list[Any] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._listeners: list[Callable[[bool], None]] = []
        self._watch: Any = None
        if connect:
            self.open()

    @property
    def server(self) -> str:
        return self.address.server

    @property
    def is_open(self) -> bool:
        return self._context is not None

    def open(self) -> None:
        """Make the client context (p4p finds the server and reconnects by itself)."""
        if self._context is None:
            self._context = SafeStartContext(
                "pva", conf=self.address.client_conf(), useenv=False, nt=False
            )

    # -- requests ---------------------------------------------------------------------------

    def get(self, name: str, *, timeout: float | None = None) -> Any:
        """The PV's value (a p4p Value: ``v["value"]``, ``v.todict()``)."""
        return self._call(name, "get", lambda c: c.get(name, timeout=timeout or self.timeout))

    def get_many(
        self, names: list[str], *, request: str | None = None, timeout: float | None = None
    ) -> list[Any]:
        """Several PVs at once (in parallel on the wire); ``request`` picks fields
        (``"field(display.units)"``)."""
        values: list[Any] = self._call(
            ", ".join(names),
            "get",
            lambda c: c.get(
                names,
                request=None if request is None else [request] * len(names),
                timeout=timeout or self.timeout,
            ),
        )
        return values

    def put(self, name: str, value: Any, *, timeout: float | None = None) -> None:
        """Put and wait until the server completed it (for a setting: acknowledged)."""
        self._call(
            name,
            "put",
            lambda c: c.put(name, value, timeout=timeout or self.timeout, wait=True, get=False),
        )

    def rpc(self, name: str, argument: Any, *, timeout: float | None = None) -> Any:
        return self._call(
            name, "call", lambda c: c.rpc(name, argument, timeout=timeout or self.timeout)
        )

    def read_now(self, name: str, *, timeout: float | None = None) -> Any:
        """Ask the server to read the instrument now; returns the PV's fresh value."""
        from labkit.remote._types import make_value, text_type

        argument = make_value(text_type(), {"value": "read"})
        return self.rpc(name, argument, timeout=timeout)

    def call(self, name: str, arguments: Mapping[str, str], *, timeout: float | None = None) -> Any:
        """An RPC with keyword arguments (an NTURI, as p4p's CLI sends them)."""
        from p4p.nt import NTURI

        uri = NTURI([(key, "s") for key in arguments]).wrap(name, kws=dict(arguments))
        return self.rpc(name, uri, timeout=timeout)

    def _call(self, name: str, verb: str, request: Callable[[Context], Any]) -> Any:
        context = self._context
        if context is None:
            raise ConnectionLost(f"the link to {self.server} was closed", resource=self.address.url)
        try:
            return request(context)
        except TimeoutError:
            raise ConnectionLost(
                f"no answer from the pvAccess server {self.server} to {verb} {name}",
                resource=self.address.url,
                hint="Check that `labkit serve` runs there and serves that name; "
                "the link reconnects by itself when the server is back",
            ) from None
        except Disconnected:
            raise self.lost(name) from None
        except RemoteError as error:
            raise RemoteRefused(str(error), resource=self.address.url) from None

    def lost(self, name: str = "") -> ConnectionLost:
        what = f" ({name})" if name else ""
        return ConnectionLost(
            f"lost the pvAccess server {self.server}{what}",
            resource=self.address.url,
            hint="It reconnects by itself when the server is back",
        )

    # -- what the server declares -------------------------------------------------------------

    def describe(self) -> Any:
        """The served instrument this link's address names, as its PVs describe it."""
        from labkit.remote._describe import fetch

        return fetch(self, self.address.name)

    def declarations(self) -> list[tuple[str, Any]]:
        """The instrument's declarations, with accessors using the instrument's link (the
        instrument model asks a declaring link this when its instrument connects)."""
        from labkit.remote._declare import remote_declarations

        return remote_declarations(self.describe(), lambda instrument: instrument.link)

    # -- monitors and the connection -----------------------------------------------------------

    def monitor(
        self,
        name: str,
        callback: Callable[[Any], None],
        *,
        request: str | None = None,
        connected: bool = False,
    ) -> Any:
        """Call ``callback(value)`` on each update, and ``callback(ConnectionLost)`` when the
        server goes away (updates resume when it is back). Returns the subscription.

        ``connected``: the server was just reached, so a disconnect before the first update
        is a loss too (p4p also reports "disconnected" before a channel first connects)."""
        if self._context is None:
            raise ConnectionLost(f"the link to {self.server} was closed", resource=self.address.url)

        up = [connected]

        def event(value: Any) -> None:
            if isinstance(value, Disconnected):
                if up[0]:
                    up[0] = False
                    callback(self.lost(name))
            elif isinstance(value, Exception):
                callback(RemoteRefused(str(value), resource=self.address.url))
            else:
                up[0] = True
                callback(value)

        subscription = self._context.monitor(name, event, request=request, notify_disconnect=True)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def watch_connection(self, status_pv: str) -> None:
        """Follow ``status_pv`` (an instrument's ``_status``) to know whether the server is
        there; returns once its first update arrived (or the timeout passed without one)."""
        if self._watch is not None:
            return

        def event(value: Any) -> None:
            up = not isinstance(value, Exception)
            if up == self._connected.is_set():
                return
            (self._connected.set if up else self._connected.clear)()
            for listener in list(self._listeners):
                try:
                    listener(up)
                except Exception:
                    log.exception("a connection listener of %s failed", self.server)

        self._watch = self.monitor(status_pv, event)
        self._connected.wait(self.timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(self.timeout if timeout is None else timeout)

    def on_connection(self, listener: Callable[[bool], None]) -> None:
        """``listener(True/False)`` when the server comes back or goes away."""
        self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()
        context, self._context = self._context, None
        if context is not None:
            context.close()
        self._connected.clear()
        self._watch = None

    def __enter__(self) -> PvaLink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
