"""SCPI (IEEE 488.2) instruments: identification, reset and the error queue, once for all.

With :class:`ScpiInstrument`, a SCPI driver is mostly declarations::

    class PowerSupply(ScpiInstrument):
        models = ("PS30",)
        voltage = Setting(unit="V", min=0, max=30, header="VOLT", ramp=2)
        output = Setting(bool, header="OUTP", safe=False)
        current = Reading(unit="A", get="MEAS:CURR?")

After every set, the instrument's error queue is read: an instrument that refused a command
raises an ``InstrumentError`` carrying its own error code and message, and the setting keeps
its previous (acknowledged) value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

from labkit.core import (
    Action,
    ConfigurationError,
    InstrumentError,
    MessageInstrument,
    ReplyError,
    TraitSpec,
)

__all__ = [
    "ScpiInstrument",
    "parse_block",
    "parse_error",
    "parse_identity",
    "parse_number",
    "switches_setting",
]

_ERROR_REPLY = re.compile(r'^\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$')
_MAX_QUEUED_ERRORS = 64


def switches_setting(setting: str, value: str, effect: str) -> Callable[[Any], str | None]:
    """A reading's ``side_effect``: reading it sets ``setting`` to ``value`` unless it is so.

    ``effect`` says it in words (``"makes current the measure function"``); the answer adds
    the value now, from the last value known (no I/O).
    """

    def side_effect(instrument: Any) -> str | None:
        now = instrument.last_value(setting)
        if now == value:
            return None
        return f"measuring it {effect} (now {now or 'unknown'})"

    return side_effect


def parse_identity(reply: str) -> dict[str, str]:
    """``*IDN?`` → ``{"manufacturer", "model", "serial", "firmware"}`` (missing parts empty)."""
    fields = [part.strip() for part in reply.strip().split(",")]
    if len(fields) < 2 or not fields[0]:
        raise ReplyError(
            f"*IDN? answered {reply!r}, which is not 'maker,model,serial,firmware'",
            reply=reply,
            command="*IDN?",
        )
    fields += [""] * (4 - len(fields))
    return {
        "manufacturer": fields[0],
        "model": fields[1],
        "serial": fields[2],
        "firmware": ",".join(fields[3:]).strip(","),
    }


def parse_error(reply: str) -> tuple[int, str]:
    """``-222,"Data out of range"`` → ``(-222, "Data out of range")``."""
    match = _ERROR_REPLY.match(reply)
    if match is None:
        raise ReplyError(
            f"the error queue answered {reply!r}, which is not 'code,\"message\"'", reply=reply
        )
    return int(match[1]), match[2]


def parse_number(reply: str, *, overload: float | None = 9.9e37) -> float:
    """A SCPI number; the overload marker (``±9.9E+37``) becomes ``±inf``, text a ReplyError.

    Instruments report an over-range reading as 9.9E+37: a number nobody could mistake for a
    measurement, so it is turned into infinity rather than passed on as a value.
    """
    text = reply.strip()
    try:
        value = float(text)
    except ValueError:
        raise ReplyError(
            f"expected a number, the instrument answered {reply!r}",
            reply=reply,
            hint="Check the instrument's mode and the connection",
        ) from None
    if not math.isfinite(value):
        raise ReplyError(f"the instrument answered {reply!r}, not a finite number", reply=reply)
    if overload is not None and abs(value) >= overload * (1 - 1e-6):
        return math.copysign(math.inf, value)
    return value


def parse_block(data: bytes) -> bytes:
    """The payload of an IEEE 488.2 definite-length block ``#<n><length><payload>``."""
    if len(data) < 2 or data[:1] != b"#" or not data[1:2].isdigit() or data[1:2] == b"0":
        raise ReplyError(
            f"expected a definite-length block (#<n><length>...), got {data[:12]!r}", reply=data
        )
    digits = int(data[1:2])
    size_text = data[2 : 2 + digits]
    if len(size_text) != digits or not size_text.isdigit():
        raise ReplyError(f"the block header {data[: 2 + digits]!r} is malformed", reply=data)
    size = int(size_text)
    payload = data[2 + digits : 2 + digits + size]
    if len(payload) != size:
        raise ReplyError(
            f"the block announces {size} bytes but holds {len(payload)}", reply=data[:40]
        )
    return payload


class ScpiInstrument(MessageInstrument):
    """An instrument speaking SCPI.

    ``models`` lists the model names this driver is for; connecting to anything else is refused
    (a voltage command sent to the wrong instrument is how samples burn). ``check_errors``
    reads the error queue after every set; ``error_query`` is the command that pops one error.
    """

    transport_options: ClassVar[dict[str, Any]] = {
        "read_termination": "\n",
        "write_termination": "\n",
    }
    manufacturer: ClassVar[str] = ""
    models: ClassVar[tuple[str, ...]] = ()
    check_errors: ClassVar[bool] = True
    error_query: ClassVar[str] = "SYST:ERR?"

    reset = Action(
        "*RST",
        label="Reset",
        confirm="Return the instrument to its power-on settings? Outputs and ranges change.",
        doc="Return the instrument to its power-on settings",
    )

    def _on_open(self) -> None:
        self.write("*CLS")

    def identify(self) -> dict[str, str]:
        identity = parse_identity(self.query("*IDN?"))
        if self.models and not any(
            model.casefold() in identity["model"].casefold() for model in self.models
        ):
            raise ConfigurationError(
                f"the instrument at {self.resource} is a {identity['manufacturer']} "
                f"{identity['model']}, not a {' or '.join(self.models)}",
                instrument=self.name,
                hint=f"Check the address, or use the driver for a {identity['model']}",
            )
        return identity

    def errors(self) -> list[tuple[int, str]]:
        """Empty the instrument's error queue and return what was in it."""
        return self.run_io(self._drain_errors)

    def parse_error_reply(self, reply: str) -> tuple[int, str]:
        """One error-queue reply as ``(code, message)``; override for other formats."""
        return parse_error(reply)

    def _drain_errors(self) -> list[tuple[int, str]]:
        found = []
        for _ in range(_MAX_QUEUED_ERRORS):
            code, message = self.parse_error_reply(self.query(self.error_query))
            if code == 0:
                break
            found.append((code, message))
        return found

    def _after_set(self, spec: TraitSpec, command: str | None) -> None:
        if self.check_errors:
            self.raise_queued_error(command, spec.name)

    def after_raw_message(self, message: str, settings: list[str], reply: str | None) -> None:
        # A raw command the instrument refused raises with its own words, as a set does.
        if self.check_errors:
            setting = settings[0].rsplit(".", 1)[-1] if len(settings) == 1 else None
            shown = message if len(message) <= 80 else message[:79] + "…"
            self.raise_queued_error(shown, setting)

    def raise_queued_error(self, command: str | None = None, setting: str | None = None) -> None:
        """Read the error queue; if the instrument refused something, raise ``InstrumentError``
        with its code and message (naming ``command`` and ``setting``). Channels of a SCPI
        instrument call their parent's after each set."""
        found = self.run_io(self._drain_errors)
        if found:
            code, message = found[0]
            more = f" (and {len(found) - 1} more errors)" if len(found) > 1 else ""
            raise InstrumentError(
                f"the instrument refused {command!r}: error {code}, {message}{more}"
                if command
                else f"the instrument reported error {code}, {message}{more}",
                code=code,
                command=command,
                setting=setting,
                hint="Check the value against the instrument's present mode and range",
            )

    def query_block(self, command: str) -> bytes:
        """Send ``command`` and read its IEEE 488.2 definite-length block reply (binary data).

        Reads ``#``, the digit count, the length, exactly that many bytes, then the reply's
        termination; works over every transport (it uses byte reads only). ``command`` is
        checked as a raw message (:meth:`check_message`).
        """
        if not self.worker.on_worker():
            self.check_message(command)
        return self.run_io(self._query_block, command)

    def _query_block(self, command: str) -> bytes:
        self.write(command)
        head = self.read_bytes(2)
        if head[:1] != b"#" or not head[1:2].isdigit():
            rest = self.read_message()
            raise ReplyError(
                f"expected a block (#<n><length>...), the instrument answered "
                f"{(head + rest.encode()).decode('ascii', 'replace')!r}",
                command=command,
                reply=head,
            )
        digits = int(head[1:2])
        if digits == 0:
            raise ReplyError(
                "the instrument sent an indefinite-length block (#0), which labkit does not read",
                command=command,
                reply=head,
            )
        size_text = self.read_bytes(digits)
        if not size_text.isdigit():
            raise ReplyError(f"the block length {size_text!r} is not a number", command=command)
        payload = self.read_bytes(int(size_text))
        tail = self.read_message()
        if tail.strip():
            raise ReplyError(
                f"unexpected data after the block: {tail[:40]!r}", command=command, reply=tail
            )
        return payload

    def wait_complete(self) -> None:
        """Block until the instrument finished every pending operation (``*OPC?``)."""
        self.query("*OPC?")
