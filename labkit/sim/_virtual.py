"""Virtual instruments at the message level, and the byte streams that carry them.

A :class:`VirtualInstrument` answers messages. A :class:`Connection` is one byte stream to it,
as a serial port or a VISA session sees it: bytes in, replies out after the instrument's
latency, split and terminated as the real instrument does. The library-level simulators
(the pyserial URL handler, the pyvisa backend) wrap connections, so the driver above talks
through pyserial or pyvisa exactly as it would to hardware.

Faults are injected per instrument, on demand: a reply that never comes, a slow reply, a garbled
reply, a pulled cable, an error the instrument reports.
"""

from __future__ import annotations

import abc
import collections
import dataclasses
import threading
import time
from typing import Any, ClassVar

__all__ = ["Connection", "FaultKind", "Faults", "SimulatedDisconnect", "VirtualInstrument"]

FaultKind = str  # "timeout", "slow", "garbled", "disconnect", "error"
_FAULT_KINDS = ("timeout", "slow", "garbled", "disconnect", "error")


class SimulatedDisconnect(ConnectionError):
    """The simulated cable was pulled; raised by connections until the fault is cleared."""


@dataclasses.dataclass
class _Fault:
    kind: FaultKind
    remaining: int | None  # replies still affected; None = until cleared
    delay: float = 0.0
    code: int = -100
    message: str = "Command error"


class Faults:
    """Faults to inject into one virtual instrument's replies, on demand.

    ``inject("timeout")`` drops the next reply; ``inject("slow", delay=3)`` delays it;
    ``inject("garbled")`` corrupts it; ``inject("disconnect")`` pulls the cable until
    :meth:`clear`; ``inject("error", code=-222, message="Data out of range")`` makes the
    instrument report an error for the next command. ``count=None`` keeps a fault until cleared.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self.injected: collections.Counter[str] = collections.Counter()

    def inject(
        self,
        kind: FaultKind,
        *,
        count: int | None = 1,
        delay: float = 2.0,
        code: int = -222,
        message: str = "Data out of range",
    ) -> None:
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(_FAULT_KINDS)}")
        with self._lock:
            self._faults.append(
                _Fault(kind, None if kind == "disconnect" else count, delay, code, message)
            )

    def clear(self, kind: FaultKind | None = None) -> None:
        """Remove faults (all, or of one kind): the instrument behaves again."""
        with self._lock:
            self._faults = [f for f in self._faults if kind is not None and f.kind != kind]

    @property
    def disconnected(self) -> bool:
        with self._lock:
            return any(f.kind == "disconnect" for f in self._faults)

    def active(self) -> list[str]:
        with self._lock:
            return [f.kind for f in self._faults]

    def take(self, *kinds: FaultKind) -> _Fault | None:
        """Consume one use of the first pending fault of the given kinds."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    self.injected[fault.kind] += 1
                    return fault
        return None


class VirtualInstrument(abc.ABC):
    """A simulated instrument that answers text messages.

    Subclasses implement :meth:`handle`. ``read_termination`` ends each message the instrument
    receives, ``write_termination`` ends each reply; ``latency`` is its reply time in seconds.
    ``serial_settings`` are the port settings it expects: a connection configured otherwise
    receives garbage, as a real serial instrument would send.
    """

    read_termination: str = "\n"
    write_termination: str = "\n"
    encoding: str = "ascii"
    latency: float = 0.0
    serial_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.faults = Faults()
        self.lock = threading.RLock()
        self.received: collections.deque[str] = collections.deque(maxlen=1000)
        self._busy_time = 0.0

    def busy_for(self, seconds: float) -> None:
        """Delay the reply to the message being handled by ``seconds`` (a measurement's time)."""
        self._busy_time += max(0.0, float(seconds))

    def take_busy_time(self) -> float:
        """The extra reply delay asked for while handling the last message (then reset)."""
        busy, self._busy_time = self._busy_time, 0.0
        return busy

    @abc.abstractmethod
    def handle(self, message: str) -> str | bytes | None:
        """Answer one complete message (termination removed); None means no reply."""

    def connect(self) -> Connection:
        """Open a byte stream to this instrument (fails while the cable is pulled)."""
        if self.faults.disconnected:
            raise SimulatedDisconnect(f"{self.name} is disconnected")
        return Connection(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Connection:
    """One open byte stream to a virtual instrument, thread-safe, with timed delivery."""

    def __init__(self, instrument: VirtualInstrument) -> None:
        self.instrument = instrument
        self._incoming = bytearray()
        self._outgoing: collections.deque[tuple[float, bytearray]] = collections.deque()
        self._cond = threading.Condition()
        self.closed = False
        self.mismatched: list[str] = []
        self._hold_until = 0.0  # a command without reply kept the instrument busy until then

    def configure(self, **settings: Any) -> None:
        """Record the port settings the client uses; any that differ garble the link."""
        expected = self.instrument.serial_settings
        self.mismatched = [
            f"{key}={settings[key]!r} (the instrument uses {value!r})"
            for key, value in expected.items()
            if key in settings and settings[key] != value
        ]

    def _check_link(self) -> None:
        if self.closed:
            raise SimulatedDisconnect(f"the connection to {self.instrument.name} is closed")
        if self.instrument.faults.disconnected:
            raise SimulatedDisconnect(f"{self.instrument.name} is disconnected")

    def write(self, data: bytes) -> int:
        self._check_link()
        terminator = self.instrument.read_termination.encode(self.instrument.encoding)
        self._incoming += data
        while terminator and terminator in self._incoming:
            raw, _, rest = bytes(self._incoming).partition(terminator)
            self._incoming = bytearray(rest)
            self._respond(raw)
        return len(data)

    def _respond(self, raw: bytes) -> None:
        instrument = self.instrument
        if self.mismatched:
            self._deliver(_noise(raw), delay=instrument.latency)
            return
        message = raw.decode(instrument.encoding, "replace").strip()
        instrument.received.append(message)
        with instrument.lock:
            reply = instrument.handle(message)
            busy = instrument.take_busy_time()
        if reply is None:
            if busy:  # *WAI, or a command that works before the next reply can come
                with self._cond:
                    self._hold_until = max(self._hold_until, time.monotonic() + busy)
            return
        if isinstance(reply, str):
            reply = (reply + instrument.write_termination).encode(instrument.encoding)
        fault = instrument.faults.take("timeout", "slow", "garbled")
        delay = instrument.latency + busy
        if fault is not None:
            if fault.kind == "timeout":
                return
            if fault.kind == "slow":
                delay += fault.delay
            if fault.kind == "garbled":
                reply = _garble(reply, instrument.write_termination.encode(instrument.encoding))
        self._deliver(reply, delay=delay)

    def _deliver(self, data: bytes, *, delay: float) -> None:
        with self._cond:
            ready = max(time.monotonic() + delay, self._hold_until + delay)
            self._outgoing.append((ready, bytearray(data)))
            self._cond.notify_all()

    def _ready_bytes(self) -> int:
        now = time.monotonic()
        return sum(len(chunk) for ready, chunk in self._outgoing if ready <= now)

    @property
    def in_waiting(self) -> int:
        self._check_link()
        with self._cond:
            return self._ready_bytes()

    def read(self, size: int, timeout: float | None) -> bytes:
        """Up to ``size`` bytes, waiting at most ``timeout`` seconds for the first of them."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._check_link()
                if self._outgoing and self._outgoing[0][0] <= time.monotonic():
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return b""
                wake = deadline
                if self._outgoing:
                    ready = self._outgoing[0][0]
                    wake = ready if wake is None else min(wake, ready)
                self._cond.wait(None if wake is None else max(0.0, min(wake - now, 0.05)))
            out = bytearray()
            while self._outgoing and len(out) < size and self._outgoing[0][0] <= time.monotonic():
                ready, chunk = self._outgoing[0]
                take = chunk[: size - len(out)]
                out += take
                del chunk[: len(take)]
                if not chunk:
                    self._outgoing.popleft()
            return bytes(out)

    def read_chunk(
        self, size: int, timeout: float | None, stop: bytes | None = None
    ) -> tuple[bytes, bool]:
        """Up to ``size`` bytes of the reply being delivered, and whether they end it.

        Reads never run past the end of one reply (a GPIB or USB-TMC device asserts END
        there) nor past the ``stop`` byte (a VISA termination character). Waits at most
        ``timeout`` seconds for the first byte; ``(b"", False)`` when none came.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._check_link()
                if self._outgoing and self._outgoing[0][0] <= time.monotonic():
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return b"", False
                wake = deadline
                if self._outgoing:
                    ready = self._outgoing[0][0]
                    wake = ready if wake is None else min(wake, ready)
                self._cond.wait(None if wake is None else max(0.0, min(wake - now, 0.05)))
            _ready, chunk = self._outgoing[0]
            take = len(chunk) if size <= 0 else min(size, len(chunk))
            if stop:
                found = chunk.find(stop, 0, take)
                if found >= 0:
                    take = found + len(stop)
            out = bytes(chunk[:take])
            del chunk[:take]
            ended = not chunk
            if ended:
                self._outgoing.popleft()
            return out, ended

    def reset_input(self) -> None:
        """Drop replies not yet read."""
        with self._cond:
            self._outgoing.clear()

    def reset_output(self) -> None:
        self._incoming.clear()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def _garble(reply: bytes, terminator: bytes) -> bytes:
    """Corrupt a reply deterministically but keep its termination, as line noise would."""
    body = reply[: -len(terminator)] if terminator and reply.endswith(terminator) else reply
    flipped = bytes((b ^ 0x5A) & 0x7F or 0x3F for b in body) or b"\x7f"
    return flipped.replace(terminator, b"?") + terminator if terminator else flipped


def _noise(raw: bytes) -> bytes:
    """What a serial line at the wrong baud rate delivers: non-text bytes."""
    return bytes(0x80 | (b * 37 % 127) for b in raw[: max(1, len(raw) // 2)])
