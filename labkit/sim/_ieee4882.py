"""IEEE 488.2 as an instrument keeps it: the error queue, the status bytes, common commands.

Every simulated SCPI instrument (a twin written from its manual, :class:`~._scpi_twin.ScpiTwin`,
or a simulator generated from a driver's declarations, :class:`~._scpi.ScpiSimulator`) answers
messages through this one engine, so they agree with the standard and with each other:

- a program message is split at ``;`` outside quotes; each command is answered in turn and the
  replies joined with ``;`` (IEEE 488.2 §8.4.1);
- a refused command queues an error and the rest of the message goes on; the queue holds
  ``error_queue_size`` entries, and when it is full the newest entry is replaced by
  ``-350,"Queue overflow"`` (SCPI-99 §21.8.3: the queue keeps its oldest errors and says it
  overflowed);
- an error sets its bit of the standard event status register (command error -1xx: bit 5,
  execution error -2xx: bit 4, device-dependent: bit 3), read and cleared by ``*ESR?``;
  ``*STB?`` has the error/event queue bit (2) while errors are queued; ``*CLS`` empties the
  queue and the register; ``*RST`` resets the instrument's settings and leaves the queue alone
  (IEEE 488.2 §10.32: it does not affect the output or error queues);
- an injected ``error`` fault refuses the next command with the given code, as the instrument
  would refuse it.

Subclasses answer the instrument's own commands in :meth:`Ieee4882Instrument.execute`.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from typing import ClassVar

from labkit.sim._virtual import VirtualInstrument

__all__ = ["Ieee4882Instrument", "ScpiError", "split_commands", "split_parameters"]

_COMMON = re.compile(r"^\*[A-Z]+\??$", re.IGNORECASE)

_COMMAND_ERROR = 0x20
_EXECUTION_ERROR = 0x10
_DEVICE_ERROR = 0x08
_QUEUE_NOT_EMPTY = 0x04


class ScpiError(Exception):
    """Raised inside a simulator's command handler to queue a SCPI error."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code},{message}")


def _split(text: str, separator: str) -> list[str]:
    """``text`` cut at ``separator`` outside quotes, each piece stripped."""
    pieces: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == separator:
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    pieces.append("".join(current).strip())
    return pieces


def split_commands(message: str) -> Iterator[str]:
    """Split a SCPI program message at ``;`` outside quotes (an empty last one is dropped)."""
    pieces = _split(message, ";")
    if not pieces[-1]:
        pieces.pop()
    yield from pieces


def split_parameters(text: str) -> list[str]:
    """``'1,"a,b", 2'`` → ``['1', '"a,b"', '2']`` (commas inside quotes stay)."""
    pieces = _split(text, ",")
    return [] if pieces == [""] else pieces


class Ieee4882Instrument(VirtualInstrument):
    """A virtual instrument speaking IEEE 488.2 (see the module doc)."""

    identity: str = "labkit,Ieee4882Instrument,0,0"
    """The ``*IDN?`` reply (a class attribute of a twin, or given to a generated simulator)."""
    error_queue_size: ClassVar[int] = 20

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.errors: collections.deque[tuple[int, str]] = collections.deque()
        self.event_status = 0

    # -- errors ---------------------------------------------------------------------------

    def push_error(self, code: int, message: str) -> None:
        """Queue an error; a full queue keeps its oldest entries and ends with -350."""
        if len(self.errors) >= self.error_queue_size:
            self.errors[-1] = (-350, "Queue overflow")
        else:
            self.errors.append((code, message))
        if -199 <= code <= -100:
            self.event_status |= _COMMAND_ERROR
        elif -299 <= code <= -200:
            self.event_status |= _EXECUTION_ERROR
        else:
            self.event_status |= _DEVICE_ERROR

    def format_error(self, code: int, message: str) -> str:
        """How the instrument writes one error queue entry (override for other formats)."""
        return f'{code:+d},"{message}"'

    def next_error(self) -> str:
        """``SYSTem:ERRor[:NEXT]?``: the oldest error, removed from the queue."""
        if not self.errors:
            return self.format_error(0, "No error")
        code, message = self.errors.popleft()
        return self.format_error(code, message)

    # -- hooks for subclasses -------------------------------------------------------------

    def reset(self) -> None:
        """``*RST``: back to the power-on settings (subclasses extend)."""

    def trigger(self) -> None:
        """``*TRG`` or a bus trigger."""

    def complete_pending(self) -> None:
        """``*OPC?``, ``*OPC`` or ``*WAI``: finish the operations in progress (a sweep, a
        triggered acquisition) before answering, as the instrument does; subclasses that run
        such operations add their time with ``busy_for``."""

    def execute(self, command: str) -> str | None:
        """Answer one of the instrument's own (not common) commands; raise ScpiError to refuse."""
        raise ScpiError(-113, "Undefined header")

    def common(self, head: str, parameters: list[str]) -> str | None:
        """Other common commands (``*LANG?``...): override; the default refuses them."""
        raise ScpiError(-113, "Undefined header")

    def fault_applies(self, command: str) -> bool:
        """Whether an injected ``error`` fault refuses ``command`` (by default any command)."""
        return True

    def message_started(self) -> None:
        """A new program message begins (a SCPI path starts again at the root)."""

    # -- messages -------------------------------------------------------------------------

    def handle(self, message: str) -> str | None:
        replies: list[str] = []
        self.message_started()
        for command in split_commands(message):
            if not command:
                continue
            fault = self.faults.take("error") if self.fault_applies(command) else None
            if fault is not None:
                self.push_error(fault.code, fault.message)
                continue
            try:
                reply = self.__answer(command)
            except ScpiError as error:
                self.push_error(error.code, error.message)
                continue
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def __answer(self, command: str) -> str | None:
        head, _, rest = re.sub(r"\s", " ", command.strip(), count=1).partition(" ")
        if _COMMON.match(head):
            parameters = split_parameters(rest.strip()) if rest.strip() else []
            return self.__common(head.upper(), parameters)
        return self.execute(command)

    def __common(self, head: str, parameters: list[str]) -> str | None:
        if head == "*IDN?":
            return self.identity
        if head == "*RST":
            self.reset()
            return None
        if head == "*CLS":
            self.errors.clear()
            self.event_status = 0
            return None
        if head == "*OPC?":
            self.complete_pending()
            return "1"
        if head in ("*OPC", "*WAI"):
            self.complete_pending()
            return None
        if head in ("*ESE", "*SRE"):
            return None
        if head == "*ESR?":
            status, self.event_status = self.event_status, 0
            return str(status)
        if head == "*STB?":
            return str(_QUEUE_NOT_EMPTY if self.errors else 0)
        if head in ("*ESE?", "*SRE?", "*TST?"):
            return "0"
        if head == "*TRG":
            self.trigger()
            return None
        return self.common(head, parameters)
