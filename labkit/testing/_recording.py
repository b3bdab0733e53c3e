"""A transport wrapper that records every byte, so tests can assert what was (not) sent."""

from __future__ import annotations

import threading
from typing import Any

from labkit.core import NotConnectedError, Transport

__all__ = ["RecordingTransport", "record"]


class RecordingTransport:
    """Wraps a transport; ``sent`` lists every message or byte string that went out, in order.

    ``with record(inst) as log: ...`` swaps it in for the duration of a block.
    """

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[str | bytes] = []
        self._lock = threading.Lock()

    # The protocol's attributes pass through to the wrapped transport.
    @property
    def resource(self) -> str:
        return self.inner.resource

    @property
    def timeout(self) -> float:
        return self.inner.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.inner.timeout = value

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    def _log(self, item: str | bytes) -> None:
        with self._lock:
            self.sent.append(item)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def write(self, message: str) -> None:
        self._log(message)
        self.inner.write(message)

    def read(self) -> str:
        return self.inner.read()

    def query(self, message: str) -> str:
        self._log(message)
        return self.inner.query(message)

    def write_bytes(self, data: bytes) -> None:
        self._log(bytes(data))
        self.inner.write_bytes(data)

    def read_bytes(self, size: int) -> bytes:
        return self.inner.read_bytes(size)

    def clear(self) -> None:
        self.inner.clear()

    def __getattr__(self, name: str) -> Any:
        # Transport-specific extras (bulk endpoints, binary blocks) pass through unrecorded
        # unless they write; writes through extras are recorded by name, as are the methods a
        # link names as changing state (``writes``: a compiled plugin's set and action).
        attribute = getattr(self.inner, name)
        changes = "write" in name or "send" in name or name in getattr(self.inner, "writes", ())
        if callable(attribute) and changes:

            def recorded(*args: Any, **kwargs: Any) -> Any:
                self._log(repr((name, args)).encode())
                return attribute(*args, **kwargs)

            return recorded
        return attribute


class record:
    """``with record(instrument) as log:`` — ``log.sent`` is what went out during the block."""

    def __init__(self, instrument: Any) -> None:
        self.instrument = instrument
        self.recorder: RecordingTransport | None = None

    def __enter__(self) -> RecordingTransport:
        try:
            link = self.instrument.link
        except NotConnectedError:
            raise RuntimeError(f"{self.instrument.name} has no open link to record") from None
        self.recorder = RecordingTransport(link)
        self.instrument.link = self.recorder
        return self.recorder

    def __exit__(self, *exc_info: Any) -> None:
        assert self.recorder is not None
        self.instrument.link = self.recorder.inner
