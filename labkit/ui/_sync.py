"""Keeping widgets and an instrument in step across threads.

A panel is touched from three sides: the kernel's main thread (a user moved a slider), the
instrument's worker thread (a value was acknowledged, a ramp stepped, the busy flag changed)
and labkit's event loop (a read-back arrived). ipywidgets may be updated from any thread (the
kernel's IOPub socket is thread-safe), so the panel updates widgets where the news arrives, with
three precautions kept here:

- an update the panel makes itself must not look like a user's change and be sent back to the
  instrument: such updates run inside :func:`quietly`, a per-thread flag the widget observers
  check (observers run synchronously on the thread that changed the value);
- an exception in a panel observer must never travel into the instrument's worker (traitlets
  calls observers from inside the instrument's ``store``): :func:`guarded` logs it instead;
- tests and scripts need to know when the panel has finished reacting: :class:`Pending` counts
  the operations in flight, and :meth:`Pending.wait` waits for none to be left.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["Pending", "guarded", "is_quiet", "quietly"]

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

    return wrapper  # type: ignore[return-value]


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
