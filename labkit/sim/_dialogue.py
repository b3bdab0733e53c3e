"""``Dialogue``: a scripted instrument for protocol tests — fixed replies, every message kept.

A driver's protocol test states the commands it must send and the replies it must parse::

    dialogue = serve("smu", Dialogue({"*IDN?": "KEITHLEY INSTRUMENTS INC.,MODEL 2450,1,1",
                                      ":SOUR:VOLT?": "+1.500000E+00"}))
    smu = Keithley2450("labsim://smu")
    dialogue.sent.clear()
    smu.source_voltage = 2
    assert dialogue.sent == [":SOUR:VOLT 2", ":SYST:ERR?"]

Replies are strings, or functions of the message (for set commands that change what a later
query returns). A message with no reply is kept and answered with nothing, as a set command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from labkit.sim._virtual import VirtualInstrument

__all__ = ["Dialogue"]

Reply = str | Callable[[str], "str | None"] | None


class Dialogue(VirtualInstrument):
    """Answers messages from a table; ``sent`` lists every message received, in order.

    Keys are exact messages, or compiled regular expressions matched against the whole
    message (their function replies get the match). ``errors`` is the reply to the error
    query, popped in order, then ``no_error``.
    """

    def __init__(
        self,
        replies: Mapping[Any, Reply] | None = None,
        *,
        name: str | None = None,
        error_query: str | None = ":SYST:ERR?",
        no_error: str = '+0,"No error"',
        termination: str = "\n",
    ) -> None:
        super().__init__(name)
        self.replies: dict[Any, Reply] = dict(replies or {})
        self.sent: list[str] = []
        self.errors: list[str] = []
        self.error_query = error_query
        self.no_error = no_error
        self.read_termination = termination
        self.write_termination = termination

    def handle(self, message: str) -> str | None:
        self.sent.append(message)
        if self.error_query is not None and _same(message, self.error_query):
            return self.errors.pop(0) if self.errors else self.no_error
        if message in self.replies:
            return _answer(self.replies[message], message)
        for key, reply in self.replies.items():
            if isinstance(key, re.Pattern):
                match = key.fullmatch(message)
                if match:
                    return _answer(reply, match)
        return None


def _answer(reply: Reply, argument: Any) -> str | None:
    return reply(argument) if callable(reply) else reply


def _same(message: str, query: str) -> bool:
    """Equal as SCPI headers: case and a leading colon do not matter."""
    return message.upper().lstrip(":") == query.upper().lstrip(":")
