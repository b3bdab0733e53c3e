"""Keeping widgets and an instrument in step across threads, without slowing the instrument.

A panel is touched from three sides: the kernel's main thread (a user moved a slider), the
instrument's worker thread (a value was acknowledged, a ramp stepped, the busy flag changed)
and labkit's event loop (a read-back arrived). ipywidgets may be updated from any thread (the
kernel's IOPub socket is thread-safe). The precautions live here:

- traitlets calls observers synchronously, from inside the instrument's ``store`` on its
  worker: an observer only marks what changed, and a :class:`Coalescer` redraws at most
  twenty times a second on labkit's loop, so a scan setting a value a thousand times a second
  pays microseconds per point, not a widget message;
- an update the panel makes itself must not look like a user's change and be sent back to the
  instrument: such updates run inside :func:`quietly`, a per-thread flag the widget observers
  check (widget observers run synchronously on the thread that changed the value);
- an exception in panel code must never travel into the instrument's worker: :func:`guarded`
  logs it instead;
- tests and scripts need to know when the panel has finished reacting: :class:`Pending` counts
  the operations and redraws in flight, and :meth:`Pending.wait` waits for none to be left.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar, cast

from labkit.core import _loop

__all__ = [
    "RENDER_INTERVAL",
    "Coalescer",
    "Pending",
    "failure_of",
    "guarded",
    "is_quiet",
    "quietly",
]

RENDER_INTERVAL = 0.05
"""Seconds between two redraws of a panel: fast enough to follow a ramp, slow enough to cost
nothing when a run changes a value at kilohertz rates."""

log = logging.getLogger("labkit.ui")

F = TypeVar("F", bound=Callable[..., Any])


class _Local(threading.local):
    depth = 0


_local = _Local()


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Widget changes made in this block (on this thread) are the panel's, not a user's."""
    _local.depth += 1
    try:
        yield
    finally:
        _local.depth -= 1


def is_quiet() -> bool:
    return _local.depth > 0


def guarded(function: F) -> F:
    """Log instead of raising: an observer's bug must not break the instrument that notified it."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception:
            log.exception("labkit panel: %s failed", function.__qualname__)
            return None

    return cast(F, wrapper)  # functools.wraps keeps the signature


class Pending:
    """Operations a panel started and has not finished reacting to (sets, reads, actions)."""

    def __init__(self) -> None:
        self._count = 0
        self._condition = threading.Condition()

    def begin(self) -> None:
        with self._condition:
            self._count += 1

    def end(self) -> None:
        with self._condition:
            self._count -= 1
            if self._count <= 0:
                self._count = 0
                self._condition.notify_all()

    @property
    def count(self) -> int:
        with self._condition:
            return self._count

    def wait(self, timeout: float = 10.0) -> None:
        """Block until nothing is in flight; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._count > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"the panel still has {self._count} operation(s) in flight after "
                        f"{timeout} s"
                    )
                self._condition.wait(left)


class Coalescer:
    """Collects redraw requests from any thread and runs each at most once per interval.

    ``request(row.render)`` is cheap and never blocks; the renders run on labkit's loop thread,
    each reading the state as it is then, so a burst of a thousand changes costs one redraw.
    """

    def __init__(self, pending: Pending, interval: float = RENDER_INTERVAL) -> None:
        self.pending = pending
        self.interval = interval
        self._lock = threading.Lock()
        self._dirty: dict[Callable[[], None], None] = {}
        self._scheduled = False
        self._last = 0.0

    def request(self, render: Callable[[], None]) -> None:
        with self._lock:
            self._dirty[render] = None
            if self._scheduled:
                return
            self._scheduled = True
            delay = max(0.0, self._last + self.interval - time.monotonic())
        self.pending.begin()
        loop = _loop.get_loop()
        loop.call_soon_threadsafe(loop.call_later, delay, self._flush)

    def _flush(self) -> None:
        try:
            with self._lock:
                dirty, self._dirty = list(self._dirty), {}
                self._scheduled = False
                self._last = time.monotonic()
            for render in dirty:
                guarded(render)()
        finally:
            self.pending.end()


def failure_of(future: Future[Any]) -> BaseException | None:
    """The exception a finished future holds (a cancelled one counts as failed), or None."""
    if future.cancelled():
        return RuntimeError("cancelled: the instrument was closed before it got to this")
    return future.exception()
