"""``MessageInstrument``: an instrument that talks in messages over a :class:`Transport`.

Most lab instruments are message-based: SCPI over GPIB, USB-TMC or LAN, and every serial
protocol (``KEY=value`` / ``OK``). Their link is a :class:`~labkit.core.Transport` (pyvisa,
pyserial, pyusb, picked by the address) and their declarations may use command templates
(``get="VOLT?"``, ``set="VOLT {}"``). This class gives them typed message I/O —
:meth:`~MessageInstrument.write`, :meth:`~MessageInstrument.query`,
:meth:`~MessageInstrument.read_message`, :meth:`~MessageInstrument.write_bytes`,
:meth:`~MessageInstrument.read_bytes` — on the instrument's worker, with the one rule message
links need: after a timeout a late reply may still arrive, so the input is cleared before the
next exchange rather than taken for its answer.

Raw messages from outside the instrument's own code pass the guards first
(:mod:`._raw`): a declared setting's command is checked like a set, and where locks, soft
limits or interlocks are in force anything labkit cannot check needs ``raw_access``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from labkit.core._errors import ConfigurationError, InstrumentTimeout, LabkitError
from labkit.core._instrument import Instrument
from labkit.core._raw import check_raw, refuse_wrong_key, split_commands
from labkit.core._transport import Transport

__all__ = ["MessageInstrument"]

T = TypeVar("T")

_raw_keys = threading.local()  # {id(root instrument): key} of raw_access blocks, per thread
_NO_KEY = object()


class MessageInstrument(Instrument):
    """An instrument whose link is a message :class:`~labkit.core.Transport`.

    Driver methods (``_get_<name>``, ``_set_<name>``, actions) call ``self.query(...)``,
    ``self.write(...)``...; called from the worker (where those methods run) they run at once,
    from anywhere else they queue on it, so two cells, a panel and a run never interleave
    half-commands.
    """

    _labkit_api = True

    @property
    def transport(self) -> Transport:
        """The message link (the same object as :attr:`link`)."""
        return self.link

    def _greet(self) -> None:
        link = self.link
        if not isinstance(link, Transport):
            raise ConfigurationError(
                f"{type(self).__name__} talks in messages, but its link "
                f"{type(link).__name__} is not a Transport",
                instrument=self.name,
                hint="Open it from an instrument address (GPIB0::24::INSTR, ASRL/dev/ttyUSB0...)",
            )
        super()._greet()

    # ------------------------------------------------------------------ message I/O

    def write(self, message: str) -> None:
        """Send a message to the instrument (on its worker thread).

        From outside the instrument's own code it is checked first (:meth:`check_message`):
        a declared setting's command like a set, and, where guards are in force, anything
        labkit cannot check only inside :meth:`raw_access`.
        """
        if self._worker.on_worker():  # the instrument's own code: what a checked set sends
            self.__on_link(_write, (message,))
            return
        checked = self.check_message(message)
        # Nothing may come between the message and the error check (a panel's read would
        # take the instrument's complaint for its own); a message carrying a query is not
        # followed by one: its reply waits to be read, and a new command would discard it.
        commands = split_commands(message)
        audit = bool(commands) and not any(_asks(command) for command in commands)
        self.__raw(_write, message, checked, audit)

    def query(self, message: str) -> str:
        """Send a message and return the reply (on the worker thread); checked as in
        :meth:`write` (plain queries always pass). A message that also sets something
        (``:SOUR:VOLT 1;*OPC?``) has the instrument's error queue read after the reply."""
        if self._worker.on_worker():
            return self.__on_link(_query, (message,))
        checked = self.check_message(message)
        audit = not all(_asks(c) for c in split_commands(message))
        return self.__raw(_query, message, checked, audit)

    def read_message(self) -> str:
        """Read one message the instrument sent (after a write)."""
        return self.__exchange(_read)

    def write_bytes(self, data: bytes) -> None:
        """Send raw bytes, no termination added (where guards are in force, only inside
        :meth:`raw_access`)."""
        data = bytes(data)
        self.__guard(data)
        self.__exchange(_write_bytes, data)

    def read_bytes(self, size: int) -> bytes:
        """Read exactly ``size`` raw bytes."""
        return self.__exchange(_read_bytes, size)

    def clear(self) -> None:
        """Discard anything the instrument sent that nobody read (a late reply)."""
        self.__exchange(_clear)

    # ------------------------------------------------------------------ the guards on raw I/O

    def check_message(self, message: str | bytes) -> list[tuple[Any, Any]]:
        """Refuse ``message`` as :meth:`write` would (raising the same error), sending
        nothing; returns the declared settings it sets, with their checked values.

        Drivers call it before sending a message a user gave them from the worker
        (``tc.command(...)``), where :meth:`write` trusts what it is given.
        """
        root = self.parent or self
        key = getattr(_raw_keys, "keys", {}).get(id(root), _NO_KEY)
        if key is _NO_KEY:
            return check_raw(root, message, key=None, raw_access=False)
        return check_raw(root, message, key=key, raw_access=True)

    @contextlib.contextmanager
    def raw_access(self, key: str | None = None) -> Iterator[Any]:
        """Within the block (on this thread), raw messages labkit cannot check go through
        the guards in force: an instructor's locks need their ``key``; soft limits and
        interlocks only this explicit block. A declared setting's command is still checked
        like a set, and the key never lifts a lock. ``with smu.raw_access("s3cret"): ...``
        """
        root = self.parent or self
        if key is not None:
            refuse_wrong_key(root, key)
        keys = _raw_keys.__dict__.setdefault("keys", {})
        before = keys.get(id(root), _NO_KEY)
        keys[id(root)] = key
        try:
            yield self
        finally:
            if before is _NO_KEY:
                keys.pop(id(root), None)
            else:
                keys[id(root)] = before

    def after_raw_message(self, message: str, settings: list[str], reply: str | None) -> None:
        """A driver's hook, called on the worker right after a raw message from outside the
        instrument's code that sets something (``settings``: the declared ones it sets;
        ``reply``: what :meth:`query` read, None after :meth:`write`): an instrument with an
        error queue reads it here, one that answers every command reads or parses its answer,
        and either raises what the instrument refused, as after a set."""

    def __raw(
        self, call: Callable[..., T], message: str, checked: list[tuple[Any, Any]], audit: bool
    ) -> T:
        """A checked raw message sent, the error queue read if ``audit``, then what it set
        stored — all one job on the worker (the store on this thread, as a set's)."""

        def exchange() -> T:
            result = self.__on_link(call, (message,))
            if audit:
                root = self.parent or self  # a channel's messages go to its instrument's queue
                names = [handle.full_name for handle, _ in checked]
                reply = result if isinstance(result, str) else None
                root.run_io(root.after_raw_message, message, names, reply)  # errors name it
            return result

        self.require_connected()
        result = self._worker.call(exchange)
        _store(checked)
        return result

    def __guard(self, message: str | bytes) -> list[tuple[Any, Any]]:
        if self._worker.on_worker():  # the instrument's own code: what a checked set sends
            return []
        return self.check_message(message)

    def __exchange(self, call: Callable[..., T], *args: Any) -> T:
        if self._worker.on_worker():
            return self.__on_link(call, args)
        self.require_connected()
        return self._worker.call(self.__on_link, call, args)

    def __on_link(self, call: Callable[..., T], args: tuple[Any, ...]) -> T:
        root = self.parent or self
        transport = self.link
        try:
            if root.stale_input:
                root.stale_input = False
                transport.clear()
            return call(transport, *args)
        except LabkitError as error:
            raise self._link_failed(error) from None

    def _link_failed(self, error: LabkitError) -> LabkitError:
        if isinstance(error, InstrumentTimeout):
            (self.parent or self).stale_input = True  # a late reply must not answer the next query
        return super()._link_failed(error)

    stale_input: bool = False
    """A reply may still be on its way after a timeout: clear the input before the next
    exchange (set by the message I/O, cleared by a reconnect)."""

    def _open_on_worker(self) -> None:
        self.stale_input = False
        super()._open_on_worker()


def _store(checked: list[tuple[Any, Any]]) -> None:
    """What a raw message set, stored as a set's acknowledged value would be."""
    for handle, value in checked:
        handle.instrument.store(handle.name, value)


def _asks(command: str) -> bool:
    """A query: its reply waits in the instrument's output queue (``*OPC?``, ``VOLT?``)."""
    return command.partition(" ")[0].endswith("?")


def _write(transport: Transport, message: str) -> None:
    transport.write(message)


def _query(transport: Transport, message: str) -> str:
    return transport.query(message)


def _read(transport: Transport) -> str:
    return transport.read()


def _write_bytes(transport: Transport, data: bytes) -> None:
    transport.write_bytes(data)


def _read_bytes(transport: Transport, size: int) -> bytes:
    return transport.read_bytes(size)


def _clear(transport: Transport) -> None:
    transport.clear()
