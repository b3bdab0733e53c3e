"""One worker thread per instrument.

All I/O with an instrument runs on its own thread: that serialises access (two cells, a panel
and a run never interleave half-commands) and keeps blocking reads off the notebook's thread
and off labkit's event loop. Calls made from the worker itself (a driver method calling another)
run directly, so nothing deadlocks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Worker"]

T = TypeVar("T")


class Worker:
    """A single thread that runs one instrument's I/O, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._ident: int | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"labkit-{name}", initializer=self._remember_thread
        )
        self._closed = False

    def _remember_thread(self) -> None:
        self._ident = threading.get_ident()

    def on_worker(self) -> bool:
        """True when called from this worker's own thread."""
        return self._ident is not None and threading.get_ident() == self._ident

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``function(*args)``; from the worker itself it runs at once."""
        if self.on_worker():
            return _run_inline(function, args)
        try:
            return self._executor.submit(function, *args)
        except RuntimeError:
            if self._closed:
                raise
            # The interpreter is exiting: Python already stopped executor threads before
            # atexit handlers run, so closing instruments happens on this thread instead.
            return _run_inline(function, args)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the worker and wait for its result."""
        if self.on_worker():
            return function(*args)
        return self.submit(function, *args).result()

    async def call_async(self, function: Callable[..., T], *args: Any) -> T:
        """Await ``function(*args)`` run on the worker, without blocking the event loop."""
        if self.on_worker():
            return function(*args)
        return await asyncio.wrap_future(self.submit(function, *args))

    def shutdown(self) -> None:
        """Finish the task in progress, drop queued ones, and end the thread."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=not self.on_worker(), cancel_futures=True)


def _run_inline(function: Callable[..., T], args: tuple[Any, ...]) -> Future[T]:
    future: Future[T] = Future()
    try:
        future.set_result(function(*args))
    except BaseException as error:
        future.set_exception(error)
    return future
